import { Bytes } from './bytes.js';
import { readFunctions } from './functions.js';
import { DIR_EXCEPTION, DIR_EXPORT, DIR_IMPORT, DIR_LOAD_CONFIG, DIR_RESOURCE, machineName, readHeaders, type DataDirectory } from './headers.js';
import { readExports } from './exports.js';
import { readImports } from './imports.js';
import { readGuardPointers } from './loadconfig.js';
import { addressMap, type AddressMap } from './layout.js';
import { readHeadersWithPeLibrary } from './pe-library-headers.js';
import { RT_VERSION, findResource } from './resources.js';
import { PeFormatError, type PeImage, type VersionInfo } from './types.js';
import { parseVersionInfo } from './version.js';

/**
 * Reads a PE image. Throws PeFormatError (naming `file` when given) only when the headers or section table are
 * unreadable; damaged imports, resources or exception data become `warnings` and the rest is still returned.
 */
export function readPe(buf: Uint8Array, file?: string): PeImage {
  const b = new Bytes(buf);
  // Only fatal errors name the file; warnings already belong to this image.
  const headers = readHeadersWithPeLibrary(b) ?? readHeaders(new Bytes(buf, file));
  const map = addressMap(headers.sections, headers.sizeOfHeaders, buf.byteLength);
  const warnings: string[] = [];
  const dirs = headers.directories;
  return {
    machine: machineName(headers.machineCode),
    machineCode: headers.machineCode,
    is64: headers.is64,
    imageBase: headers.imageBase,
    entryRva: headers.entryRva,
    subsystem: headers.subsystem,
    timeDateStamp: headers.timeDateStamp,
    sections: headers.sections,
    imports: readImports(b, map, dirs[DIR_IMPORT]!, headers.is64, warnings),
    exports: readExports(b, map, dirs[DIR_EXPORT]!, warnings),
    version: readVersion(b, map, dirs[DIR_RESOURCE]!, warnings),
    functions: readFunctions(b, map, dirs[DIR_EXCEPTION]!, headers.machineCode, warnings),
    guard: readGuardPointers(b, map, dirs[DIR_LOAD_CONFIG]!, headers.is64, headers.imageBase, warnings),
    rvaToOffset: (rva: number) => map.rvaToOffset(rva),
    sectionAt: (rva: number) => map.sectionAt(rva),
    warnings,
  };
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
