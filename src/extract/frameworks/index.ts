// The framework pass: which imports of the image hand a framework a structure holding a pool tag (NDIS
// pool parameters, FLT_REGISTRATION, WDFLDR.SYS's bind information), the hooks that make the sweep
// capture those calls, and the evidence they give. Images that import none of them cost nothing.
import { analyseCode } from '../analyse.js';
import type { PeImage } from '../../pe/types.js';
import type { CallEvidence, CallSite, CodeInput, FrameworkHooks, GlobalStore, StructHook, TagApi } from '../types.js';
import { ImageView } from './image.js';
import { wdfTable } from './kmdf.js';
import { frameworkEvidence } from './resolve.js';
import { archOf, frameworkTable, kmdfTagApis } from '../framework-table.js';

export { ImageView } from './image.js';
export { kmdfDefaultTag, serviceNameOf } from './kmdf.js';

/** Linker thunks `jmp [slot]` (FF 25, or 48 FF 25) to any of `slots`: thunk RVA → imported name. */
function importThunks(code: CodeInput, slots: Map<number, string>): Map<number, string> {
  const out = new Map<number, string>();
  if (slots.size === 0) return out;
  const base = Number(code.imageBase & 0xffffffffn);
  for (const sec of code.sections) {
    const b = sec.bytes;
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let i = b.indexOf(0xff); i >= 0 && i + 6 <= b.length; i = b.indexOf(0xff, i + 1)) {
      if (b[i + 1] !== 0x25) continue;
      const d = view.getInt32(i + 2, true);
      const slot = code.bitness === 64 ? (sec.rva + i + 6 + d) >>> 0 : ((d >>> 0) - base) >>> 0;
      const name = slots.get(slot);
      if (!name) continue;
      out.set(sec.rva + i, name);
      // MSVC's import thunks are often `rex.W jmp [rip+slot]` (48 FF 25): the thunk starts at the prefix.
      if (i > 0 && b[i - 1] === 0x48) out.set(sec.rva + i - 1, name);
    }
  }
  return out;
}

export interface FrameworkPlan {
  hooks: FrameworkHooks;
  /** The tag-taking APIs, with KMDF's table functions that take a tag when the driver binds to KMDF. */
  apis: Map<string, TagApi>;
  /** Where the driver calls WdfVersionBind, when it binds to KMDF. */
  kmdf?: { bindSite: number };
}

/** What the sweep must watch in this image (undefined when it imports no framework structure API). */
export function planFrameworks(code: CodeInput, image: ImageView, apis: Map<string, TagApi>): FrameworkPlan | undefined {
  const t = frameworkTable();
  const arch = archOf(code.bitness === 64);
  const wanted = new Map<string, StructHook>();
  for (const f of t.structFields) wanted.set(f.api, { param: f.param, params: f.params, offsets: [f.offset[arch]] });
  for (const r of t.registrations) wanted.set(r.api, { param: r.param, params: r.params, offsets: [] });
  const bindHook: StructHook = { param: t.kmdf.bindInfoParam, params: 4, offsets: [] };

  const slotNames = new Map<number, string>();
  const structs = new Map<string, StructHook>();
  let bindSlot: number | undefined;
  for (const [slot, name] of code.imports) {
    const hook = wanted.get(name);
    if (hook) {
      structs.set(name, hook);
      slotNames.set(slot, name);
    } else if (name === t.kmdf.bind) {
      bindSlot = slot;
      slotNames.set(slot, name);
    }
  }
  if (slotNames.size === 0) return undefined;
  const thunks = importThunks(code, slotNames);
  const hooks: FrameworkHooks = { structs, slots: [...slotNames.keys()], thunks };
  if (bindSlot === undefined) return { hooks, apis };

  // Where is the function table? Decode only the functions that call WdfVersionBind, with its bind info captured.
  const bindOnly: FrameworkHooks = {
    structs: new Map([[t.kmdf.bind, bindHook]]),
    slots: [bindSlot],
    thunks: new Map([...thunks].filter(([, n]) => n === t.kmdf.bind)),
  };
  const bind = analyseCode({ ...code, apis: new Map(), frameworks: bindOnly }).structSites.filter((s) => s.target === t.kmdf.bind);
  const kmdf = { bindSite: bind[0]?.at ?? 0 };
  const wdf = wdfTable(image, bind);
  if (!wdf) return { hooks, apis, kmdf };
  hooks.wdf = wdf;
  const w = code.bitness === 64 ? 8 : 4;
  for (const [index, name] of wdf.names) {
    const hook = wanted.get(name);
    if (hook) structs.set(name, hook);
    if (wdf.form === 'array') hooks.slots.push(wdf.rva + index * w);
  }
  if (wdf.form === 'pointer') hooks.slots.push(wdf.rva);
  const withKmdf = new Map(apis);
  for (const a of kmdfTagApis()) if ([...wdf.names.values()].includes(a.name)) withKmdf.set(a.name, a);
  return { hooks, apis: withKmdf, kmdf };
}

/** Evidence from the framework calls the sweep captured. */
export function frameworkCalls(
  image: ImageView, plan: FrameworkPlan | undefined, sites: readonly CallSite[], stores: readonly GlobalStore[], path?: string,
): { calls: CallEvidence[]; warnings: string[] } {
  if (!plan) return { calls: [], warnings: [] };
  return frameworkEvidence(image, sites, stores, { kmdf: plan.kmdf, path });
}

/**
 * ARM64 (no stack or table tracking there yet): the imported structure APIs whose arguments the walk
 * reports, and what a KMDF bind gives without the WdfFunctions table: the default tag, as code tier.
 */
export function arm64Frameworks(pe: PeImage): { names: Set<string>; kmdf?: { bindSite: number } } {
  const t = frameworkTable();
  const wanted = new Set([...t.structFields.map((f) => f.api), ...t.registrations.map((r) => r.api)]);
  const names = new Set<string>();
  let kmdf: { bindSite: number } | undefined;
  for (const imp of pe.imports) {
    if (imp.name && wanted.has(imp.name)) names.add(imp.name);
    if (imp.name === t.kmdf.bind) kmdf = { bindSite: imp.iatRva };
  }
  return kmdf ? { names, kmdf } : { names };
}

/** Evidence from the ARM64 walk's structure calls (see arm64Frameworks). */
export function arm64FrameworkCalls(
  image: ImageView, plan: ReturnType<typeof arm64Frameworks>, sites: readonly CallSite[], path?: string,
): { calls: CallEvidence[]; warnings: string[] } {
  if (plan.names.size === 0 && !plan.kmdf) return { calls: [], warnings: [] };
  return frameworkEvidence(image, sites, [], { kmdf: plan.kmdf, path });
}
