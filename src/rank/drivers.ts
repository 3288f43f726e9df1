// Driver-level reports (verifier /query MODULE blocks, !verifier's per-driver statistics) give each
// driver's pool totals themselves: `top --by driver` ranks them as given, never rebuilt from tags (a
// Verifier allocation list is often elided, its driver's statistics are not). The listed tags of a
// driver, if any, say what it is made of.
import type { DriverRow, PoolCounters } from '../reports/types.js';
import { addCounters, type PoolChoice } from './pool.js';
import { byMetric, metric, type DriverRank, type RankOptions, type TagRank, type Totals } from './top.js';

const COUNTERS = ['allocs', 'frees', 'outstanding', 'bytes'] as const;

function chosen(d: DriverRow, pool: PoolChoice): PoolCounters {
  return pool === 'all' ? addCounters(d.nonpaged, d.paged) : d[pool];
}

export function rankReportedDrivers(drivers: readonly DriverRow[], tags: readonly TagRank[], opts: Pick<RankOptions, 'pool' | 'sort'>): DriverRank[] {
  const ranks: DriverRank[] = drivers.map((d) => ({
    driver: d.driver,
    claimants: [d.driver],
    counters: chosen(d, opts.pool),
    nonpaged: d.nonpaged,
    paged: d.paged,
    best: 'verifier',
    tags: tags.filter((t) => t.row.driver?.toLowerCase() === d.driver.toLowerCase()),
  }));
  if (opts.sort === 'tag') return ranks.sort((a, b) => a.driver.toLowerCase().localeCompare(b.driver.toLowerCase()));
  return ranks.sort((a, b) => byMetric(metric(a.counters, opts.sort), metric(b.counters, opts.sort)) || a.driver.localeCompare(b.driver));
}

/** Every byte of a driver-level report has its driver: the whole is attributed. */
export function reportedDriverTotals(ranks: readonly DriverRank[]): Totals {
  let counters: PoolCounters = {};
  for (const r of ranks) counters = addCounters(counters, r.counters);
  const tags = ranks.reduce((n, r) => n + r.tags.length, 0);
  return { tags, counters, attributed: { ...counters }, attributedTags: tags, missing: COUNTERS.filter((k) => counters[k] === undefined) };
}

/** Under the table: where the numbers come from, and each driver's peak when the report gives it. */
export function reportedDriverNotes(drivers: readonly DriverRow[]): string[] {
  const peaks = drivers
    .filter((d) => d.peak)
    .map((d) => {
      const p = addCounters(d.peak!.nonpaged, d.peak!.paged);
      return `${d.driver} ${p.bytes ?? '?'} bytes in ${p.outstanding ?? '?'} allocations`;
    });
  return [
    "Each driver's own totals as the report gives them (Driver Verifier's per-driver statistics), not rebuilt from tags.",
    ...(peaks.length ? [`Peak (as reported): ${peaks.join('; ')}.`] : []),
  ];
}
