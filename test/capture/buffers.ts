// SYSTEM_POOLTAG_INFORMATION / SYSTEM_SESSION_POOLTAG_INFORMATION buffers built by hand, field by field,
// at the offsets of the phnt definitions (written out here rather than taken from the decoder).
import { tagFromText } from '../../src/tag.js';

export interface Entry {
  tag: string;
  /** Class 255 counts are SIZE_T: bigint for values past 2^32. */
  pagedAllocs: number | bigint;
  pagedFrees: number | bigint;
  pagedUsed: number | bigint;
  nonPagedAllocs: number | bigint;
  nonPagedFrees: number | bigint;
  nonPagedUsed: number | bigint;
}

type Triple = [number | bigint, number | bigint, number | bigint];

export function entry(tag: string, paged: Triple, nonPaged: Triple): Entry {
  return { tag, pagedAllocs: paged[0], pagedFrees: paged[1], pagedUsed: paged[2], nonPagedAllocs: nonPaged[0], nonPagedFrees: nonPaged[1], nonPagedUsed: nonPaged[2] };
}

/** One SYSTEM_POOLTAG: x64 0x28 bytes (pad at +0xC), x86 0x1C bytes. */
export function pooltag(e: Entry, bits: 64 | 32): Buffer {
  if (bits === 64) {
    const b = Buffer.alloc(0x28, 0xcc); // padding bytes are garbage on purpose
    b.writeUInt32LE(tagFromText(e.tag), 0x00);
    b.writeUInt32LE(Number(e.pagedAllocs), 0x04);
    b.writeUInt32LE(Number(e.pagedFrees), 0x08);
    b.writeBigUInt64LE(BigInt(e.pagedUsed), 0x10);
    b.writeUInt32LE(Number(e.nonPagedAllocs), 0x18);
    b.writeUInt32LE(Number(e.nonPagedFrees), 0x1c);
    b.writeBigUInt64LE(BigInt(e.nonPagedUsed), 0x20);
    return b;
  }
  const b = Buffer.alloc(0x1c);
  b.writeUInt32LE(tagFromText(e.tag), 0x00);
  b.writeUInt32LE(Number(e.pagedAllocs), 0x04);
  b.writeUInt32LE(Number(e.pagedFrees), 0x08);
  b.writeUInt32LE(Number(e.pagedUsed), 0x0c);
  b.writeUInt32LE(Number(e.nonPagedAllocs), 0x10);
  b.writeUInt32LE(Number(e.nonPagedFrees), 0x14);
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

/**
 * One SYSTEM_POOLTAG2 (class 255): ULONG Tag, then six SIZE_T counters. x64: 0x38 bytes, the counters
 * at +0x08 after 4 bytes of padding; x86: 0x1C bytes, the counters at +0x04.
 */
export function pooltag2(e: Entry, bits: 64 | 32): Buffer {
  const fields = [e.pagedAllocs, e.pagedFrees, e.pagedUsed, e.nonPagedAllocs, e.nonPagedFrees, e.nonPagedUsed];
  if (bits === 64) {
    const b = Buffer.alloc(0x38, 0xcc);
    b.writeUInt32LE(tagFromText(e.tag), 0x00);
    fields.forEach((v, i) => b.writeBigUInt64LE(BigInt(v), 0x08 + 8 * i));
    return b;
  }
  const b = Buffer.alloc(0x1c);
  b.writeUInt32LE(tagFromText(e.tag), 0x00);
  fields.forEach((v, i) => b.writeUInt32LE(Number(v), 0x04 + 4 * i));
  return b;
}

/** Class 255: Count, then the array at +8 (x64) or +4 (x86), as class 22. */
export function poolTagInformation2(entries: Entry[], bits: 64 | 32, count = entries.length): Buffer {
  const head = Buffer.alloc(bits === 64 ? 8 : 4, 0xee);
  head.writeUInt32LE(count, 0);
  return Buffer.concat([head, ...entries.map((e) => pooltag2(e, bits))]);
}
