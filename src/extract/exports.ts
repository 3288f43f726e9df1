// Tag-taking functions across image boundaries: an image's own exports that are tag APIs (the kernel calls its
// exported ExAllocatePoolWithTag directly), the exports an analysis proves forward a parameter into a tag
// argument (summaries for importers), and other images' exported wrappers as pseudo-APIs an importer calls.
import { basename } from 'node:path';
import type { ImportEntry, PeImage } from '../pe/types.js';
import type { ExportedWrapper, ImportRef, TagApi, Wrapper } from './types.js';

/** The image's name as importers spell it (lower case): its export directory's name, else the file name. */
export function moduleName(pe: PeImage, path?: string): string {
  return (pe.exports?.module || (path ? basename(path) : '')).toLowerCase();
}

/** How an exported wrapper is named in evidence and in the API table: "module!Name" or "module!#7". */
export function exportKey(module: string, nameOrOrdinal: string | number): string {
  return typeof nameOrOrdinal === 'number' ? `${module.toLowerCase()}!#${nameOrOrdinal}` : `${module.toLowerCase()}!${nameOrOrdinal}`;
}

/**
 * The name an import is known by in the analysis: a built-in tag API by its name, another image's exported
 * wrapper by "module!Name" / "module!#ordinal", any other named import by its name; undefined for an
 * ordinal import that is no known wrapper.
 */
export function importKey(imp: ImportEntry, apis: ReadonlyMap<string, TagApi>): string | undefined {
  if (imp.name !== undefined) {
    const builtin = apis.get(imp.name);
    if (builtin && builtin.reaches === undefined) return imp.name;
    const k = exportKey(imp.dll, imp.name);
    return apis.has(k) ? k : imp.name;
  }
  if (imp.ordinal === undefined) return undefined;
  const k = exportKey(imp.dll, imp.ordinal);
  return apis.has(k) ? k : undefined;
}

/** The built-in table plus the exported wrappers of the modules `pe` imports from, as pseudo-APIs. */
export function externalApis(builtin: Map<string, TagApi>, pe: PeImage, external: readonly ExportedWrapper[]): Map<string, TagApi> {
  if (external.length === 0) return builtin;
  const modules = new Set(pe.imports.map((i) => i.dll.toLowerCase()));
  const wanted = external.filter((w) => modules.has(w.module));
  if (wanted.length === 0) return builtin;
  const out = new Map(builtin);
  for (const w of wanted) {
    for (const id of w.name !== undefined ? [w.name, w.ordinal] : [w.ordinal]) {
      const name = exportKey(w.module, id);
      out.set(name, { name, module: w.module, kind: w.kind, tagArg: w.param, params: w.param + 1, x86: 'stdcall', reaches: w.api });
    }
  }
  return out;
}

/** The image's exports that are built-in tag APIs, by RVA. */
export function ownApis(pe: PeImage, apis: ReadonlyMap<string, TagApi>): Map<number, TagApi> {
  const out = new Map<number, TagApi>();
  if (!pe.exports) return out;
  for (const api of apis.values()) {
    if (api.reaches !== undefined) continue;
    const rva = pe.exports.rvaOf(api.name);
    if (rva !== undefined) out.set(rva, api);
  }
  return out;
}

/** Wrappers that are exported (and not tag APIs by name themselves): what importers' calls to them reach. */
export function exportedWrappers(pe: PeImage, wrappers: readonly Wrapper[], apis: ReadonlyMap<string, TagApi>, path?: string): ExportedWrapper[] {
  if (!pe.exports || wrappers.length === 0) return [];
  const entries = pe.exports.entries();
  const byRva = new Map<number, typeof entries>();
  for (const e of entries) {
    const list = byRva.get(e.rva);
    if (list) list.push(e);
    else byRva.set(e.rva, [e]);
  }
  const module = moduleName(pe, path);
  const out: ExportedWrapper[] = [];
  const seen = new Set<string>();
  for (const w of wrappers) {
    const api = apis.get(w.api);
    if (!api) continue;
    for (const e of byRva.get(w.rva) ?? []) {
      if (e.names.some((n) => apis.get(n)?.reaches === undefined && apis.has(n))) continue;
      for (const name of e.names.length > 0 ? e.names : [undefined]) {
        const x: ExportedWrapper = { module, ordinal: e.ordinal, param: w.param, api: api.reaches ?? api.name, kind: api.kind };
        if (name !== undefined) x.name = name;
        const id = `${name ?? ''}#${e.ordinal}/${x.param}/${x.api}`;
        if (seen.has(id)) continue;
        seen.add(id);
        out.push(x);
      }
    }
  }
  return out.sort((a, b) => a.ordinal - b.ordinal || a.param - b.param || (a.api < b.api ? -1 : a.api > b.api ? 1 : 0));
}

/** The image's imports that could be another image's exported wrapper (every import but the built-in tag APIs). */
export function importRefs(pe: PeImage, builtin: ReadonlyMap<string, TagApi>): ImportRef[] {
  const out: ImportRef[] = [];
  const lower = new Map<string, string>();
  for (const imp of pe.imports) {
    if (imp.name !== undefined && builtin.has(imp.name)) continue;
    let module = lower.get(imp.dll);
    if (module === undefined) lower.set(imp.dll, (module = imp.dll.toLowerCase()));
    if (imp.name !== undefined) out.push({ module, name: imp.name });
    else if (imp.ordinal !== undefined) out.push({ module, ordinal: imp.ordinal });
  }
  return out;
}

/** Does `w` describe the function `imp` imports? By name when imported by name, else by ordinal. */
export function wrapperMatches(w: ExportedWrapper, imp: ImportRef): boolean {
  if (w.module !== imp.module) return false;
  return imp.name !== undefined ? w.name === imp.name : w.ordinal === imp.ordinal;
}

/**
 * Which of `wrappers` an analysis of an image with these imports uses, as one comparable string ('' for none):
 * the database analyses an importer again when this changes (an exporter indexed, changed or gone).
 */
export function wrapperState(imports: readonly ImportRef[], wrappers: readonly ExportedWrapper[]): string {
  const used = wrappers.filter((w) => imports.some((i) => wrapperMatches(w, i)));
  return used.map((w) => `${w.module}!${w.name ?? ''}#${w.ordinal}/${w.param}/${w.api}/${w.kind}`).sort().join(';');
}
