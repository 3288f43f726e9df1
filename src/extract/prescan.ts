// Raw byte scans of the code sections, an order of magnitude faster than decoding: they find the few
// places that decoding must look at (references to tag-taking imports, tag-like immediates, branches).
// Each is a superset: a hit only means "decode the function around here". Every scan is built on
// Buffer.indexOf (a native memchr), several times faster than a byte loop in JS.
import { looksLikeTag } from '../tag.js';
import { mayBeTag } from './data.js';
import type { CodeInput, Branches } from './types.js';

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function inCode(input: CodeInput, rva: number): boolean {
  for (const s of input.sections) if (rva >= s.rva && rva < s.rva + s.bytes.length) return true;
  return false;
}

export function scanBranches(input: CodeInput): Branches {
  const out: Branches = { from: [], to: [], isCall: [] };
  for (const sec of input.sections) {
    const b = asBuffer(sec.bytes);
    for (const op of [0xe8, 0xe9, 0xeb]) {
      const size = op === 0xeb ? 2 : 5;
      for (let i = b.indexOf(op); i >= 0 && i + size <= b.length; i = b.indexOf(op, i + 1)) {
        const rel = size === 2 ? (b[i + 1] << 24) >> 24 : b.readInt32LE(i + 1);
        const t = (sec.rva + i + size + rel) >>> 0;
        if (!inCode(input, t)) continue;
        out.from.push(sec.rva + i);
        out.to.push(t);
        out.isCall.push(op === 0xe8);
      }
    }
  }
  return out;
}

/** ModRM bytes with mod=00 r/m=101: a disp32 follows, rip-relative on x64. */
const RIP_MODRM = [0x05, 0x0d, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d];

/**
 * RVAs of code bytes that may address one of `slots` (IAT slot RVAs), ascending: x64 a rip-relative disp32
 * after a mod=00 r/m=101 ModRM byte; x86 the slot's absolute address, wherever its four bytes occur.
 */
export function slotReferences(input: CodeInput, slots: readonly number[]): number[] {
  const out: number[] = [];
  if (slots.length === 0) return out;
  const wanted = new Set(slots);
  if (input.bitness === 32) {
    const base = Number(input.imageBase & 0xffffffffn);
    for (const sec of input.sections) {
      const hay = asBuffer(sec.bytes);
      for (const slot of wanted) {
        const needle = Buffer.alloc(4);
        needle.writeUInt32LE((base + slot) >>> 0);
        for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + 1)) out.push(sec.rva + i);
      }
    }
    return out.sort((a, b) => a - b);
  }
  const lo = Math.min(...wanted);
  const hi = Math.max(...wanted);
  for (const sec of input.sections) {
    const b = asBuffer(sec.bytes);
    for (const modrm of RIP_MODRM) {
      for (let i = b.indexOf(modrm) + 1; i > 0 && i + 4 <= b.length; i = b.indexOf(modrm, i) + 1) {
        // The disp32 ends the instruction when no immediate follows (true of call, jmp, mov and cmov).
        const t = sec.rva + i + 4 + b.readInt32LE(i);
        if (t >= lo && t <= hi && wanted.has(t)) out.push(sec.rva + i);
      }
    }
  }
  return out.sort((a, b) => a - b);
}

/** push imm32 (68) and mov reg,imm (B8+r): the immediate follows the opcode. */
const IMM_NEXT_OPCODES = [0x68, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf];

/** Offset of the immediate after a C7 /0 ModRM (32/64-bit addressing), or -1 when the reg field is not 0. */
function immAfterModRm(b: Uint8Array, at: number): number {
  const m = b[at];
  if ((m & 0x38) !== 0) return -1;
  const mod = m >> 6;
  const rm = m & 7;
  if (mod === 3) return at + 1;
  let q = at + 1;
  if (rm === 4) {
    if (mod === 0 && (b[q] & 7) === 5) q += 4;
    q++;
  } else if (mod === 0 && rm === 5) q += 4;
  return q + (mod === 1 ? 1 : mod === 2 ? 4 : 0);
}

/** Offset of the immediate after a C7 /0 ModRM with 16-bit addressing (x86 with a 67h prefix). */
function immAfterModRm16(b: Uint8Array, at: number): number {
  const m = b[at];
  const mod = m >> 6;
  if (mod === 3) return at + 1;
  return at + 1 + (mod === 1 ? 1 : mod === 2 || (mod === 0 && (m & 7) === 6) ? 2 : 0);
}

/**
 * RVAs, ascending, of bytes that may begin `push imm32`, `mov reg,imm32/imm64` or `mov r/m,imm32` whose
 * immediate the sweep would note as a tag (see SectionWalker.noteImmediate). Prefixes sit before the
 * opcode, so the opcode's region is the instruction's region.
 */
export function immediateCandidates(input: CodeInput): number[] {
  const out: number[] = [];
  const x86 = input.bitness === 32;
  const base = Number(input.imageBase & 0xffffffffn);
  const imageEnd = input.imageEnd ?? 0;
  const tagAt = (b: Uint8Array, q: number) => {
    // The tag's first byte is a letter or digit: most positions fail here, before any u32 is built.
    const c = b[q];
    if (c < 0x30 || c > 0x7a || q + 4 > b.length) return false;
    const v = (c | (b[q + 1] << 8) | (b[q + 2] << 16) | (b[q + 3] << 24)) >>> 0;
    if (!mayBeTag(v) || !looksLikeTag(v)) return false;
    return !(x86 && ((v - base) >>> 0) < imageEnd);
  };
  for (const sec of input.sections) {
    const b = asBuffer(sec.bytes);
    for (const op of IMM_NEXT_OPCODES) {
      for (let i = b.indexOf(op); i >= 0; i = b.indexOf(op, i + 1)) if (tagAt(b, i + 1)) out.push(sec.rva + i);
    }
    for (let i = b.indexOf(0xc7); i >= 0 && i + 1 < b.length; i = b.indexOf(0xc7, i + 1)) {
      const q = immAfterModRm(b, i + 1);
      const sized16 = x86 && i > 0 && b[i - 1] === 0x67;
      if ((q >= 0 && tagAt(b, q)) || (sized16 && tagAt(b, immAfterModRm16(b, i + 1)))) out.push(sec.rva + i);
    }
  }
  return out.sort((a, b) => a - b);
}
