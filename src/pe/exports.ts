import type { Bytes } from './bytes.js';
import type { DataDirectory } from './headers.js';
import type { AddressMap } from './layout.js';
import { PeFormatError, type ExportEntry, type Exports } from './types.js';

/** More than any real image exports (ntoskrnl.exe: ~3,000): a bound for hostile counts. */
const MAX_EXPORTS = 65_536;
const MAX_NAME = 512;
const DIRECTORY_SIZE = 40;

/**
 * The export directory: the image's own name, a name lookup and (decoded on first use) every exported
 * function. Most images that export anything (DLLs: thousands of names) are only asked whether they export a
 * few names, which the sorted name table answers by binary search. Forwarders (an RVA inside the directory,
 * pointing at "dll.Function" text) are left out: no code of this image runs for them. A damaged directory
 * header is a warning and no exports; a damaged table later yields the entries read before the damage.
 */
export function readExports(b: Bytes, map: AddressMap, dir: DataDirectory, warnings: string[]): Exports | null {
  if (dir.rva === 0 || dir.size === 0) return null;
  let header: { module: string; base: number; functionCount: number; nameCount: number; functionsRva: number; namesRva: number; ordinalsRva: number };
  try {
    const at = offsetOf(map, dir.rva, DIRECTORY_SIZE, 'export directory');
    const nameRva = b.u32(at + 12, 'export directory');
    header = {
      module: '',
      base: b.u32(at + 16, 'export directory'),
      functionCount: b.u32(at + 20, 'export directory'),
      nameCount: b.u32(at + 24, 'export directory'),
      functionsRva: b.u32(at + 28, 'export directory'),
      namesRva: b.u32(at + 32, 'export directory'),
      ordinalsRva: b.u32(at + 36, 'export directory'),
    };
    if (header.functionCount > MAX_EXPORTS || header.nameCount > MAX_EXPORTS) throw new PeFormatError(`more than ${MAX_EXPORTS} exports`);
    if (nameRva !== 0) header.module = exportName(b, offsetOf(map, nameRva, 1, 'export module name'));
  } catch (e) {
    if (!(e instanceof PeFormatError)) throw e;
    warnings.push(`export directory unreadable: ${e.message}`);
    return null;
  }
  const h = header;
  // Name strings usually sit in the directory's own section: their offsets follow without a section lookup.
  const sec = map.sectionAt(dir.rva);
  const secOffset = sec ? map.rvaToOffset(sec.rva, 1) : -1;
  const secEnd = sec ? sec.rva + Math.min(sec.rawSize, sec.virtualSize || sec.rawSize) : 0;
  const nameOffset = (rva: number) =>
    sec && secOffset >= 0 && rva >= sec.rva && rva < secEnd ? secOffset + rva - sec.rva : offsetOf(map, rva, 1, 'export name');
  const namesOffset = h.nameCount > 0 ? map.rvaToOffset(h.namesRva, 4 * h.nameCount) : -1;
  const isForwarder = (rva: number) => rva >= dir.rva && rva < dir.rva + dir.size;
  const functionRva = (index: number) => b.u32(offsetOf(map, h.functionsRva + 4 * index, 4, 'export address table'), 'export address table');
  const nameAt = (i: number) => exportName(b, offsetOf(map, b.u32(offsetOf(map, h.namesRva + 4 * i, 4, 'export name table'), 'export name table'), 1, 'export name'));
  const indexAt = (i: number) => b.u16(offsetOf(map, h.ordinalsRva + 2 * i, 2, 'export ordinal table'), 'export ordinal table');

  let entries: ExportEntry[] | undefined;
  return {
    module: h.module,
    entries(): ExportEntry[] {
      if (entries) return entries;
      const list: ExportEntry[] = [];
      try {
        const names = new Map<number, string[]>();
        for (let i = 0; i < h.nameCount; i++) {
          const index = indexAt(i);
          const name = nameAt(i);
          const got = names.get(index);
          if (got) got.push(name);
          else names.set(index, [name]);
        }
        for (let i = 0; i < h.functionCount; i++) {
          const rva = functionRva(i);
          if (rva === 0 || isForwarder(rva)) continue;
          list.push({ ordinal: h.base + i, rva, names: names.get(i) ?? [] });
        }
      } catch (e) {
        if (!(e instanceof PeFormatError)) throw e;
      }
      return (entries = list);
    },
    rvaOf(name: string): number | undefined {
      // The loader binary-searches the name table: it is sorted by byte value. Names are compared as bytes,
      // without making a string of each one probed.
      try {
        let lo = 0;
        let hi = h.nameCount - 1;
        while (lo <= hi) {
          const mid = (lo + hi) >> 1;
          if (namesOffset < 0) throw new PeFormatError('export name table is not in the file');
          const at = nameOffset(b.u32(namesOffset + 4 * mid, 'export name table'));
          const c = compareName(b.buf, at, name);
          if (c === 0) {
            const index = indexAt(mid);
            if (index >= h.functionCount) return undefined;
            const rva = functionRva(index);
            return rva === 0 || isForwarder(rva) ? undefined : rva;
          }
          if (c < 0) lo = mid + 1;
          else hi = mid - 1;
        }
      } catch (e) {
        if (!(e instanceof PeFormatError)) throw e;
      }
      return undefined;
    },
  };
}

/** The NUL-terminated name at `at` against `name`, by byte value: negative, 0 or positive. */
function compareName(buf: Uint8Array, at: number, name: string): number {
  for (let i = 0; ; i++) {
    const x = at + i < buf.length ? buf[at + i] : 0;
    const y = i < name.length ? name.charCodeAt(i) : 0;
    if (x !== y || x === 0) return x - y;
  }
}

/** A NUL-terminated name: ntoskrnl.exe has thousands, so no Buffer is made per name (Bytes.cstring does). */
function exportName(b: Bytes, at: number): string {
  const end = b.buf.indexOf(0, at);
  if (end < 0 || end - at > MAX_NAME) throw b.error(`export name: no terminating NUL within ${MAX_NAME} bytes`, at);
  return String.fromCharCode.apply(null, b.buf.subarray(at, end) as unknown as number[]);
}

function offsetOf(map: AddressMap, rva: number, length: number, what: string): number {
  const offset = map.rvaToOffset(rva, length);
  if (offset < 0) throw new PeFormatError(`${what} at RVA 0x${rva.toString(16)} is not in the file`);
  return offset;
}
