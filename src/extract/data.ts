// The `data` tier and raw byte search: tag values stored outside code, and findstr-style occurrences.
import type { FileLocation } from '../pe/locate.js';
import type { PeImage, Section } from '../pe/types.js';
import { looksLikeTag } from '../tag.js';
import { type Metadata, metadataRanges } from './metadata.js';
import { type Range, normalise, subtract } from './ranges.js';
import type { ScanHit } from './types.js';

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

/** A data-tier hit at a located offset: its section and RVA when it lies in one. */
export function dataHitAt(loc: FileLocation): ScanHit {
  const hit: ScanHit = { offset: loc.offset, tier: 'data' };
  if (loc.section !== undefined) hit.section = loc.section;
  if (loc.rva !== undefined) hit.rva = loc.rva;
  return hit;
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

/** The section's RVA ranges minus PE metadata, whether the metadata is known by RVA or by file offset. */
function dataPieces(s: Section, size: number, meta: Metadata): Range[] {
  const holes = [...meta.rvas];
  for (const o of meta.offsets) {
    const begin = Math.max(o.begin, s.rawOffset);
    const end = Math.min(o.end, s.rawOffset + size);
    if (begin < end) holes.push({ begin: s.rva + begin - s.rawOffset, end: s.rva + end - s.rawOffset });
  }
  return subtract(s.rva, s.rva + size, normalise(holes));
}

/**
 * Tag-like u32 values at 4-byte-aligned RVAs of non-executable sections, outside PE metadata: registration
 * tables and single tags in globals. Bytes inside a longer printable run are text, not tags (strings are
 * not reported).
 */
/**
 * Debug and unwind sections: DWARF and stabs (mingw and clang builds keep them unless stripped) and the
 * exception/unwind tables (.pdata, .xdata, .eh_frame) hold packed records, never tag tables; on wine's
 * DLLs they yielded ~140 false tag-like words per file.
 */
function isDebugSection(name: string): boolean {
  return /^\.(z?debug|stab|eh_frame|pdata|xdata)/.test(name);
}

export function dataTags(buf: Uint8Array, pe: PeImage, meta = metadataRanges(buf, pe)): DataTag[] {
  const out: DataTag[] = [];
  const b = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  for (const s of pe.sections) {
    if (s.executable || isDebugSection(s.name)) continue;
    const start = s.rawOffset;
    const size = Math.min(s.rawSize, s.virtualSize || s.rawSize, Math.max(0, buf.length - start));
    for (const piece of dataPieces(s, size, meta)) {
      const end = start + piece.end - s.rva;
      for (let o = start + piece.begin - s.rva + ((4 - (piece.begin & 3)) & 3); o + 4 <= end; o += 4) {
        // mayBeTag byte by byte: most words fail on their first byte, before any u32 is built.
        const c0 = b[o];
        if (c0 < 0x30 || c0 >= 0x7f) continue;
        const c1 = b[o + 1];
        const c2 = b[o + 2];
        const c3 = b[o + 3] & 0x7f;
        if (c1 < 0x20 || c1 >= 0x7f || c2 < 0x20 || c2 >= 0x7f || c3 < 0x20 || c3 >= 0x7f) continue;
        const v = (c0 | (c1 << 8) | (c2 << 16) | (b[o + 3] << 24)) >>> 0;
        if (isText(b, start, size, o - start) || !looksLikeTag(v)) continue;
        out.push({ value: v, section: s.name, rva: s.rva + o - start });
      }
    }
  }
  return out;
}
