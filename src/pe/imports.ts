import type { Bytes } from './bytes.js';
import type { DataDirectory } from './headers.js';
import type { AddressMap } from './layout.js';
import { PeFormatError, type ImportEntry } from './types.js';

export const MAX_IMPORTS = 100_000;
const MAX_DESCRIPTORS = 10_000;
const MAX_NAME = 512;
const DESCRIPTOR_SIZE = 20;

export interface ImportTable {
  entries: ImportEntry[];
  /** The IAT holds resolved addresses where a file holds name RVAs: the image was dumped after the loader bound it. */
  bound: boolean;
  /** No entries: the directory reads as no descriptor at all (zeros), or as damage before the first entry. */
  empty: boolean;
}

/**
 * The import directory: one entry per IAT slot, by name or by ordinal. A damaged table yields the entries read
 * before the damage plus a warning, because the rest of the image is still worth analysing. Names come from
 * the import name table (OriginalFirstThunk), which the loader leaves alone: in an image dumped from memory
 * the IAT holds the resolved addresses, and only a table without a name table falls back on the IAT.
 */
export function readImports(b: Bytes, map: AddressMap, dir: DataDirectory, is64: boolean, warnings: string[]): ImportTable {
  const table: ImportTable = { entries: [], bound: false, empty: false };
  if (dir.rva === 0) return table;
  const imports = table.entries;
  let descriptors = 0;
  let damaged = false;
  try {
    for (let i = 0; ; i++) {
      if (i === MAX_DESCRIPTORS) throw new PeFormatError(`more than ${MAX_DESCRIPTORS} import descriptors`);
      const at = offsetOf(map, dir.rva + i * DESCRIPTOR_SIZE, DESCRIPTOR_SIZE, 'import descriptor');
      const lookupRva = b.u32(at, 'import descriptor');
      const boundAtBuild = b.u32(at + 4, 'import descriptor') !== 0;
      const nameRva = b.u32(at + 12, 'import descriptor');
      const firstThunk = b.u32(at + 16, 'import descriptor');
      if (nameRva === 0 && firstThunk === 0) break;
      descriptors++;
      const dll = b.cstring(offsetOf(map, nameRva, 1, 'import DLL name'), MAX_NAME, 'import DLL name');
      // BIND.EXE-bound files (a non-zero TimeDateStamp) hold addresses in their IAT too: not a sign of a dump.
      if (lookupRva !== 0 && lookupRva !== firstThunk && !boundAtBuild && slotBound(b, map, lookupRva, firstThunk, is64)) table.bound = true;
      if (readThunks(b, map, dll, lookupRva || firstThunk, firstThunk, is64, imports) === 'addresses') {
        table.bound = true;
        warnings.push(`imports of ${dll} have no names: its IAT holds resolved addresses (the image was dumped after loading) and it has no import name table`);
      }
    }
  } catch (e) {
    if (!(e instanceof PeFormatError)) throw e;
    damaged = true;
    warnings.push(`import table unreadable after ${imports.length} entries: ${e.message}`);
  }
  table.empty = imports.length === 0 && (descriptors === 0 || damaged);
  return table;
}

/** Does the first IAT slot hold an address where the name table holds a name RVA or ordinal? */
function slotBound(b: Bytes, map: AddressMap, lookupRva: number, iatRva: number, is64: boolean): boolean {
  const size = is64 ? 8 : 4;
  const name = map.rvaToOffset(lookupRva, size);
  const slot = map.rvaToOffset(iatRva, size);
  if (name < 0 || slot < 0) return false;
  const read = (o: number) => (is64 ? b.u64(o, 'import thunk') : BigInt(b.u32(o, 'import thunk')));
  const value = read(slot);
  return value !== read(name) && isAddress(value, is64);
}

/**
 * Does the IAT directory hold resolved addresses? Read on its own because a dump may have lost the import
 * descriptors (INIT freed) while the IAT, in .rdata, stays: it still tells that the image was loaded.
 */
export function iatHoldsAddresses(b: Bytes, map: AddressMap, dir: DataDirectory, is64: boolean): boolean {
  const size = is64 ? 8 : 4;
  for (let i = 0; i < Math.min(8, Math.floor(dir.size / size)); i++) {
    const at = map.rvaToOffset(dir.rva + i * size, size);
    if (dir.rva === 0 || at < 0) return false;
    if (isAddress(is64 ? b.u64(at, 'IAT') : BigInt(b.u32(at, 'IAT')), is64)) return true;
  }
  return false;
}

/** A resolved address: neither 0, a name RVA (below 2^31) nor an ordinal (top bit plus 16 bits). */
function isAddress(thunk: bigint, is64: boolean): boolean {
  const bits = is64 ? 64 : 32;
  const top = 1n << BigInt(bits - 1);
  if (thunk < 0x80000000n) return false;
  return (thunk & top) === 0n || (thunk & (top - 1n) & ~0xffffn) !== 0n;
}

/** Reads one descriptor's thunks; 'addresses' when they are resolved addresses and so give no names. */
function readThunks(
  b: Bytes, map: AddressMap, dll: string, lookupRva: number, iatRva: number, is64: boolean, out: ImportEntry[],
): 'names' | 'addresses' {
  const size = is64 ? 8 : 4;
  for (let i = 0; ; i++) {
    if (out.length === MAX_IMPORTS) throw new PeFormatError(`more than ${MAX_IMPORTS} imports`);
    const at = offsetOf(map, lookupRva + i * size, size, `import thunk of ${dll}`);
    const thunk = is64 ? b.u64(at, 'import thunk') : BigInt(b.u32(at, 'import thunk'));
    if (thunk === 0n) return 'names';
    if (lookupRva === iatRva && isAddress(thunk, is64)) return 'addresses';
    const slot = iatRva + i * size;
    const byOrdinal = (thunk >> BigInt(size * 8 - 1)) === 1n;
    if (byOrdinal) {
      out.push({ dll, ordinal: Number(thunk & 0xffffn), iatRva: slot });
      continue;
    }
    if (thunk > 0x7fffffffn) throw new PeFormatError(`import thunk 0x${thunk.toString(16)} of ${dll} is not a name RVA`, at);
    // IMAGE_IMPORT_BY_NAME: a 2-byte hint, then the name.
    const nameAt = offsetOf(map, Number(thunk), 3, `import name of ${dll}`);
    out.push({ dll, name: b.cstring(nameAt + 2, MAX_NAME, `import name of ${dll}`), iatRva: slot });
  }
}

function offsetOf(map: AddressMap, rva: number, length: number, what: string): number {
  const offset = map.rvaToOffset(rva, length);
  if (offset < 0) throw new PeFormatError(`${what} at RVA 0x${rva.toString(16)} is not in the file`);
  return offset;
}
