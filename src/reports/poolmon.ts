// poolmon, both its interactive screen (copied from the console) and its `/n` snapshot log
// (poolsnap.log, appended to by every run). Grammar, from poolmon.c's printf formats:
//   [ Memory:  260620K Avail: ... PageFlts: ... InRam Krnl: ...K P: ...K ]
//   [ Commit: ... Limit: ... Peak: ...            Pool N: 8500K P:33024K ]
//   [ System pool information | Session N pool information | All sessions pool information ]
//   Tag  Type  Allocs [( n)]  Frees [( n)]  Diff  Bytes [( n)]  Per Alloc  [Mapped_Driver]
//    %4s %5s   ...                                                          [ntfs.sys - AttrSup.c]
//   [ Total Nonp ... / Total Paged ... ]                                     (the /e switch)
// x86 and x64 builds differ only in widths. The `( n)` cells are changes since the previous screen
// (negative when a count fell). A tag with both pools gets a `Nonp` row and a `Paged` row: merged here
// into one UsageRow. Each header (or Memory: line) starts a new snapshot, so a log of appended /n runs
// or several pasted screens becomes several Snapshots. A pasted fragment may have no header at all:
// a row's shape (tag, Nonp/Paged, numbers) is enough to read it. The tag is what precedes the Type
// word, so `Dh 1` at column 0 and a short unpadded `CM` both read right.
import { addCounters, emptyCounters, ReportParseError, type PoolCounters, type Report, type Snapshot, type UsageRow } from './types.js';
import { exactCount, reportLines, reportTag } from './report-text.js';
import { KD_PROMPT, outstandingOf, RowCursor } from './lines.js';
import { cleanLine, LineLedger, pastedLines, withoutHeading } from './paste.js';

const FORMAT = 'poolmon';
const HEADER = /^(\s*)Tag\s+Type\s+Allocs\s+(?:\(\s*\)\s+)?Frees\s+(?:\(\s*\)\s+)?Diff\s+Bytes\s+(?:\(\s*\)\s+)?Per Alloc(\s+Mapped_Driver)?\s*$/;
const MEMORY = /^\s*Memory:\s*\d+K\s+Avail:/;
const COMMIT = /^\s*Commit:.*\bPool N:\s*(\d+)K\s+P:\s*(\d+)K\s*$/;
const POOL_HEADING = /^\s*(System|All sessions|Session \d+) pool information\s*$/;
const TOTAL = /^\s*Total\s+(Nonp|Paged)\s/;
/** A row: a tag of up to 4 characters, the pool type, then counters. */
const ROW = /^(\s*)(\S.{0,3}?)\s+(Nonp|Paged)\s+(?:[\d,]+)(?:\s|$)/;
/**
 * Something in a row's place that is not one (a damaged row): an error, never skipped. A tag, the pool
 * type (or what stands in its place), then cells most of which are numbers or `(` deltas.
 */
const ROW_LIKE = {
  test(raw: string): boolean {
    if (/^\s*\S.{0,3}?\s+(?:Nonp|Paged)\b/.test(raw)) return true;
    const cells = raw.trim().split(/\s+/, 8);
    if (cells.length < 5 || cells[0].length > 4) return false;
    return cells.slice(2).filter((c) => /^[\d(-]/.test(c)).length >= 3;
  },
};
// A shell prompt (`C:\tools>poolmon -n`) or a debugger prompt between pasted runs.
const PROMPT = /^\s*(?:[A-Za-z]:\\[^>]*>|PS [^>]*>)/;
// poolmon prints this for tags its tag file does not know: no owner information.
const UNKNOWN_DRIVER = 'Unknown Driver';

type Pool = 'nonpaged' | 'paged';

interface Building {
  snap: Snapshot;
  /** Line where this snapshot began, for the missing-header error. */
  began: number;
  header?: { tagCol: number };
  session: boolean;
  /** Rows by tag, with the pools already filled, so a Paged row joins its Nonp row. */
  byTag: Map<number, { row: UsageRow; filled: Set<Pool> }[]>;
  totalsFromLines: boolean;
}

export function looksLikePoolmon(text: string): number {
  const lines = reportLines(text.slice(0, 256 * 1024)).map(cleanLine);
  const header = lines.some((l) => HEADER.test(withoutHeading(l)));
  const memory = lines.some((l) => MEMORY.test(l) || COMMIT.test(l));
  const rows = lines.filter((l) => ROW.test(l)).length;
  if (header) return memory || rows > 0 ? 1 : 0.9;
  if (rows > 0) return memory ? 0.9 : rows >= 2 ? 0.7 : 0.5;
  return memory ? 0.4 : 0;
}

export function parsePoolmon(text: string, file: string): Report {
  const lines = reportLines(text);
  const ledger = new LineLedger();
  const snapshots: Snapshot[] = [];
  let cur: Building | undefined;

  const begin = (n: number): Building => {
    finish();
    cur = { snap: { rows: [] }, began: n, session: false, byTag: new Map(), totalsFromLines: false };
    return cur;
  };
  const finish = () => {
    if (!cur) return;
    if (!cur.header) {
      throw new ReportParseError(file, cur.began, `${FORMAT}: expected the "Tag  Type  Allocs  Frees  Diff  Bytes  Per Alloc" header after this line`);
    }
    snapshots.push(cur.snap);
    cur = undefined;
  };

  for (const { n, raw } of pastedLines(lines)) {
    if (PROMPT.test(raw) || KD_PROMPT.test(raw)) {
      ledger.use(n);
      if (cur?.header) finish();
      continue;
    }
    if (MEMORY.test(raw)) {
      ledger.use(n);
      begin(n);
      continue;
    }
    const commit = COMMIT.exec(raw);
    if (commit) {
      ledger.use(n);
      const b = cur && !cur.header ? cur : begin(n);
      if (!b.totalsFromLines) {
        b.snap.totals = {
          nonpaged: bytesOnly(exactCount(commit[1], file, n, `${FORMAT}: Pool N`) * 1024),
          paged: bytesOnly(exactCount(commit[2], file, n, `${FORMAT}: Pool P`) * 1024),
        };
      }
      continue;
    }
    const heading = POOL_HEADING.exec(raw);
    if (heading) {
      ledger.use(n);
      const b = cur && !cur.header ? cur : begin(n);
      b.session = heading[1] !== 'System';
      continue;
    }
    const header = HEADER.exec(withoutHeading(raw));
    if (header) {
      ledger.use(n);
      const b = cur && !cur.header ? cur : begin(n);
      b.header = { tagCol: header[1].length };
      continue;
    }
    const total = TOTAL.exec(raw);
    if (total && cur?.header) {
      ledger.use(n);
      readTotal(raw, total[1] === 'Nonp' ? 'nonpaged' : 'paged', cur, file, n);
      continue;
    }
    const row = ROW.exec(raw);
    if (!row && !(cur?.header && ROW_LIKE.test(raw))) continue; // chatter: counted as skipped
    // A header-less fragment: the first row opens the table where it starts.
    if (!cur?.header) (cur && !cur.header ? cur : begin(n)).header = { tagCol: row ? row[1].length : 0 };
    ledger.use(n);
    addRow(raw, cur!, file, n);
  }
  finish();
  if (snapshots.length === 0) {
    throw new ReportParseError(file, 1, `${FORMAT}: no table header (expected "Tag  Type  Allocs  Frees  Diff  Bytes  Per Alloc") and no rows`);
  }
  const report: Report = { format: 'poolmon', kind: 'usage', file, snapshots };
  const skipped = ledger.skipped(lines);
  if (skipped) report.skipped = skipped;
  if (snapshots.every((s) => s.rows.length === 0)) {
    report.kind = 'statement';
    report.snapshots = [];
    report.statement = 'poolmon output with a table header and no rows';
  }
  return report;
}

function bytesOnly(bytes: number): PoolCounters {
  return { bytes };
}

/** Allocs [( n)] Frees [( n)] Diff Bytes [( n)]: the counters and the changes, cursor left after Bytes. */
function readCounters(cur: RowCursor): { counters: PoolCounters; delta: UsageRow['delta'] } {
  const allocs = cur.count('Allocs');
  const dAllocs = cur.delta('Allocs');
  const frees = cur.count('Frees');
  const dFrees = cur.delta('Frees');
  const diff = cur.signed('Diff');
  const bytes = cur.count('Bytes');
  const dBytes = cur.delta('Bytes');
  const outstanding = outstandingOf(allocs, frees, diff);
  if (outstanding === undefined) cur.fail(`Diff ${diff} is negative and Frees ${frees} > Allocs ${allocs} cannot be a 32-bit wrap`);
  const delta = dAllocs === undefined && dFrees === undefined && dBytes === undefined ? undefined : { allocs: dAllocs, frees: dFrees, bytes: dBytes };
  return { counters: { allocs, frees, outstanding, bytes }, delta };
}

function addRow(raw: string, b: Building, file: string, n: number): void {
  // The tag is what precedes the Type word; a damaged row falls back to its first word, so the
  // cursor can say which cell is wrong.
  const m = /^(\s*)(\S.{0,3}?)\s+(?=(?:Nonp|Paged)\b)/.exec(raw) ?? /^(\s*)(\S{1,4})\s+/.exec(raw);
  if (!m) throw new ReportParseError(file, n, `${FORMAT}: expected a row: a tag of up to 4 characters, Nonp or Paged, then the counters`);
  const lead = m[1].length;
  const tagCol = b.header!.tagCol;
  // A tag may start with a space (` DMV`): the header's column says so when the row starts further in.
  const start = lead > tagCol && lead - tagCol < 4 && m[2].length + lead - tagCol <= 4 ? tagCol : lead;
  const cut = { tagText: raw.slice(start, lead + m[2].length).padEnd(4, ' '), end: lead + m[2].length };
  const cur = new RowCursor(raw, file, n, FORMAT, cut.end);
  const type = cur.token();
  if (type !== 'Nonp' && type !== 'Paged') cur.fail(`expected Nonp or Paged in column Type, got '${type.slice(0, 24)}'`);
  const pool: Pool = type === 'Nonp' ? 'nonpaged' : 'paged';
  const { counters, delta } = readCounters(cur);
  // Per Alloc is only Bytes / Diff, printed signed; read to reach the Mapped_Driver text after it.
  cur.signed('Per Alloc');
  const driver = cur.rest();
  const description = driver === undefined || driver === UNKNOWN_DRIVER ? undefined : driver;

  const tag = reportTag(cut.tagText, file, n);
  const seen = b.byTag.get(tag) ?? [];
  let entry = seen.find((e) => !e.filled.has(pool) && e.row.tagText === cut.tagText);
  if (!entry) {
    const row: UsageRow = { tag, tagText: cut.tagText, nonpaged: emptyCounters(), paged: emptyCounters(), line: n };
    entry = { row, filled: new Set() };
    seen.push(entry);
    b.byTag.set(tag, seen);
    b.snap.rows.push(row);
  }
  entry.filled.add(pool);
  const row = entry.row;
  // Session screens fold both pool types into the session counters.
  if (b.session) row.session = addCounters(row.session ?? {}, counters);
  else row[pool] = counters;
  if (delta) {
    row.delta = {
      allocs: plus(row.delta?.allocs, delta.allocs),
      frees: plus(row.delta?.frees, delta.frees),
      bytes: plus(row.delta?.bytes, delta.bytes),
    };
  }
  if (driver !== undefined) row.mappedDriver ??= driver;
  if (description !== undefined) {
    if (row.description === undefined) row.description = description;
    else if (row.description !== description) row.description += '; ' + description;
  }
}

function readTotal(raw: string, pool: Pool, b: Building, file: string, n: number): void {
  const cur = new RowCursor(raw, file, n, FORMAT, raw.indexOf(pool === 'nonpaged' ? 'Nonp' : 'Paged') + (pool === 'nonpaged' ? 4 : 5));
  const { counters } = readCounters(cur);
  cur.signed('Per Alloc');
  if (!b.totalsFromLines) {
    // The Total lines are exact; the header's Pool N:/P: figures were only kilobytes.
    b.snap.totals = {};
    b.totalsFromLines = true;
  }
  b.snap.totals![pool] = counters;
}


function plus(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0);
}
