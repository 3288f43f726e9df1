// `top`: rank a snapshot's tags, or the drivers that own them, by what they hold.
import type { OwnerSource } from '../owners.js';
import { emptyCounters, type PoolCounters, type UsageRow } from '../reports/types.js';
import { formatTag } from '../tag.js';
import { attribute, claimKey, driverLabel, type Attribution } from './attribution.js';
import { addCounters, mergeByTag, poolCounters, type PoolChoice } from './pool.js';

/** `diff` is poolmon's Diff column (allocs - frees), i.e. outstanding allocations. */
export type SortKey = 'bytes' | 'outstanding' | 'allocs' | 'frees' | 'diff' | 'tag';

export interface RankOptions {
  pool: PoolChoice;
  sort: SortKey;
}

export interface TagRank {
  tag: number;
  row: UsageRow;
  /** Counters of the chosen pool (summed over pools for `all`). */
  counters: PoolCounters;
  attribution: Attribution;
}

export interface DriverRank {
  /** `tcpip.sys`, `shared: a.sys, b.sys`, or `(unknown)`. */
  driver: string;
  claimants: string[];
  counters: PoolCounters;
  nonpaged: PoolCounters;
  paged: PoolCounters;
  /** The tags that make up the row, largest first by the sort key. */
  tags: TagRank[];
}

export interface Totals {
  tags: number;
  counters: PoolCounters;
  /** The part held by tags with at least one claimant. */
  attributed: PoolCounters;
  attributedTags: number;
}

function metric(c: PoolCounters, sort: SortKey): number | undefined {
  switch (sort) {
    case 'allocs':
      return c.allocs;
    case 'frees':
      return c.frees;
    case 'outstanding':
    case 'diff':
      return c.outstanding;
    default:
      return c.bytes;
  }
}

function byTagText(a: number, b: number): number {
  const x = formatTag(a);
  const y = formatTag(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Larger first; a counter the report does not have sorts after every known one. */
export function byMetric(x: number | undefined, y: number | undefined): number {
  if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? 1 : -1;
  return y - x;
}

export function compareCounters(sort: SortKey) {
  return (a: { counters: PoolCounters; tag: number }, b: { counters: PoolCounters; tag: number }): number =>
    sort === 'tag' ? byTagText(a.tag, b.tag) : byMetric(metric(a.counters, sort), metric(b.counters, sort)) || byTagText(a.tag, b.tag);
}

export function rankTags(rows: readonly UsageRow[], owners: OwnerSource, opts: RankOptions): TagRank[] {
  return mergeByTag(rows)
    .map((row) => ({ tag: row.tag, row, counters: poolCounters(row, opts.pool), attribution: attribute(row.tag, owners, row.description) }))
    .sort(compareCounters(opts.sort));
}

/** Each tag goes to exactly one row: its single owner, its set of claimants (shared), or (unknown). */
export function rankDrivers(tags: readonly TagRank[], opts: RankOptions): DriverRank[] {
  const groups = new Map<string, DriverRank>();
  for (const t of tags) {
    const key = claimKey(t.attribution.claimants);
    let g = groups.get(key);
    if (!g) {
      g = { driver: driverLabel(t.attribution.claimants), claimants: t.attribution.claimants, counters: emptyCounters(), nonpaged: emptyCounters(), paged: emptyCounters(), tags: [] };
      groups.set(key, g);
    }
    g.counters = addCounters(g.counters, t.counters);
    g.nonpaged = addCounters(g.nonpaged, t.row.nonpaged);
    g.paged = addCounters(g.paged, t.row.paged);
    g.tags.push(t);
  }
  const cmp = compareCounters(opts.sort === 'tag' ? 'bytes' : opts.sort);
  for (const g of groups.values()) g.tags.sort(cmp);
  const out = [...groups.values()];
  if (opts.sort === 'tag') return out.sort((a, b) => a.driver.toLowerCase().localeCompare(b.driver.toLowerCase()));
  return out.sort((a, b) => byMetric(metric(a.counters, opts.sort), metric(b.counters, opts.sort)) || a.driver.localeCompare(b.driver));
}

export function totals(tags: readonly TagRank[]): Totals {
  let counters = emptyCounters();
  let attributed = emptyCounters();
  let attributedTags = 0;
  for (const t of tags) {
    counters = addCounters(counters, t.counters);
    if (t.attribution.claimants.length) {
      attributed = addCounters(attributed, t.counters);
      attributedTags++;
    }
  }
  return { tags: tags.length, counters, attributed, attributedTags };
}
