import type { Bytes } from './bytes.js';
import type { DataDirectory } from './headers.js';
import type { AddressMap } from './layout.js';
import { PeFormatError } from './types.js';

export const RT_VERSION = 16;
const MAX_ENTRIES_VISITED = 4096;
/** Type, name and language: resource trees are exactly three directories deep. */
const LEVELS = 3;

/**
 * File bytes of the first resource of the given type, or null when there is none. Walks the resource tree
 * itself (pe-library's parser throws when a section follows .rsrc); each directory is visited once and the
 * total number of entries read is capped, so cyclic or enormous trees end quickly.
 */
export function findResource(b: Bytes, map: AddressMap, dir: DataDirectory, typeId: number): Uint8Array | null {
  if (dir.rva === 0) return null;
  const visited = new Set<number>();
  let budget = MAX_ENTRIES_VISITED;

  function at(relative: number, length: number, what: string): number {
    const offset = map.rvaToOffset(dir.rva + relative, length);
    if (offset < 0) throw new PeFormatError(`${what} at RVA 0x${(dir.rva + relative).toString(16)} is not in the file`);
    return offset;
  }

  function walk(relative: number, level: number): Uint8Array | null {
    if (visited.has(relative)) return null;
    visited.add(relative);
    const head = at(relative, 16, 'resource directory');
    const count = b.u16(head + 12, 'resource directory') + b.u16(head + 14, 'resource directory');
    for (let i = 0; i < count; i++) {
      if (--budget < 0) throw new PeFormatError(`more than ${MAX_ENTRIES_VISITED} resource entries`);
      const entry = at(relative + 16 + i * 8, 8, 'resource directory entry');
      const id = b.u32(entry, 'resource directory entry');
      const target = b.u32(entry + 4, 'resource directory entry');
      if (level === 0 && id !== typeId) continue;
      const isDirectory = (target & 0x80000000) !== 0;
      const offset = target & 0x7fffffff;
      if (level < LEVELS - 1) {
        const found = isDirectory ? walk(offset, level + 1) : null;
        if (found) return found;
      } else if (!isDirectory) {
        const leaf = at(offset, 16, 'resource data entry');
        const rva = b.u32(leaf, 'resource data entry');
        const size = b.u32(leaf + 4, 'resource data entry');
        const start = map.rvaToOffset(rva, size);
        if (start < 0) throw new PeFormatError(`resource data (RVA 0x${rva.toString(16)}, ${size} bytes) is not in the file`, leaf);
        return b.buf.subarray(start, start + size);
      }
    }
    return null;
  }

  return walk(0, 0);
}
