// What `scan` says about a hit on an instruction immediate, kept apart from the decoder so that `index`
// can store it (code_sites) and `scan` can rebuild the very same hit from the database without loading
// iced-x86: both sides go through scanSitesOf and siteHit, so a hit answered from the database is the
// hit decoding prints, byte for byte.
import type { FileLocation } from '../pe/locate.js';
import { isProtected, withoutProtectedBit } from '../tag.js';
import { dataHitAt } from './data.js';
import type { CallEvidence, Evidence, ImmediateSite, ScanHit, ScanSite, SiteCall, Tier } from './types.js';

export type { ScanSite, SiteCall };

/** The evidence for `value` seen at `rva`: the tag drops the protected bit, the evidence remembers it. */
export function evidenceOf(tier: Tier, section: string, rva: number, value: number, call?: SiteCall): Evidence {
  const ev: Evidence = { tier, section, rva };
  if (call) ev.api = call.api;
  if (call?.via !== undefined) ev.via = call.via;
  if (call?.viaExport !== undefined) ev.viaExport = call.viaExport;
  if (call?.source !== undefined) ev.source = call.source;
  if (call?.field !== undefined) ev.field = call.field;
  if (call?.heldIn !== undefined) ev.heldIn = call.heldIn;
  if (isProtected(value)) ev.protected = true;
  return ev;
}

/**
 * One site per immediate RVA (the last immediate decoded there, as a scan's lookup keeps), each with the
 * first call proving its constant at its instruction. Calls whose evidence depends on the file's name
 * (KMDF's default tag) are left out: a scan analyses bytes alone. `wanted` limits the sites to some RVAs
 * (a scan needs only its hits').
 */
export function scanSitesOf(
  immediates: readonly ImmediateSite[],
  calls: readonly CallEvidence[],
  instructionAt: (rva: number) => string | undefined,
  wanted: (immAt: number) => boolean = () => true,
): ScanSite[] {
  const byImm = new Map<number, ImmediateSite>();
  for (const im of immediates) if (wanted(im.immAt)) byImm.set(im.immAt, im);
  if (byImm.size === 0) return [];
  const callsAt = new Map<number, CallEvidence[]>();
  for (const c of calls) {
    if (c.source === 'kmdf-default') continue;
    const list = callsAt.get(c.at);
    if (list) list.push(c);
    else callsAt.set(c.at, [c]);
  }
  const sites: ScanSite[] = [];
  for (const im of byImm.values()) {
    const tag = withoutProtectedBit(im.v);
    const c = callsAt.get(im.at)?.find((x) => withoutProtectedBit(x.value) === tag);
    const site: ScanSite = { immAt: im.immAt, at: im.at, v: im.v };
    if (c) site.call = siteCall(c);
    const text = instructionAt(im.at);
    if (text !== undefined) site.instruction = text;
    sites.push(site);
  }
  return sites.sort((a, b) => a.immAt - b.immAt);
}

function siteCall(c: SiteCall): SiteCall {
  const out: SiteCall = { api: c.api };
  if (c.via !== undefined) out.via = c.via;
  if (c.viaExport !== undefined) out.viaExport = c.viaExport;
  if (c.source !== undefined) out.source = c.source;
  if (c.field !== undefined) out.field = c.field;
  if (c.heldIn !== undefined) out.heldIn = c.heldIn;
  return out;
}

/** The hit at `loc`: call or code on the site's instruction when `site` is there (in code), else data. */
export function siteHit(loc: FileLocation, site: ScanSite | undefined): ScanHit {
  const hit = dataHitAt(loc);
  if (!site || !loc.executable) return hit;
  const ev = evidenceOf(site.call ? 'call' : 'code', loc.section!, site.at, site.v, site.call);
  if (site.instruction) ev.instruction = site.instruction;
  hit.tier = ev.tier;
  hit.evidence = ev;
  return hit;
}
