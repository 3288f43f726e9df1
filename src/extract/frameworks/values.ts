// What an abstract argument value says about addresses in the image: a `ga` atom (x64 and ARM64 address
// forms, x86 `mov reg, offset`), or on x86 the absolute address as a constant (`push offset`).
import type { Value } from '../values.js';
import type { ImageView } from './image.js';

/** RVAs of the image's own data that `v` may point to. */
export function addressesOf(v: Value, image: ImageView): number[] {
  const out: number[] = [];
  for (const a of v ?? []) {
    if (a.k === 'ga') out.push(a.rva);
    else if (a.k === 'c' && !image.pe.is64) {
      const rva = image.rvaOf(a.v);
      if (rva !== undefined) out.push(rva);
    }
  }
  return out;
}
