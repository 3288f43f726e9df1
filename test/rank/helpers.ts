// Hand-built report rows and owner sources for the rank tests.
import type { Owner, OwnerSource } from '../../src/owners.js';
import type { PoolCounters, UsageRow } from '../../src/reports/types.js';
import { tagFromText } from '../../src/tag.js';

export function c(allocs: number, frees: number, bytes: number): PoolCounters {
  return { allocs, frees, outstanding: allocs - frees, bytes };
}

export const ZERO = c(0, 0, 0);

export function row(tag: string, nonpaged: PoolCounters, paged: PoolCounters = ZERO, extra: Partial<UsageRow> = {}): UsageRow {
  return { tag: tagFromText(tag), tagText: tag.padEnd(4), nonpaged, paged, line: 0, ...extra };
}

/** Owners keyed by tag display text. */
export function fakeOwners(table: Record<string, Owner[]>): OwnerSource {
  const byTag = new Map(Object.entries(table).map(([k, v]) => [tagFromText(k), v]));
  return { ownersOf: (tag) => byTag.get(tag) ?? [] };
}

export const db = (name: string, tier: 'call' | 'code' | 'data', extra: Partial<Owner> = {}): Owner => ({ name, source: 'db', tier, kind: 'pool', ...extra });
export const pt = (name: string, description?: string): Owner => ({ name, source: 'pooltag', ...(description ? { description } : {}) });
