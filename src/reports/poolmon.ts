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
// or several pasted screens becomes several Snapshots.
import { emptyCounters, ReportParseError, type PoolCounters, type Report, type Snapshot, type UsageRow } from './types.js';
import { exactCount, reportLines, reportTag } from './report-text.js';
import { cutTag, KD_PROMPT, outstandingOf, RowCursor } from './lines.js';

const FORMAT = 'poolmon';
const HEADER = /^(\s*)Tag\s+Type\s+Allocs\s+(?:\(\s*\)\s+)?Frees\s+(?:\(\s*\)\s+)?Diff\s+Bytes\s+(?:\(\s*\)\s+)?Per Alloc(\s+Mapped_Driver)?\s*$/;
const MEMORY = /^\s*Memory:\s*\d+K\s+Avail:/;
const COMMIT = /^\s*Commit:.*\bPool N:\s*(\d+)K\s+P:\s*(\d+)K\s*$/;
const POOL_HEADING = /^\s*(System|All sessions|Session \d+) pool information\s*$/;
const TOTAL = /^\s*Total\s+(Nonp|Paged)\s/;
const ORPHAN_ROW = /^\s?.{4}\s+(?:Nonp|Paged)\s+\d+\s/;
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
  const lines = reportLines(text.slice(0, 256 * 1024));
  const header = lines.some((l) => HEADER.test(l));
  const memory = lines.some((l) => MEMORY.test(l) || COMMIT.test(l));
  if (header) return memory || lines.some((l) => /^\s*\S{1,4}\s+(Nonp|Paged)\s+\d/.test(l)) ? 1 : 0.9;
  return memory ? 0.4 : 0;
}

export function parsePoolmon(text: string, file: string): Report {
  const lines = reportLines(text);
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

  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const n = i + 1;
    if (raw.trim() === '') continue;
    if (PROMPT.test(raw) || KD_PROMPT.test(raw)) {
      if (cur?.header) finish();
      continue;
    }
    if (MEMORY.test(raw)) {
      begin(n);
      continue;
    }
    const commit = COMMIT.exec(raw);
    if (commit) {
      const b = cur && !cur.header ? cur : begin(n);
      if (!b.totalsFromLines) {
        b.snap.totals = {
          nonpaged: bytesOnly(exactCount(commit[1], file, n, `${FORMAT}: Pool N`) * 1024),
          paged: bytesOnly(exactCount(commit[2], file, n, `${FORMAT}: Pool P`) * 1024),
          missing: ['allocs', 'frees', 'outstanding'],
        };
      }
      continue;
    }
    const heading = POOL_HEADING.exec(raw);
    if (heading) {
      const b = cur && !cur.header ? cur : begin(n);
      b.session = heading[1] !== 'System';
      continue;
    }
    const header = HEADER.exec(raw);
    if (header) {
      const b = cur && !cur.header ? cur : begin(n);
      b.header = { tagCol: header[1].length };
      continue;
    }
    if (!cur?.header) {
      if (ORPHAN_ROW.test(raw)) throw new ReportParseError(file, n, `${FORMAT}: row before any "Tag  Type  Allocs ..." header`);
      continue; // chatter before a table
    }
    const total = TOTAL.exec(raw);
    if (total) {
      readTotal(raw, total[1] === 'Nonp' ? 'nonpaged' : 'paged', cur, file, n);
      continue;
    }
    addRow(raw, cur, file, n);
  }
  finish();
  if (snapshots.length === 0) {
    throw new ReportParseError(file, 1, `${FORMAT}: no table header (expected "Tag  Type  Allocs  Frees  Diff  Bytes  Per Alloc")`);
  }
  return { format: 'poolmon', file, snapshots };
}

function bytesOnly(bytes: number): PoolCounters {
  return { ...emptyCounters(), bytes };
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
  const cut = cutTag(raw, b.header!.tagCol);
  if (!cut) throw new ReportParseError(file, n, `${FORMAT}: expected a row starting with a 4-character tag and Nonp or Paged`);
  const cur = new RowCursor(raw, file, n, FORMAT, cut.end);
  const type = cur.token();
  if (type !== 'Nonp' && type !== 'Paged') cur.fail(`expected Nonp or Paged in column Type, got '${type.slice(0, 24)}'`);
  const pool: Pool = type === 'Nonp' ? 'nonpaged' : 'paged';
  const { counters, delta } = readCounters(cur);
  // Per Alloc is only Bytes / Diff, printed signed; read to reach the Mapped_Driver text after it.
  cur.signed('Per Alloc');
  const driver = cur.rest();
  const description = driver === undefined || driver === UNKNOWN_DRIVER ? undefined : driver;
  const drivers = description === undefined ? [] : mappedDrivers(description);

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
  if (b.session) row.session = sum(row.session ?? emptyCounters(), counters);
  else row[pool] = counters;
  if (delta) {
    row.delta = {
      allocs: plus(row.delta?.allocs, delta.allocs),
      frees: plus(row.delta?.frees, delta.frees),
      bytes: plus(row.delta?.bytes, delta.bytes),
    };
  }
  if (description !== undefined) {
    if (row.description === undefined) row.description = description;
    else if (row.description !== description) row.description += '; ' + description;
  }
  for (const d of drivers) {
    row.drivers ??= [];
    if (!row.drivers.some((x) => x.toLowerCase() === d.toLowerCase())) row.drivers.push(d);
  }
}

/**
 * Mapped_Driver is one bracket per tag file entry that matched, localtag.txt's first: `[ipsec]` (poolmon
 * /c names a driver by its base name) and `[ipsec.sys - event queue]` (pooltag.txt's binary and
 * description). The drivers, each once: `ipsec.sys`.
 */
export function mappedDrivers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\[([^\]]*)\]/g)) {
    const inner = m[1].trim();
    const dash = inner.search(/\s+-\s*/);
    let name = (dash >= 0 ? inner.slice(0, dash) : inner).trim();
    if (name === '' || /\s/.test(name) || /^unknown\b/i.test(name)) continue;
    if (dash < 0 && !/[.!]/.test(name)) name += '.sys';
    if (!out.some((x) => x.toLowerCase() === name.toLowerCase())) out.push(name);
  }
  return out;
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

function sum(a: PoolCounters, b: PoolCounters): PoolCounters {
  return { allocs: a.allocs + b.allocs, frees: a.frees + b.frees, outstanding: a.outstanding + b.outstanding, bytes: a.bytes + b.bytes };
}

function plus(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0);
}
