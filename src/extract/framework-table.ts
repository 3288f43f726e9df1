// The project's table of framework structures (read from here, two folders below the project root like
// apis.ts, so that the bundles find data/ too) (data/tag-frameworks.json): which structure field, registration
// array or KMDF function-table entry carries a driver's pool tag, with offsets per architecture.
import { readFileSync } from 'node:fs';
import type { TagApi } from './types.js';

/** Offsets per architecture; ARM64 uses the x64 layout (both LLP64 with 8-byte pointers). */
export interface PerArch {
  x64: number;
  x86: number;
}

export interface StructField {
  api: string;
  module: string;
  params: number;
  /** Index of the parameter pointing at the structure (KMDF: the hidden WDF_DRIVER_GLOBALS counts). */
  param: number;
  struct: string;
  field: string;
  /** How evidence names the field ("framework: API label"). */
  label: string;
  offset: PerArch;
}

export interface Registration {
  api: string;
  module: string;
  params: number;
  param: number;
  struct: string;
  array: string;
  field: string;
  label: string;
  /** Offset of the pointer to the array inside the structure. */
  pointer: PerArch;
  stride: PerArch;
  offset: PerArch;
  endOffset: number;
  endValue: number;
  maxEntries: number;
}

export interface KmdfFunction {
  name: string;
  index: number;
  params: number;
  tagArg?: number;
}

export interface FrameworkTable {
  structFields: StructField[];
  registrations: Registration[];
  kmdf: {
    bind: string;
    bindInfoParam: number;
    bindInfo: { funcCount: PerArch; funcTable: PerArch; major: PerArch; minor: PerArch };
    /** From this KMDF 1.x minor version on, WdfFunctions is a pointer the loader fills, not the array itself. */
    pointerTableFromMinor: number;
    functions: KmdfFunction[];
  };
}

const isInt = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0;
const isPerArch = (x: unknown): x is PerArch => !!x && isInt((x as PerArch).x64) && isInt((x as PerArch).x86);

function validate(raw: unknown, file: string): FrameworkTable {
  const t = raw as FrameworkTable;
  const bad = (what: string) => new Error(`${file}: ${what}`);
  if (!t || !Array.isArray(t.structFields) || !Array.isArray(t.registrations) || !t.kmdf) {
    throw bad('expected an object with "structFields", "registrations" and "kmdf"');
  }
  t.structFields.forEach((f, i) => {
    const ok = typeof f.api === 'string' && typeof f.struct === 'string' && typeof f.field === 'string' && typeof f.label === 'string' && isInt(f.params) && isInt(f.param) && f.param < f.params && isPerArch(f.offset);
    if (!ok) throw bad(`structFields[${i}] needs api, struct, field, label, param < params and offset {x64, x86}`);
  });
  t.registrations.forEach((r, i) => {
    const ok = typeof r.api === 'string' && typeof r.label === 'string' && isInt(r.param) && r.param < r.params && isPerArch(r.pointer) && isPerArch(r.stride) && isPerArch(r.offset) && isInt(r.endOffset) && isInt(r.endValue) && isInt(r.maxEntries);
    if (!ok) throw bad(`registrations[${i}] needs api, label, param < params, pointer/stride/offset {x64, x86}, endOffset, endValue, maxEntries`);
  });
  const k = t.kmdf;
  const kOk = typeof k.bind === 'string' && isInt(k.bindInfoParam) && isInt(k.pointerTableFromMinor) && k.bindInfo &&
    isPerArch(k.bindInfo.funcCount) && isPerArch(k.bindInfo.funcTable) && isPerArch(k.bindInfo.major) && isPerArch(k.bindInfo.minor) &&
    Array.isArray(k.functions) && k.functions.every((f) => typeof f.name === 'string' && isInt(f.index) && isInt(f.params) && (f.tagArg === undefined || (isInt(f.tagArg) && f.tagArg < f.params)));
  if (!kOk) throw bad('kmdf needs bind, bindInfoParam, bindInfo offsets, pointerTableFromMinor and functions [{name, index, params, tagArg?}]');
  return t;
}

let table: FrameworkTable | undefined;

export function frameworkTable(): FrameworkTable {
  if (!table) {
    const url = new URL('../../data/tag-frameworks.json', import.meta.url);
    table = validate(JSON.parse(readFileSync(url, 'utf8')), url.pathname);
  }
  return table;
}

/** KMDF functions that take a pool tag as an argument, as tag-taking APIs (stdcall on x86, like every WDF export). */
export function kmdfTagApis(): TagApi[] {
  return frameworkTable().kmdf.functions
    .filter((f) => f.tagArg !== undefined)
    .map((f) => ({ name: f.name, module: 'Wdf01000.sys', kind: 'pool', tagArg: f.tagArg!, params: f.params, x86: 'stdcall' }));
}

export function archOf(is64: boolean): keyof PerArch {
  return is64 ? 'x64' : 'x86';
}
