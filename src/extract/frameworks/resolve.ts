// Framework evidence from the calls the sweep recorded: the tag in a structure field at the call (stack or
// image data), the tags of a registration array the structure points to, and KMDF's default tag when a
// driver leaves WDF_DRIVER_CONFIG.DriverPoolTag zero.
import { withoutProtectedBit } from '../../tag.js';
import type { CallEvidence, CallSite, GlobalStore } from '../types.js';
import type { Value } from '../values.js';
import type { ImageView } from './image.js';
import { kmdfDefaultTag, serviceNameOf } from './kmdf.js';
import { type Registration, type StructField, archOf, frameworkTable } from '../framework-table.js';
import { addressesOf } from './values.js';

interface Found {
  value: number;
  /** The storing instruction, or the bytes' RVA for a structure in the image's data. */
  at: number;
}

/** Nonzero constants of a value, with the instruction that supplied each. */
function constantsOf(v: Value): Found[] {
  return (v ?? []).filter((a) => a.k === 'c' && withoutProtectedBit(a.v) !== 0).map((a) => ({ value: (a as { v: number }).v, at: (a as { at: number }).at }));
}

/** Tags a structure field holds at a call: stack fields captured by the sweep, else the image's data. */
function fieldTags(site: CallSite, param: number, offset: number, image: ImageView, stores: readonly GlobalStore[]): Found[] {
  if (site.fields) return constantsOf(site.fields.find(([o]) => o === offset)?.[1] ?? null);
  const out: Found[] = [];
  for (const base of addressesOf(site.args[param] ?? null, image)) {
    const rva = base + offset;
    const stored = stores.filter((s) => s.rva === rva && s.size >= 4);
    if (stored.length > 0) {
      for (const s of stored) out.push(...constantsOf(s.value));
      continue;
    }
    const initial = image.read(rva, 4);
    if (initial !== undefined && withoutProtectedBit(initial) !== 0) out.push({ value: initial, at: rva });
  }
  return out;
}

/** Tags of the registration array that the structure passed at `site` points to, walked to its end marker. */
function registrationTags(site: CallSite, r: Registration, image: ImageView): Found[] {
  const arch = archOf(image.pe.is64);
  const out: Found[] = [];
  for (const base of addressesOf(site.args[r.param] ?? null, image)) {
    const array = image.pointerAt(base + r.pointer[arch]);
    if (array === undefined) continue;
    for (let i = 0; i < r.maxEntries; i++) {
      const entry = array + i * r.stride[arch];
      const marker = image.read(entry + r.endOffset, 2);
      if (marker === undefined || marker === r.endValue) break;
      const tag = image.read(entry + r.offset[arch], 4);
      if (tag !== undefined && withoutProtectedBit(tag) !== 0) out.push({ value: tag, at: entry + r.offset[arch] });
    }
  }
  return out;
}

export interface FrameworkResult {
  calls: CallEvidence[];
  warnings: string[];
}

/**
 * Evidence for the framework calls at `sites`. `kmdf`: the driver binds to KMDF (imports WdfVersionBind);
 * `bindSite` is where, for a default tag inferred without a WdfDriverCreate call found.
 */
export function frameworkEvidence(
  image: ImageView, sites: readonly CallSite[], stores: readonly GlobalStore[],
  opts: { kmdf?: { bindSite: number }; path?: string },
): FrameworkResult {
  const t = frameworkTable();
  const arch = archOf(image.pe.is64);
  const fields = new Map<string, StructField>(t.structFields.map((f) => [f.api, f]));
  const regs = new Map<string, Registration>(t.registrations.map((r) => [r.api, r]));
  const calls: CallEvidence[] = [];
  const warnings: string[] = [];
  const framework = (f: Found, site: CallSite, api: string, label: string) =>
    calls.push({ value: f.value, at: f.at, site: site.at, api, kind: 'pool', source: 'framework', field: label });

  let driverCreates = 0;
  const defaults: CallSite[] = [];
  for (const site of sites) {
    if (typeof site.target !== 'string') continue;
    const f = fields.get(site.target);
    if (f) {
      const found = fieldTags(site, f.param, f.offset[arch], image, stores);
      for (const x of found) framework(x, site, f.api, f.label);
      if (f.api === 'WdfDriverCreate') {
        driverCreates++;
        if (found.length === 0) defaults.push(site);
      }
      continue;
    }
    const r = regs.get(site.target);
    if (r) for (const x of registrationTags(site, r, image)) framework(x, site, r.api, r.label);
  }

  if (opts.kmdf && (defaults.length > 0 || driverCreates === 0)) {
    if (opts.path === undefined) {
      warnings.push('KMDF driver with no DriverPoolTag found: its tag is the first four characters of its service name (no file name to infer it from)');
    } else {
      const service = serviceNameOf(opts.path);
      const value = kmdfDefaultTag(service);
      for (const site of defaults) calls.push({ value, at: site.at, site: site.at, api: 'WdfDriverCreate', kind: 'pool', source: 'kmdf-default', field: service });
      if (driverCreates === 0) {
        const at = opts.kmdf.bindSite;
        calls.push({ value, at, site: at, api: 'WdfDriverCreate', kind: 'pool', source: 'kmdf-default', field: service, weak: true });
        warnings.push('KMDF driver: no WdfDriverCreate call found; the default tag from the file name is code-tier evidence only');
      }
    }
  }
  return { calls, warnings };
}
