// Bit-mask decoding of the few A64 instructions the tag extractor models (constants, addresses, IAT
// loads, branches, compares). Every other word is classified only by the general registers it may write,
// so the abstract state never keeps a stale value: writing too much costs recall, writing too little
// would cost precision. Registers are 0..30; 31 is the zero register or sp, which is never tracked.

export type LogicOp = 'and' | 'orr' | 'eor' | 'ands';

export type CselOther = 'rm' | 'inc' | 'inv' | 'neg';
const CSEL_OTHER: CselOther[] = ['rm', 'inc', 'inv', 'neg'];

export type Insn =
  /** MOVZ / MOVN / MOVK: imm16 placed at bit `shift` (0, 16, 32, 48). */
  | { op: 'movz' | 'movn' | 'movk'; rd: number; sf: boolean; imm16: number; shift: number }
  /** AND/ORR/EOR/ANDS with a decoded bitmask immediate (full register width). */
  | { op: 'logimm'; logic: LogicOp; rd: number; rn: number; sf: boolean; imm: bigint }
  /** ADD/SUB(S) immediate, shift applied. rn 31 is sp; rd 31 is sp, or zr when `flags` (CMP/CMN). */
  | { op: 'addimm'; rd: number; rn: number; sf: boolean; sub: boolean; flags: boolean; imm: number }
  /** ADR / ADRP: the address (ADRP: the page) as an RVA when the instruction sits at RVA `pc`. */
  | { op: 'adr'; rd: number; page: boolean; target: number }
  /** Logical (shifted register); rn and rm 31 are zr. MOV (register) is ORR Rd, ZR, Rm. */
  | { op: 'logreg'; logic: LogicOp; invert: boolean; rd: number; rn: number; rm: number; sf: boolean; shiftType: number; amount: number }
  /** ADD/SUB(S) shifted register; rn and rm 31 are zr. With flags and rd 31: CMP/CMN. */
  | { op: 'addreg'; rd: number; rn: number; rm: number; sf: boolean; sub: boolean; flags: boolean; shiftType: number; amount: number }
  /** A compare that writes no register (CMP/CMN extended, TST, CCMP/CCMN): its register operands. */
  | { op: 'cmp'; regs: number[] }
  /**
   * Conditional select: Rd = cond ? Rn : else(Rm), where else is Rm itself (CSEL), Rm + 1 (CSINC), ~Rm
   * (CSINV) or -Rm (CSNEG). CSET, CINC and friends are aliases with zr or Rn = Rm.
   */
  | { op: 'csel'; rd: number; rn: number; rm: number; sf: boolean; other: CselOther }
  /**
   * Load of 2^size bytes into a general register from [Xn + offset] (Xn 31 is sp): LDR/LDUR with an
   * immediate offset, sign-extending forms included. `wb`: pre/post-index adds it to Xn afterwards (0: none).
   */
  | { op: 'ldr'; rt: number; rn: number; offset: number; size: number; wb: number }
  /** Store of general register Rt (31: zr), 2^size bytes, to [Xn + offset]; `wb` as for ldr. */
  | { op: 'str'; rt: number; rn: number; offset: number; size: number; wb: number }
  /**
   * LDP/STP of two registers of 2^size bytes each at [Xn + offset] and [Xn + offset + 2^size]; `fp`: SIMD
   * and FP registers (only the base matters); `wb` as for ldr.
   */
  | { op: 'pair'; load: boolean; rt: number; rt2: number; rn: number; offset: number; size: number; wb: number; fp: boolean }
  /** sp takes a value the walker cannot follow (ADD/SUB extended register into sp: large frames). */
  | { op: 'setsp' }
  /**
   * LDR (literal) into a general register: `size` bytes at RVA `target` (PC-relative), sign-extended for
   * LDRSW. Older MSVC builds keep 32-bit constants (tags included) in literal pools beside the code.
   */
  | { op: 'lit'; rt: number; size: 4 | 8; target: number }
  /** Any other load: the registers it writes (destinations and a written-back base). */
  | { op: 'load'; regs: number[] }
  /** A store: the general registers stored, and the base when it is written back. */
  | { op: 'store'; src: number[]; wb: number[] }
  | { op: 'b' | 'bl'; target: number }
  /** B.cond, CBZ/CBNZ, TBZ/TBNZ. */
  | { op: 'bcond'; target: number }
  | { op: 'br' | 'blr'; rn: number }
  | { op: 'ret' }
  /** Control never continues to the next word (UDF, unallocated encodings, ERET, fastfail). */
  | { op: 'stop' }
  /** Not modelled: these registers may have changed. */
  | { op: 'write'; regs: number[] }
  | { op: 'none' };

const LOGIC: LogicOp[] = ['and', 'orr', 'eor', 'ands'];
/** __fastfail is BRK #0xF003 on ARM64: it never returns. */
const FASTFAIL = 0xf003;
const SMCCC_RESULTS: readonly number[] = Array.from({ length: 18 }, (_, i) => i);
const NO_REGS: readonly number[] = [];
/** Shared one- and two-register lists: most words that are not modelled write one register. */
const ONE: readonly (readonly number[])[] = Array.from({ length: 32 }, (_, r) => [r]);
const TWO: (readonly number[] | undefined)[] = new Array(32 * 32);
const two = (a: number, b: number) => (TWO[a * 32 + b] ??= [a, b]);

/**
 * One word decoded in place (`decodeInto`): every field exists whatever the instruction, so the walk reads
 * one object shape, and nothing is allocated per word. Only the fields its `op` has in `Insn` mean anything;
 * `imm` of `logimm` is the low 32 bits of the mask, `imm` of a MOVZ/MOVN/MOVK its imm16; `regs` are the
 * registers a `load`/`write` writes, or a `cmp` compares; `src` and `regs` of a `store` are its `src`, `wb`.
 */
export class Decoded {
  op: Insn['op'] = 'none';
  rd = 0;
  rn = 0;
  rm = 0;
  rt = 0;
  rt2 = 0;
  sf = false;
  sub = false;
  flags = false;
  page = false;
  invert = false;
  load = false;
  fp = false;
  logic: LogicOp = 'and';
  other: CselOther = 'rm';
  shiftType = 0;
  amount = 0;
  size = 0;
  shift = 0;
  imm = 0;
  offset = 0;
  wb = 0;
  target = 0;
  regs: readonly number[] = NO_REGS;
  src: readonly number[] = NO_REGS;
}

const rdOf = (w: number) => w & 31;
const rnOf = (w: number) => (w >>> 5) & 31;
const rmOf = (w: number) => (w >>> 16) & 31;
const rt2Of = (w: number) => (w >>> 10) & 31;
/** Does `w` match `value` under `mask`? (Unsigned: masks with bit 31 give negative numbers in JS.) */
const is = (w: number, mask: number, value: number) => (w & mask) >>> 0 === value;
/**
 * Is `w` in the load register (literal) class (LDR, LDRSW, PRFM; SIMD too)? Such words reach that test of
 * decodeInto whatever else they hold: a pass that wants only literal loads skips the others with it.
 */
export const mayLoadLiteral = (w: number) => (w & 0x3b000000) === 0x18000000;
/**
 * Could `w` be B, BL, ADR, ADRP or ADD/SUB (immediate)? When not, decodeInto gives none of `b`, `bl`,
 * `adr`, `addimm`: the function-start pass decodes only these while no register holds a page address.
 */
export const mayBranchOrAddress = (w: number) =>
  (w & 0x7c000000) === 0x14000000 || (w & 0x1f000000) === 0x10000000 || (w & 0x1f800000) === 0x11000000;
/** Sign-extended field of `bits` bits at bit `lo`. */
const signed = (w: number, lo: number, bits: number) => (w << (32 - lo - bits)) >> (32 - bits);

/**
 * The logical-immediate value encoded by N:immr:imms (ARM ARM DecodeBitMasks), or undefined for a
 * reserved encoding: a run of imms+1 ones rotated right by immr inside an element, replicated.
 */
export function decodeBitmask(n: number, immr: number, imms: number, is64: boolean): bigint | undefined {
  if (!is64 && n !== 0) return undefined;
  const combined = (n << 6) | (~imms & 0x3f);
  if (combined < 2) return undefined;
  const len = 31 - Math.clz32(combined);
  const levels = (1 << len) - 1;
  const s = imms & levels;
  const r = immr & levels;
  if (s === levels) return undefined;
  const esize = 1 << len;
  const emask = (1n << BigInt(esize)) - 1n;
  const welem = (1n << BigInt(s + 1)) - 1n;
  const rot = r === 0 ? welem : ((welem >> BigInt(r)) | (welem << BigInt(esize - r))) & emask;
  let out = 0n;
  for (let i = 0; i < (is64 ? 64 : 32); i += esize) out |= rot << BigInt(i);
  return out;
}

/** decodeBitmask's low 32 bits by sf:N:immr:imms (-1: reserved), filled on first use: no BigInt per word. */
const LOW_MASKS = new Float64Array(1 << 14).fill(-2);

function bitmaskLow32(w: number, sf: boolean): number {
  const key = ((sf ? 1 : 0) << 13) | ((w >>> 10) & 0x1fff);
  let v = LOW_MASKS[key];
  if (v === -2) {
    const m = decodeBitmask((w >>> 22) & 1, (w >>> 16) & 0x3f, (w >>> 10) & 0x3f, sf);
    v = LOW_MASKS[key] = m === undefined ? -1 : Number(m & 0xffffffffn);
  }
  return v;
}

function writes(d: Decoded, regs: readonly number[]): void {
  d.op = 'write';
  d.regs = regs;
}

function loads(d: Decoded, regs: readonly number[]): void {
  d.op = 'load';
  d.regs = regs;
}

function dataImmediate(w: number, pc: number, d: Decoded): void {
  const sf = w >>> 31 === 1;
  const rd = rdOf(w);
  switch ((w >>> 23) & 7) {
    case 0:
    case 1: {
      const imm = (signed(w, 5, 19) * 4) | ((w >>> 29) & 3);
      const page = sf;
      d.op = 'adr';
      d.rd = rd;
      d.page = page;
      d.target = page ? Math.floor(pc / 4096) * 4096 + imm * 4096 : pc + imm;
      return;
    }
    case 2: {
      const imm12 = (w >>> 10) & 0xfff;
      d.op = 'addimm';
      d.rd = rd;
      d.rn = rnOf(w);
      d.sf = sf;
      d.sub = ((w >>> 30) & 1) === 1;
      d.flags = ((w >>> 29) & 1) === 1;
      d.imm = (w >>> 22) & 1 ? imm12 * 4096 : imm12;
      return;
    }
    case 4: {
      const imm = bitmaskLow32(w, sf);
      if (imm === -1) {
        d.op = 'stop';
        return;
      }
      d.op = 'logimm';
      d.logic = LOGIC[(w >>> 29) & 3];
      d.rd = rd;
      d.rn = rnOf(w);
      d.sf = sf;
      d.imm = imm;
      return;
    }
    case 5: {
      const opc = (w >>> 29) & 3;
      const hw = (w >>> 21) & 3;
      if (opc === 1 || (!sf && hw >= 2)) {
        d.op = 'stop';
        return;
      }
      d.op = opc === 0 ? 'movn' : opc === 2 ? 'movz' : 'movk';
      d.rd = rd;
      d.sf = sf;
      d.imm = (w >>> 5) & 0xffff;
      d.shift = hw * 16;
      return;
    }
    default:
      // ADDG/SUBG, bitfield moves, EXTR.
      return writes(d, ONE[rd]);
  }
}

function branch(w: number, pc: number, d: Decoded): void {
  d.op = 'stop';
  if (is(w, 0x7c000000, 0x14000000)) {
    d.op = w >>> 31 ? 'bl' : 'b';
    d.target = pc + signed(w, 0, 26) * 4;
  } else if (is(w, 0xff000000, 0x54000000) || is(w, 0x7e000000, 0x34000000)) {
    d.op = 'bcond';
    d.target = pc + signed(w, 5, 19) * 4;
  } else if (is(w, 0x7e000000, 0x36000000)) {
    d.op = 'bcond';
    d.target = pc + signed(w, 5, 14) * 4;
  } else if (is(w, 0xfe000000, 0xd6000000)) {
    if (((w >>> 16) & 31) !== 31) return;
    // opc 0/8 BR(AA), 1/9 BLR(AA), 2 RET(AA), others ERET/DRPS and unallocated.
    switch ((w >>> 21) & 15) {
      case 0:
      case 8:
        d.op = 'br';
        d.rn = rnOf(w);
        return;
      case 1:
      case 9:
        d.op = 'blr';
        d.rn = rnOf(w);
        return;
      case 2:
        d.op = 'ret';
        return;
      default:
        return;
    }
  } else if (is(w, 0xff000000, 0xd4000000)) {
    const opc = (w >>> 21) & 7;
    // SVC/HVC/SMC: firmware and hypervisor calls (SMCCC) may return results in x0-x17.
    if (opc === 0) writes(d, SMCCC_RESULTS);
    else d.op = opc === 1 && ((w >>> 5) & 0xffff) === FASTFAIL ? 'stop' : 'none';
  } else if (is(w, 0xffc00000, 0xd5000000)) {
    // System instructions: MRS and SYSL (L = bit 21) write Rt.
    if ((w >>> 21) & 1) writes(d, ONE[rdOf(w)]);
    else d.op = 'none';
  }
}

function memory(d: Decoded, op: 'ldr' | 'str', rt: number, rn: number, offset: number, size: number, wb: number): void {
  d.op = op;
  d.rt = rt;
  d.rn = rn;
  d.offset = offset;
  d.size = size;
  d.wb = wb;
}

function loadStore(w: number, pc: number, d: Decoded): void {
  const rt = rdOf(w);
  const rn = rnOf(w);
  const simd = ((w >>> 26) & 1) === 1;
  // Load register (literal): opc 00 LDR Wt, 01 LDR Xt, 10 LDRSW, 11 PRFM.
  if (mayLoadLiteral(w)) {
    const opc = w >>> 30;
    if (simd || opc === 3) {
      d.op = 'none';
      return;
    }
    d.op = 'lit';
    d.rt = rt;
    d.size = opc === 1 ? 8 : 4;
    d.target = pc + signed(w, 5, 19) * 4;
    return;
  }
  // Load/store pair: bits 24:23 = 00 non-temporal, 01 post-index, 10 offset, 11 pre-index.
  if (is(w, 0x3a000000, 0x28000000)) {
    const idx = (w >>> 23) & 3;
    const opc = w >>> 30;
    const load = ((w >>> 22) & 1) === 1;
    // STGP (MTE) and the unallocated opc 11: every register field may change.
    if (opc === 3 || (!simd && opc === 1 && !load)) return loads(d, [rt, rt2Of(w), rn]);
    const size = simd ? 2 + opc : opc === 2 ? 3 : 2;
    const imm = signed(w, 15, 7) * (1 << size);
    d.op = 'pair';
    d.load = load;
    d.rt = rt;
    d.rt2 = rt2Of(w);
    d.rn = rn;
    d.offset = idx === 1 ? 0 : imm;
    d.size = size;
    d.wb = idx === 1 || idx === 3 ? imm : 0;
    d.fp = simd;
    return;
  }
  // Load/store register: unsigned offset (bit 24), or imm9 / register offset / atomics (bit 24 clear).
  if (is(w, 0x3a000000, 0x38000000)) {
    const size = w >>> 30;
    const opc = (w >>> 22) & 3;
    const load = opc !== 0 && !(size === 3 && opc === 2);
    d.op = 'none';
    if ((w >>> 24) & 1) {
      if (simd) return;
      const offset = ((w >>> 10) & 0xfff) * (1 << size);
      if (load) memory(d, 'ldr', rt, rn, offset, size, 0);
      else if (opc === 0) memory(d, 'str', rt, rn, offset, size, 0);
      return;
    }
    const form = (w >>> 10) & 3;
    if ((w >>> 21) & 1) {
      // Atomic memory operations write Rt whatever opc says; LDRAA/LDRAB write back when bit 11 is set.
      if (form === 0) {
        if (!simd) loads(d, ONE[rt]);
      } else if (form === 2) {
        if (simd) return;
        if (load) loads(d, ONE[rt]);
        else if (opc === 0) {
          d.op = 'store';
          d.src = ONE[rt];
          d.regs = NO_REGS;
        }
      } else loads(d, (w >>> 11) & 1 ? two(rt, rn) : ONE[rt]);
      return;
    }
    // imm9 forms: 00 unscaled (LDUR/STUR), 01 post-index, 10 unprivileged (LDTR/STTR), 11 pre-index.
    const indexed = form === 1 || form === 3;
    if (simd) {
      if (indexed) loads(d, ONE[rn]);
      return;
    }
    const imm = signed(w, 12, 9);
    if (!load && opc !== 0) {
      if (indexed) loads(d, ONE[rn]);
      return;
    }
    return memory(d, load ? 'ldr' : 'str', rt, rn, form === 1 ? 0 : imm, size, indexed ? imm : 0);
  }
  // Advanced SIMD structure loads/stores: bit 23 selects the post-index form that writes the base.
  if (is(w, 0xbe000000, 0x0c000000)) {
    if ((w >>> 23) & 1) loads(d, ONE[rn]);
    else d.op = 'none';
    return;
  }
  // Exclusives, RCpc, memory copy/set, tag loads: every register field may be written.
  loads(d, [rt, rn, rmOf(w), rt2Of(w)]);
}

function dataRegister(w: number, d: Decoded): void {
  const sf = w >>> 31 === 1;
  const rd = rdOf(w);
  const rn = rnOf(w);
  const rm = rmOf(w);
  if (is(w, 0x1f000000, 0x0a000000)) {
    const amount = (w >>> 10) & 0x3f;
    if (!sf && amount >= 32) {
      d.op = 'stop';
      return;
    }
    const logic = LOGIC[(w >>> 29) & 3];
    if (logic === 'ands' && rd === 31) {
      d.op = 'cmp';
      d.regs = two(rn, rm);
      return;
    }
    d.op = 'logreg';
    d.logic = logic;
    d.invert = ((w >>> 21) & 1) === 1;
    d.rd = rd;
    d.rn = rn;
    d.rm = rm;
    d.sf = sf;
    d.shiftType = (w >>> 22) & 3;
    d.amount = amount;
    return;
  }
  if (is(w, 0x1f000000, 0x0b000000)) {
    const flags = ((w >>> 29) & 1) === 1;
    if (flags && rd === 31) {
      d.op = 'cmp';
      d.regs = two(rn, rm);
      return;
    }
    // Extended-register form (bit 21): rn/rd may be sp; not folded.
    if ((w >>> 21) & 1) {
      if (rd === 31 && !flags) d.op = 'setsp';
      else writes(d, ONE[rd]);
      return;
    }
    const amount = (w >>> 10) & 0x3f;
    const shiftType = (w >>> 22) & 3;
    if (shiftType === 3 || (!sf && amount >= 32)) {
      d.op = 'stop';
      return;
    }
    d.op = 'addreg';
    d.rd = rd;
    d.rn = rn;
    d.rm = rm;
    d.sf = sf;
    d.sub = ((w >>> 30) & 1) === 1;
    d.flags = flags;
    d.shiftType = shiftType;
    d.amount = amount;
    return;
  }
  // CCMP/CCMN: the register form compares Rm, the immediate form a 5-bit constant.
  if (is(w, 0x1fe00000, 0x1a400000)) {
    d.op = 'cmp';
    d.regs = (w >>> 11) & 1 ? ONE[rn] : two(rn, rm);
    return;
  }
  // CSEL/CSINC (op 0) and CSINV/CSNEG (op 1), op2 bit 0 picking the second of each; S and op2 bit 1 are 0.
  if (is(w, 0x3fe00800, 0x1a800000)) {
    d.op = 'csel';
    d.rd = rd;
    d.rn = rn;
    d.rm = rm;
    d.sf = sf;
    d.other = CSEL_OTHER[((w >>> 29) & 2) | ((w >>> 10) & 1)];
    return;
  }
  writes(d, ONE[rd]);
}

function simdFp(w: number, d: Decoded): void {
  // Only FP<->integer conversions (FMOV/FCVT* to a general register) and SIMD copies (UMOV/SMOV) can
  // write a general register; they are clobbered whichever direction they go.
  if (is(w, 0x5f20fc00, 0x1e200000) || is(w, 0x9fe08400, 0x0e000400)) writes(d, ONE[rdOf(w)]);
  else d.op = 'none';
}

/** Decode the little-endian word `w` found at RVA `pc` into `d`. Never throws: unknown words are `stop`. */
export function decodeInto(w: number, pc: number, d: Decoded): void {
  w >>>= 0;
  const top = (w >>> 25) & 15;
  if ((top & 14) === 8) dataImmediate(w, pc, d);
  else if ((top & 14) === 10) branch(w, pc, d);
  else if ((top & 5) === 4) loadStore(w, pc, d);
  else if ((top & 7) === 5) dataRegister(w, d);
  else if ((top & 7) === 7) simdFp(w, d);
  // SVE may write a general register (CNTD, …); the rest of this space is reserved or UDF.
  else if (top === 2) writes(d, ONE[rdOf(w)]);
  else d.op = 'stop';
}

/** The instruction `d` holds, as a value of its own (`w`: the word it was decoded from). */
function insnOf(d: Decoded, w: number): Insn {
  switch (d.op) {
    case 'movz':
    case 'movn':
    case 'movk':
      return { op: d.op, rd: d.rd, sf: d.sf, imm16: d.imm, shift: d.shift };
    case 'logimm':
      return { op: 'logimm', logic: d.logic, rd: d.rd, rn: d.rn, sf: d.sf, imm: decodeBitmask((w >>> 22) & 1, (w >>> 16) & 0x3f, (w >>> 10) & 0x3f, d.sf)! };
    case 'addimm':
      return { op: 'addimm', rd: d.rd, rn: d.rn, sf: d.sf, sub: d.sub, flags: d.flags, imm: d.imm };
    case 'adr':
      return { op: 'adr', rd: d.rd, page: d.page, target: d.target };
    case 'logreg':
      return { op: 'logreg', logic: d.logic, invert: d.invert, rd: d.rd, rn: d.rn, rm: d.rm, sf: d.sf, shiftType: d.shiftType, amount: d.amount };
    case 'addreg':
      return { op: 'addreg', rd: d.rd, rn: d.rn, rm: d.rm, sf: d.sf, sub: d.sub, flags: d.flags, shiftType: d.shiftType, amount: d.amount };
    case 'cmp':
      return { op: 'cmp', regs: [...d.regs] };
    case 'csel':
      return { op: 'csel', rd: d.rd, rn: d.rn, rm: d.rm, sf: d.sf, other: d.other };
    case 'ldr':
    case 'str':
      return { op: d.op, rt: d.rt, rn: d.rn, offset: d.offset, size: d.size, wb: d.wb };
    case 'pair':
      return { op: 'pair', load: d.load, rt: d.rt, rt2: d.rt2, rn: d.rn, offset: d.offset, size: d.size, wb: d.wb, fp: d.fp };
    case 'lit':
      return { op: 'lit', rt: d.rt, size: d.size as 4 | 8, target: d.target };
    case 'load':
    case 'write':
      return { op: d.op, regs: [...d.regs] };
    case 'store':
      return { op: 'store', src: [...d.src], wb: [...d.regs] };
    case 'b':
    case 'bl':
    case 'bcond':
      return { op: d.op, target: d.target };
    case 'br':
    case 'blr':
      return { op: d.op, rn: d.rn };
    default:
      return { op: d.op };
  }
}

/** Decode the little-endian word `w` found at RVA `pc`. Never throws: unknown words are `stop`. */
export function decode(w: number, pc: number): Insn {
  const d = new Decoded();
  decodeInto(w, pc, d);
  return insnOf(d, w >>> 0);
}

/** The registers `decodeInto` said `d` may write, one bit each (bit 31: sp). */
export function writtenMask(d: Decoded): number {
  switch (d.op) {
    case 'movz':
    case 'movn':
    case 'movk':
    case 'logimm':
    case 'addimm':
    case 'adr':
    case 'logreg':
    case 'addreg':
    case 'csel':
      return (1 << d.rd) >>> 0;
    case 'lit':
      return (1 << d.rt) >>> 0;
    case 'ldr':
      return ((1 << d.rt) | (d.wb === 0 ? 0 : 1 << d.rn)) >>> 0;
    case 'str':
      return d.wb === 0 ? 0 : (1 << d.rn) >>> 0;
    case 'pair':
      return ((d.load && !d.fp ? (1 << d.rt) | (1 << d.rt2) : 0) | (d.wb === 0 ? 0 : 1 << d.rn)) >>> 0;
    case 'setsp':
      return 0x80000000;
    case 'load':
    case 'write':
    case 'store':
      return maskOf(d.regs);
    case 'bl':
    case 'blr':
      return 1 << 30;
    default:
      return 0;
  }
}

function maskOf(regs: readonly number[]): number {
  let m = 0;
  for (const r of regs) m |= 1 << r;
  return m >>> 0;
}

