// The ARM64 walk: each function region decoded linearly, word by word, with a small abstract state per
// general register (known constants, incoming parameters w0-w7, IAT pointers, and ADR/ADRP addresses).
// Forward branches carry their state to the target, where it is joined. Records every call that may carry
// a tag (AAPCS64: parameters 0-7 in x0-x7) and every tag-like constant built in a register.
import { PROTECTED_BIT, looksLikeTag } from '../../tag.js';
import { mayBeTag } from '../data.js';
import { type Atom, type Value, stackOffset, union } from '../values.js';
import { type CselOther, Decoded, type LogicOp, decodeInto } from './decode.js';
import type { Arm64Section, Layout } from './starts.js';
import { NOP, type Provenance } from './text.js';
import type { CallSite, TagApi } from '../types.js';
import type { GuardPointers } from '../../pe/types.js';

const REGS = 31;
const PARAMS = 8;
/**
 * The CFG check takes the target in x15 and returns to a call that still needs x0-x8 and x15: those survive
 * it, the other temporaries may not.
 */
const GUARD_CLOBBERED = [9, 10, 11, 12, 13, 14, 16, 17, 18, 30];
const GUARD_TARGET = 15;
/** Names the guard pointer variables get when loaded into a register (never the name of an import). */
export const GUARD_CHECK = '<cfg check>';
export const GUARD_DISPATCH = '<cfg dispatch>';

interface State {
  regs: Value[];
  /** Address (RVA) a register holds (NaN: none; numbers only, so V8 keeps them unboxed), from ADR, ADRP and ADD: the base of an IAT load. */
  addr: number[];
  /** sp relative to the function's entry sp; undefined when it cannot be followed. */
  sp: number | undefined;
  /** Stack slot (offset from the entry sp) → value stored there (spills, structures built on the stack). */
  slots: ReadonlyMap<number, Value>;
  /** Lowest stack offset whose address went to a callee or into memory: calls may write from there up. */
  escaped: number;
}

/** A tag-like constant built in a register: a `code`-tier candidate unless it was only ever compared. */
export interface Candidate {
  at: number;
  v: number;
  /** Where the constant's four bytes sit, when they sit anywhere (a literal pool); else `at`. */
  immAt: number;
  why: Provenance;
  compared: boolean;
  used: boolean;
}

/** A constant atom that remembers how it was built (still an Atom for resolve.ts). */
export interface Const {
  k: 'c';
  v: number;
  at: number;
  why: Provenance;
  cand?: Candidate;
}

/**
 * The low 32 bits of the `size` bytes at `rva` when they are a constant (read-only image bytes, and for
 * 8 bytes a high half of zero), else undefined.
 */
export type Literal = (rva: number, size: 4 | 8) => number | undefined;

export interface WalkResult {
  sites: CallSite[];
  candidates: Candidate[];
  /** Calls to the framework structure APIs asked for (frameworks/), with the addresses their arguments hold. */
  structSites: CallSite[];
}

/** The incoming parameters, shared by every function's entry state (values are never written). */
const PARAM_VALUES: readonly Value[] = Array.from({ length: PARAMS }, (_, i) => [{ k: 'p', i }]);

/** No register holds an address: NaN each (x === x is false only for NaN), a packed array of doubles. */
const NO_ADDRS: readonly number[] = Array.from({ length: REGS }, () => NaN);

/** The empty slot map every state starts from: shared, so never written (ownSlots copies it first). */
const NO_SLOTS: ReadonlyMap<number, Value> = new Map();

/** The zero register read as a value: tag 0 is never evidence, so one shared atom serves. */
const ZERO: Const = { k: 'c', v: 0, at: -1, why: { word: NOP, pc: 0, from: [] } };
const ZERO_VALUE: Value = [ZERO];

function allConstants(v: Value): v is readonly Const[] {
  return v !== null && v.every((a) => a.k === 'c');
}

/** Low 32 bits of a register operand after its shift, or undefined when high bits would be needed. */
function shifted(x: number, type: number, amount: number, sf: boolean): number | undefined {
  if (amount === 0) return x;
  if (sf) return type === 0 ? (amount < 32 ? (x << amount) >>> 0 : 0) : undefined;
  switch (type) {
    case 0:
      return (x << amount) >>> 0;
    case 1:
      return x >>> amount;
    case 2:
      return (x >> amount) >>> 0;
    default:
      return ((x >>> amount) | (x << (32 - amount))) >>> 0;
  }
}

/** Low 32 bits of what a MOVZ (or MOVN) of `imm16` at bit `shift` writes. */
function moveWideLow32(inverted: boolean, imm16: number, shift: number): number {
  const v = shift < 32 ? (imm16 << shift) >>> 0 : 0;
  return inverted ? ~v >>> 0 : v;
}

function logic(op: LogicOp, a: number, b: number): number {
  switch (op) {
    case 'and':
    case 'ands':
      return (a & b) >>> 0;
    case 'orr':
      return (a | b) >>> 0;
    default:
      return (a ^ b) >>> 0;
  }
}

const CSEL_OTHER: Record<Exclude<CselOther, 'rm'>, (x: number) => number> = {
  inc: (x) => x + 1,
  inv: (x) => ~x,
  neg: (x) => -x,
};

class Walker {
  readonly sites: CallSite[] = [];
  readonly candidates: Candidate[] = [];
  private st: State = Walker.lost();
  private fn = 0;
  private regionEnd = 0;
  private reachable = true;
  /** Targets of forward branches not reached yet, descending (the next one last), and the state each is entered with. */
  private readonly pendingAt: number[] = [];
  private readonly pendingState: State[] = [];
  /** The current state went to `pendingState` (its path ended in a branch): the next one needs arrays of its own. */
  private given = false;
  /** States no path holds any more (joined or abandoned), reused for copies: fewer objects for the GC. */
  private readonly free: State[] = [];
  /** The instruction being walked, decoded in place, and its word (the constants it builds name it). */
  private readonly insn = new Decoded();
  private word = 0;
  /** Whether st.slots belongs to the current path alone (saved and merged states share maps, never written). */
  private slotsOwned = true;

  constructor(
    private readonly imports: Map<number, string>,
    private readonly thunks: Map<number, string>,
    private readonly apis: Map<string, TagApi>,
    private readonly literal: Literal,
    /** Guard pointer variable RVA → GUARD_CHECK or GUARD_DISPATCH. */
    private readonly guards: Map<number, string>,
    private readonly structApis: ReadonlySet<string> = new Set(),
  ) {}

  readonly structSites: CallSite[] = [];

  private static lost(): State {
    return { regs: new Array(REGS).fill(null), addr: NO_ADDRS.slice(), sp: undefined, slots: NO_SLOTS, escaped: Infinity };
  }


  /** `words`: the section's words; `data`: its literal-pool words (starts.ts), which control never runs through. */
  walk(sec: Arm64Section, words: Uint32Array, data: Uint8Array, begin: number, end: number, entry: boolean): void {
    this.fn = begin;
    this.regionEnd = end;
    this.pendingAt.length = 0;
    this.pendingState.length = 0;
    this.reset();
    if (entry) {
      this.st.sp = 0;
      for (let p = 0; p < PARAMS; p++) this.st.regs[p] = PARAM_VALUES[p];
    }
    const d = this.insn;
    for (let ip = begin; ip < end; ip += 4) {
      const k = (ip - sec.rva) >>> 2;
      if (data[k]) {
        this.enter(ip, true);
        this.reachable = false;
        continue;
      }
      this.word = words[k];
      decodeInto(this.word, ip, d);
      this.enter(ip, d.op === 'stop');
      this.step(ip, d);
    }
  }

  /** Reach `ip`; `dead`: its word is data or stops, so it reads nothing of the state. */
  private enter(ip: number, dead: boolean): void {
    // Branches only go forward inside the region: the lowest pending target is the next one reached.
    const next = this.pendingAt.length - 1;
    if (next >= 0 && ip === this.pendingAt[next]) {
      this.pendingAt.pop();
      const snap = this.pendingState.pop()!;
      // The current state is this path's own: the join is made in it. The state left behind is no one's.
      if (this.reachable) {
        mergeInto(this.st, snap);
        this.free.push(snap);
      } else {
        if (!this.given && this.st !== snap) this.free.push(this.st);
        this.st = snap;
      }
      this.given = false;
      this.slotsOwned = false;
      this.reachable = true;
    }
    // Nothing is known where no path arrives (the state is made only when a word will read it).
    if (!this.reachable && !dead) this.reset();
  }

  /** Start afresh: nothing known. */
  private reset(): void {
    // The current state is this path's own unless it was given to a branch target.
    if (this.given) {
      this.st = this.free.pop() ?? Walker.lost();
      this.given = false;
    }
    const st = this.st;
    st.regs.fill(null);
    st.addr.fill(NaN);
    st.sp = undefined;
    st.slots = NO_SLOTS;
    st.escaped = Infinity;
    this.slotsOwned = false;
    this.reachable = true;
  }

  /** The current path's own slot map, copied first if it is shared. */
  private ownSlots(): Map<number, Value> {
    if (!this.slotsOwned) {
      this.st.slots = new Map(this.st.slots);
      this.slotsOwned = true;
    }
    return this.st.slots as Map<number, Value>;
  }

  /** A copy of `st` (its slot map shared), in a state left behind when there is one. */
  private copy(st: State): State {
    const c = this.free.pop();
    if (!c) return { regs: st.regs.slice(), addr: st.addr.slice(), sp: st.sp, slots: st.slots, escaped: st.escaped };
    for (let r = 0; r < REGS; r++) {
      c.regs[r] = st.regs[r];
      c.addr[r] = st.addr[r];
    }
    c.sp = st.sp;
    c.slots = st.slots;
    c.escaped = st.escaped;
    return c;
  }

  /** Carry the current state to forward target `t`; `last`: the path ends here, so it may be given, not copied. */
  private branchTo(t: number, last: boolean): void {
    const at = this.pendingAt;
    const states = this.pendingState;
    let k = at.length - 1;
    while (k >= 0 && at[k] < t) k--;
    const st = this.st;
    // The saved state shares the slot map: this path copies it before its next change.
    this.slotsOwned = false;
    // A saved state is only ever in `pendingState`: the join is made in it.
    if (k >= 0 && at[k] === t) return void mergeInto(states[k], st);
    const saved = last ? st : this.copy(st);
    if (last) this.given = true;
    // Insert at k + 1, moving the nearer targets up one.
    at.push(t);
    states.push(saved);
    for (let j = at.length - 1; j > k + 1; j--) {
      at[j] = at[j - 1];
      states[j] = states[j - 1];
    }
    at[k + 1] = t;
    states[k + 1] = saved;
  }

  /** Register value as an operand where 31 means the zero register. */
  private read(r: number): Value {
    return r === 31 ? ZERO_VALUE : this.st.regs[r];
  }

  private set(r: number, v: Value, addr = NaN): void {
    if (r >= REGS) return;
    this.st.regs[r] = v;
    this.st.addr[r] = addr;
  }

  /** Stack offset (from the entry sp) of [Xn + offset], when Xn is sp or holds one stack address. */
  private slotOf(rn: number, offset: number): number | undefined {
    if (rn === 31) return this.st.sp === undefined ? undefined : this.st.sp + offset;
    const o = stackOffset(this.st.regs[rn]);
    return o === undefined ? undefined : o + offset;
  }

  private writeSlot(at: number | undefined, bytes: number, v: Value): void {
    // A stack address stored anywhere may be written through later.
    const o = stackOffset(v);
    if (o !== undefined) this.st.escaped = Math.min(this.st.escaped, o);
    if (at === undefined) return;
    const keep = bytes >= 4 && v;
    let doomed = false;
    if (this.st.slots.size > 0) for (const k of this.st.slots.keys()) if (k > at - 8 && k < at + bytes) doomed = true;
    if (!doomed && !keep) return;
    const slots = this.ownSlots();
    if (doomed) for (const k of slots.keys()) if (k > at - 8 && k < at + bytes) slots.delete(k);
    if (keep) slots.set(at, v);
  }

  private readSlot(at: number | undefined, bytes: number): Value {
    return at === undefined || bytes < 4 ? null : (this.st.slots.get(at) ?? null);
  }

  /** Pre/post-index writeback: Xn += amount. */
  private writeback(rn: number, amount: number): void {
    if (amount === 0) return;
    if (rn === 31) return this.moveSp(this.st.sp === undefined ? undefined : this.st.sp + amount);
    const o = stackOffset(this.st.regs[rn]);
    this.set(rn, o === undefined ? null : [{ k: 'sp', off: o + amount }]);
  }

  private moveSp(sp: number | undefined): void {
    // Slots stay keyed by entry-relative offsets; once sp is lost, sp-relative stores could hit any of them.
    if (sp === undefined && this.st.slots.size > 0) {
      this.st.slots = NO_SLOTS;
      this.slotsOwned = false;
    }
    this.st.sp = sp;
  }

  private use(v: Value, compared: boolean): void {
    if (!v) return;
    for (const a of v) {
      const c = (a as Const).cand;
      if (!c) continue;
      if (compared) c.compared = true;
      else c.used = true;
    }
  }

  /** A constant built (or changed) at `at` by `why`; tag-like ones become candidates. */
  private built(at: number, v: number, why: Provenance, immAt = at): Const {
    v >>>= 0;
    const atom: Const = { k: 'c', v, at, why };
    if (mayBeTag(v) && looksLikeTag(v)) {
      atom.cand = { at, v, immAt, why, compared: false, used: false };
      this.candidates.push(atom.cand);
    }
    return atom;
  }

  /** Fold `f` over every pair of constants of two operands into new constants built at `ip`. */
  private fold(ip: number, a: Value, b: Value, f: (x: number, y: number) => number | undefined): Value {
    // Deriving another constant is no use of this one: a magic number that also serves as a base stays a compare.
    if (!allConstants(a) || !allConstants(b)) return null;
    let out: Value = [];
    for (const x of a as readonly Const[]) {
      for (const y of b as readonly Const[]) {
        const r = f(x.v, y.v);
        if (r === undefined) return null;
        const from = [x, y].filter((c) => c !== ZERO && c.at !== ip).map((c) => c.why);
        out = union(out, [this.built(ip, r, { word: this.word, pc: ip, from })]);
        if (!out) return null;
      }
    }
    return out;
  }

  /** Constants of `v` changed by `f` at `ip`; other atoms dropped. */
  private derived(ip: number, v: Value, f: (x: number) => number): Value {
    if (!v) return null;
    const consts = v.filter((a): a is Const => a.k === 'c');
    return consts.map((c) => this.built(ip, f(c.v), { word: this.word, pc: ip, from: c === ZERO ? [] : [c.why] }));
  }

  // The folds have closures of their own, outside step: a function that makes closures gets a new
  // context object on every call, which for step would be one per word.

  /** MOVK of `imm16` at bit `shift` into the constants `old`. */
  private movk(ip: number, old: readonly Const[], shift: number, imm16: number): Value {
    // Only the low 32 bits are tracked; a MOVK above them leaves them as they were.
    const keep = shift === 0 ? 0xffff0000 : shift === 16 ? 0x0000ffff : 0xffffffff;
    const put = shift < 32 ? imm16 << shift : 0;
    // The constant keeps the RVA where it began, unless it began as the shared zero register.
    const at = (a: Const) => (a === ZERO ? ip : a.at);
    return old.map((a) => this.built(at(a), (a.v & keep) | put, { word: this.word, pc: ip, from: a === ZERO ? [] : [a.why] }));
  }

  private logicImm(ip: number, src: Value, op: LogicOp, imm: number): Value {
    const operand: Const = { k: 'c', v: imm, at: ip, why: ZERO.why };
    return this.fold(ip, src, [operand], (x, y) => logic(op, x, y));
  }

  private addImm(ip: number, src: Value, sub: boolean, imm: number): Value {
    const operand: Const = { k: 'c', v: imm, at: ip, why: ZERO.why };
    return this.fold(ip, src, [operand], (x, y) => (sub ? x - y : x + y) >>> 0);
  }

  private logicReg(ip: number, i: Decoded): Value {
    return this.fold(ip, this.read(i.rn), this.read(i.rm), (x, y) => {
      const b = shifted(y, i.shiftType, i.amount, i.sf);
      return b === undefined ? undefined : logic(i.logic, x, i.invert ? ~b >>> 0 : b);
    });
  }

  private addReg(ip: number, i: Decoded): Value {
    return this.fold(ip, this.read(i.rn), this.read(i.rm), (x, y) => {
      const b = shifted(y, i.shiftType, i.amount, i.sf);
      return b === undefined ? undefined : (i.sub ? x - b : x + b) >>> 0;
    });
  }

  private step(ip: number, i: Decoded): void {
    const st = this.st;
    switch (i.op) {
      case 'movz':
      case 'movn':
        if (i.rd < REGS) this.set(i.rd, [this.built(ip, moveWideLow32(i.op === 'movn', i.imm, i.shift), { word: this.word, pc: ip, from: [] })]);
        return;
      case 'movk': {
        if (i.rd >= REGS) return;
        const old = st.regs[i.rd];
        if (!allConstants(old)) return this.set(i.rd, null);
        return this.set(i.rd, this.movk(ip, old, i.shift, i.imm));
      }
      case 'logimm': {
        const imm = i.imm;
        if (i.logic === 'ands' && i.rd === 31) return this.use(this.read(i.rn), true);
        const src = this.read(i.rn);
        // tag | PROTECTED_POOL inside a wrapper is still the caller's tag.
        if (i.logic === 'orr' && imm === PROTECTED_BIT && src?.length === 1 && src[0].k === 'p') return this.set(i.rd, src);
        if (i.rn === 31) return this.set(i.rd, [this.built(ip, logic(i.logic, 0, imm), { word: this.word, pc: ip, from: [] })]);
        // Folding needs constants: nothing is built for the common case of an unknown operand.
        if (!allConstants(src)) return this.set(i.rd, null);
        return this.set(i.rd, this.logicImm(ip, src, i.logic, imm));
      }
      case 'addimm': {
        if (i.flags && i.rd === 31) return this.use(this.read(i.rn), true);
        // Stack addresses: sub sp,sp,#n / mov x29,sp / add x3,sp,#16 / add x0,x29,#24 / mov sp,x29.
        const from = i.rn === 31 ? st.sp : stackOffset(st.regs[i.rn]);
        if (i.rn === 31 || from !== undefined) {
          const to = from === undefined || i.flags ? undefined : i.sub ? from - i.imm : from + i.imm;
          if (i.rd === 31 && !i.flags) return this.moveSp(to);
          return this.set(i.rd, to === undefined ? null : [{ k: 'sp', off: to }]);
        }
        if (i.rd === 31 && !i.flags) return this.moveSp(undefined);
        const base = st.addr[i.rn];
        if (base === base && !i.flags) return this.set(i.rd, null, i.sub ? base - i.imm : base + i.imm);
        if (!allConstants(st.regs[i.rn])) return this.set(i.rd, null);
        return this.set(i.rd, this.addImm(ip, st.regs[i.rn], i.sub, i.imm));
      }
      case 'adr':
        return this.set(i.rd, null, i.target);
      case 'logreg': {
        if (i.rd === 31) return;
        if (i.logic === 'orr' && !i.invert && i.amount === 0 && i.rn === 31) {
          // A copy shares the atoms: uses of the copy count as uses of the constant.
          return this.set(i.rd, this.read(i.rm), i.rm < REGS ? st.addr[i.rm] : NaN);
        }
        if (!allConstants(this.read(i.rn)) || !allConstants(this.read(i.rm))) return this.set(i.rd, null);
        return this.set(i.rd, this.logicReg(ip, i));
      }
      case 'addreg':
        if (i.rd === 31) return;
        if (!allConstants(this.read(i.rn)) || !allConstants(this.read(i.rm))) return this.set(i.rd, null);
        return this.set(i.rd, this.addReg(ip, i));
      case 'cmp':
        for (const r of i.regs) if (r < REGS) this.use(st.regs[r], true);
        return;
      case 'csel': {
        // Either operand may be the result: both stay possible, as for x64 cmov. A changed Rm keeps only
        // its constants, changed; an unknown side adds nothing (a may-set).
        const other = i.other === 'rm' ? this.read(i.rm) : this.derived(ip, this.read(i.rm), CSEL_OTHER[i.other]);
        return this.set(i.rd, union(this.read(i.rn), other));
      }
      case 'lit': {
        const v = this.literal(i.target, i.size as 4 | 8);
        return this.set(i.rt, v === undefined ? null : [this.built(ip, v, { word: this.word, pc: ip, from: [] }, i.target)]);
      }
      case 'ldr': {
        const slot = (i.rn < REGS ? st.addr[i.rn] : NaN) + i.offset;
        const name = i.size === 3 && slot === slot ? this.imports.get(slot) ?? this.guards.get(slot) : undefined;
        const v: Value = name ? [{ k: 'imp', name }] : this.readSlot(this.slotOf(i.rn, i.offset), 1 << i.size);
        this.writeback(i.rn, i.wb);
        return this.set(i.rt, v);
      }
      case 'str': {
        const v = this.read(i.rt);
        this.use(v, false);
        this.writeSlot(i.rn === 31 || stackOffset(st.regs[i.rn]) !== undefined ? this.slotOf(i.rn, i.offset) : undefined, 1 << i.size, v);
        return this.writeback(i.rn, i.wb);
      }
      case 'pair': {
        const bytes = 1 << i.size;
        const at = this.slotOf(i.rn, i.offset);
        const second = at === undefined ? undefined : at + bytes;
        if (i.load) {
          const a = i.fp ? null : this.readSlot(at, bytes);
          const b = i.fp ? null : this.readSlot(second, bytes);
          this.writeback(i.rn, i.wb);
          if (!i.fp) {
            this.set(i.rt, a);
            this.set(i.rt2, b);
          }
          return;
        }
        const a = i.fp ? null : this.read(i.rt);
        const b = i.fp ? null : this.read(i.rt2);
        this.use(a, false);
        this.use(b, false);
        this.writeSlot(at, bytes, a);
        this.writeSlot(second, bytes, b);
        return this.writeback(i.rn, i.wb);
      }
      case 'setsp':
        return this.moveSp(undefined);
      case 'load':
      case 'write':
        for (const r of i.regs) this.set(r, null);
        // An SIMD post-index load or an exclusive based on sp may move it.
        if (i.op === 'load' && i.regs.includes(31)) this.moveSp(undefined);
        return;
      case 'store':
        for (const r of i.src) if (r < REGS) this.use(st.regs[r], false);
        for (const r of i.regs) this.set(r, null);
        if (i.regs.includes(31)) this.moveSp(undefined);
        return;
      case 'bl':
        this.record(ip, [this.thunks.get(i.target) ?? i.target]);
        return this.clobber();
      case 'blr': {
        const targets = this.importsIn(i.rn);
        if (targets[0] === GUARD_CHECK) {
          for (const r of GUARD_CLOBBERED) this.set(r, null);
          return;
        }
        this.record(ip, targets[0] === GUARD_DISPATCH ? this.importsIn(GUARD_TARGET) : targets);
        return this.clobber();
      }
      case 'b':
        if (i.target > this.fn && i.target < this.regionEnd) {
          if (i.target > ip) this.branchTo(i.target, true);
        } else this.record(ip, [this.thunks.get(i.target) ?? i.target]);
        this.reachable = false;
        return;
      case 'br': {
        const targets = this.importsIn(i.rn);
        this.record(ip, targets[0] === GUARD_DISPATCH ? this.importsIn(GUARD_TARGET) : targets);
        this.reachable = false;
        return;
      }
      case 'bcond':
        if (i.target > ip && i.target < this.regionEnd) this.branchTo(i.target, false);
        return;
      case 'ret':
      case 'stop':
        this.reachable = false;
        return;
      case 'none':
        return;
    }
  }

  /** What a branch through register `r` may reach: imports loaded from the IAT, or a code address built with ADR/ADRP+ADD. */
  private importsIn(r: number): (string | number)[] {
    if (r >= REGS) return [];
    const addr = this.st.addr[r];
    if (addr === addr) return [addr];
    const v = this.st.regs[r];
    return v ? v.filter((a): a is Extract<Atom, { k: 'imp' }> => a.k === 'imp').map((a) => a.name) : [];
  }

  /** Does a slot reach `from` or above (a callee writing the stack from there up would change it)? */
  private hasSlotFrom(from: number): boolean {
    for (const k of this.st.slots.keys()) if (k + 8 > from) return true;
    return false;
  }

  private clobber(): void {
    // The callee may write the stack from the lowest address it was given (or that escaped before) up.
    let from = this.st.escaped;
    for (let r = 0; r < PARAMS; r++) {
      const o = stackOffset(this.st.regs[r]);
      if (o !== undefined) from = Math.min(from, o);
    }
    if (from !== Infinity && this.st.slots.size > 0 && this.hasSlotFrom(from)) {
      const slots = this.ownSlots();
      for (const k of slots.keys()) if (k + 8 > from) slots.delete(k);
    }
    // x0-x18 and the link register do not survive a call.
    const { regs, addr } = this.st;
    regs.fill(null, 0, 19);
    addr.fill(NaN, 0, 19);
    regs[30] = null;
    addr[30] = NaN;
  }

  /**
   * May a parameter register carry a tag (a constant or a parameter of this function)? Stack and import
   * addresses never resolve to one: a call to the driver's own function with nothing else is not kept.
   */
  private anyArgument(): boolean {
    for (let r = 0; r < PARAMS; r++) {
      const v = this.st.regs[r];
      if (v) for (const a of v) if (a.k !== 'sp' && a.k !== 'imp') return true;
    }
    return false;
  }

  /** Record a call or tail branch to each target that may take a tag. */
  private record(at: number, targets: (string | number)[]): void {
    let args: Value[] | undefined;
    for (const t of targets) {
      args ??= this.st.regs.slice(0, PARAMS);
      if (typeof t === 'string' && this.structApis.has(t)) {
        // The framework pass reads the structure an argument points to: an ADRP+ADD address is a `g` atom.
        this.structSites.push({ at, fn: this.fn, target: t, args: withAddresses(args, this.st.addr) });
        continue;
      }
      const api = typeof t === 'string' ? this.apis.get(t) : undefined;
      if (typeof t === 'string' && !api) continue;
      if (typeof t === 'number' && !this.anyArgument()) continue;
      for (let p = 0; p < (api ? Math.min(api.params, PARAMS) : PARAMS); p++) this.use(args[p], false);
      this.sites.push({ at, fn: this.fn, target: t, args });
    }
  }
}

/** Arguments where a register holding an ADRP+ADD address reads as that address (a `ga` atom). */
function withAddresses(args: Value[], addr: readonly number[]): Value[] {
  return args.map((v, r) => (addr[r] === addr[r] ? [{ k: 'ga', rva: addr[r] }] : v));
}

/**
 * Join of two paths, made in `a` (a state no one else holds); returns `a`. Its slot map may then be `b`'s,
 * or a new one: slot maps are shared, callers copy before writing.
 */
function mergeInto(a: State, b: State): State {
  const { regs, addr } = a;
  for (let r = 0; r < REGS; r++) {
    const x = regs[r];
    const y = b.regs[r];
    if (x !== y) regs[r] = union(x, y);
    if (addr[r] !== b.addr[r]) addr[r] = NaN;
  }
  if (b.escaped < a.escaped) a.escaped = b.escaped;
  // Two frames that disagree: the first path's stands (as for x86/x64).
  if (a.sp !== b.sp || b.slots.size === 0 || a.slots === b.slots) return a;
  if (a.slots.size === 0) {
    a.slots = b.slots;
    return a;
  }
  const slots = new Map(a.slots);
  for (const [k, w] of b.slots) slots.set(k, slots.has(k) ? union(slots.get(k)!, w) : w);
  a.slots = slots;
  return a;
}

/** Walk every region of `layout`; `imports` maps IAT slot RVAs to imported names. */
export function walkArm64(
  layout: Layout, imports: Map<number, string>, apis: Map<string, TagApi>, literal: Literal, guard: GuardPointers = {},
  structApis: ReadonlySet<string> = new Set(),
): WalkResult {
  const guards = new Map<number, string>();
  if (guard.checkSlot !== undefined) guards.set(guard.checkSlot, GUARD_CHECK);
  if (guard.dispatchSlot !== undefined) guards.set(guard.dispatchSlot, GUARD_DISPATCH);
  const w = new Walker(imports, layout.thunks, apis, literal, guards, structApis);
  for (const r of layout.regions) w.walk(r.sec, layout.words.get(r.sec)!, layout.data.get(r.sec)!, r.begin, r.end, r.entry);
  return { sites: w.sites, candidates: w.candidates, structSites: w.structSites };
}
