// `diff`: what grew between snapshots, and which tags grow steadily across a series (leak suspects).
import type { OwnerSource } from '../owners.js';
import { emptyCounters, type PoolCounters, type Snapshot, type UsageRow } from '../reports/types.js';
import { formatTag } from '../tag.js';
import { attribute, claimKey, driverLabel, type Attribution } from './attribution.js';
import { addCounters, mergeByTag, poolCounters } from './pool.js';
import { keepTag, type RankOptions } from './top.js';

export type GrowthKey = 'bytes' | 'outstanding';

/** A series needs this many snapshots before "steady" means anything. */
export const MIN_SERIES = 3;
/** Share of intervals that must not fall, and the net change must be positive. */
export const STEADY_SHARE = 0.8;

export interface Growth {
  /** The chosen pool's counters in every snapshot, oldest first (zero where the tag was absent). */
  series: PoolCounters[];
  bytes: number;
  outstanding: number;
  /** Set only for series of MIN_SERIES or more. */
  steady?: { bytes: boolean; outstanding: boolean };
}

export interface TagGrowth extends Growth {
  tag: number;
  attribution: Attribution;
}

export interface DriverGrowth extends Growth {
  driver: string;
  claimants: string[];
  tags: TagGrowth[];
}

export interface GrowthReport {
  snapshots: number;
  tags: TagGrowth[];
  drivers: DriverGrowth[];
}

/** Non-decreasing in at least STEADY_SHARE of the intervals, and higher at the end than at the start. */
export function isSteadyGrowth(values: readonly number[]): boolean {
  if (values.length < MIN_SERIES) return false;
  let rising = 0;
  for (let i = 1; i < values.length; i++) if (values[i] >= values[i - 1]) rising++;
  return rising >= STEADY_SHARE * (values.length - 1) && values[values.length - 1] > values[0];
}

function growthOf(series: PoolCounters[]): Growth {
  const first = series[0];
  const last = series[series.length - 1];
  // An absent counter is no growth information: it reads as 0 on both ends.
  const g: Growth = { series, bytes: (last.bytes ?? 0) - (first.bytes ?? 0), outstanding: (last.outstanding ?? 0) - (first.outstanding ?? 0) };
  if (series.length >= MIN_SERIES) {
    g.steady = { bytes: isSteadyGrowth(series.map((c) => c.bytes ?? 0)), outstanding: isSteadyGrowth(series.map((c) => c.outstanding ?? 0)) };
  }
  return g;
}

export function isSuspect(g: Growth): boolean {
  return Boolean(g.steady && (g.steady.bytes || g.steady.outstanding));
}

function byGrowth<T extends Growth>(key: GrowthKey, name: (x: T) => string) {
  return (a: T, b: T) => b[key] - a[key] || (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0);
}

export interface GrowthOptions extends Omit<RankOptions, 'sort'> {
  sort: GrowthKey;
}

/** `opts.pool` other than `all` leaves out tags with nothing in that pool in any snapshot; `tags`/`driver` filter as in top. */
export function growth(snapshots: readonly Snapshot[], owners: OwnerSource, opts: GrowthOptions): GrowthReport {
  if (snapshots.length < 2) throw new RangeError(`diff needs at least 2 snapshots, got ${snapshots.length}`);
  const perSnapshot = snapshots.map((s) => new Map(mergeByTag(s.rows).map((r) => [r.tag, r])));
  const allTags = new Set<number>();
  for (const m of perSnapshot) for (const t of m.keys()) allTags.add(t);
  const tags: TagGrowth[] = [];
  for (const tag of allTags) {
    const series = perSnapshot.map((m) => {
      const row = m.get(tag);
      return row ? poolCounters(row, opts.pool) : emptyCounters();
    });
    const rowOwners = perSnapshot.map((m) => m.get(tag)).filter((r): r is UsageRow => r !== undefined);
    const first = <K extends keyof UsageRow>(k: K) => rowOwners.find((r) => r[k] !== undefined)?.[k];
    const described = { description: first('description'), mappedDriver: first('mappedDriver'), binary: first('binary'), driver: first('driver'), callers: first('callers') };
    const t: TagGrowth = { tag, attribution: attribute(tag, owners, described), ...growthOf(series) };
    // Nothing in the chosen pool in any snapshot: not part of this diff.
    const inPool = opts.pool === 'all' || series.some((c) => c.allocs || c.frees || c.outstanding || c.bytes);
    if (inPool && keepTag({ tag, counters: series[series.length - 1], attribution: t.attribution }, { ...opts, pool: 'all' })) tags.push(t);
  }
  tags.sort(byGrowth(opts.sort, (t) => formatTag(t.tag)));

  const groups = new Map<string, { claimants: string[]; tags: TagGrowth[] }>();
  for (const t of tags) {
    const key = claimKey(t.attribution.claimants);
    const g = groups.get(key) ?? { claimants: t.attribution.claimants, tags: [] };
    g.tags.push(t);
    groups.set(key, g);
  }
  const drivers: DriverGrowth[] = [...groups.values()].map((g) => {
    const series = snapshots.map((_, i) => g.tags.reduce((sum, t) => addCounters(sum, t.series[i]), emptyCounters()));
    return { driver: driverLabel(g.claimants), claimants: g.claimants, tags: g.tags, ...growthOf(series) };
  });
  drivers.sort(byGrowth(opts.sort, (d) => d.driver));
  return { snapshots: snapshots.length, tags, drivers };
}
