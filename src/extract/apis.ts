// The table of tag-taking APIs (data/tag-apis.json) and where each one's tag argument sits per arch.
import { readFileSync } from 'node:fs';
import type { TagKind, ArgLocation, TagApi } from './types.js';

const RCX = 1;
const RDX = 2;
const R8 = 8;
const R9 = 9;
const X64_REG_PARAMS = [RCX, RDX, R8, R9];

/** Location of parameter `i` of an x64 function, at the call instruction. */
export function x64ParamLocation(i: number): ArgLocation {
  return i < 4 ? { reg: X64_REG_PARAMS[i] } : { stack: 0x20 + 8 * (i - 4) };
}

/** Location of the tag argument of `api` at the call instruction. Stack offsets are relative to rsp/esp. */
export function tagLocation(api: TagApi, bitness: 32 | 64): ArgLocation {
  if (bitness === 64) return x64ParamLocation(api.tagArg);
  if (api.x86 === 'fastcall') {
    if (api.tagArg < 2) return { reg: api.tagArg === 0 ? RCX : RDX };
    return { stack: 4 * (api.tagArg - 2) };
  }
  return { stack: 4 * (api.x86TagSlot ?? api.tagArg) };
}

/** Bytes an x86 callee pops off the stack on return; undefined when not known (another image's wrapper). */
export function x86PoppedBytes(api: TagApi): number | undefined {
  if (api.x86StackBytes !== undefined) return api.x86StackBytes;
  if (api.reaches !== undefined) return undefined;
  return api.x86 === 'fastcall' ? 4 * Math.max(0, api.params - 2) : 4 * api.params;
}

function validate(raw: unknown, file: string): TagApi[] {
  const apis = (raw as { apis?: unknown }).apis;
  if (!Array.isArray(apis)) throw new Error(`${file}: expected an object with an "apis" array`);
  return apis.map((a, i) => {
    const ok =
      a && typeof a.name === 'string' && typeof a.module === 'string' && (a.kind === 'pool' || a.kind === 'object-ref') &&
      Number.isInteger(a.tagArg) && Number.isInteger(a.params) && a.tagArg < a.params && (a.x86 === 'stdcall' || a.x86 === 'fastcall');
    if (!ok) throw new Error(`${file}: apis[${i}] needs name, module, kind pool|object-ref, tagArg < params, x86 stdcall|fastcall`);
    return a as TagApi;
  });
}

let table: Map<string, TagApi> | undefined;

/** Tag-taking APIs by imported name. */
export function tagApis(): Map<string, TagApi> {
  if (!table) {
    const url = new URL('../../data/tag-apis.json', import.meta.url);
    const list = validate(JSON.parse(readFileSync(url, 'utf8')), url.pathname);
    table = new Map(list.map((a) => [a.name, a]));
  }
  return table;
}
