// `top`: rank a snapshot's tags, or the drivers that own them, by what they hold.
import type { OwnerSource } from '../owners.js';
import { emptyCounters, type PoolCounters, type Snapshot, type UsageRow } from '../reports/types.js';
import { formatTag, tagMatches, type TagQuery } from '../tag.js';
import { attribute, claimKey, claimsDriver, driverLabel, strongerEvidence, type Attribution, type EvidenceText } from './attribution.js';
import { addCounters, mergeByTag, poolCounters, type PoolChoice } from './pool.js';

export type CounterName = 'allocs' | 'frees' | 'outstanding' | 'bytes';
export const COUNTER_NAMES: readonly CounterName[] = ['allocs', 'frees', 'outstanding', 'bytes'];

/** Counters no row has (undefined everywhere): the report does not give them. */
export function absentCounters(rows: readonly UsageRow[], pool: PoolChoice): CounterName[] {
  return COUNTER_NAMES.filter((k) => rows.every((r) => poolCounters(r, pool)[k] === undefined));
}

/** `diff` is poolmon's Diff column (allocs - frees), i.e. outstanding allocations. */
export type SortKey = 'bytes' | 'outstanding' | 'allocs' | 'frees' | 'diff' | 'tag';

export interface RankOptions {
  pool: PoolChoice;
  sort: SortKey;
  /** `--tag`: keep the tags any of these name (wildcards allowed). */
  tags?: readonly TagQuery[];
  /** `--driver`: keep the tags charged to this driver (alone or shared). */
  driver?: string;
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
  /** The strongest evidence among its tags (call, code, pooltag, report, …): how sure the row is. */
  best: EvidenceText;
  /** The tags that make up the row, largest first by the sort key. */
  tags: TagRank[];
}

export interface Totals {
  tags: number;
  /** The rows' sum in the chosen pool. */
  counters: PoolCounters;
  /** The part held by tags with at least one claimant. */
  attributed: PoolCounters;
  attributedTags: number;
  /** Counters no row has (the report does not give them): shown blank / null. */
  missing: CounterName[];
  /**
   * The report's own total for the chosen pool (its TOTAL line, poolmon's header), when it prints one:
   * what percentages are of. A counter the line does not give is undefined.
   */
  reported?: PoolCounters;
  /** `--tag`/`--driver` kept only some tags: the rows are a chosen part of the report by design. */
  filtered?: boolean;
}

export function metric(c: PoolCounters, sort: SortKey): number | undefined {
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

/** The counter a sort key reads, or undefined for `tag`. */
export function sortCounter(sort: SortKey): CounterName | undefined {
  return sort === 'tag' ? undefined : sort === 'diff' ? 'outstanding' : sort;
}

/** Why a report cannot be sorted by `sort` (no row has that counter), or undefined when it can. */
export function unsortable(missing: readonly CounterName[], sort: SortKey, format: string): string | undefined {
  const counter = sortCounter(sort);
  if (counter === undefined || !missing.includes(counter)) return undefined;
  const given = COUNTER_NAMES.filter((c) => !missing.includes(c));
  return `--sort ${sort}: this ${format} report has no ${counter} counts (it gives ${given.join(', ') || 'none'}); sort by one of those`;
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

/** Nothing in the pool: every counter the report gives is 0. */
function isEmpty(c: PoolCounters): boolean {
  return !c.allocs && !c.frees && !c.outstanding && !c.bytes;
}

/** `--pool paged` leaves out tags with nothing in that pool; `--tag` and `--driver` keep what they name. */
export function keepTag(t: Pick<TagRank, 'tag' | 'counters' | 'attribution'>, opts: Omit<RankOptions, 'sort'>): boolean {
  if (opts.pool !== 'all' && isEmpty(t.counters)) return false;
  if (opts.tags?.length && !opts.tags.some((q) => tagMatches(q, t.tag))) return false;
  if (opts.driver !== undefined && !claimsDriver(t.attribution, opts.driver)) return false;
  return true;
}

export function rankTags(rows: readonly UsageRow[], owners: OwnerSource, opts: RankOptions): TagRank[] {
  return mergeByTag(rows)
    .map((row) => ({ tag: row.tag, row, counters: poolCounters(row, opts.pool), attribution: attribute(row.tag, owners, row) }))
    .filter((t) => keepTag(t, opts))
    .sort(compareCounters(opts.sort));
}

/** Each tag goes to exactly one row: its single owner, its set of claimants (shared), or (unknown). */
export function rankDrivers(tags: readonly TagRank[], opts: RankOptions): DriverRank[] {
  const groups = new Map<string, DriverRank>();
  for (const t of tags) {
    const key = claimKey(t.attribution.claimants);
    let g = groups.get(key);
    if (!g) {
      g = {
        driver: driverLabel(t.attribution.claimants),
        claimants: t.attribution.claimants,
        counters: emptyCounters(),
        nonpaged: emptyCounters(),
        paged: emptyCounters(),
        best: t.attribution.evidence,
        tags: [],
      };
      groups.set(key, g);
    }
    g.counters = addCounters(g.counters, t.counters);
    g.nonpaged = addCounters(g.nonpaged, t.row.nonpaged);
    g.paged = addCounters(g.paged, t.row.paged);
    g.best = strongerEvidence(g.best, t.attribution.evidence);
    g.tags.push(t);
  }
  const cmp = compareCounters(opts.sort === 'tag' ? 'bytes' : opts.sort);
  for (const g of groups.values()) g.tags.sort(cmp);
  const out = [...groups.values()];
  if (opts.sort === 'tag') return out.sort((a, b) => a.driver.toLowerCase().localeCompare(b.driver.toLowerCase()));
  return out.sort((a, b) => byMetric(metric(a.counters, opts.sort), metric(b.counters, opts.sort)) || a.driver.localeCompare(b.driver));
}

/** The report's own total for a pool choice: `all` needs both pools' lines. */
function reportedTotal(snapshot: Pick<Snapshot, 'totals'> | undefined, pool: PoolChoice): PoolCounters | undefined {
  const t = snapshot?.totals;
  if (!t) return undefined;
  return pool === 'all' ? (t.nonpaged && t.paged ? addCounters(t.nonpaged, t.paged) : undefined) : t[pool];
}

export function totals(tags: readonly TagRank[], snapshot?: Pick<Snapshot, 'totals'>, pool: PoolChoice = 'all', filtered = false): Totals {
  let counters: PoolCounters = {};
  let attributed: PoolCounters = {};
  let attributedTags = 0;
  for (const t of tags) {
    counters = addCounters(counters, t.counters);
    if (t.attribution.claimants.length) {
      attributed = addCounters(attributed, t.counters);
      attributedTags++;
    }
  }
  // Nothing attributed is 0 of each counter the rows have, not unknown.
  for (const k of COUNTER_NAMES) if (counters[k] !== undefined) attributed[k] ??= 0;
  const missing = COUNTER_NAMES.filter((k) => counters[k] === undefined);
  const out: Totals = { tags: tags.length, counters, attributed, attributedTags, missing };
  const reported = reportedTotal(snapshot, pool);
  if (reported) out.reported = reported;
  if (filtered) out.filtered = true;
  return out;
}

/** The report's total when its rows do not add up to it (a fragment, a filtered screen), else undefined. */
export function partialOf(t: Totals): PoolCounters | undefined {
  const r = t.reported;
  if (!r) return undefined;
  const differs = (c: CounterName) => r[c] !== undefined && t.counters[c] !== undefined && r[c] !== t.counters[c];
  return differs('bytes') || differs('outstanding') ? r : undefined;
}
