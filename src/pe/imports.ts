import type { Bytes } from './bytes.js';
import type { DataDirectory } from './headers.js';
import type { AddressMap } from './layout.js';
import { PeFormatError, type ImportEntry } from './types.js';

export const MAX_IMPORTS = 100_000;
const MAX_DESCRIPTORS = 10_000;
const MAX_NAME = 512;
const DESCRIPTOR_SIZE = 20;

/**
 * The import directory: one entry per IAT slot, by name or by ordinal. A damaged table yields the entries read
 * before the damage plus a warning, because the rest of the image is still worth analysing.
 */
export function readImports(b: Bytes, map: AddressMap, dir: DataDirectory, is64: boolean, warnings: string[]): ImportEntry[] {
  const imports: ImportEntry[] = [];
  if (dir.rva === 0) return imports;
  try {
    for (let i = 0; ; i++) {
      if (i === MAX_DESCRIPTORS) throw new PeFormatError(`more than ${MAX_DESCRIPTORS} import descriptors`);
      const at = offsetOf(map, dir.rva + i * DESCRIPTOR_SIZE, DESCRIPTOR_SIZE, 'import descriptor');
      const lookupRva = b.u32(at, 'import descriptor');
      const nameRva = b.u32(at + 12, 'import descriptor');
      const firstThunk = b.u32(at + 16, 'import descriptor');
      if (nameRva === 0 && firstThunk === 0) break;
      const dll = b.cstring(offsetOf(map, nameRva, 1, 'import DLL name'), MAX_NAME, 'import DLL name');
      readThunks(b, map, dll, lookupRva || firstThunk, firstThunk, is64, imports);
    }
  } catch (e) {
    if (!(e instanceof PeFormatError)) throw e;
    warnings.push(`import table unreadable after ${imports.length} entries: ${e.message}`);
  }
  return imports;
}

function readThunks(
  b: Bytes, map: AddressMap, dll: string, lookupRva: number, iatRva: number, is64: boolean, out: ImportEntry[],
): void {
  const size = is64 ? 8 : 4;
  for (let i = 0; ; i++) {
    if (out.length === MAX_IMPORTS) throw new PeFormatError(`more than ${MAX_IMPORTS} imports`);
    const at = offsetOf(map, lookupRva + i * size, size, `import thunk of ${dll}`);
    const thunk = is64 ? b.u64(at, 'import thunk') : BigInt(b.u32(at, 'import thunk'));
    if (thunk === 0n) return;
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
