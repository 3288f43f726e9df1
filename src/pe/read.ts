import { Bytes } from './bytes.js';
import { readFunctions } from './functions.js';
import {
  DIR_EXCEPTION, DIR_EXPORT, DIR_IAT, DIR_IMPORT, DIR_LOAD_CONFIG, DIR_RESOURCE, SCN_MEM_DISCARDABLE, machineName, readHeaders,
  type DataDirectory, type PeHeaders,
} from './headers.js';
import { readExports } from './exports.js';
import { iatHoldsAddresses, readImports, type ImportTable } from './imports.js';
import { readGuardPointers } from './loadconfig.js';
import { addressMap, type AddressMap } from './layout.js';
import { imageLayout } from './memory-layout.js';
import { readHeadersWithPeLibrary } from './pe-library-headers.js';
import { RT_VERSION, findResource } from './resources.js';
import { PeFormatError, type PeImage, type Section, type VersionInfo } from './types.js';
import { parseVersionInfo } from './version.js';

/**
 * Reads a PE image, in file layout (as linked) or memory layout (dumped from memory: each section at its RVA).
 * Throws PeFormatError (naming `file` when given) only when the headers or section table are unreadable, or
 * when a dump-sized file is consistent in neither layout; damaged imports, resources or exception data become
 * `warnings` and the rest is still returned.
 */
export function readPe(buf: Uint8Array, file?: string): PeImage {
  const b = new Bytes(buf);
  // Only fatal errors name the file; warnings already belong to this image.
  const named = new Bytes(buf, file);
  const headers = readHeadersWithPeLibrary(b) ?? readHeaders(named);
  const layout = imageLayout(named, headers);
  const map = addressMap(layout.sections, headers.sizeOfHeaders, buf.byteLength);
  const warnings: string[] = [];
  const dirs = headers.directories;
  const imports = readImports(b, map, dirs[DIR_IMPORT]!, headers.is64, warnings);
  const bound = imports.bound || iatHoldsAddresses(b, map, dirs[DIR_IAT]!, headers.is64);
  const note = layoutNote(headers, layout.memory, layout.rawIsRva, bound);
  const discarded = discardedImports(layout.sections, dirs[DIR_IMPORT]!, imports, note !== undefined);
  if (discarded) warnings.push(discarded);
  return {
    machine: machineName(headers.machineCode),
    machineCode: headers.machineCode,
    is64: headers.is64,
    imageBase: headers.imageBase,
    entryRva: headers.entryRva,
    subsystem: headers.subsystem,
    timeDateStamp: headers.timeDateStamp,
    sections: layout.sections,
    imports: imports.entries,
    exports: readExports(b, map, dirs[DIR_EXPORT]!, warnings),
    version: readVersion(b, map, dirs[DIR_RESOURCE]!, warnings),
    functions: readFunctions(b, map, dirs[DIR_EXCEPTION]!, headers.machineCode, warnings),
    guard: readGuardPointers(b, map, dirs[DIR_LOAD_CONFIG]!, headers.is64, headers.imageBase, warnings),
    rvaToOffset: (rva: number) => map.rvaToOffset(rva),
    sectionAt: (rva: number) => map.sectionAt(rva),
    layout: note ? 'memory' : 'file',
    ...(note ? { layoutNote: note } : {}),
    ...(discarded ? { importsDiscarded: discarded } : {}),
    warnings,
  };
}

/** Why the image reads as memory layout, or undefined for file layout. */
function layoutNote(h: PeHeaders, memory: boolean, rawIsRva: boolean, bound: boolean): string | undefined {
  if (memory) return "memory layout (dumped from memory): the section table's raw offsets do not point at the sections' bytes, which sit at their RVAs";
  if (!rawIsRva) return undefined;
  // Linked with equal file and section alignment, a file is in both layouts at once: only a bound IAT tells a dump.
  if (h.fileAlignment !== h.sectionAlignment) return 'memory layout (dumped from memory): each section raw offset equals its RVA';
  return bound ? 'memory layout (dumped from memory: its IAT holds resolved addresses); section raw offsets equal their RVAs' : undefined;
}

/**
 * Kernel drivers keep their import descriptors in INIT (or another discardable section), which the kernel frees
 * once DriverEntry returns: a dump taken later holds zeros or reused pages there. Without imports no call
 * can be proven to reach a tag API, which the report must say instead of silently offering only code-tier tags.
 */
function discardedImports(sections: readonly Section[], dir: DataDirectory, imports: ImportTable, dumped: boolean): string | undefined {
  // A directory too small for one descriptor and the null one is an image that imports nothing (mingw writes one).
  if (dir.rva === 0 || dir.size < 2 * 20 || !imports.empty) return undefined;
  const s = sections.find((x) => dir.rva >= x.rva && dir.rva < x.rva + (x.virtualSize || x.rawSize));
  const where = `the import directory (RVA 0x${dir.rva.toString(16)}${s ? `, in ${s.name}` : ''})`;
  if (s && (s.characteristics & SCN_MEM_DISCARDABLE) !== 0) {
    return `imports discarded: ${where} lies in a discardable section, which the kernel frees after DriverEntry (INIT freed), ` +
      'and holds no descriptors here: no call-tier proof is possible, only code- and data-tier evidence';
  }
  // A linked file may have an empty import table of its own; in a dump, an empty one is a page that was missing.
  if (!dumped) return undefined;
  return `imports unreadable: ${where} holds no descriptors (a page missing from the dump): no call-tier proof is possible, only code- and data-tier evidence`;
}

function readVersion(b: Bytes, map: AddressMap, dir: DataDirectory, warnings: string[]): VersionInfo | null {
  try {
    const data = findResource(b, map, dir, RT_VERSION);
    return data ? parseVersionInfo(data) : null;
  } catch (e) {
    if (!(e instanceof PeFormatError)) throw e;
    warnings.push(`version resource unreadable: ${e.message}`);
    return null;
  }
}
