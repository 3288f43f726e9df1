// Volatility 3's per-allocation plugins, counted per tag by allocations.ts. Columns, from the plugins'
// TreeGrid definitions (volatility3/framework/plugins/windows/bigpools.py, poolscanner.py):
//   windows.bigpools:     Allocation (hex), Tag, PoolType, NumberOfBytes (hex), Status (Allocated|Free)
//   windows.poolscanner:  Tag, Offset (hex), Layer, Name
// and the renderers (volatility3/cli/text_renderer.py):
//   quick (default):  a blank line, the column names joined by TABs, then one TAB-joined row per line
//   pretty:           columns joined by " | ", a first tree-depth column
//   -r csv:           "TreeDepth" then the columns, comma-separated, csv quoting
//   -r json:          a list of objects keyed by column name (hex values as integers), "__children"
// Absent values print as "N/A" or "-" (null in JSON). poolscanner's Tag column holds the structure
// type it matched ("symbol_table_name1!_EPROCESS"), not the pool tag: the plugin's built-in
// constraints map each type to its tag (the pre-Windows 8 forms differ only by the protected bit).
// poolscanner gives no sizes and no pool: counts only.
import { ReportParseError, type Report } from './types.js';
import { exactHex } from './lines.js';
import { exactCount, headLines, jsonValues, lineIndex, reportLines } from './report-text.js';
import { cleanLine, LineLedger } from './paste.js';
import { AllocationTally, poolOfName } from './allocations.js';

type Plugin = 'bigpools' | 'poolscanner';

const COLUMNS: Record<Plugin, string[]> = {
  bigpools: ['Allocation', 'Tag', 'PoolType', 'NumberOfBytes', 'Status'],
  poolscanner: ['Tag', 'Offset', 'Layer', 'Name'],
};

/** poolscanner's built-in constraints: structure type → pool tag (Windows 8+ spelling). */
const TAG_OF_TYPE: Record<string, string> = {
  _RTL_ATOM_TABLE: 'AtmT',
  _EPROCESS: 'Proc',
  _ETHREAD: 'Thre',
  _FILE_OBJECT: 'File',
  _KMUTANT: 'Muta',
  _DRIVER_OBJECT: 'Driv',
  _LDR_DATA_TABLE_ENTRY: 'MmLd',
  _OBJECT_SYMBOLIC_LINK: 'Symb',
  _CMHIVE: 'CM10',
};

interface Table {
  layout: 'text' | 'pretty' | 'csv' | 'json';
  header: number;
  columns: string[];
}

export function looksLikeVol3Bigpools(text: string): number {
  return findTable(headLines(text), 'bigpools') || jsonHas(text, 'bigpools') ? 1 : 0;
}

export function looksLikeVol3Poolscanner(text: string): number {
  return findTable(headLines(text), 'poolscanner') || jsonHas(text, 'poolscanner') ? 1 : 0;
}

export function parseVol3Bigpools(text: string, file: string): Report {
  return parseVol3(text, file, 'bigpools');
}

export function parseVol3Poolscanner(text: string, file: string): Report {
  return parseVol3(text, file, 'poolscanner');
}

function jsonHas(text: string, plugin: Plugin): boolean {
  const head = headLines(text, 40).join('\n').trimStart();
  return head.startsWith('[') && COLUMNS[plugin].every((c) => head.includes(`"${c}"`));
}

function splitRow(line: string, layout: Table['layout']): string[] {
  if (layout === 'text') return line.split('\t');
  if (layout === 'pretty') return line.split(' | ').map((c) => c.trim());
  return splitCsv(line);
}

/** One CSV record on one line: fields optionally in double quotes ("" or \" inside), as Python's csv writes. */
export function splitCsv(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let cell = '';
    if (line[i] === '"') {
      i++;
      while (i < line.length) {
        const c = line[i];
        if (c === '\\' && i + 1 < line.length) {
          cell += line[i + 1];
          i += 2;
        } else if (c === '"' && line[i + 1] === '"') {
          cell += '"';
          i += 2;
        } else if (c === '"') {
          i++;
          break;
        } else {
          cell += c;
          i++;
        }
      }
      while (i < line.length && line[i] !== ',') cell += line[i++];
    } else {
      while (i < line.length && line[i] !== ',') {
        if (line[i] === '\\' && i + 1 < line.length) i++;
        cell += line[i++];
      }
    }
    out.push(cell);
    if (i >= line.length) return out;
    i++;
  }
}

function findTable(lines: string[], plugin: Plugin): Table | undefined {
  const want = COLUMNS[plugin].join('|');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].replace(/\s+$/, '');
    if (l.split('\t').join('|') === want) return { layout: 'text', header: i, columns: COLUMNS[plugin] };
    const csv = splitCsv(l);
    if (csv[0] === 'TreeDepth' && csv.slice(1).join('|') === want) return { layout: 'csv', header: i, columns: ['TreeDepth', ...COLUMNS[plugin]] };
    const pretty = l.split(' | ').map((c) => c.trim());
    if (pretty.length === COLUMNS[plugin].length + 1 && pretty.slice(1).join('|') === want) return { layout: 'pretty', header: i, columns: ['', ...COLUMNS[plugin]] };
  }
  return undefined;
}

const ABSENT = new Set(['N/A', '-', '']);

function parseVol3(text: string, file: string, plugin: Plugin): Report {
  const format = plugin === 'bigpools' ? 'vol3-bigpools' : 'vol3-poolscanner';
  const tally = new AllocationTally(file);
  const lines = reportLines(text);
  const ledger = new LineLedger();
  const first = lines.find((l) => l.trim() !== '');
  if (first !== undefined && /^\s*\[/.test(first)) {
    // Kernel addresses exceed 2^53: quoted before JSON.parse so they keep every digit.
    const body = lines.join('\n').replace(/("(?:Allocation|Offset)"\s*:\s*)(\d{16,})\b/g, '$1"$2"');
    const lineOf = lineIndex(body);
    for (const { value, start, elementStarts } of jsonValues(body, file, lineOf, format)) {
      if (!Array.isArray(value)) throw new ReportParseError(file, lineOf(start), `${format}: expected a JSON list of rows`);
      value.forEach((rec, k) => {
        const n = lineOf(elementStarts[k] ?? start);
        if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) throw new ReportParseError(file, n, `${format}: expected each row to be an object keyed by column name`);
        const cells = COLUMNS[plugin].map((c) => {
          const v = (rec as Record<string, unknown>)[c];
          if (v === null || v === undefined) return '';
          if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return c === 'Tag' ? String(v) : `0x${v.toString(16)}`;
          if (typeof v === 'string') return v;
          throw new ReportParseError(file, n, `${format}: column ${c}: expected a string or a whole number, got ${JSON.stringify(v)?.slice(0, 40)}`);
        });
        addRow(tally, plugin, cells, file, n, format);
      });
    }
    return { format, kind: 'allocations', file, snapshots: [{ rows: tally.result() }] };
  }
  const table = findTable(lines, plugin);
  if (!table) throw new ReportParseError(file, 1, `${format}: no header (expected the columns ${COLUMNS[plugin].join(', ')})`);
  ledger.use(table.header + 1);
  let rows = 0;
  for (let i = table.header + 1; i < lines.length; i++) {
    const n = i + 1;
    const raw = table.layout === 'text' ? lines[i].replace(/\r$/, '') : cleanLine(lines[i]);
    if (raw.trim() === '') continue;
    const cells = splitRow(raw, table.layout);
    if (cells.length !== table.columns.length) {
      // Rows are whole records; a line with the separators but the wrong count is a broken row.
      if (cells.length > 1) throw new ReportParseError(file, n, `${format}: expected ${table.columns.length} columns (${table.columns.filter(Boolean).join(', ')}), got ${cells.length}`);
      continue;
    }
    ledger.use(n);
    rows++;
    addRow(tally, plugin, table.layout === 'text' ? cells : cells.slice(1), file, n, format);
  }
  const report: Report = { format, kind: 'allocations', file, snapshots: [{ rows: tally.result() }] };
  const skipped = ledger.skipped(lines);
  if (skipped) report.skipped = skipped;
  if (rows === 0) {
    report.kind = 'statement';
    report.statement = `Volatility 3 windows.${plugin} output with a header and no rows`;
    report.snapshots = [];
  }
  return report;
}

function addRow(tally: AllocationTally, plugin: Plugin, cells: string[], file: string, n: number, format: string): void {
  // The quick renderer prefixes child rows with "*"; both plugins' rows are top level.
  const c = cells.map((x) => x.replace(/^\*+ /, ''));
  if (plugin === 'bigpools') {
    const [allocation, tag, poolType, bytes, status] = c;
    if (!/^(?:Allocated|Free)$/.test(status)) throw new ReportParseError(file, n, `${format}: column Status: expected Allocated or Free, got '${status.slice(0, 24)}'`);
    tally.add({
      tagText: tagCell(tag, file, n, format),
      address: ABSENT.has(allocation) ? undefined : addressKey(allocation, file, n, `${format}: column Allocation`),
      bytes: ABSENT.has(bytes) ? undefined : hexCell(bytes, file, n, `${format}: column NumberOfBytes`),
      pool: poolOfName(ABSENT.has(poolType) ? undefined : poolType),
      free: status === 'Free',
      line: n,
    });
    return;
  }
  const [type, offset] = c;
  const typeName = type.slice(type.lastIndexOf('!') + 1);
  const tag = TAG_OF_TYPE[typeName] ?? (type.length <= 4 ? type : undefined);
  if (tag === undefined) throw new ReportParseError(file, n, `${format}: column Tag: '${type.slice(0, 40)}' is not a structure type the poolscanner looks for (${Object.keys(TAG_OF_TYPE).join(', ')})`);
  tally.add({
    tagText: tag.padEnd(4, ' '),
    address: ABSENT.has(offset) ? undefined : addressKey(offset, file, n, `${format}: column Offset`),
    pool: 'unknownPool',
    free: false,
    line: n,
  });
}

function tagCell(tag: string, file: string, n: number, format: string): string {
  if (tag.length === 0 || tag.length > 4) throw new ReportParseError(file, n, `${format}: column Tag: expected up to 4 characters, got '${tag.slice(0, 24)}'`);
  return tag.padEnd(4, ' ');
}

/** An address as a dedup key: hex as printed, or the exact decimal digits of the JSON renderer. */
function addressKey(text: string, file: string, n: number, what: string): string {
  if (/^0x[0-9a-f]+$/i.test(text)) return text.slice(2).toLowerCase();
  if (/^\d{1,20}$/.test(text)) return BigInt(text).toString(16);
  throw new ReportParseError(file, n, `${what}: expected an address, got '${text.slice(0, 24)}'`);
}

function hexCell(text: string, file: string, n: number, what: string): number {
  if (/^\d+$/.test(text)) return exactCount(text, file, n, what);
  return exactHex(text, file, n, what);
}
