// WinDbg `!poolused` (kdexts). The table is one of:
//   default / 2 / 4:  Tag    Allocs     Used    Allocs     Used          under "NonPaged   Paged"
//   verbose (bit 1):  Tag Allocs Frees Diff Used  Allocs Frees Diff Used
// with a description after the numbers: glued to the last number in old kdexts
// ("0UNKNOWN pooltag", and "01394 OHCI host controller" where only the column's right edge separates
// Used=0 from the text), after a TAB in newer ones. `!poolused 2`/`4` only change the sort order and
// the "Sorting by ..." line; bit 8 shows session pool in the same layout. A `TOTAL` line may close the
// table. Debugger chatter (kd cache statistics, "unable to get ..." symbol noise) comes before it.
// The default layout's Allocs are *outstanding* allocations: Allocs and Frees themselves are absent.
// Pasted fragments often lose the header: the layout is then inferred from the row's shape (4 or 8
// numbers). Several `!poolused` commands in one paste show one machine at one moment sorted different
// ways, so their rows join into one snapshot, a tag listed twice counted once.
import { addCounters, ReportParseError, type PoolCounters, type Report, type Snapshot, type UsageRow } from './types.js';
import { reportLines, reportTag } from './report-text.js';
import { ELISION, KD_PROMPT, outstandingOf, RowCursor } from './lines.js';
import { cleanLine, LineLedger, pastedLines, withoutHeading } from './paste.js';

const FORMAT = 'poolused';
const HEADER = /^(\s*)Tag((?:\s+(?:Allocs|Frees|Diff|Used))+)\s*$/;
const POOL_NAMES = /^\s*(?:NonPaged|Paged|Session)(?:\s+(?:NonPaged|Paged|Session))*\s*$/i;
const COMMAND = /!poolused(?:\s+(0x[0-9a-f]+|[0-9a-f]+))?/i;
const SORTING = /^\s*Sorting by\b/i;
// "Sorting by Session ..." headings mark session pool when the command line was not captured.
const SORTING_SESSION = /^\s*Sorting by .*session/i;
const TOTAL = /^\s*TOTAL\s+\d/;
/**
 * A short word, then cells most of which start with a digit: a row, or a broken one to report (never
 * chatter to skip). kd's cache statistics ("counts: 56 cached/37 uncached") fail the "most".
 */
const ROW_LIKE = {
  test(raw: string): boolean {
    const cells = raw.trim().split(/\s+/, 5);
    if (cells.length < 4 || cells[0].length > 8) return false;
    return cells.slice(1).filter((c) => /^\d/.test(c)).length >= Math.min(3, cells.length - 1);
  },
};
const UNKNOWN_TAG = /^UNKNOWN pooltag '.{0,4}', please update pooltag\.txt$/;
const BINARY = /(?:^|,)\s*Binary\s*:\s*(\S.*?)\s*$/i;
const SESSION_FLAG = 0x8;

type Pool = 'nonpaged' | 'paged' | 'session';

interface Column {
  name: string;
  /** Where the header word ends: the right edge of right-aligned numbers. */
  end: number;
}

interface Table {
  tagCol: number;
  groups: { pool: Pool; columns: Column[] }[];
  session: boolean;
}

export function looksLikePoolused(text: string): number {
  const lines = reportLines(text.slice(0, 256 * 1024)).map(withoutHeading);
  const header = lines.some((l) => HEADER.test(l) && /Allocs/.test(l) && /Used/.test(l));
  if (header) return lines.some((l) => COMMAND.test(l) || SORTING.test(l) || POOL_NAMES.test(l)) ? 1 : 0.8;
  const command = lines.some((l) => COMMAND.test(l));
  // A header-less fragment: rows of 4 or 8 numbers, a TAB or a glued description after them.
  const rows = lines.filter((l) => inferTable(cleanLine(l)) !== undefined).length;
  if (rows >= 2 || (rows === 1 && command)) return command ? 0.9 : 0.6;
  return command ? 0.3 : 0;
}

export function parsePoolused(text: string, file: string): Report {
  const lines = reportLines(text);
  const ledger = new LineLedger();
  const snap: Snapshot = { rows: [] };
  const byTag = new Map<number, UsageRow>();
  let table: Table | undefined;
  let tables = 0;
  let session = false;
  let poolNames: Pool[] | undefined;

  for (const { n, raw } of pastedLines(lines)) {
    if (KD_PROMPT.test(raw)) {
      ledger.use(n);
      table = undefined;
      const cmd = COMMAND.exec(raw);
      session = cmd?.[1] !== undefined && (parseInt(cmd[1], 16) & SESSION_FLAG) !== 0;
      poolNames = undefined;
      continue;
    }
    const headed = withoutHeading(raw);
    const header = HEADER.exec(headed);
    if (header) {
      ledger.use(n);
      table = readHeader(headed, header, poolNames, session, file, n);
      tables++;
      continue;
    }
    if (!table) {
      if (POOL_NAMES.test(raw)) {
        ledger.use(n);
        poolNames = raw.trim().split(/\s+/).map(poolOf);
        continue;
      }
      if (SORTING.test(raw)) {
        ledger.use(n);
        session ||= SORTING_SESSION.test(raw);
        continue;
      }
      table = inferTable(raw, session);
      if (!table) {
        poolNames = undefined;
        continue;
      }
      tables++;
    }
    if (ELISION.test(raw)) continue;
    if (TOTAL.test(raw)) {
      ledger.use(n);
      snap.totals = readTotals(raw, table, file, n);
      table = undefined;
      continue;
    }
    if (!ROW_LIKE.test(raw)) continue;
    ledger.use(n);
    const row = readRow(raw, table, file, n);
    const seen = byTag.get(row.tag);
    if (seen) joinRow(seen, row, table);
    else {
      byTag.set(row.tag, row);
      snap.rows.push(row);
    }
  }
  if (tables === 0) {
    throw new ReportParseError(file, 1, `${FORMAT}: no table header (expected "Tag  Allocs  Used  Allocs  Used" or the verbose "Tag  Allocs  Frees  Diff  Used ...") and no rows`);
  }
  const report: Report = { format: 'poolused', kind: 'usage', file, snapshots: [snap] };
  const skipped = ledger.skipped(lines);
  if (skipped) report.skipped = skipped;
  if (snap.rows.length === 0) {
    report.kind = 'statement';
    report.snapshots = [];
    report.statement = `!poolused output with a table header and no rows${snap.totals ? ' (only its TOTAL line)' : ''}`;
  }
  return report;
}

/** The same tag in a later table of the paste: its pools take the later figures (one moment, shown twice). */
function joinRow(seen: UsageRow, row: UsageRow, table: Table): void {
  for (const g of table.groups) {
    const pool: Pool = table.session ? 'session' : g.pool;
    if (pool === 'session') seen.session = row.session;
    else seen[pool] = row[pool];
  }
  seen.description ??= row.description;
  seen.binary ??= row.binary;
}

function poolOf(word: string): Pool {
  const w = word.toLowerCase();
  return w === 'nonpaged' ? 'nonpaged' : w === 'paged' ? 'paged' : 'session';
}

function readHeader(raw: string, m: RegExpExecArray, names: Pool[] | undefined, session: boolean, file: string, n: number): Table {
  const tagCol = m[1].length;
  const columns: Column[] = [];
  const word = /\S+/g;
  word.lastIndex = tagCol + 3;
  for (let w = word.exec(raw); w; w = word.exec(raw)) columns.push({ name: w[0], end: w.index + w[0].length });

  const groups: Column[][] = [];
  for (const c of columns) {
    if (c.name === 'Allocs') groups.push([c]);
    else if (groups.length > 0) groups[groups.length - 1].push(c);
    else throw new ReportParseError(file, n, `${FORMAT}: expected the header's first column to be Allocs, got '${c.name}'`);
  }
  for (const g of groups) {
    const shape = g.map((c) => c.name).join(' ');
    if (shape !== 'Allocs Used' && shape !== 'Allocs Frees Diff Used') {
      throw new ReportParseError(file, n, `${FORMAT}: expected column groups "Allocs Used" or "Allocs Frees Diff Used", got "${shape}"`);
    }
  }
  let pools: Pool[];
  if (names && names.length === groups.length) pools = names;
  else if (groups.length === 2) pools = ['nonpaged', 'paged'];
  else if (groups.length === 1 && session) pools = ['session'];
  else throw new ReportParseError(file, n, `${FORMAT}: expected a "NonPaged  Paged" heading naming the ${groups.length} column group(s)`);
  return { tagCol, groups: groups.map((columns, k) => ({ pool: pools[k], columns })), session };
}

/**
 * The layout of a header-less fragment from one row: a short tag, then 4 numbers (default layout) or 8
 * (verbose), then a TAB, a glued description or nothing. The number ends stand in for the header's
 * column edges (rows are right-aligned in fixed widths).
 */
function inferTable(raw: string, session = false): Table | undefined {
  if (!ROW_LIKE.test(raw) || /^\s*TOTAL\s/.test(raw)) return undefined;
  const body = raw.split('\t', 1)[0];
  const lead = body.length - body.trimStart().length;
  for (const tagEnd of tagEnds(body, lead)) {
    const nums = /\s+((?:0x[0-9a-f]+|[\d,]+))/giy;
    nums.lastIndex = tagEnd;
    const ends: number[] = [];
    for (let m = nums.exec(body); m; m = nums.exec(body)) ends.push(m.index + m[0].length);
    const rest = body.slice(ends[ends.length - 1] ?? tagEnd);
    if (rest !== '' && !/^(?:\s|[^\d\s,])/.test(rest)) continue;
    if (ends.length !== 4 && ends.length !== 8) continue;
    const names = ends.length === 4 ? ['Allocs', 'Used'] : ['Allocs', 'Frees', 'Diff', 'Used'];
    const column = (k: number): Column => ({ name: names[k % names.length], end: ends[k] });
    const half = ends.length / 2;
    const groups = [0, 1].map((g) => ({ pool: (g === 0 ? 'nonpaged' : 'paged') as Pool, columns: ends.slice(0, half).map((_, k) => column(g * half + k)) }));
    return { tagCol: lead, groups, session };
  }
  return undefined;
}

/** Where the tag cell may end: 4 characters wide (tags keep inner and trailing spaces), or its first word (`Abc` unpadded after a doc conversion collapsed spaces). */
function tagEnds(text: string, start: number): number[] {
  const out: number[] = [];
  if (text.length > start + 4 && /\s/.test(text[start + 4])) out.push(start + 4);
  const word = /^\S{1,4}(?=\s)/.exec(text.slice(start));
  if (word && start + word[0].length !== out[0]) out.push(start + word[0].length);
  return out;
}

/** The counters of every column group, in order; leaves the cursor after the last number. */
function readGroups(cur: RowCursor, table: Table): PoolCounters[] {
  const all = table.groups.flatMap((g) => g.columns);
  const values: number[] = [];
  let prevEnd = cur.pos;
  for (let k = 0; k < all.length; k++) {
    const c = all[k];
    const last = k === all.length - 1;
    const v = last ? readLastNumber(cur, c, k > 0 ? all[k - 1] : undefined, prevEnd) : c.name === 'Diff' ? cur.signed(c.name) : cur.count(c.name);
    values.push(v);
    prevEnd = cur.pos;
  }
  const out: PoolCounters[] = [];
  let k = 0;
  for (const g of table.groups) {
    if (g.columns.length === 2) {
      // The default layout's Allocs column is the outstanding count; allocs and frees are not shown.
      out.push({ outstanding: values[k], bytes: values[k + 1] });
    } else {
      const [allocs, frees, diff, bytes] = values.slice(k, k + 4);
      const outstanding = outstandingOf(allocs, frees, diff);
      if (outstanding === undefined) cur.fail(`Frees ${frees} exceed Allocs ${allocs} in counters too wide to have wrapped`);
      out.push({ allocs, frees, outstanding, bytes });
    }
    k += g.columns.length;
  }
  return out;
}

/**
 * The last number may run straight into the description. Old kdexts print the description with no
 * separator, so "01394 OHCI" is Used=0 followed by "1394 OHCI": the column's right edge (the previous
 * number's end plus the header's spacing) decides where the number stops.
 */
function readLastNumber(cur: RowCursor, col: Column, prev: Column | undefined, prevEnd: number): number {
  cur.skipSpace();
  const start = cur.pos;
  const digits = /^(?:0x[0-9a-f]+|\d{1,3}(?:,\d{3})+(?!\d)|\d+)/i.exec(cur.text.slice(start, start + 64));
  if (!digits) return cur.count(col.name);
  let end = start + digits[0].length;
  const after = cur.text[end];
  if (prev && after === ' ' && cur.text.slice(end).trim() !== '') {
    const edge = prevEnd + (col.end - prev.end);
    if (edge > start && edge < end) end = edge;
  }
  cur.pos = end;
  return cur.number(cur.text.slice(start, end), col.name, false);
}

function readRow(raw: string, table: Table, file: string, n: number): UsageRow {
  const lead = raw.length - raw.trimStart().length;
  // A tag may start with a space (` DMV`): the header's column says where it starts when the row is further in.
  const start = lead > table.tagCol && lead - table.tagCol < 4 ? table.tagCol : lead;
  const ends = tagEnds(raw, start);
  if (ends.length === 0) throw new ReportParseError(file, n, `${FORMAT}: expected a row starting with a tag of up to 4 characters followed by its counters`);
  let firstError: unknown;
  for (const end of ends) {
    try {
      return rowAt(raw, raw.slice(start, end).padEnd(4, ' '), end, table, file, n);
    } catch (e) {
      if (!(e instanceof ReportParseError)) throw e;
      firstError ??= e;
    }
  }
  throw firstError;
}

function rowAt(raw: string, tagText: string, end: number, table: Table, file: string, n: number): UsageRow {
  const cur = new RowCursor(raw, file, n, FORMAT, end);
  const groups = readGroups(cur, table);
  const row: UsageRow = { tag: reportTag(tagText, file, n), tagText, nonpaged: {}, paged: {}, line: n };
  table.groups.forEach((g, k) => {
    // Session pool (flag 8) keeps kdexts' NonPaged/Paged split out of the system-pool counters.
    const pool: Pool = table.session ? 'session' : g.pool;
    if (pool === 'session') row.session = addCounters(row.session ?? {}, groups[k]);
    else row[pool] = addCounters(row[pool], groups[k]);
  });
  const description = cur.rest();
  if (description !== undefined && !UNKNOWN_TAG.test(description)) {
    row.description = description;
    const binary = BINARY.exec(description);
    if (binary) row.binary = binary[1];
  }
  return row;
}

function readTotals(raw: string, table: Table, file: string, n: number): Snapshot['totals'] {
  const cur = new RowCursor(raw, file, n, FORMAT, raw.indexOf('TOTAL') + 5);
  const groups = readGroups(cur, table);
  if (!cur.atEnd()) cur.fail(`expected nothing after the TOTAL counters, got '${cur.rest()}'`);
  const totals: NonNullable<Snapshot['totals']> = {};
  table.groups.forEach((g, k) => {
    if (g.pool !== 'session') totals[g.pool] = groups[k];
  });
  return totals;
}
