// Per-allocation listings (WinDbg !pool and !poolfind, Volatility 3 bigpools/poolscanner, MemProcFS
// sys/pool, Driver Verifier lists, DRAKVUF traces) become per-tag rows here. A block is one allocation
// however often the paste lists it (`!pool ADDR` then `!pool ADDR 1` show the same page twice): blocks
// are keyed by address. Allocated blocks are outstanding allocations with their sizes; free blocks are
// kept apart (row.free) and never counted as held. A listing has no Allocs/Frees counters: those stay
// absent. A trace of allocation calls (no addresses, no frees) counts calls as allocs instead.
import { reportTag } from './report-text.js';
import type { PoolCounters, UsageRow } from './types.js';

export type BlockPool = 'nonpaged' | 'paged' | 'session' | 'unknownPool';

export interface Block {
  /** The tag as the listing printed it (padded to 4 when shorter). */
  tagText: string;
  /** Tag value, when the caller already has it (otherwise read from tagText). */
  tag?: number;
  /** Block address as printed (without backticks), for deduplication; none for traces. */
  address?: string;
  /** Size in bytes, when the listing gives one. */
  bytes?: number;
  pool: BlockPool;
  free: boolean;
  line: number;
}

/** Pool names as tools print them: `Nonpaged pool`, `NonPagedPoolNx`, `PagedPool`, `PagedPoolSession`, `NonPaged`. */
export function poolOfName(name: string | undefined): BlockPool {
  if (!name) return 'unknownPool';
  if (/session/i.test(name)) return 'session';
  if (/non-?paged/i.test(name)) return 'nonpaged';
  if (/paged/i.test(name)) return 'paged';
  return 'unknownPool';
}

export class AllocationTally {
  private readonly rows = new Map<number, UsageRow>();
  private readonly order: UsageRow[] = [];
  private readonly seen = new Set<string>();
  /** Blocks listed more than once (counted once). */
  repeats = 0;

  /** `calls`: each entry is an allocation call (a trace), counted as allocs; `blocks`: each is a held block. */
  constructor(readonly file: string, readonly mode: 'blocks' | 'calls' = 'blocks') {}

  add(b: Block): UsageRow {
    const tag = b.tag ?? reportTag(b.tagText, this.file, b.line);
    let row = this.rows.get(tag);
    if (!row) {
      row = { tag, tagText: b.tagText, nonpaged: {}, paged: {}, line: b.line, lines: [] };
      this.rows.set(tag, row);
      this.order.push(row);
    }
    row.lines!.push(b.line);
    if (b.address !== undefined) {
      const key = b.address.toLowerCase().replace(/^0x/, '').replace(/^0+(?=.)/, '');
      if (this.seen.has(key)) {
        this.repeats++;
        return row;
      }
      this.seen.add(key);
    }
    if (b.free) {
      row.free = { count: (row.free?.count ?? 0) + 1, bytes: (row.free?.bytes ?? 0) + (b.bytes ?? 0) };
      return row;
    }
    const pool = b.pool;
    const c: PoolCounters = pool === 'session' ? (row.session ??= {}) : pool === 'unknownPool' ? (row.unknownPool ??= {}) : row[pool];
    if (this.mode === 'calls') c.allocs = (c.allocs ?? 0) + 1;
    else c.outstanding = (c.outstanding ?? 0) + 1;
    if (b.bytes !== undefined) c.bytes = (c.bytes ?? 0) + b.bytes;
    return row;
  }

  result(): UsageRow[] {
    return this.order;
  }
}
