// The abstract values the decoder tracks per register and stack slot: small sets of facts, or unknown.

/** A fact about a 32/64-bit value. */
export type Atom =
  /** The constant `v` (low 32 bits), supplied by the instruction at rva `at`. */
  | { k: 'c'; v: number; at: number }
  /** The current function's incoming parameter `i`, unchanged. */
  | { k: 'p'; i: number }
  /** The address of the imported function `name`, read from its IAT slot. */
  | { k: 'imp'; name: string }
  /** A stack address: the function's entry stack pointer plus `off`. */
  | { k: 'sp'; off: number }
  /** The pointer a framework writes into the image at run time, loaded from `rva` (KMDF's WdfFunctions). */
  | { k: 'tbl'; rva: number }
  /** The address of the image's own function at `rva` (an exported tag-taking API). */
  | { k: 'fn'; rva: number }
  /** The value the instruction at `at` loaded from the image's data at `rva` (a global). */
  | { k: 'g'; rva: number; at: number }
  /**
   * An entry the instruction at `at` loaded from a table (indexed by a register, or walked by a pointer): the
   * first entry at `rva`, the next ones `stride` bytes apart, `count` of them when the index is bounded.
   */
  | { k: 't'; rva: number; at: number; stride: number; count?: number }
  /** An index known to be at most `max` (`and reg, max`). */
  | { k: 'ix'; max: number }
  /**
   * The address of the image's data at `rva` (`lea reg,[rip+T]`, x86 `mov reg,offset T`; an x86 `push offset T`
   * stays a constant).
   */
  | { k: 'ga'; rva: number }
  /** A pointer into the data at `rva`, moved `stride` bytes at a time (a walk over a table). */
  | { k: 'ta'; rva: number; stride: number };

/** The value may be any of the atoms (a may-set: unknown paths add nothing); null = nothing known. */
export type Value = readonly Atom[] | null;

/** More alternatives than this and the value is treated as unknown (keeps hostile code bounded). */
const MAX_ATOMS = 16;

function same(a: Atom, b: Atom): boolean {
  switch (a.k) {
    case 'c':
      return b.k === 'c' && a.v === b.v && a.at === b.at;
    case 'p':
      return b.k === 'p' && a.i === b.i;
    case 'imp':
      return b.k === 'imp' && a.name === b.name;
    case 'sp':
      return b.k === 'sp' && a.off === b.off;
    case 'tbl':
      return b.k === 'tbl' && a.rva === b.rva;
    case 'fn':
      return b.k === 'fn' && a.rva === b.rva;
    case 'g':
      return b.k === 'g' && a.rva === b.rva && a.at === b.at;
    case 't':
      return b.k === 't' && a.rva === b.rva && a.at === b.at && a.stride === b.stride && a.count === b.count;
    case 'ga':
      return b.k === 'ga' && a.rva === b.rva;
    case 'ta':
      return b.k === 'ta' && a.rva === b.rva && a.stride === b.stride;
    case 'ix':
      return b.k === 'ix' && a.max === b.max;
  }
}

/** Either value may hold at a join point or after a cmov. */
export function union(a: Value, b: Value): Value {
  if (!a || a === b) return b ?? a;
  if (!b) return a;
  const out = a.slice();
  for (const x of b) if (!out.some((y) => same(x, y))) out.push(x);
  return out.length > MAX_ATOMS ? null : out;
}

export function constant(v: number, at: number): Value {
  return [{ k: 'c', v: v >>> 0, at }];
}

/** The stack offset when the value is exactly one stack address. */
export function stackOffset(v: Value): number | undefined {
  return v && v.length === 1 && v[0].k === 'sp' ? v[0].off : undefined;
}

/** Apply `f` to every constant; any other atom makes the result unknown (the value changed). */
export function mapConstants(v: Value, f: (x: number) => number): Value {
  if (!v) return null;
  const out: Atom[] = [];
  for (const a of v) {
    if (a.k !== 'c') return null;
    out.push({ k: 'c', v: f(a.v) >>> 0, at: a.at });
  }
  return out;
}

/** What the decoder knows at one point of a function. */
export interface State {
  regs: Value[];
  /** Stack slot (offset from the function's entry stack pointer) → value. */
  slots: Map<number, Value>;
  /**
   * Current stack pointer relative to entry. When it is lost (`and esp,-8`, `mov esp,reg`) it moves to a
   * fresh, far-away base: pushes and the call that reads them stay consistent, old slots become unreachable.
   */
  sp: number;
}

/** Join of two paths; `a`'s stack frame wins when the stack pointers disagree. */
export function mergeState(a: State, b: State): State {
  const regs = new Array<Value>(a.regs.length);
  for (let i = 0; i < regs.length; i++) regs[i] = union(a.regs[i], b.regs[i]);
  // Saved and merged states are never written (the walker copies slots before writing): share a's.
  if (a.sp !== b.sp || a.slots === b.slots) return { regs, slots: a.slots, sp: a.sp };
  const slots = new Map<number, Value>();
  for (const [k, v] of a.slots) {
    const w = b.slots.get(k);
    slots.set(k, w === undefined ? v : union(v, w));
  }
  for (const [k, w] of b.slots) if (!a.slots.has(k)) slots.set(k, w);
  return { regs, slots, sp: a.sp };
}
