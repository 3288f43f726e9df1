import type { Bytes } from './bytes.js';
import type { DataDirectory } from './headers.js';
import type { AddressMap } from './layout.js';
import { PeFormatError, type ExportEntry, type Exports } from './types.js';

/** More than any real image exports (ntoskrnl.exe: ~3,000): a bound for hostile counts. */
const MAX_EXPORTS = 65_536;
const MAX_NAME = 512;
const DIRECTORY_SIZE = 40;

/**
 * The export directory: the image's own name and every exported function (ordinal, RVA, names). Forwarders
 * (an RVA inside the directory, pointing at "dll.Function" text) are left out: no code of this image runs for
 * them. A damaged directory yields what was read before the damage plus a warning.
 */
export function readExports(b: Bytes, map: AddressMap, dir: DataDirectory, warnings: string[]): Exports | null {
  if (dir.rva === 0 || dir.size === 0) return null;
  const entries: ExportEntry[] = [];
  let module = '';
  try {
    const at = offsetOf(map, dir.rva, DIRECTORY_SIZE, 'export directory');
    const nameRva = b.u32(at + 12, 'export directory');
    const base = b.u32(at + 16, 'export directory');
    const functionCount = b.u32(at + 20, 'export directory');
    const nameCount = b.u32(at + 24, 'export directory');
    const functionsRva = b.u32(at + 28, 'export directory');
    const namesRva = b.u32(at + 32, 'export directory');
    const ordinalsRva = b.u32(at + 36, 'export directory');
    if (functionCount > MAX_EXPORTS || nameCount > MAX_EXPORTS) throw new PeFormatError(`more than ${MAX_EXPORTS} exports`);
    if (nameRva !== 0) module = b.cstring(offsetOf(map, nameRva, 1, 'export module name'), MAX_NAME, 'export module name');
    const names = new Map<number, string[]>();
    for (let i = 0; i < nameCount; i++) {
      const index = b.u16(offsetOf(map, ordinalsRva + 2 * i, 2, 'export ordinal table'), 'export ordinal table');
      const nameAt = b.u32(offsetOf(map, namesRva + 4 * i, 4, 'export name table'), 'export name table');
      const name = b.cstring(offsetOf(map, nameAt, 1, 'export name'), MAX_NAME, 'export name');
      const list = names.get(index);
      if (list) list.push(name);
      else names.set(index, [name]);
    }
    for (let i = 0; i < functionCount; i++) {
      const rva = b.u32(offsetOf(map, functionsRva + 4 * i, 4, 'export address table'), 'export address table');
      if (rva === 0 || (rva >= dir.rva && rva < dir.rva + dir.size)) continue;
      entries.push({ ordinal: base + i, rva, names: names.get(i) ?? [] });
    }
  } catch (e) {
    if (!(e instanceof PeFormatError)) throw e;
    warnings.push(`export table unreadable after ${entries.length} entries: ${e.message}`);
  }
  return { module, entries };
}

function offsetOf(map: AddressMap, rva: number, length: number, what: string): number {
  const offset = map.rvaToOffset(rva, length);
  if (offset < 0) throw new PeFormatError(`${what} at RVA 0x${rva.toString(16)} is not in the file`);
  return offset;
}
