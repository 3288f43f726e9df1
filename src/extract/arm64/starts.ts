// Function boundaries for the ARM64 walk: .pdata extents, BL targets, code addresses built with
// ADR/ADRP+ADD (dispatch routines, unload handlers), tail-branch targets, and the linker's import thunks.
import { lastAtOrBelow } from '../ranges.js';
import { Decoded, decodeInto, mayBranchOrAddress, mayLoadLiteral, writtenMask } from './decode.js';

export interface Arm64Section {
  name: string;
  rva: number;
  /** Whole 4-byte words only. */
  bytes: Uint8Array;
  /** The piece continues code cut by excluded bytes: its first word is no function start. */
  continues?: boolean;
}

/** One function's code, [begin, end): parameter atoms inside refer to the function at `begin`. */
export interface Region {
  sec: Arm64Section;
  begin: number;
  end: number;
  /** False when `begin` is not known to be a function start: nothing is known of the registers there. */
  entry: boolean;
}

export interface Layout {
  regions: Region[];
  /** Import thunk RVA → imported name: `adrp x16,page; ldr x16,[x16,#slot]; br x16` (or x17). */
  thunks: Map<number, string>;
  /** Each section's words (index = (rva - section rva) / 4). */
  words: Map<Arm64Section, Uint32Array>;
  /** Literal-pool words of each section (same index): data, never an instruction. */
  data: Map<Arm64Section, Uint8Array>;
}

const THUNK_BYTES = 12;
/** Rounds of adding tail-branch targets (each new start splits a region and may expose more). */
const MAX_ROUNDS = 4;

export function wordAt(sec: Arm64Section, rva: number): number {
  const o = rva - sec.rva;
  return (sec.bytes[o] | (sec.bytes[o + 1] << 8) | (sec.bytes[o + 2] << 16) | (sec.bytes[o + 3] << 24)) >>> 0;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A section's little-endian words, copied once: one load each where the walk reads them. */
function wordsOf(sec: Arm64Section): Uint32Array {
  const words = new Uint32Array(sec.bytes.length >>> 2);
  new Uint8Array(words.buffer).set(sec.bytes.subarray(0, words.length * 4));
  if (!LITTLE_ENDIAN) for (let k = 0; k < words.length; k++) words[k] = wordAt(sec, sec.rva + k * 4);
  return words;
}

/** Finds the section holding an RVA by binary search: with metadata cut out there may be many pieces. */
class CodeMap {
  private readonly sorted: Arm64Section[];
  private readonly begins: number[];

  constructor(sections: Arm64Section[]) {
    this.sorted = [...sections].sort((a, b) => a.rva - b.rva);
    this.begins = this.sorted.map((s) => s.rva);
  }

  at(rva: number): Arm64Section | undefined {
    const s = this.sorted[lastAtOrBelow(this.begins, rva)];
    return s && rva < s.rva + s.bytes.length ? s : undefined;
  }
}

const SCRATCH = [new Decoded(), new Decoded(), new Decoded()];

/** The import a linker thunk at `rva` jumps to, if it is one. */
function thunkTarget(code: CodeMap, imports: Map<number, string>, rva: number): string | undefined {
  const sec = code.at(rva);
  if (!sec || rva + THUNK_BYTES > sec.rva + sec.bytes.length) return undefined;
  const [a, l, b] = SCRATCH;
  decodeInto(wordAt(sec, rva), rva, a);
  decodeInto(wordAt(sec, rva + 4), rva + 4, l);
  decodeInto(wordAt(sec, rva + 8), rva + 8, b);
  if (a.op !== 'adr' || !a.page || (a.rd !== 16 && a.rd !== 17)) return undefined;
  if (l.op !== 'ldr' || l.size !== 3 || l.rn !== a.rd || l.rt !== a.rd) return undefined;
  if (b.op !== 'br' || b.rn !== a.rd) return undefined;
  return imports.get(a.target + l.offset);
}

/** Split the code sections into function regions. `ranges` are .pdata extents; `entries` the entry point and exports. */
export function layout(
  sections: Arm64Section[], ranges: { begin: number; end: number }[], entries: readonly number[], imports: Map<number, string>,
): Layout {
  const code = new CodeMap(sections);
  const inCode = (t: number) => (t & 3) === 0 && code.at(t) !== undefined;
  const starts = new Set<number>();
  for (const r of ranges) {
    if (!inCode(r.begin)) continue;
    starts.add(r.begin);
    // A .pdata end is where the next (maybe unlisted leaf) function begins.
    if (inCode(r.end)) starts.add(r.end);
  }
  for (const e of entries) if (inCode(e)) starts.add(e);
  for (const s of sections) if (!s.continues) starts.add(s.rva);

  // Literal pools are data inside the code: decoded, their words would invent constants and branches.
  // In address order, a word already found to be data is no load (it was never decoded as one).
  const data = new Map<Arm64Section, Uint8Array>();
  const words = new Map<Arm64Section, Uint32Array>();
  for (const sec of sections) {
    data.set(sec, new Uint8Array(sec.bytes.length >>> 2));
    words.set(sec, wordsOf(sec));
  }
  const d = new Decoded();
  for (const sec of sections) {
    const isData = data.get(sec)!;
    const w = words.get(sec)!;
    for (let k = 0; k < w.length; k++) {
      if (!mayLoadLiteral(w[k]) || isData[k]) continue;
      decodeInto(w[k], sec.rva + k * 4, d);
      if (d.op !== 'lit') continue;
      for (let t = d.target; t < d.target + d.size; t += 4) {
        const at = code.at(t);
        if (at && (t & 3) === 0) data.get(at)![(t - at.rva) >>> 2] = 1;
      }
    }
  }

  const jumps: { at: number; target: number }[] = [];
  for (const sec of sections) {
    const page: (number | undefined)[] = new Array(31).fill(undefined);
    /** The registers `page` has an address for. */
    let paged = 0;
    const isData = data.get(sec)!;
    const w = words.get(sec)!;
    for (let k = 0; k < w.length; k++) {
      // A data word changes nothing here, nor does any other while no page is held.
      if (isData[k] || (paged === 0 && !mayBranchOrAddress(w[k]))) continue;
      const rva = sec.rva + k * 4;
      decodeInto(w[k], rva, d);
      let addr: number | undefined;
      if (d.op === 'bl' && inCode(d.target)) starts.add(d.target);
      else if (d.op === 'b' && inCode(d.target)) jumps.push({ at: rva, target: d.target });
      else if (d.op === 'adr') addr = d.page ? undefined : d.target;
      else if (d.op === 'addimm' && !d.sub && !d.flags && d.rn !== 31 && page[d.rn] !== undefined) addr = page[d.rn]! + d.imm;
      if (addr !== undefined && inCode(addr)) starts.add(addr);
      const cleared = writtenMask(d) & paged;
      for (let m = cleared; m !== 0; m &= m - 1) page[31 - Math.clz32(m & -m)] = undefined;
      paged &= ~cleared;
      if (d.op === 'adr' && d.page && d.rd < 31) {
        page[d.rd] = d.target;
        paged |= 1 << d.rd;
      }
    }
  }

  // A branch that leaves its region (or re-enters its start) is a tail call: its target starts a function.
  let sorted = [...starts].sort((a, b) => a - b);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    let added = false;
    for (const j of jumps) {
      if (starts.has(j.target)) continue;
      const k = lastAtOrBelow(sorted, j.at);
      if (j.target < sorted[k] || j.target >= (sorted[k + 1] ?? Infinity)) {
        starts.add(j.target);
        added = true;
      }
    }
    if (!added) break;
    sorted = [...starts].sort((a, b) => a - b);
  }

  const thunks = new Map<number, string>();
  for (const s of sorted) {
    const name = thunkTarget(code, imports, s);
    if (name) thunks.set(s, name);
  }

  const regions: Region[] = [];
  for (const sec of sections) {
    const secEnd = sec.rva + sec.bytes.length;
    const inSec: number[] = [];
    for (let k = lastAtOrBelow(sorted, sec.rva - 1) + 1; k < sorted.length && sorted[k] < secEnd; k++) inSec.push(sorted[k]);
    if (inSec[0] !== sec.rva) regions.push({ sec, begin: sec.rva, end: inSec[0] ?? secEnd, entry: false });
    for (let k = 0; k < inSec.length; k++) {
      // Thunks are not walked: calls to them are calls to the import. Anything after one is a new function.
      const begin = thunks.has(inSec[k]) ? inSec[k] + THUNK_BYTES : inSec[k];
      const end = inSec[k + 1] ?? secEnd;
      if (begin < end) regions.push({ sec, begin, end, entry: true });
    }
  }
  return { regions, thunks, words, data };
}
