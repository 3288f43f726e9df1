// Function starts per code section, and the decoding regions they cut the sections into: a region runs
// from one start to the next, the unit the sweep decodes and the unit whose results are kept or dropped.
import { type Range, lastAtOrBelow } from './ranges.js';
import type { CodeSection } from './types.js';

interface SectionStarts {
  begin: number;
  end: number;
  /** Ascending: every start inside the section. */
  all: number[];
  /** Ascending: the known (forced) starts, where decoding realigns. */
  forced: number[];
}

/**
 * Soft starts (call targets, tail-jump targets) begin a new function only where decoding lands on them;
 * forced starts (.pdata, the entry point) also realign the decoder.
 */
export class Starts {
  private readonly bySection: SectionStarts[];
  private readonly known: Set<number>;
  private readonly forcedSet: Set<number>;

  constructor(sections: readonly CodeSection[], soft: Iterable<number>, forced: Iterable<number>) {
    this.forcedSet = new Set(forced);
    this.known = new Set([...soft, ...this.forcedSet]);
    this.bySection = sections.map((s) => {
      const end = s.rva + s.bytes.length;
      const all = [...this.known].filter((t) => t >= s.rva && t < end).sort((a, b) => a - b);
      return { begin: s.rva, end, all, forced: all.filter((t) => this.forcedSet.has(t)) };
    });
  }

  has(rva: number): boolean {
    return this.known.has(rva);
  }

  isForced(rva: number): boolean {
    return this.forcedSet.has(rva);
  }

  /** Starts and forced starts of the i-th code section, ascending. */
  ofSection(i: number): { all: readonly number[]; forced: readonly number[] } {
    return this.bySection[i];
  }

  private section(rva: number): SectionStarts | undefined {
    for (const s of this.bySection) if (rva >= s.begin && rva < s.end) return s;
    return undefined;
  }

  /** Add a soft start; false when it is known already or outside the code. */
  add(rva: number): boolean {
    const s = this.section(rva);
    if (!s || this.known.has(rva)) return false;
    this.known.add(rva);
    s.all.splice(lastAtOrBelow(s.all, rva) + 1, 0, rva);
    return true;
  }

  /** The region holding `rva`: from the last start at or below it (or the section start) to the next start. */
  regionAt(rva: number): Range | undefined {
    const s = this.section(rva);
    if (!s) return undefined;
    const i = lastAtOrBelow(s.all, rva);
    return { begin: i < 0 ? s.begin : s.all[i], end: i + 1 < s.all.length ? s.all[i + 1] : s.end };
  }

  /** The region just before the one beginning at `begin`, if it is in the same section. */
  regionBefore(begin: number): Range | undefined {
    const s = this.section(begin);
    return s && begin > s.begin ? this.regionAt(begin - 1) : undefined;
  }
}
