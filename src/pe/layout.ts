import type { Section } from './types.js';

/** How RVAs map to file bytes, following the loader: headers first, then each section's file-backed part. */
export interface AddressMap {
  /** File offset of [rva, rva+length), or -1 when any of it is not backed by file bytes. */
  rvaToOffset(rva: number, length?: number): number;
  sectionAt(rva: number): Section | undefined;
}

export function addressMap(sections: readonly Section[], sizeOfHeaders: number, fileSize: number): AddressMap {
  // Sections with no virtual extent occupy no addresses; a zero VirtualSize means "use the raw size".
  const mapped = sections
    .map((s) => ({ s, extent: s.virtualSize || s.rawSize }))
    .filter(({ extent }) => extent > 0);
  const headerEnd = Math.min(sizeOfHeaders, fileSize, mapped.reduce((m, { s }) => Math.min(m, s.rva), Infinity));

  function find(rva: number) {
    return mapped.find(({ s, extent }) => rva >= s.rva && rva - s.rva < extent);
  }

  return {
    rvaToOffset(rva: number, length = 1): number {
      if (!Number.isSafeInteger(rva) || rva < 0 || length < 0) return -1;
      const hit = find(rva);
      if (!hit) return rva + length <= headerEnd ? rva : -1;
      const delta = rva - hit.s.rva;
      // Bytes past SizeOfRawData are zero-fill, and bytes past the virtual extent are not part of the section.
      const backed = Math.min(hit.s.rawSize, hit.extent);
      if (delta + length > backed) return -1;
      const offset = hit.s.rawOffset + delta;
      return offset + length <= fileSize ? offset : -1;
    },
    sectionAt(rva: number): Section | undefined {
      return Number.isSafeInteger(rva) ? find(rva)?.s : undefined;
    },
  };
}
