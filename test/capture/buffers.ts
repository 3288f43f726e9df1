// SYSTEM_POOLTAG_INFORMATION / SYSTEM_SESSION_POOLTAG_INFORMATION buffers built by hand, field by field,
// at the offsets of the phnt definitions (written out here rather than taken from the decoder).
import { tagFromText } from '../../src/tag.js';

export interface Entry {
  tag: string;
  pagedAllocs: number;
  pagedFrees: number;
  pagedUsed: number | bigint;
  nonPagedAllocs: number;
  nonPagedFrees: number;
  nonPagedUsed: number | bigint;
}

export function entry(tag: string, paged: [number, number, number | bigint], nonPaged: [number, number, number | bigint]): Entry {
  return { tag, pagedAllocs: paged[0], pagedFrees: paged[1], pagedUsed: paged[2], nonPagedAllocs: nonPaged[0], nonPagedFrees: nonPaged[1], nonPagedUsed: nonPaged[2] };
}

/** One SYSTEM_POOLTAG: x64 0x28 bytes (pad at +0xC), x86 0x1C bytes. */
export function pooltag(e: Entry, bits: 64 | 32): Buffer {
  if (bits === 64) {
    const b = Buffer.alloc(0x28, 0xcc); // padding bytes are garbage on purpose
    b.writeUInt32LE(tagFromText(e.tag), 0x00);
    b.writeUInt32LE(e.pagedAllocs, 0x04);
    b.writeUInt32LE(e.pagedFrees, 0x08);
    b.writeBigUInt64LE(BigInt(e.pagedUsed), 0x10);
    b.writeUInt32LE(e.nonPagedAllocs, 0x18);
    b.writeUInt32LE(e.nonPagedFrees, 0x1c);
    b.writeBigUInt64LE(BigInt(e.nonPagedUsed), 0x20);
    return b;
  }
  const b = Buffer.alloc(0x1c);
  b.writeUInt32LE(tagFromText(e.tag), 0x00);
  b.writeUInt32LE(e.pagedAllocs, 0x04);
  b.writeUInt32LE(e.pagedFrees, 0x08);
  b.writeUInt32LE(Number(e.pagedUsed), 0x0c);
  b.writeUInt32LE(e.nonPagedAllocs, 0x10);
  b.writeUInt32LE(e.nonPagedFrees, 0x14);
  b.writeUInt32LE(Number(e.nonPagedUsed), 0x18);
  return b;
}

/** Class 22: Count, then the array at +8 (x64, after 4 bytes of alignment padding) or +4 (x86). */
export function poolTagInformation(entries: Entry[], bits: 64 | 32, count = entries.length): Buffer {
  const head = Buffer.alloc(bits === 64 ? 8 : 4, 0xee);
  head.writeUInt32LE(count, 0);
  return Buffer.concat([head, ...entries.map((e) => pooltag(e, bits))]);
}

/** Class 67: a chain of { SIZE_T NextEntryOffset; ULONG SessionId; ULONG Count; SYSTEM_POOLTAG TagInfo[] }. */
export function sessionPoolTagInformation(sessions: { id: number; entries: Entry[] }[], bits: 64 | 32): Buffer {
  const parts = sessions.map((s) => {
    const head = Buffer.alloc(bits === 64 ? 16 : 12);
    head.writeUInt32LE(s.id, bits === 64 ? 8 : 4);
    head.writeUInt32LE(s.entries.length, bits === 64 ? 12 : 8);
    return Buffer.concat([head, ...s.entries.map((e) => pooltag(e, bits))]);
  });
  parts.forEach((p, i) => {
    const next = i === parts.length - 1 ? 0 : p.length;
    if (bits === 64) p.writeBigUInt64LE(BigInt(next), 0);
    else p.writeUInt32LE(next, 0);
  });
  return Buffer.concat(parts);
}
