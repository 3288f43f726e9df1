// The `data` tier and raw byte search: tag values stored outside code, and findstr-style occurrences.
import type { PeImage } from '../pe/types.js';
import { looksLikeTag } from '../tag.js';

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

const printable = (b: number | undefined) => b !== undefined && b >= 0x20 && b < 0x7f;

/**
 * Tag-like u32 values at 4-byte-aligned RVAs of non-executable sections: registration tables and
 * tag arrays. Bytes that continue a longer printable run are text, not tags (strings are not reported).
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
      if (!looksLikeTag(v)) continue;
      if (printable(i > 0 ? buf[start + i - 1] : undefined) || printable(i + 4 < size ? buf[start + i + 4] : undefined)) continue;
      out.push({ value: v, section: s.name, rva: s.rva + i });
    }
  }
  return out;
}
