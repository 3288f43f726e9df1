// Function starts: call targets found by a raw byte scan, and .pdata extents.
import { rangeIndexAt } from './ranges.js';
import type { Branches, CodeInput } from './types.js';

/** End of the .pdata function that begins at `begin`, if any (ranges are sorted by begin). */
export function rangeEnd(ranges: { begin: number; end: number }[], begin: number): number | undefined {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid].begin === begin) return ranges[mid].end;
    if (ranges[mid].begin < begin) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

/** Is `rva` inside one of `ranges` but not where it begins? */
function strictlyInside(ranges: { begin: number; end: number }[], rva: number): boolean {
  const i = rangeIndexAt(ranges, rva);
  return i >= 0 && rva !== ranges[i].begin;
}

/**
 * Targets of every `E8 rel32` byte pattern that lands in a code section: a superset of the direct call
 * targets, found with a raw byte scan instead of a second decoding pass. A false one only matters when it
 * falls exactly on an instruction boundary (the sweep then starts a function there).
 */
export function callTargets(input: CodeInput, branches: Branches): Set<number> {
  const out = new Set<number>();
  const ranges = input.functionRanges && input.functionRanges.length > 0 ? input.functionRanges : undefined;
  for (let i = 0; i < branches.to.length; i++) {
    const t = branches.to[i];
    if (branches.isCall[i] && !(ranges && strictlyInside(ranges, t))) out.add(t);
  }
  return out;
}
