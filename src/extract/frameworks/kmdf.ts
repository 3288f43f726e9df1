// KMDF: where a driver keeps its WdfFunctions table (from the WDF_BIND_INFO it passes to WDFLDR.SYS's
// WdfVersionBind), and the pool tag Wdf01000.sys uses for a driver that leaves DriverPoolTag zero.
import { basename } from 'node:path';
import type { CallSite, WdfTableHook } from '../types.js';
import type { ImageView } from './image.js';
import { archOf, frameworkTable } from '../framework-table.js';
import { addressesOf } from './values.js';

/** Most entries a WDF function table can have (KMDF 1.33 has ~450): a larger FuncCount is not a bind info. */
const MAX_FUNCTIONS = 4096;

/** The function table named by the bind information passed at `sites` (calls to WdfVersionBind). */
export function wdfTable(image: ImageView, sites: readonly CallSite[]): WdfTableHook | undefined {
  const k = frameworkTable().kmdf;
  const arch = archOf(image.pe.is64);
  for (const site of sites) {
    for (const info of addressesOf(site.args[k.bindInfoParam] ?? null, image)) {
      const rva = image.pointerAt(info + k.bindInfo.funcTable[arch]);
      const count = image.read(info + k.bindInfo.funcCount[arch], 4);
      const major = image.read(info + k.bindInfo.major[arch], 4);
      const minor = image.read(info + k.bindInfo.minor[arch], 4);
      if (rva === undefined || count === undefined || major === undefined || minor === undefined) continue;
      if (count === 0 || count > MAX_FUNCTIONS) continue;
      const form = major === 1 && minor < k.pointerTableFromMinor ? 'array' : 'pointer';
      const names = new Map(k.functions.filter((f) => f.index < count).map((f) => [f.index, f.name]));
      return { rva, form, count, names };
    }
  }
  return undefined;
}

/**
 * The service name Windows gives a driver installed from `path` (its file name without the extension):
 * the name KMDF's default tag comes from. Installers may choose another name; the evidence says so.
 */
export function serviceNameOf(path: string): string {
  return basename(path.replace(/\\/g, '/')).replace(/\.[^.]*$/, '');
}

/**
 * KMDF's documented default tag: the first four characters of the service name, the next four when it
 * begins with "WDF" (any case), "FxDr" when fewer than four are left. Tag bytes in memory order.
 */
export function kmdfDefaultTag(service: string): number {
  let name = service;
  if (/^wdf/i.test(name)) name = name.slice(3);
  const chars = name.length >= 4 ? name.slice(0, 4) : 'FxDr';
  let tag = 0;
  for (let i = 3; i >= 0; i--) tag = tag * 256 + (chars.charCodeAt(i) & 0xff);
  return tag >>> 0;
}
