// Tag-like immediates proven not to be tags: the constant reaches only arguments of the driver's own
// functions that never let that parameter go anywhere (no tag API, no store outside the stack, no return,
// no import, no code the model loses track in), or it is only compared or consumed by arithmetic. The main
// analysis decodes what proving calls needs; this pass decodes, with escape tracking, the functions that
// hold candidate immediates and the own functions their constants and parameters are passed to.
import { type Range, normalise } from './ranges.js';
import type { Starts } from './regions.js';
import { type Escapes, sweep } from './sweep.js';
import type { CallSite, CodeInput, ImmediateSite, Wrapper } from './types.js';
import type { Atom, Value } from './values.js';

/** Bytes decoded at most by this pass, as a multiple of the code size. */
const BUDGET = 1;
/** Rounds of following callees: deeper chains stay unproven. */
const MAX_DEPTH = 6;

const holds = (v: Value, is: (a: Atom) => boolean) => v !== null && v.some(is);

/**
 * Is the instruction `mov [mem], imm32` with a base other than the stack or frame pointer? Its immediate
 * is stored where the model does not follow, so it cannot be a decoy: no need to decode its function.
 */
function storedOutsideStack(code: CodeInput, im: ImmediateSite): boolean {
  const sec = code.sections.find((s) => im.at >= s.rva && im.at < s.rva + s.bytes.length);
  if (!sec) return false;
  const b = sec.bytes;
  let i = im.at - sec.rva;
  const end = im.immAt - sec.rva;
  while (i < end && (b[i] === 0x66 || (code.bitness === 64 && (b[i] & 0xf0) === 0x40))) i++;
  if (i + 1 >= end || b[i] !== 0xc7) return false;
  const modrm = b[i + 1];
  const mod = modrm >> 6;
  const rm = modrm & 7;
  if (mod === 3) return false;
  const base = rm === 4 && i + 2 < end ? b[i + 2] & 7 : rm;
  // rsp/esp, or rbp/ebp with a displacement (a frame pointer); mod 0 with base 5 is rip/absolute: a global.
  return !(base === 4 || (base === 5 && mod !== 0));
}

/** RVAs of the candidate immediates that are decoys (no evidence at all). */
export function decoyImmediates(code: CodeInput, starts: Starts, all: readonly ImmediateSite[], wrappers: readonly Wrapper[]): Set<number> {
  const decoys = new Set<number>();
  const candidates = all.filter((im) => !storedOutsideStack(code, im));
  if (candidates.length === 0) return decoys;
  const swept = new Map<number, Range>();
  const sites: CallSite[] = [];
  const escapes: Escapes = { consts: new Set(), params: new Set() };
  let budget = BUDGET * code.sections.reduce((n, s) => n + s.bytes.length, 0);

  let pending: Range[] = [];
  const want = (rva: number) => {
    const r = starts.regionAt(rva);
    if (r && !swept.has(r.begin)) {
      swept.set(r.begin, r);
      pending.push(r);
    }
  };
  for (const im of candidates) want(im.at);
  // Parameters (fn * 16 + i) whose summary a decision needs: those a candidate, or a needed parameter, reaches.
  const needed = new Set<number>();
  const candidateAt = new Set(candidates.map((im) => im.at));
  const carries = (s: CallSite, a: Atom) => (a.k === 'c' && candidateAt.has(a.at)) || (a.k === 'p' && needed.has(s.fn * 16 + a.i));
  for (let depth = 0; pending.length > 0 && depth < MAX_DEPTH; depth++) {
    const ranges = normalise(pending);
    pending = [];
    budget -= ranges.reduce((n, r) => n + r.end - r.begin, 0);
    if (budget < 0) return decoys;
    const found = sweep(code, { starts, ranges, trackEscapes: true });
    sites.push(...found.sites);
    for (const c of found.escapes!.consts) escapes.consts.add(c);
    for (const p of found.escapes!.params) escapes.params.add(p);
    for (const s of found.sites) {
      if (typeof s.target !== 'number') continue;
      s.args.forEach((v, j) => {
        if (!holds(v, (a) => carries(s, a))) return;
        needed.add((s.target as number) * 16 + j);
        want(s.target as number);
      });
    }
  }
  // Callees still pending were past the depth: their summaries are unknown, so they are not "closed".
  for (const r of pending) swept.delete(r.begin);

  const byFn = new Map<number, CallSite[]>();
  for (const s of sites) {
    const list = byFn.get(s.fn);
    if (list) list.push(s);
    else byFn.set(s.fn, [s]);
  }
  const forwards = new Set(wrappers.map((w) => w.rva * 16 + w.param));
  const own = code.ownApis;

  /** Every argument position of `s` where `is` holds, or undefined when the callee is not an own plain function. */
  const ownPositions = (s: CallSite, is: (a: Atom) => boolean): number[] | undefined => {
    if (typeof s.target !== 'number' || own?.has(s.target) || s.regArgs?.some((v) => holds(v, is))) return undefined;
    const out: number[] = [];
    s.args.forEach((v, j) => {
      if (holds(v, is)) out.push(j);
    });
    return out;
  };

  /** Does the value `is` picks out go, at call `s`, nowhere but closed parameters of own functions? */
  const goesNowhere = (s: CallSite, is: (a: Atom) => boolean): boolean => {
    if (!s.args.some((v) => holds(v, is)) && !s.regArgs?.some((v) => holds(v, is))) return true;
    const at = ownPositions(s, is);
    return at !== undefined && at.every((j) => closed(s.target as number, j));
  };

  // Parameter i of function f is closed when its value goes nowhere but closed parameters of own functions.
  const memo = new Map<number, boolean>();
  const closed = (f: number, i: number): boolean => {
    const key = f * 16 + i;
    const known = memo.get(key);
    if (known !== undefined) return known;
    memo.set(key, false); // recursion proves nothing
    const isP = (a: Atom) => a.k === 'p' && a.i === i;
    const ok = swept.get(f)?.begin === f && !escapes.params.has(key) && !forwards.has(key) && (byFn.get(f) ?? []).every((s) => goesNowhere(s, isP));
    memo.set(key, ok);
    return ok;
  };

  const usesOf = new Map<number, CallSite[]>();
  for (const s of sites) {
    for (const v of s.regArgs ? [...s.args, ...s.regArgs] : s.args) {
      for (const a of v ?? []) {
        if (a.k !== 'c') continue;
        const list = usesOf.get(a.at);
        if (!list) usesOf.set(a.at, [s]);
        else if (list[list.length - 1] !== s) list.push(s);
      }
    }
  }
  for (const im of candidates) {
    if (escapes.consts.has(im.at) || !swept.has(starts.regionAt(im.at)?.begin ?? -1)) continue;
    const isC = (a: Atom) => a.k === 'c' && a.at === im.at;
    if ((usesOf.get(im.at) ?? []).every((s) => goesNowhere(s, isC))) decoys.add(im.at);
  }
  return decoys;
}
