// Which pool's counters a ranking looks at, and counter arithmetic shared by top and diff.
import { addCounters, emptyCounters, type PoolCounters, type UsageRow } from '../reports/types.js';

export { addCounters };

export type PoolChoice = 'nonpaged' | 'paged' | 'all';

/**
 * `all` includes session pool (a session-only report, poolused 8 or capture --session, has nothing else)
 * and allocations whose pool the report does not say.
 */
export function poolCounters(row: UsageRow, pool: PoolChoice): PoolCounters {
  if (pool === 'nonpaged') return row.nonpaged;
  if (pool === 'paged') return row.paged;
  let all = addCounters(row.nonpaged, row.paged);
  if (row.session) all = addCounters(all, row.session);
  if (row.unknownPool) all = addCounters(all, row.unknownPool);
  return all;
}

/**
 * One row per tag. Parsers already join a tag's Nonp and Paged lines, but a report may still list a
 * tag twice (system and session sections); summing keeps every byte counted once per line printed.
 */
export function mergeByTag(rows: readonly UsageRow[]): UsageRow[] {
  const byTag = new Map<number, UsageRow>();
  for (const r of rows) {
    const seen = byTag.get(r.tag);
    if (!seen) {
      byTag.set(r.tag, { ...r });
      continue;
    }
    seen.nonpaged = addCounters(seen.nonpaged, r.nonpaged);
    seen.paged = addCounters(seen.paged, r.paged);
    if (r.session) seen.session = addCounters(seen.session ?? emptyCounters(), r.session);
    if (r.unknownPool) seen.unknownPool = addCounters(seen.unknownPool ?? {}, r.unknownPool);
    seen.description ??= r.description;
    seen.mappedDriver ??= r.mappedDriver;
    seen.binary ??= r.binary;
    seen.driver ??= r.driver;
    seen.callers ??= r.callers;
  }
  return [...byTag.values()];
}
