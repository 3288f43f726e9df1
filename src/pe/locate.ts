// Which section a file offset falls in. Needs only the section table, so `scan` can place a hit from a
// file's first bytes without reading or parsing the rest of the image.
import type { Section } from './types.js';

export interface FileLocation {
  offset: number;
  /** Section holding the offset; absent for headers, overlay (e.g. an appended signature) or non-PE files. */
  section?: string;
  rva?: number;
  executable?: boolean;
}

/** Map a file offset to its section and RVA. */
export function locateOffset(pe: { readonly sections: readonly Section[] } | undefined, offset: number): FileLocation {
  if (!pe) return { offset };
  for (const s of pe.sections) {
    if (offset >= s.rawOffset && offset < s.rawOffset + Math.min(s.rawSize, s.virtualSize || s.rawSize)) {
      return { offset, section: s.name, rva: s.rva + (offset - s.rawOffset), executable: s.executable };
    }
  }
  return { offset };
}
