// Rekall's JSON renderer stream (`--format json`, and `--format data`, which shares the grammar):
//   [["m",{"plugin_name":"pool_tracker",...}],["t",[colspec,...],{}],["r",row],...,["x"]]
// m = metadata, t = table header, r = row, x = end; s/f/p/L carry sections, free text, progress and
// log lines. The renderer flushes whole arrays as it goes, so a file may hold several arrays back to
// back; a stream written one message per line (JSON lines) is read too.
// Rows are positional lists (json renderer) or objects keyed by each column's cname (data renderer,
// and the json renderer of Rekall 1.0.x). Rekall 1.x's pool_tracker declared the paged columns with
// the non-paged cnames, so its keyed rows lost the non-paged counters: that is refused, not guessed.
import { ReportParseError, type Report, type Snapshot, type UsageRow } from './types.js';
import { allocCounters } from './rekall-text.js';
import { exactCount, exactSignedCount, headLines, jsonValues, lineIndex, reportLines, reportTag, safeInteger } from './report-text.js';

type Role = 'tag' | 'npAlloc' | 'npBytes' | 'pAlloc' | 'pBytes';

// Human titles first (Rekall 1.x: title "P Alloc" with cname "nonpaged"), then cnames (later Rekall).
const ROLE_BY_NAME: Record<string, Role> = {
  'Tag': 'tag', 'NP Alloc': 'npAlloc', 'NP Bytes': 'npBytes', 'P Alloc': 'pAlloc', 'P Bytes': 'pBytes',
  'tag': 'tag', 'nonpaged': 'npAlloc', 'nonpaged_bytes': 'npBytes', 'paged': 'pAlloc', 'paged_bytes': 'pBytes',
};
const ROLES: Role[] = ['tag', 'npAlloc', 'npBytes', 'pAlloc', 'pBytes'];
const IGNORED_MESSAGES = new Set(['s', 'f', 'p', 'L']);

interface Message {
  value: unknown[];
  line: number;
}

interface Table {
  /** Role of each column by position. */
  roles: Role[];
  /** Key of each column in keyed rows (cname, else name). */
  keys: string[];
  snapshot: Snapshot;
}

export function looksLikeRekallJson(text: string): number {
  const head = headLines(text, 20).join('\n').trimStart();
  if (!/^\[\s*(\[\s*)?"[mtrx]"/.test(head)) return 0;
  return head.includes('"pool_tracker"') ? 1 : 0.9;
}

export function parseRekallJson(text: string, file: string): Report {
  const snapshots: Snapshot[] = [];
  let table: Table | undefined;
  let ended = false;
  let lastLine = 1;
  for (const { value: msg, line } of messages(text, file)) {
    lastLine = line;
    const kind = msg[0];
    if (kind === 'm') {
      const meta = msg[1];
      const plugin = isObject(meta) ? meta.plugin_name : undefined;
      if (plugin !== undefined && plugin !== 'pool_tracker') {
        // Well-formed Rekall output of another plugin: say what it is rather than "unrecognised".
        const statement = `Rekall JSON output of the ${String(plugin).slice(0, 60)} plugin (line ${line}), not pool_tracker: it holds no pool counters`;
        return { format: 'rekall-json', kind: 'statement', file, snapshots: [], statement };
      }
      ended = false;
    } else if (kind === 't') {
      table = readHeader(msg[1], file, line);
      snapshots.push(table.snapshot);
      ended = false;
    } else if (kind === 'r') {
      if (!table) throw new ReportParseError(file, line, 'rekall-json: row before any table header ("t" message)');
      table.snapshot.rows.push(readRow(table, msg[1], file, line));
      ended = false;
    } else if (kind === 'x') {
      ended = true;
    } else if (kind === 'e') {
      throw new ReportParseError(file, line, `rekall-json: Rekall reported an error: ${JSON.stringify(msg[1]).slice(0, 200)}`);
    } else if (typeof kind !== 'string' || !IGNORED_MESSAGES.has(kind)) {
      throw new ReportParseError(file, line, `rekall-json: unknown message ${JSON.stringify(kind)} (expected m, t, r, x, s, f, p or L)`);
    }
  }
  if (snapshots.length === 0) throw new ReportParseError(file, lastLine, 'rekall-json: the stream has no pool_tracker table ("t" message)');
  if (!ended) throw new ReportParseError(file, lastLine, 'rekall-json: the stream stops without its "x" end message (truncated?)');
  return { format: 'rekall-json', kind: 'usage', file, snapshots };
}

/** Every message of the stream with the line it starts on. */
function* messages(text: string, file: string): Generator<Message> {
  const body = reportLines(text).join('\n');
  const lineOf = lineIndex(body);
  for (const { value, start, elementStarts } of jsonValues(body, file, lineOf, 'rekall-json')) {
    if (!Array.isArray(value)) throw new ReportParseError(file, lineOf(start), 'rekall-json: expected a JSON array of messages');
    if (typeof value[0] === 'string') {
      yield { value, line: lineOf(start) };
      continue;
    }
    for (let i = 0; i < value.length; i++) {
      const m = value[i];
      const line = lineOf(elementStarts[i] ?? start);
      if (!Array.isArray(m) || m.length === 0) throw new ReportParseError(file, line, 'rekall-json: expected a message ["kind", ...]');
      yield { value: m, line };
    }
  }
}

function readHeader(specs: unknown, file: string, line: number): Table {
  if (!Array.isArray(specs)) throw new ReportParseError(file, line, 'rekall-json: "t" message without a list of column specs');
  const roles: Role[] = [];
  const keys: string[] = [];
  const names: string[] = [];
  for (const spec of specs) {
    const name = isObject(spec) && typeof spec.name === 'string' ? spec.name : undefined;
    const cname = isObject(spec) && typeof spec.cname === 'string' ? spec.cname : undefined;
    const role = (name !== undefined ? ROLE_BY_NAME[name] : undefined) ?? (cname !== undefined ? ROLE_BY_NAME[cname] : undefined);
    names.push(name ?? cname ?? '?');
    if (role === undefined || roles.includes(role)) break;
    roles.push(role);
    keys.push(cname ?? name ?? '');
  }
  if (roles.length !== ROLES.length || specs.length !== ROLES.length) {
    throw new ReportParseError(file, line, `rekall-json: table columns (${names.join(', ')}) are not pool_tracker's (Tag, NP Alloc, NP Bytes, P Alloc, P Bytes)`);
  }
  return { roles, keys, snapshot: { rows: [] } };
}

function readRow(table: Table, cells: unknown, file: string, line: number): UsageRow {
  const cell: Partial<Record<Role, unknown>> = {};
  if (Array.isArray(cells)) {
    if (cells.length !== table.roles.length) {
      throw new ReportParseError(file, line, `rekall-json: row has ${cells.length} cells, the table has ${table.roles.length} columns`);
    }
    table.roles.forEach((r, i) => (cell[r] = cells[i]));
  } else if (isObject(cells)) {
    const dup = table.keys.find((k, i) => table.keys.indexOf(k) !== i);
    if (dup !== undefined) {
      throw new ReportParseError(file, line, `rekall-json: the table repeats the column name "${dup}", so keyed rows lost some counters (Rekall 1.x pool_tracker); use the text renderer output`);
    }
    table.roles.forEach((r, i) => (cell[r] = cells[table.keys[i]]));
  } else {
    throw new ReportParseError(file, line, 'rekall-json: "r" message without a row list or object');
  }
  const text = textOf(cell.tag);
  if (text === undefined) throw new ReportParseError(file, line, 'rekall-json: tag cell is not a string');
  const tagText = text.padEnd(4, ' ');
  const np = allocsOf(cell.npAlloc, file, line, 'NP Alloc');
  const p = allocsOf(cell.pAlloc, file, line, 'P Alloc');
  return {
    tag: reportTag(text, file, line),
    tagText,
    nonpaged: allocCounters(np.allocs, np.outstanding, bytesOf(cell.npBytes, file, line, 'NP Bytes')),
    paged: allocCounters(p.allocs, p.outstanding, bytesOf(cell.pBytes, file, line, 'P Bytes')),
    line,
  };
}

/** A string cell: plain, or encoded by Rekall's object renderers ({"str"}, {"b64"}, {"value"}). */
function textOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (!isObject(v)) return undefined;
  if (typeof v.str === 'string') return v.str;
  if (typeof v.b64 === 'string') return Buffer.from(v.b64, 'base64').toString('latin1');
  if (typeof v.value === 'string') return v.value;
  return undefined;
}

function allocsOf(v: unknown, file: string, line: number, what: string): { allocs: number; outstanding: number } {
  const m = /^\s*(\d+) \((-?\d+)\)\s*$/.exec(textOf(v) ?? '');
  if (!m) throw new ReportParseError(file, line, `rekall-json: ${what} cell: expected "allocs (outstanding)", got ${JSON.stringify(v)?.slice(0, 80)}`);
  return { allocs: exactCount(m[1], file, line, what), outstanding: exactSignedCount(m[2], file, line, what) };
}

function bytesOf(v: unknown, file: string, line: number, what: string): number {
  const n = isObject(v) && 'value' in v ? v.value : v;
  if (typeof n === 'number' && n >= 0) return safeInteger(n, n, file, line, what);
  if (typeof n === 'string') return exactCount(n, file, line, what);
  throw new ReportParseError(file, line, `rekall-json: ${what} cell: expected a byte count, got ${JSON.stringify(v)?.slice(0, 80)}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
