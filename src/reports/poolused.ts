// WinDbg `!poolused` (kdexts). The table is one of:
//   default / 2 / 4:  Tag    Allocs     Used    Allocs     Used          under "NonPaged   Paged"
//   verbose (bit 1):  Tag Allocs Frees Diff Used  Allocs Frees Diff Used
// with a description after the numbers: glued to the last number in old kdexts
// ("0UNKNOWN pooltag", and "01394 OHCI host controller" where only the column's right edge separates
// Used=0 from the text), after a TAB in newer ones. `!poolused 2`/`4` only change the sort order and
// the "Sorting by ..." line; bit 8 shows session pool in the same layout. A `TOTAL` line may close the
// table. Debugger chatter (kd cache statistics, "unable to get ..." symbol noise) comes before it.
// The default layout's Allocs are *outstanding* allocations: there frees are unknown and reported as 0.
import { emptyCounters, ReportParseError, type PoolCounters, type Report, type Snapshot, type UsageRow } from './types.js';
import { reportLines, reportTag } from './report-text.js';
import { cutTag, ELISION, KD_PROMPT, outstandingOf, RowCursor } from './lines.js';

const FORMAT = 'poolused';
const HEADER = /^(\s*)Tag((?:\s+(?:Allocs|Frees|Diff|Used))+)\s*$/;
const POOL_NAMES = /^\s*(?:NonPaged|Paged|Session)(?:\s+(?:NonPaged|Paged|Session))*\s*$/i;
const COMMAND = /!poolused(?:\s+(0x[0-9a-f]+|[0-9a-f]+))?/i;
const SORTING = /^\s*Sorting by\b/i;
// "Sorting by Session ..." headings mark session pool when the command line was not captured.
const SORTING_SESSION = /^\s*Sorting by .*session/i;
const TOTAL = /^\s*TOTAL\s+\d/;
const ORPHAN_ROW = /^\s?\S.{3}\s+\d+\s+\d+\s+\d+\s+\d+/;
const UNKNOWN_TAG = /^UNKNOWN pooltag '.{0,4}', please update pooltag\.txt$/;
const SESSION_FLAG = 0x8;
// kdexts appends pooltag.txt's binary field to the description: "Etw Buffer , Binary: nt!etw".
const BINARY = /\bBinary\s*:\s*(\S.*?)\s*$/i;

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
  const lines = reportLines(text.slice(0, 256 * 1024));
  const header = lines.some((l) => HEADER.test(l) && /Allocs/.test(l) && /Used/.test(l));
  if (!header) return lines.some((l) => COMMAND.test(l)) ? 0.3 : 0;
  return lines.some((l) => COMMAND.test(l) || SORTING.test(l) || POOL_NAMES.test(l)) ? 1 : 0.8;
}

export function parsePoolused(text: string, file: string): Report {
  const lines = reportLines(text);
  const snapshots: Snapshot[] = [];
  let table: Table | undefined;
  let snap: Snapshot | undefined;
  let session = false;
  let poolNames: Pool[] | undefined;
  // After a `!poolused` prompt its table must follow: a row before the header means the header is damaged.
  let expectTable = false;

  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const n = i + 1;
    if (raw.trim() === '') continue;
    if (KD_PROMPT.test(raw)) {
      table = undefined;
      const cmd = COMMAND.exec(raw);
      expectTable = cmd !== null;
      session = cmd?.[1] !== undefined && (parseInt(cmd[1], 16) & SESSION_FLAG) !== 0;
      poolNames = undefined;
      continue;
    }
    const header = HEADER.exec(raw);
    if (header) {
      table = readHeader(raw, header, poolNames, session, file, n);
      snap = { rows: [] };
      if (table.groups.every((g) => g.columns.length === 2)) snap.missing = ['allocs', 'frees'];
      snapshots.push(snap);
      expectTable = false;
      continue;
    }
    if (!table || !snap) {
      if (expectTable && ORPHAN_ROW.test(raw)) {
        throw new ReportParseError(file, n, `${FORMAT}: row before the "Tag  Allocs ... Used" header of this !poolused output`);
      }
      if (POOL_NAMES.test(raw)) poolNames = raw.trim().split(/\s+/).map(poolOf);
      else if (SORTING.test(raw)) session ||= SORTING_SESSION.test(raw);
      else poolNames = undefined;
      continue;
    }
    if (ELISION.test(raw)) continue;
    if (TOTAL.test(raw)) {
      snap.totals = readTotals(raw, table, file, n);
      table = undefined;
      continue;
    }
    snap.rows.push(readRow(raw, table, file, n));
  }
  if (snapshots.length === 0) {
    throw new ReportParseError(file, 1, `${FORMAT}: no table header (expected "Tag  Allocs  Used  Allocs  Used" or the verbose "Tag  Allocs  Frees  Diff  Used ...")`);
  }
  return { format: 'poolused', file, snapshots };
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
      // This layout's Allocs column counts what is still allocated; allocations made and freed are not given.
      const [outstanding, bytes] = [values[k], values[k + 1]];
      out.push({ allocs: 0, frees: 0, outstanding, bytes });
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
  const digits = /^(?:0x[0-9a-f]+|\d+)/i.exec(cur.text.slice(start, start + 64));
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
  const cut = cutTag(raw, table.tagCol);
  if (!cut) throw new ReportParseError(file, n, `${FORMAT}: expected a row starting with a 4-character tag followed by its counters`);
  const cur = new RowCursor(raw, file, n, FORMAT, cut.end);
  const groups = readGroups(cur, table);
  const row: UsageRow = {
    tag: reportTag(cut.tagText, file, n),
    tagText: cut.tagText,
    nonpaged: emptyCounters(),
    paged: emptyCounters(),
    line: n,
  };
  table.groups.forEach((g, k) => {
    // Session pool (flag 8) keeps kdexts' NonPaged/Paged split out of the system-pool counters.
    const pool: Pool = table.session ? 'session' : g.pool;
    if (pool === 'session') row.session = add(row.session ?? emptyCounters(), groups[k]);
    else row[pool] = add(row[pool], groups[k]);
  });
  const description = cur.rest();
  if (description !== undefined && !UNKNOWN_TAG.test(description)) {
    row.description = description;
    const binary = BINARY.exec(description);
    if (binary) row.drivers = [binary[1]];
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

function add(a: PoolCounters, b: PoolCounters): PoolCounters {
  return { allocs: a.allocs + b.allocs, frees: a.frees + b.frees, outstanding: a.outstanding + b.outstanding, bytes: a.bytes + b.bytes };
}
