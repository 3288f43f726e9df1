// The `call` and `code` tiers of one image's code, decoding only the functions that can matter: those a raw
// byte scan shows referencing a tag-taking import's IAT slot or holding a tag-like `mov`/`push` immediate,
// then (as the wrapper fixpoint needs them) those that branch to a wrapper or jump into a decoded function.
// Every other function could add nothing: its calls reach neither a tag-taking API nor a wrapper.
import { immediateCandidates, scanBranches, slotReferences } from './prescan.js';
import { type Range, normalise, rangeIndexAt } from './ranges.js';
import { Starts } from './regions.js';
import { type RuntimeTag, resolveCalls } from './resolve.js';
import type { HeldValues } from './globals.js';
import { callTargets } from './starts.js';
import { sweep } from './sweep.js';
import type { Branches, CallEvidence, CallSite, CodeInput, GlobalStore, ImmediateSite, Wrapper } from './types.js';

export interface CodeAnalysis {
  calls: CallEvidence[];
  immediates: ImmediateSite[];
  wrappers: Wrapper[];
  /** Tag arguments read from globals that code writes (tags chosen at run time). */
  runtime: RuntimeTag[];
  /** Calls to the structure APIs of CodeInput.frameworks (empty without it). */
  structSites: CallSite[];
  globalStores: GlobalStore[];
  /** Function starts as the analysis left them (tail-call targets added), for later passes. */
  starts: Starts;
}

/** Bytes decoded at most, as a multiple of the code size, before tail-jump targets stop splitting functions. */
const REDECODE_BUDGET = 4;

const INDEX_LIMIT = 2 ** 21;

/** Branches ordered by target, to find those into a range with two binary searches. */
class BranchIndex {
  private readonly order: number[];

  constructor(private readonly b: Branches) {
    const n = b.to.length;
    if (n > INDEX_LIMIT) {
      this.order = b.to.map((_, i) => i).sort((x, y) => b.to[x] - b.to[y]);
      return;
    }
    // A typed array's own numeric sort is far faster than sorting with a comparator: target and index
    // packed in one exact double (a u32 target times 2^21 stays below 2^53).
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = b.to[i] * INDEX_LIMIT + i;
    keys.sort();
    this.order = Array.from(keys, (k) => k % INDEX_LIMIT);
  }

  private firstAtOrAbove(t: number): number {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.b.to[this.order[mid]] < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Sources of the branches whose target is in [begin, end). */
  sourcesInto(begin: number, end: number): number[] {
    const out: number[] = [];
    for (let k = this.firstAtOrAbove(begin); k < this.order.length && this.b.to[this.order[k]] < end; k++) out.push(this.b.from[this.order[k]]);
    return out;
  }
}

type Planned = Range & { landFrom?: number };

const inside = (rva: number, r: Range) => rva >= r.begin && rva < r.end;

/**
 * The same call sites, wrappers and immediates as decoding every function with the full model (checked
 * on every fixture by test/extract/sweep.test.ts), from a fraction of the decoding.
 */
export function analyseCode(code: CodeInput, held?: HeldValues): CodeAnalysis {
  const branches = scanBranches(code);
  const starts = new Starts(code.sections, callTargets(code, branches), code.functionStarts);
  held?.alignWith?.((rva) => starts.regionAt(rva)?.begin);
  const tagSlots = [...code.imports].filter(([, name]) => code.apis.has(name)).map(([slot]) => slot);
  const codeBytes = code.sections.reduce((n, s) => n + s.bytes.length, 0);
  let index: BranchIndex | undefined;
  const into = (begin: number, end: number) => (index ??= new BranchIndex(branches)).sourcesInto(begin, end);

  /** Regions decoded with the full model, by begin. */
  const decoded = new Map<number, Range>();
  let sites: CallSite[] = [];
  let immediates: ImmediateSite[] = [];
  let budget = REDECODE_BUDGET * codeBytes;
  const seenWrappers = new Set<number>();
  // The image's own exported tag APIs: their callers, and code that takes their address (lea / mov offset).
  const ownRvas = [...(code.ownApis?.keys() ?? [])];
  let callWanted = slotReferences(code, [...tagSlots, ...ownRvas, ...(code.frameworks?.slots ?? [])]);
  for (const rva of ownRvas) callWanted.push(...into(rva, rva + 1));
  for (const thunk of code.frameworks?.thunks.keys() ?? []) callWanted.push(...into(thunk, thunk + 1));
  const structSites: CallSite[] = [];
  const globalStores: GlobalStore[] = [];

  while (callWanted.length > 0) {
    const batch: Planned[] = [];
    const take = (r: Planned) => {
      if (decoded.has(r.begin)) return;
      decoded.set(r.begin, r);
      batch.push(r);
    };
    for (let i = 0; i < callWanted.length; i++) {
      const r = starts.regionAt(callWanted[i]);
      if (!r || decoded.has(r.begin)) continue;
      // A call target is a function start only where the sweep lands on it: the sweep checks from the function before.
      const before = starts.isForced(r.begin) ? undefined : starts.regionBefore(r.begin);
      take(before && !decoded.has(before.begin) ? { ...r, landFrom: before.begin } : r);
      // A jump from elsewhere into the region makes its target a function start (a tail call), which the
      // full sweep learns from decoding the jump: decode the function it comes from.
      for (const from of into(r.begin + 1, r.end)) if (!inside(from, r)) callWanted.push(from);
    }
    callWanted = [];
    if (batch.length === 0) break;
    // Touching regions joined, so one walk decodes them as the full sweep would.
    const ranges = normalise(batch);
    const found = sweep(code, { starts, ranges });
    budget -= ranges.reduce((n, r) => n + r.end - r.begin, 0);
    sites.push(...found.sites);
    immediates.push(...found.immediates);
    structSites.push(...found.structSites);
    globalStores.push(...found.globalStores);

    // A tail-jump target starts a function: the decoded regions holding one are decoded again, split.
    const tails = budget > 0 ? found.tailTargets.filter((t) => !starts.has(t)) : [];
    const split = tails.map((t) => starts.regionAt(t)).filter((r): r is Range => r !== undefined && decoded.delete(r.begin));
    for (const t of tails) starts.add(t);
    for (const r of split) callWanted.push(r.begin, ...tails.filter((t) => inside(t, r)));
    if (split.length > 0) {
      const redone = normalise(split);
      sites = sites.filter((s) => rangeIndexAt(redone, s.at) < 0);
      immediates = immediates.filter((im) => rangeIndexAt(redone, im.at) < 0);
      const kept = (x: { at: number }) => rangeIndexAt(redone, x.at) < 0;
      structSites.splice(0, structSites.length, ...structSites.filter(kept));
      globalStores.splice(0, globalStores.length, ...globalStores.filter(kept));
    }

    // Callers of a newly found wrapper carry its tag: decode them.
    for (const w of resolveCalls(sites, code.apis, code.bitness, { ownApis: code.ownApis }).wrappers) {
      if (seenWrappers.has(w.rva)) continue;
      seenWrappers.add(w.rva);
      callWanted.push(...into(w.rva, w.rva + 1));
    }
  }
  // Immediates depend only on instruction boundaries: the other regions holding candidates are skimmed.
  const candidates = immediateCandidates(code);
  const skim = new Map<number, Range>();
  for (const rva of candidates) {
    const r = starts.regionAt(rva);
    if (r && !decoded.has(r.begin)) skim.set(r.begin, r);
  }
  if (skim.size > 0) immediates.push(...sweep(code, { starts, ranges: normalise([...skim.values()]), immediatesAt: candidates }).immediates);
  sites.sort((a, b) => a.at - b.at);
  immediates.sort((a, b) => a.at - b.at);
  const resolved = resolveCalls(sites, code.apis, code.bitness, { ownApis: code.ownApis, held });
  return {
    calls: resolved.calls,
    immediates: immediates.filter((im, i) => i === 0 || immediates[i - 1].at !== im.at),
    wrappers: resolved.wrappers,
    runtime: resolved.runtime,
    structSites: structSites.sort((a, b) => a.at - b.at),
    globalStores: globalStores.sort((a, b) => a.at - b.at),
    starts,
  };
}
