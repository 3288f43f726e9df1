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
const STOP: Insn = { op: 'stop' };
const NONE: Insn = { op: 'none' };
const RET: Insn = { op: 'ret' };
/** __fastfail is BRK #0xF003 on ARM64: it never returns. */
const FASTFAIL = 0xf003;
const SMCCC_RESULTS = Array.from({ length: 18 }, (_, i) => i);

const rdOf = (w: number) => w & 31;
const rnOf = (w: number) => (w >>> 5) & 31;
const rmOf = (w: number) => (w >>> 16) & 31;
const rt2Of = (w: number) => (w >>> 10) & 31;
/** Does `w` match `value` under `mask`? (Unsigned: masks with bit 31 give negative numbers in JS.) */
const is = (w: number, mask: number, value: number) => (w & mask) >>> 0 === value;
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

function dataImmediate(w: number, pc: number): Insn {
  const sf = w >>> 31 === 1;
  const rd = rdOf(w);
  switch ((w >>> 23) & 7) {
    case 0:
    case 1: {
      const imm = (signed(w, 5, 19) * 4) | ((w >>> 29) & 3);
      const page = sf;
      const target = page ? Math.floor(pc / 4096) * 4096 + imm * 4096 : pc + imm;
      return { op: 'adr', rd, page, target };
    }
    case 2: {
      const imm12 = (w >>> 10) & 0xfff;
      const imm = (w >>> 22) & 1 ? imm12 * 4096 : imm12;
      return { op: 'addimm', rd, rn: rnOf(w), sf, sub: ((w >>> 30) & 1) === 1, flags: ((w >>> 29) & 1) === 1, imm };
    }
    case 4: {
      const imm = decodeBitmask((w >>> 22) & 1, (w >>> 16) & 0x3f, (w >>> 10) & 0x3f, sf);
      if (imm === undefined) return STOP;
      return { op: 'logimm', logic: LOGIC[(w >>> 29) & 3], rd, rn: rnOf(w), sf, imm };
    }
    case 5: {
      const opc = (w >>> 29) & 3;
      const hw = (w >>> 21) & 3;
      if (opc === 1 || (!sf && hw >= 2)) return STOP;
      return { op: opc === 0 ? 'movn' : opc === 2 ? 'movz' : 'movk', rd, sf, imm16: (w >>> 5) & 0xffff, shift: hw * 16 };
    }
    default:
      // ADDG/SUBG, bitfield moves, EXTR.
      return { op: 'write', regs: [rd] };
  }
}

function branch(w: number, pc: number): Insn {
  if (is(w, 0x7c000000, 0x14000000)) return { op: w >>> 31 ? 'bl' : 'b', target: pc + signed(w, 0, 26) * 4 };
  if (is(w, 0xff000000, 0x54000000)) return { op: 'bcond', target: pc + signed(w, 5, 19) * 4 };
  if (is(w, 0x7e000000, 0x34000000)) return { op: 'bcond', target: pc + signed(w, 5, 19) * 4 };
  if (is(w, 0x7e000000, 0x36000000)) return { op: 'bcond', target: pc + signed(w, 5, 14) * 4 };
  if (is(w, 0xfe000000, 0xd6000000)) {
    if (((w >>> 16) & 31) !== 31) return STOP;
    // opc 0/8 BR(AA), 1/9 BLR(AA), 2 RET(AA), others ERET/DRPS and unallocated.
    switch ((w >>> 21) & 15) {
      case 0:
      case 8:
        return { op: 'br', rn: rnOf(w) };
      case 1:
      case 9:
        return { op: 'blr', rn: rnOf(w) };
      case 2:
        return RET;
      default:
        return STOP;
    }
  }
  if (is(w, 0xff000000, 0xd4000000)) {
    const opc = (w >>> 21) & 7;
    // SVC/HVC/SMC: firmware and hypervisor calls (SMCCC) may return results in x0-x17.
    if (opc === 0) return { op: 'write', regs: SMCCC_RESULTS };
    return opc === 1 && ((w >>> 5) & 0xffff) === FASTFAIL ? STOP : NONE;
  }
  // System instructions: MRS and SYSL (L = bit 21) write Rt.
  if (is(w, 0xffc00000, 0xd5000000)) return (w >>> 21) & 1 ? { op: 'write', regs: [rdOf(w)] } : NONE;
  return STOP;
}

function loadStore(w: number, pc: number): Insn {
  const rt = rdOf(w);
  const rn = rnOf(w);
  const simd = ((w >>> 26) & 1) === 1;
  // Load register (literal): opc 00 LDR Wt, 01 LDR Xt, 10 LDRSW, 11 PRFM.
  if (is(w, 0x3b000000, 0x18000000)) {
    const opc = w >>> 30;
    return !simd && opc !== 3 ? { op: 'lit', rt, size: opc === 1 ? 8 : 4, target: pc + signed(w, 5, 19) * 4 } : NONE;
  }
  // Load/store pair: bits 24:23 = 00 non-temporal, 01 post-index, 10 offset, 11 pre-index.
  if (is(w, 0x3a000000, 0x28000000)) {
    const idx = (w >>> 23) & 3;
    const opc = w >>> 30;
    const load = ((w >>> 22) & 1) === 1;
    // STGP (MTE) and the unallocated opc 11: every register field may change.
    if (opc === 3 || (!simd && opc === 1 && !load)) return { op: 'load', regs: [rt, rt2Of(w), rn] };
    const size = simd ? 2 + opc : opc === 2 ? 3 : 2;
    const imm = signed(w, 15, 7) * 2 ** size;
    const wb = idx === 1 || idx === 3 ? imm : 0;
    return { op: 'pair', load, rt, rt2: rt2Of(w), rn, offset: idx === 1 ? 0 : imm, size, wb, fp: simd };
  }
  // Load/store register: unsigned offset (bit 24), or imm9 / register offset / atomics (bit 24 clear).
  if (is(w, 0x3a000000, 0x38000000)) {
    const size = w >>> 30;
    const opc = (w >>> 22) & 3;
    const load = opc !== 0 && !(size === 3 && opc === 2);
    if ((w >>> 24) & 1) {
      if (simd) return NONE;
      const offset = ((w >>> 10) & 0xfff) * 2 ** size;
      if (!load) return opc === 0 ? { op: 'str', rt, rn, offset, size, wb: 0 } : NONE;
      return { op: 'ldr', rt, rn, offset, size, wb: 0 };
    }
    const form = (w >>> 10) & 3;
    if ((w >>> 21) & 1) {
      // Atomic memory operations write Rt whatever opc says; LDRAA/LDRAB write back when bit 11 is set.
      if (form === 0) return simd ? NONE : { op: 'load', regs: [rt] };
      if (form === 2) return simd ? NONE : load ? { op: 'load', regs: [rt] } : opc === 0 ? { op: 'store', src: [rt], wb: [] } : NONE;
      return { op: 'load', regs: (w >>> 11) & 1 ? [rt, rn] : [rt] };
    }
    // imm9 forms: 00 unscaled (LDUR/STUR), 01 post-index, 10 unprivileged (LDTR/STTR), 11 pre-index.
    const indexed = form === 1 || form === 3;
    if (simd) return indexed ? { op: 'load', regs: [rn] } : NONE;
    const imm = signed(w, 12, 9);
    if (!load && opc !== 0) return indexed ? { op: 'load', regs: [rn] } : NONE;
    return { op: load ? 'ldr' : 'str', rt, rn, offset: form === 1 ? 0 : imm, size, wb: indexed ? imm : 0 };
  }
  // Advanced SIMD structure loads/stores: bit 23 selects the post-index form that writes the base.
  if (is(w, 0xbe000000, 0x0c000000)) return (w >>> 23) & 1 ? { op: 'load', regs: [rn] } : NONE;
  // Exclusives, RCpc, memory copy/set, tag loads: every register field may be written.
  return { op: 'load', regs: [rt, rn, rmOf(w), rt2Of(w)] };
}

function dataRegister(w: number): Insn {
  const sf = w >>> 31 === 1;
  const rd = rdOf(w);
  const rn = rnOf(w);
  const rm = rmOf(w);
  if (is(w, 0x1f000000, 0x0a000000)) {
    const amount = (w >>> 10) & 0x3f;
    if (!sf && amount >= 32) return STOP;
    const logic = LOGIC[(w >>> 29) & 3];
    if (logic === 'ands' && rd === 31) return { op: 'cmp', regs: [rn, rm] };
    return { op: 'logreg', logic, invert: ((w >>> 21) & 1) === 1, rd, rn, rm, sf, shiftType: (w >>> 22) & 3, amount };
  }
  if (is(w, 0x1f000000, 0x0b000000)) {
    const flags = ((w >>> 29) & 1) === 1;
    if (flags && rd === 31) return { op: 'cmp', regs: [rn, rm] };
    // Extended-register form (bit 21): rn/rd may be sp; not folded.
    if ((w >>> 21) & 1) return rd === 31 && !flags ? { op: 'setsp' } : { op: 'write', regs: [rd] };
    const amount = (w >>> 10) & 0x3f;
    const shiftType = (w >>> 22) & 3;
    if (shiftType === 3 || (!sf && amount >= 32)) return STOP;
    return { op: 'addreg', rd, rn, rm, sf, sub: ((w >>> 30) & 1) === 1, flags, shiftType, amount };
  }
  // CCMP/CCMN: the register form compares Rm, the immediate form a 5-bit constant.
  if (is(w, 0x1fe00000, 0x1a400000)) return { op: 'cmp', regs: (w >>> 11) & 1 ? [rn] : [rn, rm] };
  // CSEL/CSINC (op 0) and CSINV/CSNEG (op 1), op2 bit 0 picking the second of each; S and op2 bit 1 are 0.
  if (is(w, 0x3fe00800, 0x1a800000)) return { op: 'csel', rd, rn, rm, sf, other: CSEL_OTHER[((w >>> 29) & 2) | ((w >>> 10) & 1)] };
  return { op: 'write', regs: [rd] };
}

function simdFp(w: number): Insn {
  // Only FP<->integer conversions (FMOV/FCVT* to a general register) and SIMD copies (UMOV/SMOV) can
  // write a general register; they are clobbered whichever direction they go.
  if (is(w, 0x5f20fc00, 0x1e200000) || is(w, 0x9fe08400, 0x0e000400)) return { op: 'write', regs: [rdOf(w)] };
  return NONE;
}

/** Decode the little-endian word `w` found at RVA `pc`. Never throws: unknown words are `stop`. */
export function decode(w: number, pc: number): Insn {
  w >>>= 0;
  const top = (w >>> 25) & 15;
  if ((top & 14) === 8) return dataImmediate(w, pc);
  if ((top & 14) === 10) return branch(w, pc);
  if ((top & 5) === 4) return loadStore(w, pc);
  if ((top & 7) === 5) return dataRegister(w);
  if ((top & 7) === 7) return simdFp(w);
  // SVE may write a general register (CNTD, …); the rest of this space is reserved or UDF.
  return top === 2 ? { op: 'write', regs: [rdOf(w)] } : STOP;
}

/** Registers a decoded instruction may write (for passes that track nothing else). */
export function writtenRegs(i: Insn): number[] {
  switch (i.op) {
    case 'movz':
    case 'movn':
    case 'movk':
    case 'logimm':
    case 'addimm':
    case 'adr':
    case 'logreg':
    case 'addreg':
    case 'csel':
      return [i.rd];
    case 'lit':
      return [i.rt];
    case 'ldr':
      return i.wb === 0 ? [i.rt] : [i.rt, i.rn];
    case 'str':
      return i.wb === 0 ? [] : [i.rn];
    case 'pair':
      return [...(i.load && !i.fp ? [i.rt, i.rt2] : []), ...(i.wb === 0 ? [] : [i.rn])];
    case 'setsp':
      return [31];
    case 'load':
    case 'write':
      return i.regs;
    case 'store':
      return i.wb;
    case 'bl':
    case 'blr':
      return [30];
    default:
      return [];
  }
}
