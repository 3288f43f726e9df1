// Decoded records → the snapshot every report command reads (src/reports/snapshot.ts).
import type { SnapshotInput } from '../reports/snapshot.js';
import type { KnownCounters, UsageRow } from '../reports/types.js';
import { formatTag } from '../tag.js';
import type { PoolTagRecord } from './decode.js';

export interface CaptureMeta {
  host: string;
  osBuild: string;
  /** ISO 8601. */
  time: string;
  source: string;
}

function add(a: KnownCounters, b: KnownCounters): KnownCounters {
  return { allocs: a.allocs + b.allocs, frees: a.frees + b.frees, outstanding: a.outstanding + b.outstanding, bytes: a.bytes + b.bytes };
}

const ZERO = { allocs: 0, frees: 0, outstanding: 0, bytes: 0 };

/**
 * System pool rows, plus session pool (both of its pool types summed) in `session` when given. A tag
 * seen only in session pool still gets a row, with zero system counters.
 */
export function snapshotFromRecords(system: readonly PoolTagRecord[], meta: CaptureMeta, session?: readonly PoolTagRecord[]): SnapshotInput {
  const rows = new Map<number, UsageRow>();
  system.forEach((r, i) => rows.set(r.tag, { tag: r.tag, tagText: formatTag(r.tag), nonpaged: r.nonpaged, paged: r.paged, line: i + 1 }));
  for (const r of session ?? []) {
    let row = rows.get(r.tag);
    if (!row) {
      row = { tag: r.tag, tagText: formatTag(r.tag), nonpaged: { ...ZERO }, paged: { ...ZERO }, line: rows.size + 1 };
      rows.set(r.tag, row);
    }
    row.session = add(r.paged, r.nonpaged);
  }
  return { ...meta, rows: [...rows.values()] };
}
