// From recorded call sites to `call`-tier evidence: constants that reach a tag argument, directly or
// through the driver's own wrapper functions (found as a fixpoint over call sites).
import type { TagKind, CallSite, TagApi, CallEvidence, Wrapper } from './types.js';
import { tagLocation } from './apis.js';
import type { Value } from './values.js';
import { withoutProtectedBit } from '../tag.js';

export interface Resolution {
  calls: CallEvidence[];
  wrappers: Wrapper[];
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
 * `ownApis`: the image's own exported tag-taking APIs by RVA (a kernel image calls them directly); any
 * architecture's walker records calls to them as calls to its own functions.
 */
export function resolveCalls(sites: CallSite[], apis: Map<string, TagApi>, bitness: 32 | 64, ownApis?: ReadonlyMap<number, TagApi>): Resolution {
  const calls: CallEvidence[] = [];
  const wrappers: Wrapper[] = [];
  const known = new Set<string>();
  const byTarget = new Map<number, CallSite[]>();
  const queue: Wrapper[] = [];

  const take = (value: Value, site: CallSite, api: TagApi, via: number | undefined) => {
    if (!value) return;
    for (const a of value) {
      // Tag 0 is "no tag" (ExFreePoolWithTag(p, 0)), not a tag.
      if (a.k === 'c' && withoutProtectedBit(a.v) !== 0) {
        const c: CallEvidence = { value: a.v, at: a.at, site: site.at, api: api.reaches ?? api.name, kind: api.kind, via };
        if (api.reaches !== undefined) c.viaExport = api.name;
        calls.push(c);
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
  return { calls, wrappers };
}
