// Raw byte scans of the code sections, an order of magnitude faster than decoding: they find the few
// places that decoding must look at (references to tag-taking imports, tag-like immediates, branches).
// Each is a superset: a hit only means "decode the function around here".
import { looksLikeTag } from '../tag.js';
import { mayBeTag } from './data.js';
import type { CodeInput } from './sweep.js';

/** Direct branches found by byte pattern: E8 rel32 (call), E9 rel32 and EB rel8 (jmp), into code. */
export interface Branches {
  from: number[];
  to: number[];
  isCall: boolean[];
}

function inCode(input: CodeInput, rva: number): boolean {
  for (const s of input.sections) if (rva >= s.rva && rva < s.rva + s.bytes.length) return true;
  return false;
}

export function scanBranches(input: CodeInput): Branches {
  const out: Branches = { from: [], to: [], isCall: [] };
  for (const sec of input.sections) {
    const b = sec.bytes;
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i + 2 <= b.length; i++) {
      const op = b[i];
      let t: number;
      if (op === 0xeb) t = sec.rva + i + 2 + view.getInt8(i + 1);
      else if ((op === 0xe8 || op === 0xe9) && i + 5 <= b.length) t = sec.rva + i + 5 + view.getInt32(i + 1, true);
      else continue;
      t >>>= 0;
      if (!inCode(input, t)) continue;
      out.from.push(sec.rva + i);
      out.to.push(t);
      out.isCall.push(op === 0xe8);
    }
  }
  return out;
}

/**
 * RVAs of code bytes that may address one of `slots` (IAT slot RVAs): x64 rip-relative disp32 after a
 * mod=00 r/m=101 ModRM byte; x86 the slot's absolute address, wherever its four bytes occur.
 */
export function slotReferences(input: CodeInput, slots: readonly number[]): number[] {
  const out: number[] = [];
  if (slots.length === 0) return out;
  const wanted = new Set(slots);
  if (input.bitness === 32) {
    const base = Number(input.imageBase & 0xffffffffn);
    for (const sec of input.sections) {
      const hay = Buffer.from(sec.bytes.buffer, sec.bytes.byteOffset, sec.bytes.byteLength);
      for (const slot of wanted) {
        const needle = Buffer.alloc(4);
        needle.writeUInt32LE((base + slot) >>> 0);
        for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + 1)) out.push(sec.rva + i);
      }
    }
    return out.sort((a, b) => a - b);
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of slots) {
    lo = Math.min(lo, s);
    hi = Math.max(hi, s);
  }
  for (const sec of input.sections) {
    const b = sec.bytes;
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 1; i + 4 <= b.length; i++) {
      if ((b[i - 1] & 0xc7) !== 0x05) continue;
      // The disp32 ends the instruction when no immediate follows (true of call, jmp, mov and cmov).
      const t = sec.rva + i + 4 + view.getInt32(i, true);
      if (t >= lo && t <= hi && wanted.has(t)) out.push(sec.rva + i);
    }
  }
  return out;
}

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
 * RVAs of bytes that may begin `push imm32`, `mov reg,imm32/imm64` or `mov r/m,imm32` whose immediate the
 * sweep would note as a tag (see SectionWalker.noteImmediate). A prefix sits before the opcode, so the
 * opcode's region is the instruction's region.
 */
export function immediateCandidates(input: CodeInput): number[] {
  const out: number[] = [];
  const x86 = input.bitness === 32;
  const base = Number(input.imageBase & 0xffffffffn);
  const imageEnd = input.imageEnd ?? 0;
  const tagAt = (b: Uint8Array, q: number) => {
    if (q + 4 > b.length) return false;
    const v = (b[q] | (b[q + 1] << 8) | (b[q + 2] << 16) | (b[q + 3] << 24)) >>> 0;
    if (!mayBeTag(v) || !looksLikeTag(v)) return false;
    return !(x86 && ((v - base) >>> 0) < imageEnd);
  };
  for (const sec of input.sections) {
    const b = sec.bytes;
    const n = b.length - 5;
    for (let i = 0; i <= n; i++) {
      const op = b[i];
      if (op === 0x68 || (op >= 0xb8 && op <= 0xbf)) {
        const c = b[i + 1];
        if (c >= 0x30 && c < 0x7f && tagAt(b, i + 1)) out.push(sec.rva + i);
      } else if (op === 0xc7) {
        const q = immAfterModRm(b, i + 1);
        const sized16 = x86 && i > 0 && b[i - 1] === 0x67;
        if ((q >= 0 && tagAt(b, q)) || (sized16 && tagAt(b, immAfterModRm16(b, i + 1)))) out.push(sec.rva + i);
      }
    }
  }
  return out;
}
