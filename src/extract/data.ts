// The `data` tier and raw byte search: tag values stored outside code, and findstr-style occurrences.
import type { PeImage } from '../pe/types.js';
import { looksLikeTag } from '../tag.js';

/** Cheap first test before looksLikeTag (which is precise but slow): printable bytes, bit 31 allowed. */
export function mayBeTag(v: number): boolean {
  const b0 = v & 0xff;
  const b1 = (v >>> 8) & 0xff;
  const b2 = (v >>> 16) & 0xff;
  const b3 = (v >>> 24) & 0x7f;
  return b0 >= 0x30 && b0 < 0x7f && b1 >= 0x20 && b1 < 0x7f && b2 >= 0x20 && b2 < 0x7f && b3 >= 0x20 && b3 < 0x7f;
}

/** Every file offset where `needle` occurs (overlapping matches included): findstr /l semantics. */
export function findBytes(buf: Uint8Array, needle: Uint8Array | readonly number[]): number[] {
  const hay = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = Buffer.from(needle as Uint8Array);
  const out: number[] = [];
  if (n.length === 0) return out;
  for (let i = hay.indexOf(n); i >= 0; i = hay.indexOf(n, i + 1)) out.push(i);
  return out;
}

export interface FileLocation {
  offset: number;
  /** Section holding the offset; absent for headers, overlay (e.g. an appended signature) or non-PE files. */
  section?: string;
  rva?: number;
  executable?: boolean;
}

/** Map a file offset to its section and RVA. */
export function locateOffset(pe: PeImage | undefined, offset: number): FileLocation {
  if (!pe) return { offset };
  for (const s of pe.sections) {
    if (offset >= s.rawOffset && offset < s.rawOffset + Math.min(s.rawSize, s.virtualSize || s.rawSize)) {
      return { offset, section: s.name, rva: s.rva + (offset - s.rawOffset), executable: s.executable };
    }
  }
  return { offset };
}

export interface DataTag {
  /** The u32 as stored (protected bit included). */
  value: number;
  section: string;
  rva: number;
}

const printable = (b: number) => b >= 0x20 && b < 0x7f;

/**
 * Are the four bytes at section offset i part of text? Two or more printable bytes around them make a
 * longer printable run (a string, a FOURCC array); one is allowed, because the low byte of a following
 * little-endian number (a {size, tag} table entry) is often printable.
 */
function isText(buf: Uint8Array, start: number, size: number, i: number): boolean {
  let extra = 0;
  for (let j = i - 1; j >= 0 && extra < 2 && printable(buf[start + j]); j--) extra++;
  for (let j = i + 4; j < size && extra < 2 && printable(buf[start + j]); j++) extra++;
  return extra >= 2;
}

/**
 * Tag-like u32 values at 4-byte-aligned RVAs of non-executable sections: registration tables and
 * single tags in globals. Bytes inside a longer printable run are text, not tags (strings are not reported).
 */
export function dataTags(buf: Uint8Array, pe: PeImage): DataTag[] {
  const out: DataTag[] = [];
  for (const s of pe.sections) {
    if (s.executable) continue;
    const start = s.rawOffset;
    const size = Math.min(s.rawSize, s.virtualSize || s.rawSize, Math.max(0, buf.length - start));
    const view = new DataView(buf.buffer, buf.byteOffset + start, size);
    for (let i = (4 - (s.rva & 3)) & 3; i + 4 <= size; i += 4) {
      const v = view.getUint32(i, true);
      if (!mayBeTag(v) || isText(buf, start, size, i) || !looksLikeTag(v)) continue;
      out.push({ value: v, section: s.name, rva: s.rva + i });
    }
  }
  return out;
}
