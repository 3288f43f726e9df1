// Linear-sweep decoding of code sections with a small abstract state (registers and stack slots that
// hold known constants, incoming parameters or IAT pointers). Records every call that may carry a tag
// (to a tag-taking import or to one of the driver's own functions) with the argument values at the call,
// plus every tag-like immediate for the `code` tier. Interpreting the call sites is resolve.ts's job.
import { createRequire } from 'node:module';
import type * as Iced from 'iced-x86';
import { looksLikeTag } from '../tag.js';
import { mayBeTag } from './data.js';
import { x64ParamLocation, x86PoppedBytes } from './apis.js';
import { scanBranches } from './prescan.js';
import type { Range } from './ranges.js';
import { Starts } from './regions.js';
import { callTargets, rangeEnd } from './starts.js';
import { type Atom, type State, type Value, constant, mapConstants, mergeState, stackOffset, union } from './values.js';
import type { TagApi, CallSite, CodeInput, CodeSection, GlobalStore, ImmediateSite } from './types.js';

// iced-x86 is CommonJS: an ESM `import` makes node scan its 924 KB for export names (~90 ms per start).
const iced = createRequire(import.meta.url)('iced-x86') as typeof Iced;
const { Decoder, DecoderOptions, Instruction, Mnemonic: M, OpKind, Register: R } = iced;

/** Where functions start, and which ranges to decode (ascending; each begins at a start or a section start). */
export interface SweepPlan {
  starts: Starts;
  /**
   * With `landFrom`, the range begins at a soft start and the function before it is not decoded: the sweep
   * skims from `landFrom` first, and decodes from there when the skim does not land on `begin` (the full
   * sweep would then not have started a function at `begin` either).
   */
  ranges: (Range & { landFrom?: number })[];
  /**
   * Only look for tag-like immediates in instructions covering these RVAs (ascending), keeping no state:
   * instruction boundaries are all the code tier needs, and decoding without modelling is far cheaper.
   */
  immediatesAt?: readonly number[];
  /** Note where constants and parameters go that the model does not follow (decoys.ts asks; costs a little). */
  trackEscapes?: boolean;
}

/** Constants (by the RVA of the instruction supplying them) and parameters (`fn * 16 + i`) that escaped. */
export interface Escapes {
  consts: Set<number>;
  params: Set<number>;
}

export interface SweepResult {
  sites: CallSite[];
  immediates: ImmediateSite[];
  /** Targets of jumps out of their function that were not known function starts (tail calls). */
  tailTargets: number[];
  /** Calls to the structure APIs of CodeInput.frameworks, with the structure's fields. */
  structSites: CallSite[];
  /** Values stored into the image's own data, when CodeInput.frameworks asks for them. */
  globalStores: GlobalStore[];
  /** With SweepPlan.trackEscapes. */
  escapes?: Escapes;
}

/** Parameters tracked per call site. Lookaside initialisers need 8. */
const MAX_PARAMS = 12;

// Canonical GPR index: rax rcx rdx rbx rsp rbp rsi rdi r8..r15.
const RAX = 0;
const RCX = 1;
const RDX = 2;
const RBX = 3;
const RSP = 4;
const RBP = 5;
const RSI = 6;
const RDI = 7;
const VOLATILE_64 = [RAX, RCX, RDX, 8, 9, 10, 11];
const VOLATILE_32 = [RAX, RCX, RDX];
const IMPLICIT_WRITES = [RAX, RCX, RDX, RBX, RSI, RDI];
const X64_PARAMS = Array.from({ length: MAX_PARAMS }, (_, i) => x64ParamLocation(i));

const regIndex = new Int8Array(256).fill(-1);
const regSize = new Uint8Array(256);
function mapRegs(first: number, count: number, base: number, size: number): void {
  for (let i = 0; i < count; i++) {
    regIndex[first + i] = base + i;
    regSize[first + i] = size;
  }
}
mapRegs(R.AL, 4, 0, 1);
mapRegs(R.AH, 4, 0, 1);
mapRegs(R.SPL, 12, 4, 1);
mapRegs(R.AX, 16, 0, 2);
mapRegs(R.EAX, 16, 0, 4);
mapRegs(R.RAX, 16, 0, 8);

const enum Cat {
  Generic,
  NoWrite,
  Implicit,
  Mov,
  Lea,
  Xor,
  Or,
  And,
  AddSub,
  Bts,
  Cmov,
  Xchg,
  Push,
  Pop,
  Call,
  Jmp,
  Jcc,
  Stop,
  Leave,
  Enter,
}

const category = new Uint8Array(4096);
/** Sets `table[mnemonic] = value` for each of the space-separated mnemonic names. */
function mark(table: Uint8Array, value: number, names: string): void {
  for (const n of names.split(' ')) table[(M as unknown as Record<string, number>)[n]] = value;
}
const setCat = (cat: Cat, names: string) => mark(category, cat, names);
setCat(Cat.NoWrite, 'Cmp Test Bt Nop Int3 Pause Lfence Mfence Sfence');
setCat(
  Cat.Implicit,
  'Mul Imul Div Idiv Cdq Cqo Cwd Cdqe Cwde Cbw Cpuid Rdtsc Rdtscp Rdmsr Rdpmc Xgetbv Lodsb Lodsw Lodsd Lodsq ' +
    'Stosb Stosw Stosd Stosq Movsb Movsw Movsd Movsq Scasb Scasw Scasd Scasq Cmpsb Cmpsw Cmpsd Cmpsq Insb Insw Insd ' +
    'Outsb Outsw Outsd Cmpxchg Cmpxchg8b Cmpxchg16b Xadd Lahf In Loop Loope Loopne Syscall Sysenter Xlatb Int Into Int1',
);
setCat(Cat.Mov, 'Mov');
setCat(Cat.Lea, 'Lea');
setCat(Cat.Xor, 'Xor');
setCat(Cat.Or, 'Or');
setCat(Cat.And, 'And');
setCat(Cat.AddSub, 'Add Sub');
setCat(Cat.Bts, 'Bts');
setCat(Cat.Cmov, 'Cmova Cmovae Cmovb Cmovbe Cmove Cmovg Cmovge Cmovl Cmovle Cmovne Cmovno Cmovnp Cmovns Cmovo Cmovp Cmovs');
setCat(Cat.Xchg, 'Xchg');
setCat(Cat.Push, 'Push Pushf Pushfd Pushfq Pushad Pusha');
setCat(Cat.Pop, 'Pop Popf Popfd Popfq Popad Popa');
setCat(Cat.Call, 'Call');
setCat(Cat.Jmp, 'Jmp');
setCat(Cat.Jcc, 'Jcxz Jecxz Jrcxz Ja Jae Jb Jbe Je Jg Jge Jl Jle Jne Jno Jnp Jns Jo Jp Js');
setCat(Cat.Stop, 'Ret Retf Iret Iretd Iretq Ud2 Hlt');
setCat(Cat.Leave, 'Leave');
setCat(Cat.Enter, 'Enter');

/**
 * Instructions whose register sources are consumed into a different number (arithmetic, bit counts): a tag
 * read by one does not travel on. Any other instruction the model does not follow may copy a source
 * elsewhere (movd, movsxd, stos, xadd...), which escape tracking must assume.
 */
const consumes = new Uint8Array(4096);
mark(
  consumes,
  1,
  'Mul Imul Div Idiv Shl Shr Sar Rol Ror Rcl Rcr Shld Shrd Neg Not Inc Dec Adc Sbb Bswap Popcnt Lzcnt ' +
    'Tzcnt Bsf Bsr Sete Setne Seta Setae Setb Setbe Setg Setge Setl Setle Sets Setns Seto Setno Setp Setnp Cdq Cqo Cdqe Cwde',
);

function firstAtOrAbove(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Bytes of an immediate operand of this kind (0 for non-immediates). */
function immBytes(kind: number): number {
  switch (kind) {
    case OpKind.Immediate8:
    case OpKind.Immediate8to16:
    case OpKind.Immediate8to32:
    case OpKind.Immediate8to64:
      return 1;
    case OpKind.Immediate16:
      return 2;
    case OpKind.Immediate32:
    case OpKind.Immediate32to64:
      return 4;
    case OpKind.Immediate64:
      return 8;
    default:
      return 0;
  }
}

function isImmediate(kind: number): boolean {
  return kind >= OpKind.Immediate8 && kind <= OpKind.Immediate32to64;
}

/** What every section's walk shares: the input, the sets of starts, and the results being collected. */
interface Shared {
  input: CodeInput;
  is64: boolean;
  /** Stack word size. */
  w: number;
  base32: number;
  imageEnd: number;
  starts: Starts;
  sites: CallSite[];
  immediates: ImmediateSite[];
  tailTargets: Set<number>;
  structSites: CallSite[];
  globalStores: GlobalStore[];
  entryRegs: Value[];
  entrySlots: Map<number, Value>;
  /** The image's own exported tag-taking APIs by RVA (empty for most drivers). */
  ownApis: ReadonlyMap<number, TagApi>;
  /** Data sections (begin, end RVAs): loads from addresses inside them are globals. */
  data: readonly { begin: number; end: number }[];
  /** Epochs keep stack slots of unrelated frames apart once the stack pointer is lost. */
  epoch: number;
  escapes: Escapes | undefined;
}

/**
 * Walks one code section instruction by instruction. A class rather than closures over `let`s: V8
 * optimises field accesses on `this` early, which matters because one sweep is often all there is.
 */
class SectionWalker {
  private readonly view: DataView;
  private readonly secEnd: number;
  private readonly starts: readonly number[];
  private readonly forcedSorted: readonly number[];
  private nextStartIdx = 0;
  private nextForcedIdx = 0;
  private pos = 0;
  private fn: number;
  private regionEnd: number;
  private st: State;
  private reachable = true;
  private pending = new Map<number, State>();
  /** Widest write seen per stack slot in the current function (paths merged), for killSlots. */
  private widths = new Map<number, number>();
  /** x86: the callee's stack cleanup is unknown; a following `sub esp,N` is the caller undoing it. */
  private undoPop = false;
  /**
   * Loads through a register holding a data address, in this function: when a backward branch shows the
   * register moving along the data (a loop walking a table), the load read an entry of a table, not one global.
   */
  private dataLoads: { reg: number; rva: number; atom: Atom }[] = [];
  /**
   * Copy-on-write stack slots: states saved for branch targets (and the entry state) share the live map
   * until the live state writes a slot, which most instructions never do.
   */
  private slotsShared = true;

  constructor(
    private readonly sh: Shared,
    private readonly sec: CodeSection,
    sectionIndex: number,
    private readonly decoder: InstanceType<typeof Decoder>,
    private readonly ins: InstanceType<typeof Instruction>,
  ) {
    const bytes = sec.bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.secEnd = sec.rva + bytes.length;
    const starts = sh.starts.ofSection(sectionIndex);
    this.starts = starts.all;
    this.forcedSorted = starts.forced;
    this.fn = sec.rva;
    this.regionEnd = this.secEnd;
    this.st = this.entryState();
  }

  private adopt(st: State, shared: boolean): void {
    this.st = st;
    this.slotsShared = shared;
  }

  private ownSlots(): Map<number, Value> {
    if (this.slotsShared) {
      this.st.slots = new Map(this.st.slots);
      this.slotsShared = false;
    }
    return this.st.slots;
  }

  private entryState(): State {
    return { regs: this.sh.entryRegs.slice(), slots: this.sh.entrySlots, sp: 0 };
  }

  private lostSp(): number {
    return -0x1000000 * ++this.sh.epoch;
  }

  private lostState(): State {
    return { regs: new Array(16).fill(null), slots: new Map(), sp: this.lostSp() };
  }

  /** Displacement of the memory operand, read from the bytes before the trailing immediate. */
  private displacement(insEnd: number, immSize: number): number {
    const ds = this.ins.memoryDisplSize;
    const o = insEnd - immSize - ds;
    if (ds === 0) return 0;
    if (ds === 1) return this.view.getInt8(o);
    if (ds === 4) return this.view.getInt32(o, true);
    return Number(BigInt.asIntN(this.sh.is64 ? 64 : 32, this.ins.memoryDisplacement));
  }

  /** Stack slot addressed by the memory operand (NaN if none); `immSize` = size of a trailing immediate. */
  private stackAddr(insEnd: number, immSize = 0): number {
    const b = this.ins.memoryBase;
    let off: number | undefined;
    if (b === R.RSP || b === R.ESP) off = this.st.sp;
    else {
      const r = regIndex[b];
      if (r < 0) return NaN;
      off = stackOffset(this.st.regs[r]);
      if (off === undefined) return NaN;
    }
    if (this.ins.memoryIndex !== R.None) return NaN;
    return off + this.displacement(insEnd, immSize);
  }

  /** Stack slot of an operand whose trailing immediate size is not known here. */
  private stackAddrAnyImmediate(): number {
    const b = this.ins.memoryBase;
    const sp = b === R.RSP || b === R.ESP;
    if (!sp && (regIndex[b] < 0 || stackOffset(this.st.regs[regIndex[b]]) === undefined)) return NaN;
    if (this.ins.memoryIndex !== R.None) return NaN;
    const base = sp ? this.st.sp : stackOffset(this.st.regs[regIndex[b]])!;
    return base + Number(BigInt.asIntN(this.sh.is64 ? 64 : 32, this.ins.memoryDisplacement));
  }

  /** An entry of the table whose first entry is at `first`, indexed by the operand's index register. */
  private tableEntry(first: number, scale: number, ip: number): Atom {
    const ix = this.st.regs[regIndex[this.ins.memoryIndex]];
    const max = ix && ix.length === 1 && ix[0].k === 'ix' ? ix[0].max : undefined;
    return max === undefined ? { k: 't', rva: first, at: ip, stride: scale } : { k: 't', rva: first, at: ip, stride: scale, count: max + 1 };
  }

  /** Is `rva` inside one of the image's data sections? */
  private inData(rva: number): boolean {
    for (const d of this.sh.data) if (rva >= d.begin && rva < d.end) return true;
    return false;
  }

  /** RVA addressed by a rip-relative (x64) or absolute (x86) memory operand, else NaN. */
  private globalAddr(ip: number, insEnd: number, immSize = 0): number {
    const b = this.ins.memoryBase;
    // Absolute and rip-relative operands end in their disp32, before any immediate.
    if (b === R.RIP) return (ip + (insEnd - this.pos) + this.view.getInt32(insEnd - immSize - 4, true)) >>> 0;
    if (b === R.None && !this.sh.is64 && this.ins.memoryIndex === R.None) return ((this.view.getUint32(insEnd - immSize - 4, true) - this.sh.base32) | 0) >>> 0;
    return NaN;
  }

  /**
   * Value read by a memory operand with no trailing immediate: an IAT slot (or a KMDF function table entry),
   * a global of the image's data, an entry of a data table (x86 `[T+reg*4]`, or a base register holding a
   * data address), a stack slot, or unknown.
   */
  private readMem(ip: number, insEnd: number): Value {
    const g = this.globalAddr(ip, insEnd);
    if (!Number.isNaN(g)) {
      const name = this.sh.input.imports.get(g);
      if (name) return [{ k: 'imp', name }];
      const wdf = this.sh.input.frameworks?.wdf;
      const entry = wdf ? wdfEntry(wdf, g, this.sh.w) : null;
      if (entry) return entry;
      return this.inData(g) ? [{ k: 'g', rva: g, at: ip }] : null;
    }
    const ins = this.ins;
    const b = ins.memoryBase;
    if (b === R.None && !this.sh.is64 && ins.memoryIndex !== R.None) {
      const t = ((this.view.getUint32(insEnd - 4, true) - this.sh.base32) | 0) >>> 0;
      return ins.memoryDisplSize === 4 && this.inData(t) ? [this.tableEntry(t, ins.memoryIndexScale, ip)] : null;
    }
    const sa = this.stackAddr(insEnd);
    if (!Number.isNaN(sa)) return this.st.slots.get(sa) ?? null;
    const r = regIndex[b];
    const base = r >= 0 && r !== RSP ? this.st.regs[r] : null;
    if (!base || base.length !== 1) return null;
    const a = base[0];
    // [reg+disp] where reg holds the pointer to KMDF's function table: one of its functions.
    if (a.k === 'tbl') {
      const name = ins.memoryIndex === R.None ? this.sh.input.frameworks?.wdf?.names.get(this.displacement(insEnd, 0) / this.sh.w) : undefined;
      return name ? [{ k: 'imp', name }] : null;
    }
    if (a.k !== 'ga' && a.k !== 'ta') return null;
    const first = (a.rva + this.displacement(insEnd, 0)) >>> 0;
    if (!this.inData(first)) return null;
    if (ins.memoryIndex !== R.None) return [this.tableEntry(first, ins.memoryIndexScale, ip)];
    if (a.k === 'ta') return [{ k: 't', rva: first, at: ip, stride: a.stride }];
    const atom: Atom = { k: 'g', rva: first, at: ip };
    this.dataLoads.push({ reg: r, rva: a.rva, atom });
    return [atom];
  }

  /** A store into the image's own data, kept when the framework pass asks for them. */
  private noteGlobalStore(ip: number, insEnd: number, immSize: number, size: number, value: Value): void {
    if (!this.sh.input.frameworks || !value) return;
    const rva = this.globalAddr(ip, insEnd, immSize);
    if (!Number.isNaN(rva)) this.sh.globalStores.push({ rva, size, value, at: ip });
  }

  private killSlots(from: number, to: number): void {
    // A slot below `from` dies only when the widest write it ever had reaches into [from, to): a 4-byte
    // structure field next to an 8-byte one (NDIS_TIMER_CHARACTERISTICS.AllocationTag) survives.
    const hit = (k: number) => k < to && k > from - 8 && (k >= from || k + (this.widths.get(k) ?? 8) > from);
    let any = false;
    for (const k of this.st.slots.keys()) if (hit(k)) any = true;
    if (!any) return;
    const slots = this.ownSlots();
    for (const [k, v] of slots) {
      if (!hit(k)) continue;
      // Only the low 32 bits of a value are tracked: a constant whose low four bytes stay keeps them
      // (MSVC's `mov qword [rbp+64h], 'WDiv'` then `mov [rbp+68h], esi`).
      if (k < from && k + 4 <= from && v?.every((a) => a.k === 'c')) this.widths.set(k, from - k);
      else slots.delete(k);
    }
  }

  private deleteSlots(doomed: (k: number) => boolean): void {
    let any = false;
    for (const k of this.st.slots.keys()) if (doomed(k)) any = true;
    if (!any) return;
    const slots = this.ownSlots();
    for (const k of slots.keys()) if (doomed(k)) slots.delete(k);
  }

  private writeSlot(a: number, size: number, v: Value): void {
    if (Number.isNaN(a)) return;
    this.killSlots(a, a + size);
    this.widths.set(a, Math.max(this.widths.get(a) ?? 0, size));
    if (size >= 4 && v) this.ownSlots().set(a, v);
  }

  private setReg(r: number, v: Value): void {
    this.st.regs[r] = v;
    if (r === RSP) this.st.sp = stackOffset(v) ?? this.lostSp();
  }

  private regValue(r: number): Value {
    return r === RSP ? [{ k: 'sp', off: this.st.sp }] : this.st.regs[r];
  }

  /**
   * Escape tracking: the constants and parameters in `v` went where the model does not follow them. A stack
   * address among them lets the receiver read every slot, so the slots' constants and parameters go too.
   */
  private escape(v: Value): void {
    if (!this.sh.escapes || !v) return;
    this.escapeFacts(v);
    if (v.some((a) => a.k === 'sp')) this.escapeSlots();
  }

  private escapeSlots(): void {
    for (const v of this.st.slots.values()) this.escapeFacts(v);
  }

  private escapeFacts(v: Value): void {
    const e = this.sh.escapes!;
    for (const a of v ?? []) {
      if (a.k === 'c') e.consts.add(a.at);
      else if (a.k === 'p') e.params.add(this.fn * 16 + a.i);
    }
  }

  /** Escape tracking: where the model loses the state, everything it holds may be used. */
  private escapeAll(): void {
    for (const v of this.st.regs) this.escapeFacts(v);
    this.escapeSlots();
  }

  /** Escape tracking: register sources of an instruction the model does not follow. */
  private escapeSources(): void {
    const ins = this.ins;
    if (consumes[ins.mnemonic] && ins.op0Kind === OpKind.Register) return;
    for (let i = 1; i < ins.opCount; i++) {
      if (ins.opKind(i) !== OpKind.Register) continue;
      const r = regIndex[ins.opRegister(i)];
      if (r >= 0) this.escape(this.regValue(r));
    }
  }

  /**
   * Escape tracking at a call or tail jump: a callee the model does not summarise (an import that is no tag
   * API, a framework structure API, an unknown target) may keep any argument; any callee may read the stack
   * through an address passed to it.
   */
  private escapeArgs(targets: readonly (string | number)[], extra: number): void {
    const unknown = targets.length === 0 || targets.some((t) => typeof t === 'string' && (!this.sh.input.apis.has(t) || this.sh.input.frameworks?.structs.has(t)));
    const { args, regArgs } = this.callArgs(extra);
    for (const v of regArgs ? [...args, ...regArgs] : args) {
      if (unknown) this.escape(v);
      else if (v?.some((a) => a.k === 'sp')) this.escapeSlots();
    }
  }

  /** Immediate operand's low 32 bits, read from the instruction's last bytes (immediates come last). */
  private imm32(kind: number, insEnd: number): number | undefined {
    if (kind === OpKind.Immediate32 || kind === OpKind.Immediate32to64) return this.view.getUint32(insEnd - 4, true);
    if (kind === OpKind.Immediate64) return this.view.getUint32(insEnd - 8, true);
    if (kind === OpKind.Immediate8to32 || kind === OpKind.Immediate8to64) return (this.view.getInt8(insEnd - 1) | 0) >>> 0;
    return undefined;
  }

  private noteImmediate(at: number, kind: number, insEnd: number): void {
    if (kind !== OpKind.Immediate32 && kind !== OpKind.Immediate32to64 && kind !== OpKind.Immediate64) return;
    const v = this.imm32(kind, insEnd)!;
    if (!this.sh.is64 && ((v - this.sh.base32) >>> 0) < this.sh.imageEnd) return;
    if (mayBeTag(v) && looksLikeTag(v)) {
      this.sh.immediates.push({ at, v, immAt: this.sec.rva + insEnd - (kind === OpKind.Immediate64 ? 8 : 4) });
    }
  }

  private callArgs(extra: number): { args: Value[]; regArgs?: Value[] } {
    const { st } = this;
    const args: Value[] = new Array(MAX_PARAMS);
    if (this.sh.is64) {
      for (let i = 0; i < MAX_PARAMS; i++) {
        const loc = X64_PARAMS[i];
        args[i] = 'reg' in loc ? st.regs[loc.reg] : (st.slots.get(st.sp + extra + loc.stack) ?? null);
      }
      return { args };
    }
    for (let i = 0; i < MAX_PARAMS; i++) args[i] = st.slots.get(st.sp + extra + 4 * i) ?? null;
    return { args, regArgs: [st.regs[RCX], st.regs[RDX]] };
  }

  /** Record a call/tail jump to each possible target; returns the bytes an x86 callee pops, if known. */
  private record(at: number, targets: (string | number)[], tail: boolean): number | undefined {
    let popped: number | undefined;
    if (this.sh.escapes) this.escapeArgs(targets, tail ? this.sh.w : 0);
    for (const t of targets) {
      const hook = typeof t === 'string' ? this.sh.input.frameworks?.structs.get(t) : undefined;
      if (hook) {
        popped = 4 * hook.params;
        const a = this.callArgs(tail ? this.sh.w : 0);
        this.sh.structSites.push({ at, fn: this.fn, target: t, ...a, fields: this.fieldsAt(a.args[hook.param], hook.offsets) });
        continue;
      }
      if (typeof t === 'string') {
        const api = this.sh.input.apis.get(t);
        if (!api) continue;
        popped = x86PoppedBytes(api);
      } else if (this.sh.ownApis.size > 0) {
        const api = this.sh.ownApis.get(t);
        if (api) popped = x86PoppedBytes(api);
      }
      const a = this.callArgs(tail ? this.sh.w : 0);
      if (typeof t === 'number' && !a.args.some((v) => v) && !a.regArgs?.some((v) => v)) continue;
      this.sh.sites.push({ at, fn: this.fn, target: t, ...a });
    }
    return popped;
  }

  /** Fields of the stack structure that `ptr` points at, when it does. */
  private fieldsAt(ptr: Value, offsets: readonly number[]): [number, Value][] | undefined {
    const off = stackOffset(ptr);
    if (off === undefined) return undefined;
    return offsets.map((o) => [o, this.st.slots.get(off + o) ?? null]);
  }

  /** Imports (by name) and own exported APIs (by RVA) a call/jmp through a register or memory operand may reach. */
  private indirectTargets(k0: number, ip: number, insEnd: number): (string | number)[] {
    let v: Value = null;
    if (k0 === OpKind.Register) {
      const r = regIndex[this.ins.op0Register];
      v = r >= 0 ? this.st.regs[r] : null;
    } else if (k0 === OpKind.Memory) {
      v = this.readMem(ip, insEnd);
      // x64 CFG: `call [__guard_dispatch_icall_fptr]` calls the target held in rax.
      const dispatch = this.sh.input.guardDispatch;
      if (!v && dispatch !== undefined && this.sh.is64 && this.globalAddr(ip, insEnd) === dispatch) v = this.st.regs[RAX];
    }
    if (!v) return [];
    const out: (string | number)[] = [];
    for (const a of v) if (a.k === 'imp') out.push(a.name);
    else if (a.k === 'fn') out.push(a.rva);
    return out;
  }

  /** The address of an own exported API, as a value, when `rva` is one (else a plain constant). */
  private addressOrConstant(v: number, ip: number, rva: number): Value {
    return this.sh.ownApis.has(rva) ? [{ k: 'fn', rva }] : constant(v, ip);
  }

  /** A backward branch to `t`: loads in the loop body through a register now walking the same data read a table. */
  private loopBack(t: number): void {
    for (const l of this.dataLoads) {
      const a = l.atom as { k: string; at: number; stride?: number };
      const now = this.st.regs[l.reg];
      if (a.k !== 'g' || a.at < t || !now || now.length !== 1 || now[0].k !== 'ta' || now[0].rva !== l.rva) continue;
      // The atom may already sit in recorded call arguments: they see the table from now on.
      a.k = 't';
      a.stride = now[0].stride;
    }
  }

  /** Remember the state for a forward branch target inside the function, to join it there. */
  private branchTo(t: number): void {
    const prev = this.pending.get(t);
    if (prev) this.pending.set(t, mergeState(prev, this.st));
    else {
      this.pending.set(t, { regs: this.st.regs.slice(), slots: this.st.slots, sp: this.st.sp });
      this.slotsShared = true;
    }
  }

  /** An instruction we do not model: its register or stack destination becomes unknown. */
  private clobberDestination(): void {
    const k0 = this.ins.op0Kind;
    if (k0 === OpKind.Register) {
      const r = regIndex[this.ins.op0Register];
      if (r >= 0) this.setReg(r, null);
    } else if (k0 === OpKind.Memory) this.writeSlot(this.stackAddrAnyImmediate(), 1, null);
  }

  /** The kind of the immediate operand that step() would pass to noteImmediate, or -1 (mirrors its Mov and Push cases). */
  private notedImmediateKind(): number {
    const ins = this.ins;
    const cat = category[ins.mnemonic];
    if (cat === Cat.Push) {
      const k0 = ins.opCount > 0 ? ins.op0Kind : -1;
      return isImmediate(k0) ? k0 : -1;
    }
    if (cat !== Cat.Mov) return -1;
    const k1 = ins.op1Kind;
    if (!isImmediate(k1)) return -1;
    const k0 = ins.op0Kind;
    if (k0 === OpKind.Memory) return k1;
    if (k0 !== OpKind.Register) return -1;
    const reg = ins.op0Register;
    return regIndex[reg] >= 0 && regSize[reg] >= 4 ? k1 : -1;
  }

  /** Does decoding from `from` (realigning on forced starts) reach an instruction boundary at `to`? */
  landsOn(from: number, to: number): boolean {
    const { sec, decoder, ins } = this;
    let pos = from - sec.rva;
    const target = to - sec.rva;
    decoder.position = pos;
    decoder.ip = BigInt(from);
    const forced = this.forcedSorted;
    let f = firstAtOrAbove(forced, from + 1);
    while (pos < target) {
      const ip = sec.rva + pos;
      decoder.decodeOut(ins);
      const len = ins.length;
      while (f < forced.length && forced[f] <= ip) f++;
      if (f < forced.length && ip + len > forced[f]) {
        pos = forced[f] - sec.rva;
        decoder.position = pos;
        decoder.ip = BigInt(forced[f]);
        continue;
      }
      pos += len;
    }
    return pos === target;
  }

  /** Decode [begin, end) like walk(), but only note the immediates of instructions covering `at` (ascending). */
  skim(begin: number, end: number, at: readonly number[]): void {
    const { sec, decoder, ins } = this;
    let pos = begin - sec.rva;
    const limit = Math.min(end, this.secEnd) - sec.rva;
    decoder.position = pos;
    decoder.ip = BigInt(begin);
    let next = firstAtOrAbove(at, begin);
    const forced = this.forcedSorted;
    while (pos < limit && next < at.length && at[next] < end) {
      const ip = sec.rva + pos;
      decoder.decodeOut(ins);
      const len = ins.length;
      while (this.nextForcedIdx < forced.length && forced[this.nextForcedIdx] <= ip) this.nextForcedIdx++;
      const nextForced = forced[this.nextForcedIdx];
      if (nextForced !== undefined && ip + len > nextForced) {
        pos = nextForced - sec.rva;
        decoder.position = pos;
        decoder.ip = BigInt(nextForced);
        continue;
      }
      const insEnd = pos + len;
      if (at[next] < ip + len) {
        const kind = this.notedImmediateKind();
        if (kind >= 0) this.noteImmediate(ip, kind, insEnd);
        while (next < at.length && at[next] < ip + len) next++;
      }
      pos = insEnd;
    }
  }

  /** Decode [begin, end), which begins at a function start. */
  walk(begin: number, end: number): void {
    const { sec, decoder, ins } = this;
    this.pos = begin - sec.rva;
    const limit = Math.min(end, this.secEnd) - sec.rva;
    decoder.position = this.pos;
    decoder.ip = BigInt(begin);
    this.fn = begin;
    this.regionEnd = this.secEnd;
    this.adopt(this.entryState(), true);
    this.reachable = true;
    this.pending = new Map();
    this.widths = new Map();
    this.undoPop = false;
    while (this.pos < limit) {
      const ip = sec.rva + this.pos;
      this.enter(ip);
      decoder.decodeOut(ins);
      const len = ins.length;
      const forced = this.forcedSorted;
      while (this.nextForcedIdx < forced.length && forced[this.nextForcedIdx] <= ip) this.nextForcedIdx++;
      const nextForced = forced[this.nextForcedIdx];
      if (nextForced !== undefined && ip + len > nextForced) {
        // The sweep ran into a known function start mid-instruction (data in code): realign.
        this.pos = nextForced - sec.rva;
        decoder.position = this.pos;
        decoder.ip = BigInt(nextForced);
        continue;
      }
      const insEnd = this.pos + len;
      this.step(ip, insEnd);
      this.pos = insEnd;
    }
    if (this.sh.escapes && this.reachable) this.escapeAll();
  }

  /** State on arrival at `ip`: a function start, a join of forward branches, or after a flow break. */
  private enter(ip: number): void {
    const starts = this.starts;
    while (this.nextStartIdx < starts.length && starts[this.nextStartIdx] < ip) this.nextStartIdx++;
    if (this.nextStartIdx < starts.length && starts[this.nextStartIdx] === ip) {
      // Falling into the next function start: its code sees values the model drops here.
      if (this.sh.escapes && this.reachable && ip !== this.fn) this.escapeAll();
      this.fn = ip;
      let regionEnd = starts[this.nextStartIdx + 1] ?? this.secEnd;
      const ranges = this.sh.input.functionRanges;
      const r = ranges ? rangeEnd(ranges, ip) : undefined;
      if (r !== undefined && r < regionEnd) regionEnd = r;
      this.regionEnd = regionEnd;
      this.adopt(this.entryState(), true);
      this.reachable = true;
      this.pending = new Map();
      this.widths = new Map();
      this.undoPop = false;
      this.dataLoads = [];
    } else if (this.pending.size > 0) {
      const snap = this.pending.get(ip);
      if (snap) {
        this.pending.delete(ip);
        this.adopt(this.reachable ? mergeState(this.st, snap) : snap, true);
        this.reachable = true;
      }
    }
    if (!this.reachable) {
      this.adopt(this.lostState(), false);
      this.reachable = true;
    }
  }

  /** Apply one decoded instruction to the state. */
  private step(ip: number, insEnd: number): void {
    const { ins, sh } = this;
    const st = this.st;
    const mn = ins.mnemonic;
    const cat = category[mn] as Cat;
    const wasUndoPop = this.undoPop;
    this.undoPop = false;

    switch (cat) {
      case Cat.NoWrite:
        return;
      case Cat.Mov: {
        const k0 = ins.op0Kind;
        const k1 = ins.op1Kind;
        if (k0 === OpKind.Register) {
          const reg = ins.op0Register;
          const r = regIndex[reg];
          if (r < 0) return;
          if (regSize[reg] < 4) this.setReg(r, null);
          else if (isImmediate(k1)) {
            this.noteImmediate(ip, k1, insEnd);
            const v = this.imm32(k1, insEnd);
            if (v === undefined) this.setReg(r, null);
            else if (!sh.is64 && this.inData((v - sh.base32) >>> 0)) this.setReg(r, [{ k: 'ga', rva: (v - sh.base32) >>> 0 }]);
            else if (sh.ownApis.size === 0) this.setReg(r, constant(v, ip));
            // `mov eax, offset ExAllocatePoolWithTag` (x86) or `mov rax, imm64` (x64): an own API's address.
            else if (!sh.is64) this.setReg(r, this.addressOrConstant(v, ip, (v - sh.base32) >>> 0));
            else if (k1 === OpKind.Immediate64) this.setReg(r, this.addressOrConstant(v, ip, Number(BigInt.asUintN(64, this.view.getBigUint64(insEnd - 8, true) - sh.input.imageBase))));
            else this.setReg(r, constant(v, ip));
          } else if (k1 === OpKind.Register) {
            const src = ins.op1Register;
            const r1 = regIndex[src];
            this.setReg(r, r1 < 0 || regSize[src] < 4 ? null : this.regValue(r1));
          } else this.setReg(r, k1 === OpKind.Memory ? this.readMem(ip, insEnd) : null);
        } else if (k0 === OpKind.Memory) {
          if (isImmediate(k1)) {
            this.noteImmediate(ip, k1, insEnd);
            const a = this.stackAddr(insEnd, immBytes(k1));
            const size = k1 === OpKind.Immediate32to64 ? 8 : k1 === OpKind.Immediate32 ? 4 : k1 === OpKind.Immediate16 ? 2 : 1;
            const v = this.imm32(k1, insEnd);
            if (!Number.isNaN(a)) this.writeSlot(a, size, v === undefined ? null : constant(v, ip));
            else {
              sh.escapes?.consts.add(ip);
              if (v !== undefined && size >= 4) this.noteGlobalStore(ip, insEnd, immBytes(k1), size, constant(v, ip));
            }
          } else if (k1 === OpKind.Register) {
            const a = this.stackAddr(insEnd);
            const src = ins.op1Register;
            const r1 = regIndex[src];
            if (!Number.isNaN(a)) this.writeSlot(a, r1 < 0 ? 2 : regSize[src], r1 < 0 ? null : this.regValue(r1));
            else {
              if (r1 >= 0) this.escape(this.regValue(r1));
              if (r1 >= 0 && regSize[src] >= 4) this.noteGlobalStore(ip, insEnd, 0, regSize[src], this.regValue(r1));
            }
          }
        }
        return;
      }
      case Cat.Lea: {
        const reg = ins.op0Register;
        const r = regIndex[reg];
        if (r < 0) return;
        const a = regSize[reg] >= 4 ? this.stackAddr(insEnd) : NaN;
        if (!Number.isNaN(a)) return this.setReg(r, [{ k: 'sp', off: a }]);
        if (ins.memoryBase === R.RIP && regSize[reg] === 8) {
          const t = this.globalAddr(ip, insEnd);
          // An own exported API's address is a call target; an address in the image's data is `ga`.
          this.setReg(r, sh.ownApis.has(t) ? [{ k: 'fn', rva: t }] : this.inData(t) ? [{ k: 'ga', rva: t }] : null);
          return;
        }
        this.setReg(r, null);
        return;
      }
      case Cat.Xor:
      case Cat.Or:
      case Cat.And:
      case Cat.AddSub:
      case Cat.Bts: {
        const k0 = ins.op0Kind;
        if (k0 !== OpKind.Register) {
          if (k0 === OpKind.Memory) {
            // `or [rbx+8], ecx` into a zeroed field stores ecx.
            if (sh.escapes && ins.op1Kind === OpKind.Register) this.escape(this.regValue(regIndex[ins.op1Register]) ?? null);
            this.writeSlot(this.stackAddr(insEnd, immBytes(ins.op1Kind)), 1, null);
          }
          return;
        }
        const reg = ins.op0Register;
        const r = regIndex[reg];
        if (r < 0) return;
        const k1 = ins.op1Kind;
        if (regSize[reg] < 4) this.setReg(r, null);
        else if (cat === Cat.Xor) this.setReg(r, k1 === OpKind.Register && ins.op1Register === reg ? constant(0, ip) : null);
        else if (r === RSP && cat === Cat.AddSub && isImmediate(k1)) {
          const d = this.imm32(k1, insEnd)! | 0;
          // gcc re-reserves what an x86 stdcall callee popped: `call f; sub esp,N` leaves esp unchanged.
          if (!(wasUndoPop && mn === M.Sub)) st.sp += mn === M.Add ? d : -d;
        } else if (cat === Cat.AddSub && isImmediate(k1) && st.regs[r]?.length === 1 && (st.regs[r]![0].k === 'ga' || st.regs[r]![0].k === 'ta')) {
          // A pointer moved along the data it points into: a walk over a table, one entry per step.
          const step = Math.abs(this.imm32(k1, insEnd)! | 0);
          this.setReg(r, step > 0 && step <= 4096 ? [{ k: 'ta', rva: (st.regs[r]![0] as { rva: number }).rva, stride: step }] : null);
        } else if (cat === Cat.And && isImmediate(k1) && !st.regs[r]?.every((x) => x.k === 'c')) {
          // `and ecx,3` before `[table+rcx*4]`: the index is at most 3.
          const imm = this.imm32(k1, insEnd)!;
          this.setReg(r, imm < 4096 ? [{ k: 'ix', max: imm }] : null);
        } else if (isImmediate(k1)) {
          const imm = this.imm32(k1, insEnd)!;
          const f = cat === Cat.Or ? (x: number) => x | imm : cat === Cat.And ? (x: number) => x & imm : cat === Cat.Bts ? (x: number) => x | (2 ** (imm & 31)) : null;
          this.setReg(r, f ? mapConstants(st.regs[r], f) : null);
        } else this.setReg(r, null);
        return;
      }
      case Cat.Cmov: {
        const reg = ins.op0Register;
        const r = regIndex[reg];
        if (r < 0) return;
        const k1 = ins.op1Kind;
        let v: Value = null;
        if (k1 === OpKind.Register) {
          const r1 = regIndex[ins.op1Register];
          v = r1 < 0 ? null : st.regs[r1];
        } else if (k1 === OpKind.Memory) v = this.readMem(ip, insEnd);
        // The old value may stay: both are possible afterwards.
        this.setReg(r, regSize[reg] < 4 ? null : union(st.regs[r], v));
        return;
      }
      case Cat.Xchg: {
        const k0 = ins.op0Kind;
        const k1 = ins.op1Kind;
        if (k0 === OpKind.Register && k1 === OpKind.Register) {
          const a = regIndex[ins.op0Register];
          const b = regIndex[ins.op1Register];
          if (a >= 0 && b >= 0) {
            const va = st.regs[a];
            this.setReg(a, st.regs[b]);
            this.setReg(b, va);
          }
        } else {
          const r = regIndex[k0 === OpKind.Register ? ins.op0Register : ins.op1Register];
          if (r >= 0) {
            this.escape(this.regValue(r));
            this.setReg(r, null);
          }
          this.writeSlot(this.stackAddr(insEnd), 1, null);
        }
        return;
      }
      case Cat.Push: {
        const inc = ins.stackPointerIncrement;
        const k0 = ins.opCount > 0 ? ins.op0Kind : -1;
        let v: Value = null;
        if (isImmediate(k0)) {
          this.noteImmediate(ip, k0, insEnd);
          const x = this.imm32(k0, insEnd);
          if (x !== undefined) v = constant(x, ip);
        } else if (k0 === OpKind.Register) {
          const r = regIndex[ins.op0Register];
          v = r < 0 ? null : this.regValue(r);
        } else if (k0 === OpKind.Memory) v = this.readMem(ip, insEnd);
        const newSp = st.sp + inc;
        if (-inc === sh.w && k0 >= 0) this.writeSlot(newSp, sh.w, v);
        else this.killSlots(newSp, st.sp);
        st.sp = newSp;
        return;
      }
      case Cat.Pop: {
        const inc = ins.stackPointerIncrement;
        if (ins.opCount > 0 && ins.op0Kind === OpKind.Register) {
          const r = regIndex[ins.op0Register];
          const v = st.slots.get(st.sp) ?? null;
          st.sp += inc;
          if (r >= 0 && r !== RSP) this.setReg(r, v);
        } else {
          // popad: every register is reloaded.
          if (ins.opCount === 0 && inc > sh.w) for (let r = 0; r < 16; r++) if (r !== RSP) st.regs[r] = null;
          st.sp += inc;
        }
        return;
      }
      case Cat.Leave: {
        const fp = stackOffset(st.regs[RBP]);
        st.sp = fp === undefined ? this.lostSp() : fp;
        st.regs[RBP] = st.slots.get(st.sp) ?? null;
        st.sp += sh.w;
        return;
      }
      case Cat.Enter:
        st.sp = this.lostSp();
        st.regs[RBP] = null;
        return;
      case Cat.Call: {
        const k0 = ins.op0Kind;
        // Decoder IPs are RVAs (< 2^32), so the low 32 bits of a 64-bit branch target are the whole target.
        const direct = k0 === OpKind.NearBranch32 || k0 === OpKind.NearBranch64;
        const thunk = direct ? sh.input.frameworks?.thunks.get(ins.nearBranch32) : undefined;
        const popped = this.record(ip, direct ? [thunk ?? ins.nearBranch32] : this.indirectTargets(k0, ip, insEnd), false);
        for (const r of sh.is64 ? VOLATILE_64 : VOLATILE_32) st.regs[r] = null;
        // The callee owns its argument area and home space.
        this.deleteSlots((k) => k >= st.sp && k < st.sp + 0x80 && k <= 0);
        if (!sh.is64) {
          if (popped !== undefined) st.sp += popped;
          else this.undoPop = true;
        }
        return;
      }
      case Cat.Jmp: {
        const k0 = ins.op0Kind;
        if (k0 === OpKind.NearBranch32 || k0 === OpKind.NearBranch64 || k0 === OpKind.NearBranch16) {
          const t = ins.nearBranch32;
          const known = sh.starts.has(t);
          // Escape tracking walks once: a loop's head or a chunk outside the function sees values it does not model.
          if (sh.escapes && !known && !(t > ip && t < this.regionEnd)) this.escapeAll();
          if (t <= ip && t > this.fn && this.dataLoads.length > 0) this.loopBack(t);
          if (t > ip && t < this.regionEnd && !known) this.branchTo(t);
          else if (t < this.fn || t >= this.regionEnd || t === this.fn) {
            if (!known && t >= this.sec.rva && t < this.secEnd) sh.tailTargets.add(t);
            this.record(ip, [t], true);
          }
        } else {
          // A jump table's cases are entered without the state.
          if (sh.escapes) this.escapeAll();
          this.record(ip, this.indirectTargets(k0, ip, insEnd), true);
        }
        this.reachable = false;
        return;
      }
      case Cat.Jcc: {
        const t = ins.nearBranch32;
        if (t > ip && t < this.regionEnd) this.branchTo(t);
        else {
          if (sh.escapes) this.escapeAll();
          if (t <= ip && t >= this.fn) this.loopBack(t);
        }
        return;
      }
      case Cat.Stop:
        // The caller receives rax.
        if (sh.escapes && (mn === M.Ret || mn === M.Retf)) this.escape(st.regs[RAX]);
        this.reachable = false;
        return;
      case Cat.Implicit:
        if (sh.escapes) {
          this.escapeSources();
          // stos, xadd, cmpxchg store rax or a source; string moves copy memory the model does not track.
          if (!consumes[mn]) this.escape(st.regs[RAX]);
        }
        for (const r of IMPLICIT_WRITES) st.regs[r] = null;
        this.clobberDestination();
        return;
      default:
        if (sh.escapes) this.escapeSources();
        this.clobberDestination();
    }
  }
}

/** What a load from `rva` gives when it lies in KMDF's function table: a function, or the table's pointer. */
function wdfEntry(wdf: NonNullable<NonNullable<CodeInput['frameworks']>['wdf']>, rva: number, w: number): Value {
  if (wdf.form === 'pointer') return rva === wdf.rva ? [{ k: 'tbl', rva }] : null;
  const d = rva - wdf.rva;
  if (d < 0 || d % w !== 0 || d / w >= wdf.count) return null;
  const name = wdf.names.get(d / w);
  return name ? [{ k: 'imp', name }] : null;
}

/** Every code section, whole, with call targets as soft starts. */
export function fullPlan(input: CodeInput): SweepPlan {
  const starts = new Starts(input.sections, callTargets(input, scanBranches(input)), input.functionStarts);
  return { starts, ranges: input.sections.map((s) => ({ begin: s.rva, end: s.rva + s.bytes.length })) };
}

/** Decode `plan.ranges` of the executable sections; see SweepResult. Frees every wasm object it creates. */
export function sweep(input: CodeInput, plan: SweepPlan = fullPlan(input)): SweepResult {
  const is64 = input.bitness === 64;
  // At a function's entry its parameters are where the caller put them, past the return address.
  const entryRegs: Value[] = new Array(16).fill(null);
  const entrySlots = new Map<number, Value>();
  for (let i = 0; i < MAX_PARAMS; i++) {
    const p: Value = [{ k: 'p', i }];
    if (!is64) entrySlots.set(4 + 4 * i, p);
    else if (i < 4) entryRegs[(X64_PARAMS[i] as { reg: number }).reg] = p;
    else entrySlots.set(8 + (X64_PARAMS[i] as { stack: number }).stack, p);
  }
  const sh: Shared = {
    input,
    is64,
    w: is64 ? 8 : 4,
    base32: Number(input.imageBase & 0xffffffffn),
    imageEnd: input.imageEnd ?? 0,
    starts: plan.starts,
    sites: [],
    immediates: [],
    tailTargets: new Set(),
    structSites: [],
    globalStores: [],
    entryRegs,
    entrySlots,
    ownApis: input.ownApis ?? new Map(),
    data: input.dataRanges ?? [],
    epoch: 0,
    // Always present, so that every Shared has one shape (V8 keeps the walker's field reads monomorphic).
    escapes: plan.trackEscapes ? { consts: new Set<number>(), params: new Set<number>() } : undefined,
  };
  const ins = new Instruction();
  try {
    input.sections.forEach((sec, i) => {
      const secEnd = sec.rva + sec.bytes.length;
      // Joined ranges may run on into the next code section when the two touch (a section table whose sizes
      // are page-aligned, as a memory dump's): each section walks its own part.
      const ranges = plan.ranges
        .filter((r) => r.begin < secEnd && r.end > sec.rva)
        .map((r) => (r.begin >= sec.rva && r.end <= secEnd ? r : { begin: Math.max(r.begin, sec.rva), end: Math.min(r.end, secEnd), ...(r.begin >= sec.rva && r.landFrom !== undefined ? { landFrom: r.landFrom } : {}) }));
      if (ranges.length === 0) return;
      const decoder = new Decoder(input.bitness, sec.bytes, DecoderOptions.None);
      try {
        const walker = new SectionWalker(sh, sec, i, decoder, ins);
        for (const r of ranges) {
          if (plan.immediatesAt) walker.skim(r.begin, r.end, plan.immediatesAt);
          else if (r.landFrom !== undefined && !walker.landsOn(r.landFrom, r.begin)) walker.walk(r.landFrom, r.end);
          else walker.walk(r.begin, r.end);
        }
      } finally {
        decoder.free();
      }
    });
  } finally {
    ins.free();
  }
  return {
    sites: sh.sites,
    immediates: sh.immediates,
    tailTargets: [...sh.tailTargets],
    structSites: sh.structSites,
    globalStores: sh.globalStores,
    ...(sh.escapes ? { escapes: sh.escapes } : {}),
  };
}
