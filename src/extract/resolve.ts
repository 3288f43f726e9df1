// From recorded call sites to `call`-tier evidence: constants that reach a tag argument, directly or
// through the driver's own wrapper functions (found as a fixpoint over call sites).
import type { TagKind, CallSite, TagApi, CallEvidence, Wrapper } from './types.js';
import { tagLocation } from './apis.js';
import type { Value } from './values.js';
import type { HeldValues } from './globals.js';
import { looksLikeTag } from '../tag.js';
import { withoutProtectedBit } from '../tag.js';

export interface Resolution {
  calls: CallEvidence[];
  wrappers: Wrapper[];
  /** Tag arguments read from a global that code writes: a tag chosen at run time, reported, never guessed. */
  runtime: RuntimeTag[];
}

export interface RuntimeTag {
  /** The call or tail jump. */
  site: number;
  api: string;
  /** The global, named as HeldValues.name gives it. */
  global: string;
}

export interface ResolveContext {
  /** The image's own exported tag-taking APIs by RVA (a kernel image calls them directly). */
  ownApis?: ReadonlyMap<number, TagApi>;
  /** The image's data: values of globals and entries of tables that loads at tag arguments read. */
  held?: HeldValues;
}

/** The value of the argument that `api` reads its tag from, at a call site. */
function apiTagArg(site: CallSite, api: TagApi, bitness: 32 | 64): Value {
  const loc = tagLocation(api, bitness);
  if ('reg' in loc) {
    if (bitness === 64) return site.args[api.tagArg] ?? null;
    return site.regArgs?.[api.tagArg] ?? null;
  }
  return site.args[bitness === 64 ? api.tagArg : loc.stack / 4] ?? null;
}

/**
 * Constants at tag arguments become evidence; a function's own parameter at a tag argument makes it a
 * wrapper, and then the values at the calls of that wrapper are examined the same way, until nothing new.
 * Any architecture's walker feeds it: calls to the image's own exported APIs are recorded as calls to its own
 * functions, loads from the image's data as global ('g') and table ('t') atoms.
 */
export function resolveCalls(sites: CallSite[], apis: Map<string, TagApi>, bitness: 32 | 64, context: ResolveContext = {}): Resolution {
  const { ownApis, held } = context;
  const calls: CallEvidence[] = [];
  const runtime: RuntimeTag[] = [];
  const wrappers: Wrapper[] = [];
  const known = new Set<string>();
  const byTarget = new Map<number, CallSite[]>();
  const queue: Wrapper[] = [];

  const push = (v: number, at: number, site: CallSite, api: TagApi, via: number | undefined, heldIn?: string) => {
    const c: CallEvidence = { value: v, at, site: site.at, api: api.reaches ?? api.name, kind: api.kind, via };
    if (api.reaches !== undefined) c.viaExport = api.name;
    if (heldIn !== undefined) c.heldIn = heldIn;
    calls.push(c);
  };
  const take = (value: Value, site: CallSite, api: TagApi, via: number | undefined) => {
    if (!value) return;
    for (const a of value) {
      // Tag 0 is "no tag" (ExFreePoolWithTag(p, 0)), not a tag.
      if (a.k === 'c' && withoutProtectedBit(a.v) !== 0) push(a.v, a.at, site, api, via);
      else if (a.k === 'g' && held) {
        const g = held.global(a.rva);
        if (g === 'written') runtime.push({ site: site.at, api: api.reaches ?? api.name, global: held.name(a.rva, false) });
        else if (g && looksLikeTag(g.value)) push(g.value, a.at, site, api, via, held.name(a.rva, false));
      } else if (a.k === 't' && held) {
        for (const v of held.table(a.rva, a.stride, a.count) ?? []) push(v, a.at, site, api, via, held.name(a.rva, true));
      } else if (a.k === 'p') {
        const key = `${site.fn}:${a.i}:${api.name}`;
        if (known.has(key)) continue;
        known.add(key);
        const wr = { rva: site.fn, param: a.i, api: api.name };
        wrappers.push(wr);
        queue.push(wr);
      }
    }
  };

  for (const site of sites) {
    if (typeof site.target === 'string') {
      const api = apis.get(site.target);
      if (api) take(apiTagArg(site, api, bitness), site, api, undefined);
      continue;
    }
    const t = site.target as number;
    const own = ownApis?.get(t);
    if (own) {
      take(apiTagArg(site, own, bitness), site, own, undefined);
      continue;
    }
    let list = byTarget.get(t);
    if (!list) byTarget.set(t, (list = []));
    list.push(site);
  }

  while (queue.length > 0) {
    const wr = queue.shift()!;
    const api = apis.get(wr.api)!;
    for (const site of byTarget.get(wr.rva) ?? []) take(site.args[wr.param] ?? null, site, api, wr.rva);
  }
  wrappers.sort((a, b) => a.rva - b.rva || a.param - b.param || (a.api < b.api ? -1 : a.api > b.api ? 1 : 0));
  return { calls, wrappers, runtime };
}
