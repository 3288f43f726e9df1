// SystemPoolTagInformation (class 22) and SystemSessionPoolTagInformation (class 67) buffers, as
// NtQuerySystemInformation fills them, decoded without trusting a single field (phnt ntexapi.h):
//
//   SYSTEM_POOLTAG { ULONG Tag; ULONG PagedAllocs; ULONG PagedFrees; SIZE_T PagedUsed;
//                    ULONG NonPagedAllocs; ULONG NonPagedFrees; SIZE_T NonPagedUsed; }
//     64-bit: 0x28 bytes (4 bytes of padding before PagedUsed); 32-bit: 0x1C bytes.
//   SYSTEM_POOLTAG_INFORMATION { ULONG Count; SYSTEM_POOLTAG TagInfo[]; }
//     the array is at +8 on 64-bit (SIZE_T alignment), +4 on 32-bit.
//   SYSTEM_SESSION_POOLTAG_INFORMATION { SIZE_T NextEntryOffset; ULONG SessionId; ULONG Count;
//                                        SYSTEM_POOLTAG TagInfo[]; }  chained, 0 ends the chain.
//
//   SYSTEM_POOLTAG2 (class 255, SystemPoolTagInformation2, Windows 26H1+):
//                  { ULONG Tag; SIZE_T PagedAllocs, PagedFrees, PagedUsed, NonPagedAllocs, NonPagedFrees, NonPagedUsed; }
//     64-bit: 0x38 bytes (4 bytes of padding after Tag); 32-bit: 0x1C bytes. SYSTEM_POOLTAG_INFORMATION2
//     is { ULONG Count; SYSTEM_POOLTAG2 TagInfo[]; }, the array at +8 / +4 as for class 22.
//
// Class 22's Allocs and Frees are 32-bit and wrap on a busy machine; outstanding is then
// (allocs - frees) mod 2^32, as the report parsers read it. Class 255's are SIZE_T and do not wrap.
import { outstandingOf } from '../reports/lines.js';
import type { KnownCounters } from '../reports/types.js';

export type Bitness = 64 | 32;

export interface PoolTagLayout {
  arrayOffset: number;
  entrySize: number;
  sizeT: 4 | 8;
  /** Width of Allocs and Frees: ULONG in class 22 and 67, SIZE_T in class 255. */
  count: 4 | 8;
  /** Offsets inside one SYSTEM_POOLTAG. */
  pagedAllocs: number;
  pagedFrees: number;
  pagedUsed: number;
  nonPagedAllocs: number;
  nonPagedFrees: number;
  nonPagedUsed: number;
  /** SYSTEM_SESSION_POOLTAG_INFORMATION: where SessionId, Count and the array sit. */
  sessionId: number;
  sessionCount: number;
  sessionArray: number;
}

export const LAYOUTS: Record<Bitness, PoolTagLayout> = {
  64: {
    arrayOffset: 8, entrySize: 0x28, sizeT: 8, count: 4,
    pagedAllocs: 4, pagedFrees: 8, pagedUsed: 16, nonPagedAllocs: 24, nonPagedFrees: 28, nonPagedUsed: 32,
    sessionId: 8, sessionCount: 12, sessionArray: 16,
  },
  32: {
    arrayOffset: 4, entrySize: 0x1c, sizeT: 4, count: 4,
    pagedAllocs: 4, pagedFrees: 8, pagedUsed: 12, nonPagedAllocs: 16, nonPagedFrees: 20, nonPagedUsed: 24,
    sessionId: 4, sessionCount: 8, sessionArray: 12,
  },
};

/** Class 255's SYSTEM_POOLTAG2: every counter SIZE_T. */
export const LAYOUTS2: Record<Bitness, PoolTagLayout> = {
  64: {
    arrayOffset: 8, entrySize: 0x38, sizeT: 8, count: 8,
    pagedAllocs: 8, pagedFrees: 16, pagedUsed: 24, nonPagedAllocs: 32, nonPagedFrees: 40, nonPagedUsed: 48,
    sessionId: 8, sessionCount: 12, sessionArray: 16,
  },
  // A 32-bit SIZE_T is a ULONG: there class 255's entries are class 22's.
  32: LAYOUTS[32],
};

export interface PoolTagRecord {
  /** The four tag bytes as a little-endian u32 (src/tag.ts). */
  tag: number;
  paged: KnownCounters;
  nonpaged: KnownCounters;
}

export interface SessionPoolTags {
  sessionId: number;
  tags: PoolTagRecord[];
}

/** A buffer that does not hold what its own fields claim: names the structure, the offset and the need. */
export class CaptureDecodeError extends Error {
  constructor(what: string, offset: number, message: string) {
    super(`${what}: at offset 0x${offset.toString(16)}: ${message}`);
    this.name = 'CaptureDecodeError';
  }
}

const POOLTAG = 'SystemPoolTagInformation';
const POOLTAG2 = 'SystemPoolTagInformation2';
const SESSION = 'SystemSessionPoolTagInformation';

/** A 4- or 8-byte unsigned field; 8-byte values past 2^53 are refused rather than rounded. */
function unsigned(buf: Buffer, at: number, size: 4 | 8, what: string, name: string): number {
  if (size === 4) return buf.readUInt32LE(at);
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new CaptureDecodeError(what, at, `${name} ${v} is beyond 2^53 and cannot be held exactly`);
  return Number(v);
}

function sizeT(buf: Buffer, at: number, layout: PoolTagLayout, what: string): number {
  return unsigned(buf, at, layout.sizeT, what, 'byte count');
}

function counters(allocs: number, frees: number, bytes: number, width: 4 | 8): KnownCounters {
  // 32-bit counts wrap, and a wrap always has an answer mod 2^32. 64-bit counts do not wrap; the kernel
  // sums the CPUs' counters one after another, so Frees may pass Allocs by a few: none outstanding then,
  // as class 22 clamps it.
  const outstanding = width === 4 ? (outstandingOf(allocs, frees) as number) : Math.max(0, allocs - frees);
  return { allocs, frees, outstanding, bytes };
}

function readEntries(buf: Buffer, at: number, count: number, layout: PoolTagLayout, what: string): PoolTagRecord[] {
  const need = count * layout.entrySize;
  if (at + need > buf.length) {
    throw new CaptureDecodeError(what, at, `Count ${count} needs ${need} bytes of ${layout.entrySize}-byte entries, the buffer has ${Math.max(0, buf.length - at)} (truncated, or the wrong bitness)`);
  }
  const out: PoolTagRecord[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const e = at + i * layout.entrySize;
    const count = (off: number, name: string) => unsigned(buf, e + off, layout.count, what, name);
    out[i] = {
      tag: buf.readUInt32LE(e),
      paged: counters(count(layout.pagedAllocs, 'PagedAllocs'), count(layout.pagedFrees, 'PagedFrees'), sizeT(buf, e + layout.pagedUsed, layout, what), layout.count),
      nonpaged: counters(count(layout.nonPagedAllocs, 'NonPagedAllocs'), count(layout.nonPagedFrees, 'NonPagedFrees'), sizeT(buf, e + layout.nonPagedUsed, layout, what), layout.count),
    };
  }
  return out;
}

function decodeTable(buf: Buffer, layout: PoolTagLayout, what: string): PoolTagRecord[] {
  if (buf.length < 4) throw new CaptureDecodeError(what, 0, `expected a 4-byte Count, the buffer has ${buf.length} bytes`);
  const count = buf.readUInt32LE(0);
  if (count === 0) return [];
  return readEntries(buf, layout.arrayOffset, count, layout, what);
}

/** Class 22. `buf` is the returned bytes (ReturnLength of them, or the whole buffer). */
export function decodePoolTagInformation(buf: Buffer, bitness: Bitness): PoolTagRecord[] {
  return decodeTable(buf, LAYOUTS[bitness], POOLTAG);
}

/** Class 255 (SystemPoolTagInformation2): the same table with SIZE_T counters. */
export function decodePoolTagInformation2(buf: Buffer, bitness: Bitness): PoolTagRecord[] {
  return decodeTable(buf, LAYOUTS2[bitness], POOLTAG2);
}

/** Class 67: every session in the chain. An empty buffer means the query returned no session. */
export function decodeSessionPoolTagInformation(buf: Buffer, bitness: Bitness): SessionPoolTags[] {
  const layout = LAYOUTS[bitness];
  const out: SessionPoolTags[] = [];
  if (buf.length === 0) return out;
  let at = 0;
  for (;;) {
    if (at + layout.sessionArray > buf.length) {
      throw new CaptureDecodeError(SESSION, at, `expected a ${layout.sessionArray}-byte session header, the buffer has ${buf.length - at} bytes left`);
    }
    const next = sizeT(buf, at, layout, SESSION);
    const sessionId = buf.readUInt32LE(at + layout.sessionId);
    const count = buf.readUInt32LE(at + layout.sessionCount);
    out.push({ sessionId, tags: readEntries(buf, at + layout.sessionArray, count, layout, SESSION) });
    if (next === 0) return out;
    // Each entry must move forward past its own header, or a hostile chain could loop forever.
    if (next < layout.sessionArray || at + next >= buf.length) {
      throw new CaptureDecodeError(SESSION, at, `NextEntryOffset ${next} does not lead to another entry inside the ${buf.length}-byte buffer`);
    }
    at += next;
  }
}

function add(a: KnownCounters, b: KnownCounters): KnownCounters {
  return { allocs: a.allocs + b.allocs, frees: a.frees + b.frees, outstanding: a.outstanding + b.outstanding, bytes: a.bytes + b.bytes };
}

/** All sessions' counters per tag, as poolmon shows session pool for all sessions. */
export function mergeSessions(sessions: readonly SessionPoolTags[]): PoolTagRecord[] {
  const byTag = new Map<number, PoolTagRecord>();
  for (const s of sessions) {
    for (const r of s.tags) {
      const seen = byTag.get(r.tag);
      if (seen) byTag.set(r.tag, { tag: r.tag, paged: add(seen.paged, r.paged), nonpaged: add(seen.nonpaged, r.nonpaged) });
      else byTag.set(r.tag, r);
    }
  }
  return [...byTag.values()];
}
