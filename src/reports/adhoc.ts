// Tables people paste from home-grown tools (NtQuerySystemInformation class 22 scripts and the like).
// Three shapes, all seen in real issue threads:
//   whitespace table:  Tag    NP_MB      share
//                      NtFC   21353.2    97.1%   <-- 65.5% of installed RAM
//                      --- total tagged nonpaged = 21982 MB
//   Markdown table:    | Tag | Current bytes | Outstanding allocations (`allocs - frees`) |
//                      |---|---:|---:|
//                      | `Toke` | 7,695.3 MB | 3,708,367 |          (pool from the heading above it)
//   one-tag record:    Tag: NtFC / Nonpaged bytes: 18,574,637,216 (17.299 GiB) / Nonpaged allocations: …
// Columns are recognised by name: sizes by pool and unit (NP_MB, Paged_KB, "Current bytes" with the
// unit in the cell), counts (NP_Allocs, "Outstanding allocations"). A counter with no column is absent,
// never 0. Units are binary (1 KB = 1024 B), as Windows tools print them. A table of changes ("delta
// over 4.91 days") is not usage: it is stated as such. Detection scores this low so that every specific
// format wins over it.
import { ReportParseError, type PoolCounters, type Report, type UsageRow } from './types.js';
import { headLines, reportLines, reportTag, safeInteger } from './report-text.js';
import { cleanLine, LineLedger } from './paste.js';

type Pool = 'nonpaged' | 'paged' | 'unknownPool';
type Kind = 'bytes' | 'allocs' | 'frees' | 'outstanding';

interface Column {
  index: number;
  pool?: Pool;
  kind: Kind;
  /** Bytes per unit for size columns; 0 = the unit is written in each cell. */
  scale: number;
  name: string;
}

interface Header {
  tagIndex: number;
  columns: Column[];
  /** Cells a row needs (through the last column read). */
  width: number;
  markdown: boolean;
  /** Columns of changes over time rather than current usage. */
  deltas: string[];
}

const UNITS: Record<string, number> = { b: 1, byte: 1, bytes: 1, kb: 1024, kib: 1024, k: 1024, mb: 1024 ** 2, mib: 1024 ** 2, gb: 1024 ** 3, gib: 1024 ** 3 };
const SIZE_COLUMN = /^(np|nonpaged|non-paged|paged|pg|p)[_\-.]?[([]?(bytes|b|kib|kb|mib|mb|gib|gb)[)\]]?$/i;
const COUNT_COLUMN = /^(np|nonpaged|non-paged|paged|pg|p)[_\-.]?(allocs?|frees?)$/i;
// Separators and summary lines inside or after a whitespace table.
const SKIP = /^\s*($|[-=#*]{2,}|#|total\b|sum\b)/i;
const TOTAL = /\btotal\b([^=:]{0,80})[=:]\s*([\d,]+(?:\.\d+)?)\s*(bytes|b|kib|kb|mib|mb|gib|gb)\b/i;
const NUMBER = /^\d[\d,]*(\.\d+)?$/;
const SIZED = /^(\d[\d,]*(?:\.\d+)?)\s*(bytes|b|kib|kb|mib|mb|gib|gb)?$/i;
const MD_ROW = /^\s*\|.*\|?\s*$/;
const MD_RULE = /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/;
const RECORD_TAG = /^\s*Tag\s*:\s*(\S.{0,3}?)\s*$/i;
const RECORD_FIELD = /^\s*(non-?paged|paged)?\s*(bytes|allocations|allocs|frees|outstanding)\s*:\s*([\d,]+)\b/i;
const ADHOC_SCORE = 0.3;

export function looksLikeAdhoc(text: string): number {
  const lines = headLines(text).map(cleanLine);
  if (lines.some((l) => RECORD_TAG.test(l)) && lines.some((l) => RECORD_FIELD.test(l))) return ADHOC_SCORE;
  const h = findHeader(lines);
  if (!h) return 0;
  const first = lines.slice(h.line + 1).find((l) => !SKIP.test(l) && !MD_RULE.test(l));
  return first !== undefined && cellsOf(first, h.header) ? ADHOC_SCORE : ADHOC_SCORE / 2;
}

export function parseAdhoc(text: string, file: string): Report {
  const lines = reportLines(text);
  const clean = lines.map(cleanLine);
  const ledger = new LineLedger();
  if (clean.some((l) => RECORD_TAG.test(l))) return parseRecord(clean, file, ledger, lines);
  const rows: UsageRow[] = [];
  const totals: NonNullable<Report['snapshots'][number]['totals']> = {};
  const deltas: string[] = [];
  let header: Header | undefined;
  let headingPool: Pool | undefined;
  let tables = 0;
  const lastRow = lastNonBlank(clean);
  for (let i = 0; i < clean.length; i++) {
    const n = i + 1;
    const line = clean[i];
    if (line.trim() === '') {
      if (header?.markdown) header = undefined;
      continue;
    }
    const heading = /^\s*#{1,6}\s+(.*)$/.exec(line);
    if (heading) {
      headingPool = poolWord(heading[1]) ?? headingPool;
      header = undefined;
      continue;
    }
    const h = headerOf(line, headingPool);
    if (h) {
      ledger.use(n);
      header = h;
      tables++;
      deltas.push(...h.deltas);
      continue;
    }
    if (!header) continue;
    if (header.markdown ? MD_RULE.test(line) : false) {
      ledger.use(n);
      continue;
    }
    const total = TOTAL.exec(line);
    if (total && !header.markdown) {
      ledger.use(n);
      const pool = poolWord(total[1] ?? '') ?? 'nonpaged';
      const bytes = sizeOf(total[2], total[3], file, n, 'total');
      if (pool !== 'unknownPool') totals[pool] = { bytes };
      continue;
    }
    if (header.markdown ? !MD_ROW.test(line) : SKIP.test(line)) {
      if (header.markdown) header = undefined;
      continue;
    }
    const cells = cellsOf(line, header);
    if (!cells) {
      // A paste cut off in the middle of its last row: that row is skipped (and counted), not guessed.
      if (i === lastRow && splitCells(line, header.markdown).length < header.width) continue;
      const names = header.columns.map((c) => c.name).join(', ');
      throw new ReportParseError(file, n, `adhoc: expected a row with a tag and numbers under ${names}`);
    }
    ledger.use(n);
    if (header.deltas.length) continue;
    rows.push(readRow(cells, header, file, n));
  }
  if (tables === 0) {
    throw new ReportParseError(file, 1, 'adhoc: no table header with a "Tag" column and size columns such as NP_MB or Paged_KB');
  }
  const report: Report = { format: 'adhoc', kind: 'usage', file, snapshots: [Object.keys(totals).length ? { rows, totals } : { rows }] };
  const skipped = ledger.skipped(lines);
  if (skipped) report.skipped = skipped;
  if (rows.length === 0) {
    report.kind = 'statement';
    report.statement = deltas.length
      ? `a table of changes over time (${[...new Set(deltas)].join(', ')}), not current pool usage: nothing to rank`
      : 'a table header and no rows';
    report.snapshots = [];
  }
  return report;
}

function lastNonBlank(lines: readonly string[]): number {
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i].trim() !== '') return i;
  return -1;
}

function poolWord(text: string): Pool | undefined {
  if (/non-?paged|\bnp\b/i.test(text)) return 'nonpaged';
  if (/\bpaged|\bpg\b/i.test(text)) return 'paged';
  return undefined;
}

function sizeOf(number: string, unit: string | undefined, file: string, n: number, what: string): number {
  const scale = UNITS[(unit ?? 'b').toLowerCase()] ?? 1;
  return safeInteger(Math.round(Number(number.replace(/,/g, '')) * scale), number, file, n, what);
}

function readRow(cells: string[], header: Header, file: string, n: number): UsageRow {
  const pools: Record<Pool, PoolCounters> = { nonpaged: {}, paged: {}, unknownPool: {} };
  const used = new Set<Pool>();
  for (const col of header.columns) {
    const cell = cells[col.index];
    const pool = col.pool ?? 'unknownPool';
    const c = pools[pool];
    used.add(pool);
    if (col.kind === 'bytes') {
      const m = SIZED.exec(cell)!;
      c.bytes = col.scale ? safeInteger(Math.round(Number(m[1].replace(/,/g, '')) * col.scale), cell, file, n, col.name) : sizeOf(m[1], m[2], file, n, col.name);
    } else {
      c[col.kind] = safeInteger(Number(cell.replace(/,/g, '')), cell, file, n, col.name);
    }
  }
  for (const c of Object.values(pools)) if (c.outstanding === undefined && c.allocs !== undefined && c.frees !== undefined) c.outstanding = c.allocs - c.frees;
  const { tagText, description } = tagCell(cells[header.tagIndex]);
  const row: UsageRow = { tag: reportTag(tagText, file, n), tagText: tagText.padEnd(4, ' '), nonpaged: pools.nonpaged, paged: pools.paged, line: n };
  if (used.has('unknownPool')) row.unknownPool = pools.unknownPool;
  if (description) row.description = description;
  return row;
}

/** `` `D2d ` `` keeps its inner space; `` `WCsc` (wcifs stream context) `` carries a description. */
function tagCell(cell: string): { tagText: string; description?: string } {
  const quoted = /^`([^`]{1,4})`\s*(.*)$/.exec(cell);
  if (quoted) return { tagText: quoted[1], description: quoted[2].replace(/^\((.*)\)$/, '$1') || undefined };
  return { tagText: cell };
}

function findHeader(lines: string[]): { line: number; header: Header } | undefined {
  let pool: Pool | undefined;
  for (let i = 0; i < lines.length; i++) {
    const heading = /^\s*#{1,6}\s+(.*)$/.exec(lines[i]);
    if (heading) pool = poolWord(heading[1]) ?? pool;
    const header = headerOf(lines[i], pool);
    if (header) return { line: i, header };
  }
  return undefined;
}

function splitCells(line: string, markdown: boolean): string[] {
  if (!markdown) return line.trim().split(/\s+/);
  return line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
}

function headerOf(line: string, headingPool: Pool | undefined): Header | undefined {
  const markdown = MD_ROW.test(line) && !MD_RULE.test(line);
  const tokens = splitCells(line, markdown);
  const tagIndex = tokens.findIndex((t) => /^tag$/i.test(t));
  if (tagIndex < 0) return undefined;
  const columns: Column[] = [];
  const deltas: string[] = [];
  const seen = new Set<string>();
  tokens.forEach((name, index) => {
    const col = markdown ? markdownColumn(name, index, headingPool) : whitespaceColumn(name, index);
    if (markdown && /\b(delta|change|growth|increase)\b/i.test(name)) deltas.push(name);
    if (!col) return;
    // A second column for the same counter (NP_MB beside NP_KB) says nothing new.
    const key = `${col.pool}/${col.kind}`;
    if (seen.has(key)) return;
    seen.add(key);
    columns.push(col);
  });
  if (!columns.some((c) => c.kind === 'bytes') && !deltas.length && !(markdown && columns.length)) return undefined;
  return { tagIndex, columns, width: Math.max(tagIndex, ...columns.map((c) => c.index)) + 1, markdown, deltas };
}

function whitespaceColumn(name: string, index: number): Column | undefined {
  const size = SIZE_COLUMN.exec(name);
  const count = COUNT_COLUMN.exec(name);
  const m = size ?? count;
  if (!m) return undefined;
  const pool: Pool = /^(np|nonpaged|non-paged)$/i.test(m[1]) ? 'nonpaged' : 'paged';
  const kind: Kind = size ? 'bytes' : /^alloc/i.test(m[2]) ? 'allocs' : 'frees';
  return { index, pool, kind, scale: size ? UNITS[m[2].toLowerCase()] : 1, name };
}

/** Markdown headers are prose: "Current bytes", "Outstanding allocations (`allocs - frees`)", "NP MB". */
function markdownColumn(name: string, index: number, headingPool: Pool | undefined): Column | undefined {
  const pool = poolWord(name) ?? headingPool;
  const unit = /\b(bytes|kib|kb|mib|mb|gib|gb)\b/i.exec(name);
  if (/outstanding|allocs?\s*-\s*frees|\bdiff\b/i.test(name)) return { index, pool, kind: 'outstanding', scale: 1, name };
  if (/\bfrees?\b/i.test(name)) return { index, pool, kind: 'frees', scale: 1, name };
  if (/\ballocs?\b|allocations/i.test(name)) return { index, pool, kind: 'allocs', scale: 1, name };
  // "Current bytes" cells carry their own unit ("7,695.3 MB"); "Size (MB)" cells are bare numbers.
  if (unit) return { index, pool, kind: 'bytes', scale: unit[1].toLowerCase() === 'bytes' ? 0 : UNITS[unit[1].toLowerCase()], name };
  return undefined;
}

/** The row's cells when the tag and every read column hold what they should, else undefined. */
function cellsOf(line: string, h: Header): string[] | undefined {
  const cells = splitCells(line, h.markdown);
  if (cells.length < h.width) return undefined;
  const tag = tagCell(cells[h.tagIndex]).tagText;
  if (tag === '' || tag.replace(/\\x[0-9a-fA-F]{2}/g, '.').length > 4) return undefined;
  for (const c of h.columns) {
    const cell = cells[c.index];
    if (c.kind === 'bytes' ? !(c.scale ? NUMBER.test(cell) : SIZED.test(cell)) : !/^\d[\d,]*$/.test(cell)) return undefined;
  }
  if (h.deltas.length && !cells.slice(1).some((c) => NUMBER.test(c))) return undefined;
  return cells;
}

/** One tag's counters as `Key: value` lines (a home-grown single-tag dump). */
function parseRecord(lines: string[], file: string, ledger: LineLedger, raw: string[]): Report {
  let row: UsageRow | undefined;
  const rows: UsageRow[] = [];
  lines.forEach((line, i) => {
    const n = i + 1;
    const tag = RECORD_TAG.exec(line);
    if (tag) {
      ledger.use(n);
      row = { tag: reportTag(tag[1], file, n), tagText: tag[1].padEnd(4, ' '), nonpaged: {}, paged: {}, line: n };
      rows.push(row);
      return;
    }
    const field = RECORD_FIELD.exec(line);
    if (!field || !row) return;
    ledger.use(n);
    const pool: Pool = field[1] ? (poolWord(field[1]) ?? 'unknownPool') : 'unknownPool';
    const counters = pool === 'unknownPool' ? (row.unknownPool ??= {}) : row[pool];
    const value = safeInteger(Number(field[3].replace(/,/g, '')), field[3], file, n, field[2]);
    const word = field[2].toLowerCase();
    const kind: Kind = word === 'bytes' ? 'bytes' : word === 'frees' ? 'frees' : word === 'outstanding' ? 'outstanding' : 'allocs';
    counters[kind] = value;
  });
  for (const r of rows) {
    // "Outstanding:" without a pool belongs to the one pool the record describes.
    const pools = (['nonpaged', 'paged'] as const).filter((p) => Object.keys(r[p]).length > 0);
    if (r.unknownPool && pools.length === 1) {
      r[pools[0]] = { ...r.unknownPool, ...r[pools[0]] };
      delete r.unknownPool;
    }
    for (const c of [r.nonpaged, r.paged]) if (c.outstanding === undefined && c.allocs !== undefined && c.frees !== undefined) c.outstanding = c.allocs - c.frees;
  }
  const report: Report = { format: 'adhoc', kind: 'usage', file, snapshots: [{ rows }] };
  const skipped = ledger.skipped(raw);
  if (skipped) report.skipped = skipped;
  return report;
}
