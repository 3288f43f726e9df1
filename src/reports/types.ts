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
  | 'adhoc';

export interface PoolCounters {
  allocs: number;
  frees: number;
  /** Outstanding allocations (allocs - frees when the report does not give it). */
  outstanding: number;
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
  /** Owner/description text the report itself carried (poolused description, poolmon Mapped_Driver). */
  description?: string;
  /**
   * Binaries the report itself names as the tag's owner, as it spells them (`ipsec.sys`, `nt!etw`,
   * `a.sys/b.sys`): poolmon's Mapped_Driver, !poolused's `Binary:`, a Driver column. Absent when the
   * report names none (poolmon's `Unknown Driver`, an `UNKNOWN pooltag` line).
   */
  drivers?: string[];
  /**
   * `drivers` records who made the allocations (Driver Verifier tracks them per driver), not a name
   * looked up by tag: rankings charge the row to them ahead of any other source.
   */
  driversAllocated?: boolean;
  /** poolmon delta columns: change since the previous screen, when shown. */
  delta?: { allocs?: number; frees?: number; bytes?: number };
  /** 1-based line number in the report this row came from (for enrich). */
  line: number;
}

export interface Snapshot {
  /** When the snapshot was taken, if the report says (ISO 8601). */
  time?: string;
  host?: string;
  osBuild?: string;
  rows: UsageRow[];
  /** Report-level totals when the report prints them (poolused TOTAL, poolmon header). */
  totals?: { nonpaged?: PoolCounters; paged?: PoolCounters; missing?: CounterName[] };
  /**
   * Counters the report does not have (no such column): their 0 in PoolCounters means "not given",
   * and output shows them as null / blank. Absent or empty: the report gives all four.
   */
  missing?: CounterName[];
}

export type CounterName = 'allocs' | 'frees' | 'outstanding' | 'bytes';

export interface Report {
  format: ReportFormat;
  file: string;
  /** Most reports have one snapshot; poolmon /n logs and capture series have several. */
  snapshots: Snapshot[];
}

/** Unparseable input: names the file and 1-based line and says what was expected. */
export class ReportParseError extends Error {
  constructor(public readonly file: string, public readonly line: number, what: string) {
    super(`${file}:${line}: ${what}`);
    this.name = 'ReportParseError';
  }
}

export function emptyCounters(): PoolCounters {
  return { allocs: 0, frees: 0, outstanding: 0, bytes: 0 };
}
