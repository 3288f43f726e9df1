// Function starts: call targets found by a raw byte scan, and .pdata extents.
import type { CodeInput } from './sweep.js';

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

function insideRange(ranges: { begin: number; end: number }[], rva: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (rva < ranges[mid].begin) hi = mid - 1;
    else if (rva >= ranges[mid].end) lo = mid + 1;
    else return rva !== ranges[mid].begin;
  }
  return false;
}

/**
 * Targets of every `E8 rel32` byte pattern that lands in a code section: a superset of the direct call
 * targets, found with a raw byte scan instead of a second decoding pass. A false one only matters when it
 * falls exactly on an instruction boundary (the sweep then starts a function there).
 */
export function callTargets(input: CodeInput): Set<number> {
  const out = new Set<number>();
  const ranges = input.functionRanges && input.functionRanges.length > 0 ? input.functionRanges : undefined;
  const inCode = (t: number) => input.sections.some((s) => t >= s.rva && t < s.rva + s.bytes.length);
  for (const sec of input.sections) {
    const b = Buffer.from(sec.bytes.buffer, sec.bytes.byteOffset, sec.bytes.byteLength);
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let i = b.indexOf(0xe8); i >= 0 && i + 5 <= b.length; i = b.indexOf(0xe8, i + 1)) {
      const t = (sec.rva + i + 5 + view.getInt32(i + 1, true)) >>> 0;
      if (inCode(t) && !(ranges && insideRange(ranges, t))) out.add(t);
    }
  }
  return out;
}
