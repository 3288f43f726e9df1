// The `call` and `code` tiers of one image's code, decoding only the functions that can matter: those a raw
// byte scan shows referencing a tag-taking import's IAT slot or holding a tag-like `mov`/`push` immediate,
// then (as the wrapper fixpoint needs them) those that branch to a wrapper or jump into a decoded function.
// Every other function could add nothing: its calls reach neither a tag-taking API nor a wrapper.
import { type Branches, immediateCandidates, scanBranches, slotReferences } from './prescan.js';
import { type Range, Starts } from './regions.js';
import { type CallEvidence, type Wrapper, resolveCalls } from './resolve.js';
import { callTargets } from './starts.js';
import { type CallSite, type CodeInput, type ImmediateSite, sweep } from './sweep.js';

export interface CodeAnalysis {
  calls: CallEvidence[];
  immediates: ImmediateSite[];
  wrappers: Wrapper[];
}

/** Bytes decoded at most, as a multiple of the code size, before tail-jump targets stop splitting functions. */
const REDECODE_BUDGET = 4;

/** Branches ordered by target, to find those into a range with two binary searches. */
class BranchIndex {
  private readonly order: number[];

  constructor(private readonly b: Branches) {
    this.order = b.to.map((_, i) => i).sort((x, y) => b.to[x] - b.to[y]);
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

/** Sort by begin and join touching ranges, so one walk decodes them as the full sweep would. */
function merged(ranges: Range[]): Range[] {
  const out: Range[] = [];
  for (const r of [...ranges].sort((a, b) => a.begin - b.begin)) {
    const last = out[out.length - 1];
    if (last && r.begin <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

const inside = (rva: number, r: Range) => rva >= r.begin && rva < r.end;

export function analyseCode(code: CodeInput): CodeAnalysis {
  const branches = scanBranches(code);
  const index = new BranchIndex(branches);
  const starts = new Starts(code.sections, callTargets(code, branches), code.functionStarts);
  const tagSlots = [...code.imports].filter(([, name]) => code.apis.has(name)).map(([slot]) => slot);
  const codeBytes = code.sections.reduce((n, s) => n + s.bytes.length, 0);

  /** Decoded regions by begin. */
  const decoded = new Map<number, Range>();
  let sites: CallSite[] = [];
  let immediates: ImmediateSite[] = [];
  let budget = REDECODE_BUDGET * codeBytes;
  const seenWrappers = new Set<number>();
  let wanted = [...slotReferences(code, tagSlots), ...immediateCandidates(code)];

  while (wanted.length > 0) {
    const batch: Range[] = [];
    const take = (r: Range) => {
      decoded.set(r.begin, r);
      batch.push(r);
    };
    // Closure over "jumps into a region come from a function that must be decoded too".
    for (let i = 0; i < wanted.length; i++) {
      const r = starts.regionAt(wanted[i]);
      if (!r || decoded.has(r.begin)) continue;
      take(r);
      for (const from of index.sourcesInto(r.begin + 1, r.end)) if (!inside(from, r)) wanted.push(from);
      // A call target is a function start only where the sweep lands on it: decode from the function before.
      if (!starts.isForced(r.begin)) {
        const before = starts.regionBefore(r.begin);
        if (before && !decoded.has(before.begin)) take(before);
      }
    }
    wanted = [];
    if (batch.length === 0) break;
    const ranges = merged(batch);
    const found = sweep(code, { starts, ranges });
    budget -= ranges.reduce((n, r) => n + r.end - r.begin, 0);
    sites.push(...found.sites);
    immediates.push(...found.immediates);

    // A tail-jump target starts a function: the decoded region holding it is decoded again, split.
    const tails = budget > 0 ? found.tailTargets.filter((t) => !starts.has(t)) : [];
    const split = tails.map((t) => starts.regionAt(t)).filter((r): r is Range => r !== undefined && decoded.delete(r.begin));
    for (const t of tails) starts.add(t);
    for (const r of split) wanted.push(r.begin, ...tails.filter((t) => inside(t, r)));
    if (split.length > 0) {
      const redone = (rva: number) => split.some((r) => inside(rva, r));
      sites = sites.filter((s) => !redone(s.at));
      immediates = immediates.filter((im) => !redone(im.at));
    }

    // Callers of a newly found wrapper carry its tag: decode them.
    for (const w of resolveCalls(sites, code.apis, code.bitness).wrappers) {
      if (seenWrappers.has(w.rva)) continue;
      seenWrappers.add(w.rva);
      wanted.push(...index.sourcesInto(w.rva, w.rva + 1));
    }
  }
  sites.sort((a, b) => a.at - b.at);
  immediates.sort((a, b) => a.at - b.at);
  const resolved = resolveCalls(sites, code.apis, code.bitness);
  return { calls: resolved.calls, immediates, wrappers: resolved.wrappers };
}
