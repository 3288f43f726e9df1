// Linear-sweep decoding of code sections with a small abstract state (registers and stack slots that
// hold known constants, incoming parameters or IAT pointers). Records every call that may carry a tag
// (to a tag-taking import or to one of the driver's own functions) with the argument values at the call,
// plus every tag-like immediate for the `code` tier. Interpreting the call sites is resolve.ts's job.
import iced from 'iced-x86';
import { looksLikeTag } from '../tag.js';
import { mayBeTag } from './data.js';
import { type TagApi, x64ParamLocation, x86PoppedBytes } from './apis.js';
import { type Atom, type Value, constant, mapConstants, stackOffset, union } from './values.js';

const { Decoder, DecoderOptions, Instruction, Mnemonic: M, OpKind, Register: R } = iced;

export interface CodeSection {
  name: string;
  rva: number;
  bytes: Uint8Array;
}

export interface CodeInput {
  bitness: 32 | 64;
  /** Needed to turn x86 absolute addresses into RVAs. */
  imageBase: bigint;
  /** Executable sections only. */
  sections: CodeSection[];
  /** IAT slot rva → imported function name. */
  imports: Map<number, string>;
  /** Known function starts (x64 .pdata begins, entry point): decoding realigns on them. */
  functionStarts: number[];
  /** Known function extents (x64 .pdata), to tell a leaf function's start from a point inside a function. */
  functionRanges?: { begin: number; end: number }[];
  apis: Map<string, TagApi>;
  /** More function starts found by an earlier pass (see SweepResult.tailTargets). */
  extraStarts?: number[];
}

/** A call (or tail jump) that may carry a tag. */
export interface CallSite {
  /** RVA of the call/jmp instruction. */
  at: number;
  /** Start of the function containing it (parameter atoms refer to this function). */
  fn: number;
  /** Imported function name, or the RVA of the driver's own callee. */
  target: string | number;
  /** Value of parameter i at the call, in the callee's convention (x64 registers then stack; x86 stack dwords). */
  args: Value[];
  /** x86 only: ecx and edx, for fastcall imports. */
  regArgs?: Value[];
}

export interface ImmediateSite {
  /** RVA of the instruction. */
  at: number;
  /** The immediate as stored (little-endian u32 = tag bytes in memory order). */
  v: number;
  /** RVA of the immediate's bytes inside the instruction. */
  immAt: number;
}

export interface SweepResult {
  sites: CallSite[];
  immediates: ImmediateSite[];
  /** Targets of jumps out of their function that were not known function starts (tail calls). */
  tailTargets: number[];
  bytesDecoded: number;
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
function setCat(cat: Cat, names: string): void {
  for (const n of names.split(' ')) category[(M as unknown as Record<string, number>)[n]] = cat;
}
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

interface State {
  regs: Value[];
  /** Stack slot (offset from the function's entry stack pointer) → value. */
  slots: Map<number, Value>;
  /**
   * Current stack pointer relative to entry. When it is lost (`and esp,-8`, `mov esp,reg`) it moves to a
   * fresh, far-away base: pushes and the call that reads them stay consistent, old slots become unreachable.
   */
  sp: number;
}

function cloneState(s: State): State {
  return { regs: s.regs.slice(), slots: new Map(s.slots), sp: s.sp };
}

/** Join of two paths; `a`'s stack frame wins when the stack pointers disagree. */
function mergeState(a: State, b: State): State {
  const regs = a.regs.map((v, i) => union(v, b.regs[i]));
  if (a.sp !== b.sp) return { regs, slots: new Map(a.slots), sp: a.sp };
  const slots = new Map<number, Value>();
  for (const [k, v] of a.slots) {
    const w = b.slots.get(k);
    slots.set(k, w === undefined ? v : union(v, w));
  }
  for (const [k, w] of b.slots) if (!a.slots.has(k)) slots.set(k, w);
  return { regs, slots, sp: a.sp };
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

/** Decode all executable sections; see SweepResult. Frees every wasm object it creates. */
export function sweep(input: CodeInput): SweepResult {
  const { bitness, apis } = input;
  const is64 = bitness === 64;
  const w = is64 ? 8 : 4;
  const volatile = is64 ? VOLATILE_64 : VOLATILE_32;
  const base32 = Number(input.imageBase & 0xffffffffn);
  const sites: CallSite[] = [];
  const immediates: ImmediateSite[] = [];
  const softStarts = callTargets(input);
  for (const s of input.extraStarts ?? []) softStarts.add(s);
  const tailTargets = new Set<number>();
  const forced = new Set(input.functionStarts);
  let bytesDecoded = 0;

  // Epochs keep stack slots of unrelated frames apart once the stack pointer is lost.
  let epoch = 0;
  const entryState = (): State => {
    const regs: Value[] = new Array(16).fill(null);
    const slots = new Map<number, Value>();
    if (is64) {
      for (let i = 0; i < 4; i++) regs[(x64ParamLocation(i) as { reg: number }).reg] = [{ k: 'p', i }];
      for (let i = 4; i < MAX_PARAMS; i++) slots.set(8 + 0x20 + 8 * (i - 4), [{ k: 'p', i }]);
    } else {
      for (let i = 0; i < MAX_PARAMS; i++) slots.set(4 + 4 * i, [{ k: 'p', i }]);
    }
    return { regs, slots, sp: 0 };
  };
  const lostSp = () => -0x1000000 * ++epoch;
  const lostState = (): State => ({ regs: new Array(16).fill(null), slots: new Map(), sp: lostSp() });

  const ins = new Instruction();
  try {
    for (const sec of input.sections) {
      const bytes = sec.bytes;
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const end = bytes.length;
      const secEnd = sec.rva + end;
      const starts = [...new Set([...softStarts, ...forced])].filter((s) => s >= sec.rva && s < secEnd).sort((a, b) => a - b);
      const forcedSorted = starts.filter((s) => forced.has(s));
      let nextStartIdx = 0;
      let nextForcedIdx = 0;
      const decoder = new Decoder(bitness, bytes, DecoderOptions.None);
      try {
        let pos = 0;
        let fn = sec.rva;
        let regionEnd = starts[0] ?? secEnd;
        let st = entryState();
        let reachable = true;
        let pending = new Map<number, State>();
        // x86: the callee's stack cleanup is unknown; a following `sub esp,N` is the caller undoing it.
        let undoPop = false;
        decoder.ip = BigInt(sec.rva);

        /** Displacement of the memory operand, read from the bytes before the trailing immediate. */
        const displacement = (insEnd: number, immBytes: number): number => {
          const ds = ins.memoryDisplSize;
          const o = insEnd - immBytes - ds;
          return ds === 0 ? 0 : ds === 1 ? view.getInt8(o) : ds === 4 ? view.getInt32(o, true) : Number(BigInt.asIntN(bitness, ins.memoryDisplacement));
        };
        /** Stack slot addressed by the memory operand (NaN if none); `immBytes` = size of a trailing immediate. */
        const stackAddr = (insEnd: number, immBytes = 0): number => {
          const b = ins.memoryBase;
          let off: number | undefined;
          if (b === R.RSP || b === R.ESP) off = st.sp;
          else {
            const r = regIndex[b];
            if (r < 0) return NaN;
            off = stackOffset(st.regs[r]);
            if (off === undefined) return NaN;
          }
          if (ins.memoryIndex !== R.None) return NaN;
          return off + displacement(insEnd, immBytes);
        };
        /** Value read by a memory operand with no trailing immediate: an IAT slot, a stack slot, or unknown. */
        const readMem = (ip: number, insEnd: number): Value => {
          const b = ins.memoryBase;
          let g = NaN;
          // Absolute and rip-relative operands end in their disp32 when no immediate follows.
          if (b === R.RIP) g = (ip + (insEnd - pos) + view.getInt32(insEnd - 4, true)) >>> 0;
          else if (b === R.None && !is64 && ins.memoryIndex === R.None) g = ((view.getUint32(insEnd - 4, true) - base32) | 0) >>> 0;
          if (!Number.isNaN(g)) {
            const name = input.imports.get(g);
            return name ? [{ k: 'imp', name }] : null;
          }
          const a = stackAddr(insEnd);
          return Number.isNaN(a) ? null : (st.slots.get(a) ?? null);
        };
        const killSlots = (from: number, to: number) => {
          for (const k of st.slots.keys()) if (k > from - 8 && k < to) st.slots.delete(k);
        };
        const writeSlot = (a: number, size: number, v: Value) => {
          if (Number.isNaN(a)) return;
          killSlots(a, a + size);
          if (size >= 4 && v) st.slots.set(a, v);
        };
        const setReg = (r: number, v: Value) => {
          st.regs[r] = v;
          if (r === RSP) st.sp = stackOffset(v) ?? lostSp();
        };
        const spValue = (): Value => [{ k: 'sp', off: st.sp }];
        /** Immediate operand's low 32 bits, read from the instruction's last bytes (immediates come last). */
        const imm32 = (kind: number, insEnd: number): number | undefined => {
          if (kind === OpKind.Immediate32 || kind === OpKind.Immediate32to64) return view.getUint32(insEnd - 4, true);
          if (kind === OpKind.Immediate64) return view.getUint32(insEnd - 8, true);
          if (kind === OpKind.Immediate8to32 || kind === OpKind.Immediate8to64) return (view.getInt8(insEnd - 1) | 0) >>> 0;
          return undefined;
        };
        const noteImmediate = (at: number, kind: number, insEnd: number) => {
          if (kind !== OpKind.Immediate32 && kind !== OpKind.Immediate32to64 && kind !== OpKind.Immediate64) return;
          const v = imm32(kind, insEnd)!;
          if (mayBeTag(v) && looksLikeTag(v)) immediates.push({ at, v, immAt: sec.rva + insEnd - (kind === OpKind.Immediate64 ? 8 : 4) });
        };
        const callArgs = (extra: number): { args: Value[]; regArgs?: Value[] } => {
          const args: Value[] = new Array(MAX_PARAMS);
          if (is64) {
            for (let i = 0; i < MAX_PARAMS; i++) {
              const loc = X64_PARAMS[i];
              args[i] = 'reg' in loc ? st.regs[loc.reg] : (st.slots.get(st.sp + extra + loc.stack) ?? null);
            }
            return { args };
          }
          for (let i = 0; i < MAX_PARAMS; i++) args[i] = st.slots.get(st.sp + extra + 4 * i) ?? null;
          return { args, regArgs: [st.regs[RCX], st.regs[RDX]] };
        };
        /** Record a call/tail jump to each possible target; returns the bytes an x86 callee pops, if known. */
        const record = (at: number, targets: (string | number)[], tail: boolean): number | undefined => {
          let popped: number | undefined;
          for (const t of targets) {
            if (typeof t === 'string') {
              const api = apis.get(t);
              if (!api) continue;
              popped = x86PoppedBytes(api);
            }
            const a = callArgs(tail ? w : 0);
            if (typeof t === 'number' && !a.args.some((v) => v) && !a.regArgs?.some((v) => v)) continue;
            sites.push({ at, fn, target: t, ...a });
          }
          return popped;
        };
        /** Targets of a call/jmp operand: direct rva, IAT import, or a register/slot holding an import. */
        const branchTargets = (k0: number, ip: number, insEnd: number): (string | number)[] => {
          // Decoder IPs are RVAs (< 2^32), so the low 32 bits of a 64-bit branch target are the whole target.
          if (k0 === OpKind.NearBranch32 || k0 === OpKind.NearBranch64) return [ins.nearBranch32];
          let v: Value = null;
          if (k0 === OpKind.Register) {
            const r = regIndex[ins.op0Register];
            v = r >= 0 ? st.regs[r] : null;
          } else if (k0 === OpKind.Memory) v = readMem(ip, insEnd);
          return v ? v.filter((a): a is Extract<Atom, { k: 'imp' }> => a.k === 'imp').map((a) => a.name) : [];
        };

        /** Stack slot of an operand whose trailing immediate size is not known here. */
        const stackAddrAnyImmediate = (insEnd: number): number => {
          const b = ins.memoryBase;
          if (b !== R.RSP && b !== R.ESP && (regIndex[b] < 0 || stackOffset(st.regs[regIndex[b]]) === undefined)) return NaN;
          if (ins.memoryIndex !== R.None) return NaN;
          const base = b === R.RSP || b === R.ESP ? st.sp : stackOffset(st.regs[regIndex[b]])!;
          return base + Number(BigInt.asIntN(bitness, ins.memoryDisplacement));
        };
        /** An instruction we do not model: its register or stack destination becomes unknown. */
        const clobberDestination = (insEnd: number) => {
          const k0 = ins.op0Kind;
          if (k0 === OpKind.Register) {
            const r = regIndex[ins.op0Register];
            if (r >= 0) setReg(r, null);
          } else if (k0 === OpKind.Memory) writeSlot(stackAddrAnyImmediate(insEnd), 1, null);
        };

        while (pos < end) {
          const ip = sec.rva + pos;
          // Function boundaries: fresh state at a known start; forced starts also realign the decoder.
          while (nextStartIdx < starts.length && starts[nextStartIdx] < ip) nextStartIdx++;
          if (nextStartIdx < starts.length && starts[nextStartIdx] === ip) {
            fn = ip;
            regionEnd = starts[nextStartIdx + 1] ?? secEnd;
            const r = input.functionRanges ? rangeEnd(input.functionRanges, ip) : undefined;
            if (r !== undefined && r < regionEnd) regionEnd = r;
            st = entryState();
            reachable = true;
            pending = new Map();
            undoPop = false;
          } else if (pending.size > 0) {
            const snap = pending.get(ip);
            if (snap) {
              pending.delete(ip);
              st = reachable ? mergeState(st, snap) : snap;
              reachable = true;
            }
          }
          if (!reachable) {
            st = lostState();
            reachable = true;
          }

          decoder.decodeOut(ins);
          let len = ins.length;
          while (nextForcedIdx < forcedSorted.length && forcedSorted[nextForcedIdx] <= ip) nextForcedIdx++;
          const nextForced = forcedSorted[nextForcedIdx];
          if (nextForced !== undefined && ip + len > nextForced) {
            // The sweep ran into a known function start mid-instruction (data in code): realign.
            pos = nextForced - sec.rva;
            decoder.position = pos;
            decoder.ip = BigInt(nextForced);
            continue;
          }
          const insEnd = pos + len;
          const mn = ins.mnemonic;
          const cat = category[mn] as Cat;
          const wasUndoPop = undoPop;
          undoPop = false;

          switch (cat) {
            case Cat.NoWrite:
              break;
            case Cat.Mov: {
              const k0 = ins.op0Kind;
              const k1 = ins.op1Kind;
              if (k0 === OpKind.Register) {
                const reg = ins.op0Register;
                const r = regIndex[reg];
                if (r < 0) break;
                if (regSize[reg] < 4) setReg(r, null);
                else if (isImmediate(k1)) {
                  noteImmediate(ip, k1, insEnd);
                  const v = imm32(k1, insEnd);
                  setReg(r, v === undefined ? null : constant(v, ip));
                } else if (k1 === OpKind.Register) {
                  const src = ins.op1Register;
                  const r1 = regIndex[src];
                  setReg(r, r1 < 0 || regSize[src] < 4 ? null : r1 === RSP ? spValue() : st.regs[r1]);
                } else setReg(r, k1 === OpKind.Memory ? readMem(ip, insEnd) : null);
              } else if (k0 === OpKind.Memory) {
                if (isImmediate(k1)) {
                  noteImmediate(ip, k1, insEnd);
                  const a = stackAddr(insEnd, immBytes(k1));
                  if (!Number.isNaN(a)) {
                    const size = k1 === OpKind.Immediate32to64 ? 8 : k1 === OpKind.Immediate32 ? 4 : k1 === OpKind.Immediate16 ? 2 : 1;
                    const v = imm32(k1, insEnd);
                    writeSlot(a, size, v === undefined ? null : constant(v, ip));
                  }
                } else if (k1 === OpKind.Register) {
                  const a = stackAddr(insEnd);
                  if (!Number.isNaN(a)) {
                    const src = ins.op1Register;
                    const r1 = regIndex[src];
                    writeSlot(a, r1 < 0 ? 2 : regSize[src], r1 < 0 ? null : r1 === RSP ? spValue() : st.regs[r1]);
                  }
                }
              }
              break;
            }
            case Cat.Lea: {
              const reg = ins.op0Register;
              const r = regIndex[reg];
              if (r < 0) break;
              const a = regSize[reg] >= 4 ? stackAddr(insEnd) : NaN;
              setReg(r, Number.isNaN(a) ? null : [{ k: 'sp', off: a }]);
              break;
            }
            case Cat.Xor:
            case Cat.Or:
            case Cat.And:
            case Cat.AddSub:
            case Cat.Bts: {
              const k0 = ins.op0Kind;
              if (k0 !== OpKind.Register) {
                if (k0 === OpKind.Memory) writeSlot(stackAddr(insEnd, immBytes(ins.op1Kind)), 1, null);
                break;
              }
              const reg = ins.op0Register;
              const r = regIndex[reg];
              if (r < 0) break;
              const k1 = ins.op1Kind;
              if (regSize[reg] < 4) setReg(r, null);
              else if (cat === Cat.Xor) setReg(r, k1 === OpKind.Register && ins.op1Register === reg ? constant(0, ip) : null);
              else if (r === RSP && cat === Cat.AddSub && isImmediate(k1)) {
                const d = imm32(k1, insEnd)! | 0;
                const delta = mn === M.Add ? d : -d;
                // gcc re-reserves what an x86 stdcall callee popped: `call f; sub esp,N` leaves esp unchanged.
                if (!(wasUndoPop && mn === M.Sub)) st.sp += delta;
              } else if (isImmediate(k1)) {
                const imm = imm32(k1, insEnd)!;
                const f =
                  cat === Cat.Or ? (x: number) => x | imm : cat === Cat.And ? (x: number) => x & imm : cat === Cat.Bts ? (x: number) => x | (2 ** (imm & 31)) : null;
                setReg(r, f ? mapConstants(st.regs[r], f) : null);
              } else setReg(r, null);
              break;
            }
            case Cat.Cmov: {
              const reg = ins.op0Register;
              const r = regIndex[reg];
              if (r < 0) break;
              const k1 = ins.op1Kind;
              let v: Value = null;
              if (k1 === OpKind.Register) {
                const r1 = regIndex[ins.op1Register];
                v = r1 < 0 ? null : st.regs[r1];
              } else if (k1 === OpKind.Memory) v = readMem(ip, insEnd);
              // The old value may stay: both are possible afterwards.
              setReg(r, regSize[reg] < 4 ? null : union(st.regs[r], v));
              break;
            }
            case Cat.Xchg: {
              const k0 = ins.op0Kind;
              const k1 = ins.op1Kind;
              if (k0 === OpKind.Register && k1 === OpKind.Register) {
                const a = regIndex[ins.op0Register];
                const b = regIndex[ins.op1Register];
                if (a >= 0 && b >= 0) {
                  const va = st.regs[a];
                  setReg(a, st.regs[b]);
                  setReg(b, va);
                }
              } else {
                const reg = k0 === OpKind.Register ? ins.op0Register : ins.op1Register;
                const r = regIndex[reg];
                if (r >= 0) setReg(r, null);
                writeSlot(stackAddr(insEnd), 1, null);
              }
              break;
            }
            case Cat.Push: {
              const inc = ins.stackPointerIncrement;
              const k0 = ins.opCount > 0 ? ins.op0Kind : -1;
              let v: Value = null;
              if (isImmediate(k0)) {
                noteImmediate(ip, k0, insEnd);
                const x = imm32(k0, insEnd);
                if (x !== undefined) v = constant(x, ip);
              } else if (k0 === OpKind.Register) {
                const r = regIndex[ins.op0Register];
                v = r < 0 ? null : r === RSP ? spValue() : st.regs[r];
              } else if (k0 === OpKind.Memory) v = readMem(ip, insEnd);
              const newSp = st.sp + inc;
              if (-inc === w && k0 >= 0) writeSlot(newSp, w, v);
              else killSlots(newSp, st.sp);
              st.sp = newSp;
              break;
            }
            case Cat.Pop: {
              const inc = ins.stackPointerIncrement;
              if (ins.opCount > 0 && ins.op0Kind === OpKind.Register) {
                const r = regIndex[ins.op0Register];
                const v = st.slots.get(st.sp) ?? null;
                st.sp += inc;
                if (r >= 0 && r !== RSP) setReg(r, v);
              } else {
                if (ins.opCount === 0 && inc > w) for (let r = 0; r < 16; r++) if (r !== RSP) st.regs[r] = null;
                st.sp += inc;
              }
              break;
            }
            case Cat.Leave: {
              const fp = stackOffset(st.regs[RBP]);
              st.sp = fp === undefined ? lostSp() : fp;
              st.regs[RBP] = st.slots.get(st.sp) ?? null;
              st.sp += w;
              break;
            }
            case Cat.Enter:
              st.sp = lostSp();
              st.regs[RBP] = null;
              break;
            case Cat.Call: {
              const k0 = ins.op0Kind;
              const targets = branchTargets(k0, ip, insEnd);
              const popped = record(ip, targets, false);
              for (const r of volatile) st.regs[r] = null;
              // The callee owns its argument area and home space.
              for (const k of st.slots.keys()) if (k >= st.sp && k < st.sp + 0x80 && k <= 0) st.slots.delete(k);
              if (!is64) {
                if (popped !== undefined) st.sp += popped;
                else undoPop = true;
              }
              break;
            }
            case Cat.Jmp: {
              const k0 = ins.op0Kind;
              if (k0 === OpKind.NearBranch32 || k0 === OpKind.NearBranch64 || k0 === OpKind.NearBranch16) {
                const t = ins.nearBranch32;
                if (t > ip && t < regionEnd && !forced.has(t) && !softStarts.has(t)) {
                  const prev = pending.get(t);
                  pending.set(t, prev ? mergeState(prev, st) : cloneState(st));
                } else if (t < fn || t >= regionEnd || t === fn) {
                  if (!forced.has(t) && !softStarts.has(t) && t >= sec.rva && t < secEnd) tailTargets.add(t);
                  record(ip, [t], true);
                }
              } else {
                record(ip, branchTargets(k0, ip, insEnd), true);
              }
              reachable = false;
              break;
            }
            case Cat.Jcc: {
              const t = ins.nearBranch32;
              if (t > ip && t < regionEnd) {
                const prev = pending.get(t);
                pending.set(t, prev ? mergeState(prev, st) : cloneState(st));
              }
              break;
            }
            case Cat.Stop:
              reachable = false;
              break;
            case Cat.Implicit:
              for (const r of IMPLICIT_WRITES) st.regs[r] = null;
              clobberDestination(insEnd);
              break;
            default:
              clobberDestination(insEnd);
          }
          pos = insEnd;
          bytesDecoded += len;
        }
      } finally {
        decoder.free();
      }
    }
  } finally {
    ins.free();
  }
  return { sites, immediates, tailTargets: [...tailTargets], bytesDecoded };
}

/** End of the .pdata function that begins at `begin`, if any (ranges are sorted by begin). */
function rangeEnd(ranges: { begin: number; end: number }[], begin: number): number | undefined {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid].begin === begin) return ranges[mid].end;
    if (ranges[mid].begin < begin) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

function insideRange(ranges: { begin: number; end: number }[], rva: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (rva < ranges[mid].begin) hi = mid - 1;
    else if (rva >= ranges[mid].end) lo = mid + 1;
    else return rva !== ranges[mid].begin;
  }
  return false;
}

/**
 * Targets of every `E8 rel32` byte pattern that lands in a code section: a superset of the direct call
 * targets, found with a raw byte scan instead of a second decoding pass. A false one only matters when it
 * falls exactly on an instruction boundary (the sweep then starts a function there).
 */
function callTargets(input: CodeInput): Set<number> {
  const out = new Set<number>();
  const ranges = input.functionRanges && input.functionRanges.length > 0 ? input.functionRanges : undefined;
  const inCode = (t: number) => input.sections.some((s) => t >= s.rva && t < s.rva + s.bytes.length);
  for (const sec of input.sections) {
    const b = Buffer.from(sec.bytes.buffer, sec.bytes.byteOffset, sec.bytes.byteLength);
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let i = b.indexOf(0xe8); i >= 0 && i + 5 <= b.length; i = b.indexOf(0xe8, i + 1)) {
      const t = (sec.rva + i + 5 + view.getInt32(i + 1, true)) >>> 0;
      if (inCode(t) && !(ranges && insideRange(ranges, t))) out.add(t);
    }
  }
  return out;
}
