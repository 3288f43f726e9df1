// Reads of the image as the loader maps it: little-endian values by RVA (zero in the uninitialised tail of
// a section), pointers turned back into RVAs, and the base relocations that tell a pointer from a number.
import type { PeImage } from '../../pe/types.js';
import { dataDirectories } from '../metadata.js';

const DIR_BASERELOC = 5;
const REL_HIGHLOW = 3;
const REL_DIR64 = 10;
/** Relocation entries read at most (a hostile directory cannot make the pass unbounded). */
const MAX_RELOCATIONS = 1_000_000;

export class ImageView {
  private readonly view: DataView;
  private relocs: Set<number> | undefined;
  readonly ptrSize: number;
  /** End of the mapped image (RVA). */
  readonly end: number;

  constructor(private readonly buf: Uint8Array, readonly pe: PeImage) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.ptrSize = pe.is64 ? 8 : 4;
    this.end = pe.sections.reduce((m, s) => Math.max(m, s.rva + Math.max(s.virtualSize, s.rawSize)), 0);
  }

  /** `size` bytes at `rva` as an unsigned number (size 2, 4 or 8), or undefined outside every section. */
  read(rva: number, size: 2 | 4 | 8): number | undefined {
    const o = this.offsetOf(rva, size);
    if (o === undefined || o < 0) return o === undefined ? undefined : 0;
    if (size === 2) return this.view.getUint16(o, true);
    if (size === 4) return this.view.getUint32(o, true);
    const v = this.view.getBigUint64(o, true);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(v);
  }

  /** A pointer-sized value as a bigint: a 64-bit kernel address (a dump's relocated pointer) exceeds 2^53. */
  private readPointer(rva: number): bigint | undefined {
    if (this.ptrSize === 4) {
      const v = this.read(rva, 4);
      return v === undefined ? undefined : BigInt(v);
    }
    const o = this.offsetOf(rva, 8);
    return o === undefined ? undefined : o < 0 ? 0n : this.view.getBigUint64(o, true);
  }

  /** File offset of `size` bytes at `rva`; -1 past the section's raw data (zeros); undefined outside the image. */
  private offsetOf(rva: number, size: number): number | undefined {
    const s = this.pe.sectionAt(rva);
    if (!s || rva + size > s.rva + Math.max(s.virtualSize, s.rawSize)) return undefined;
    const o = this.pe.rvaToOffset(rva);
    // Past the section's raw data the loader maps zeros.
    if (o < 0 || rva + size > s.rva + s.rawSize) return -1;
    return o + size > this.buf.byteLength ? undefined : o;
  }

  /** The RVA a pointer-sized value at `rva` points to, when it is a relocated pointer into the image. */
  pointerAt(rva: number): number | undefined {
    const v = this.readPointer(rva);
    if (v === undefined || v === 0n) return undefined;
    const relocs = this.relocations();
    if (relocs.size > 0 && !relocs.has(rva)) return undefined;
    return this.rvaOf(v);
  }

  /** An absolute address as an RVA inside the image, else undefined. */
  rvaOf(va: number | bigint): number | undefined {
    const d = BigInt(va) - this.pe.imageBase;
    return d >= 0n && d < BigInt(this.end) ? Number(d) : undefined;
  }

  /** RVAs of every pointer the loader relocates (empty when the image has no relocation directory). */
  relocations(): Set<number> {
    if (this.relocs) return this.relocs;
    const out = new Set<number>();
    const dir = dataDirectories(this.buf)[DIR_BASERELOC];
    if (dir && dir.rva !== 0) {
      let at = dir.rva;
      const end = dir.rva + dir.size;
      while (at + 8 <= end && out.size < MAX_RELOCATIONS) {
        const page = this.read(at, 4);
        const size = this.read(at + 4, 4);
        if (page === undefined || size === undefined || size < 8) break;
        for (let e = at + 8; e + 2 <= Math.min(at + size, end); e += 2) {
          const entry = this.read(e, 2)!;
          const type = entry >>> 12;
          if (type === REL_DIR64 || type === REL_HIGHLOW) out.add(page + (entry & 0xfff));
        }
        at += size;
      }
    }
    this.relocs = out;
    return out;
  }
}
