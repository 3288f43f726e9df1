// What every pool-usage report parser returns. One parser per format in src/reports/, chosen by detect.ts.

export type ReportFormat =
  | 'rekall-text'
  | 'rekall-json'
  | 'vol2-pooltracker'
  | 'poolused'
  | 'poolmon'
  | 'verifier'
  | 'whose-tag-snapshot'
  /** A whitespace table a person pasted: a Tag column plus size columns with units. */
  | 'adhoc'
  /** WinDbg `!pool ADDR [flags]`: the blocks of a pool page. */
  | 'pool'
  /** WinDbg `!poolfind`: every block with a tag (both layouts). */
  | 'poolfind'
  | 'vol3-bigpools'
  | 'vol3-poolscanner'
  /** MemProcFS `sys/pool/…/allocations.txt`. */
  | 'memprocfs-pool'
  /** DRAKVUF's poolmon plugin: allocation calls traced. */
  | 'drakvuf-poolmon'
  /** `verifier /query`: per-driver pool totals, no tags. */
  | 'verifier-query'
  /** WinDbg `!vm`: system-wide and per-session pool totals only. */
  | 'windbg-vm';

/**
 * What a report's numbers are:
 * - `usage`: the kernel's per-tag counters (poolmon, !poolused, trackers, captures): totals of everything;
 * - `allocations`: blocks the tool saw one by one (!pool, !poolfind, Volatility scans, Verifier lists),
 *   counted here per tag: a sample of the pool, not its totals;
 * - `trace`: allocation calls a tracer saw (DRAKVUF): calls and bytes requested, never frees: not what is held;
 * - `drivers`: per-driver totals with no tags (verifier /query, !verifier's per-driver statistics);
 * - `statement`: nothing to rank (global statistics, settings, a header with no rows): `Report.statement` says what it is.
 */
export type ReportKind = 'usage' | 'allocations' | 'trace' | 'drivers' | 'statement';

/**
 * A counter the report does not have is undefined, never 0: `!poolused`'s default layout has no
 * Allocs/Frees (its Allocs column is the outstanding count), a `!pool` listing has no Allocs/Frees, a
 * home-grown table may give bytes only. Sums treat an absent counter as contributing nothing, so a sum
 * is absent only when every part is (see addCounters in src/rank/pool.ts).
 */
export interface PoolCounters {
  allocs?: number;
  frees?: number;
  /** Outstanding allocations (allocs - frees when the report does not give it). */
  outstanding?: number;
  bytes?: number;
}

/** Blocks a per-allocation listing showed as free (they hold nothing, but say where a tag was). */
export interface FreeBlocks {
  count: number;
  bytes: number;
}

export interface UsageRow {
  /** Tag value as a u32 of its memory bytes; non-printables shown as '.' in reports become 0x2e. */
  tag: number;
  /** The tag exactly as the report printed it (4 chars, spaces kept). */
  tagText: string;
  nonpaged: PoolCounters;
  paged: PoolCounters;
  /** Session pool, when the report separates it (poolused session pool, capture --session). */
  session?: PoolCounters;
  /** Allocations whose pool the report does not say (Verifier lists, Volatility scans without a pool type). */
  unknownPool?: PoolCounters;
  /** Owner/description text the report itself carried (poolused description, poolmon Mapped_Driver). */
  description?: string;
  /** poolmon's Mapped_Driver cell as printed (`[ntfs.sys - Create.c]`, `[ipsec][ipsec.sys - …]`, `Unknown Driver`). */
  mappedDriver?: string;
  /** `!poolused`'s `Binary:` field (`nt!etw`, `acpi.sys`, `nt!store or rdyboost.sys`). */
  binary?: string;
  /**
   * The driver the report itself charges these allocations to (Driver Verifier lists them per driver):
   * an owner given, not inferred from the tag.
   */
  driver?: string;
  /** Modules named in a Caller column (`MyDriver!DeviceControlDispatch` → MyDriver), first seen first. */
  callers?: string[];
  /** Free blocks of this tag in a per-allocation listing; never part of the counters. */
  free?: FreeBlocks;
  /** poolmon delta columns: change since the previous screen, when shown. */
  delta?: { allocs?: number; frees?: number; bytes?: number };
  /** 1-based line number in the report this row came from (for enrich). */
  line: number;
  /** Every line that contributed, when a row aggregates several (per-allocation listings). */
  lines?: number[];
}

/** Per-driver totals a report gives directly (verifier /query MODULE blocks, !verifier's statistics). */
export interface DriverRow {
  /** As the report names it, e.g. `MyDriver.sys`. */
  driver: string;
  /** Current allocations and bytes per pool. */
  nonpaged: PoolCounters;
  paged: PoolCounters;
  /** Peak allocations and bytes per pool, when the report gives them. */
  peak?: { nonpaged: PoolCounters; paged: PoolCounters };
  line: number;
}

export interface Snapshot {
  /** When the snapshot was taken, if the report says (ISO 8601). */
  time?: string;
  host?: string;
  osBuild?: string;
  rows: UsageRow[];
  /** Per-driver totals, for driver-level reports. */
  drivers?: DriverRow[];
  /** The report's own totals when it prints them (poolused TOTAL, poolmon Total lines or header, Verifier's system-wide counts). */
  totals?: { nonpaged?: PoolCounters; paged?: PoolCounters };
}

export interface Report {
  format: ReportFormat;
  file: string;
  /** Usage counters, allocations seen, per-driver totals, or a statement of what the report is (every parser says; absent means usage). */
  kind?: ReportKind;
  /** Most reports have one snapshot; poolmon /n logs and capture series have several. */
  snapshots: Snapshot[];
  /** For kind `statement`: one line saying what the report is, with its numbers. */
  statement?: string;
  /** Lines that were clearly not rows (chatter, comments, elisions): how many, and the first one. */
  skipped?: { count: number; firstLine: number };
}

/** Unparseable input: names the file and 1-based line and says what was expected. */
export class ReportParseError extends Error {
  constructor(public readonly file: string, public readonly line: number, what: string) {
    super(`${file}:${line}: ${what}`);
    this.name = 'ReportParseError';
  }
}

/** Every counter known to be zero (a tag the report lists with nothing in a pool). */
export function emptyCounters(): PoolCounters {
  return { allocs: 0, frees: 0, outstanding: 0, bytes: 0 };
}

/** Nothing known: the pool or the counters are not in the report. */
export function noCounters(): PoolCounters {
  return {};
}

/** Counters a source always has in full (the kernel's own, from a capture). */
export type KnownCounters = Required<PoolCounters>;

/** a + b per counter; an absent counter contributes nothing, so a sum is absent only when both parts are. */
export function addCounters(a: PoolCounters, b: PoolCounters): PoolCounters {
  const plus = (x: number | undefined, y: number | undefined) => (x === undefined ? y : y === undefined ? x : x + y);
  const out: PoolCounters = {};
  const allocs = plus(a.allocs, b.allocs);
  const frees = plus(a.frees, b.frees);
  const outstanding = plus(a.outstanding, b.outstanding);
  const bytes = plus(a.bytes, b.bytes);
  if (allocs !== undefined) out.allocs = allocs;
  if (frees !== undefined) out.frees = frees;
  if (outstanding !== undefined) out.outstanding = outstanding;
  if (bytes !== undefined) out.bytes = bytes;
  return out;
}
