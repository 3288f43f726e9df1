// Images dumped from memory (WinDbg .writemem of a module's range, Volatility 2 moddump --memory, Volatility 3
// windows.modules --dump, Rekall moddump): each section's bytes sit at its RVA and the file is about
// SizeOfImage long. Volatility 3 rewrites the section table so every PointerToRawData equals its VirtualAddress,
// which any reader follows; the others keep the linker's table, whose raw offsets then point at other sections'
// bytes. This module is the one place that decides which layout a file is in: readPe returns a section table
// whose raw offsets point at each section's bytes in this file, and every later stage reads through it.
import type { Bytes } from './bytes.js';
import { DIR_DEBUG, DIR_EXCEPTION, DIR_EXPORT, DIR_IMPORT, DIR_RESOURCE, type DataDirectory, type PeHeaders } from './headers.js';
import { addressMap, type AddressMap } from './layout.js';
import type { Section } from './types.js';

export interface ImageLayout {
  /** 'memory' when the section table had to be re-pointed at the sections' RVAs. */
  memory: boolean;
  /** Every section with raw data has PointerToRawData = VirtualAddress (as linked with equal alignments, or rewritten by a dumper). */
  rawIsRva: boolean;
  /** Sections whose raw offsets point at their bytes in this file. */
  sections: Section[];
}

/** The structures whose parse tells the layouts apart, in the order they are tried. */
const PROBES: [number, string, Probe][] = [
  [DIR_IMPORT, 'import', importsProbe],
  [DIR_EXCEPTION, 'exception', exceptionProbe],
  [DIR_DEBUG, 'debug', debugProbe],
  [DIR_RESOURCE, 'resource', resourceProbe],
  [DIR_EXPORT, 'export', exportProbe],
];

type Probe = (r: Reader, dir: DataDirectory, h: PeHeaders) => boolean;

const backed = (s: Section) => s.rawSize > 0;

/**
 * Could this file be a memory dump with the linker's section table kept? Only then are the two layouts
 * compared: some section's raw offset differs from its RVA, and the file is as long as the image in memory,
 * give or take a page (a dumper writes SizeOfImage bytes, perhaps page-rounded; a linked file is shorter,
 * or longer by its COFF symbols or appended signature), and longer than the section table's raw data. Needs only the headers and the file's size, so `scan`
 * can tell from a file's first bytes whether its section table may be trusted.
 */
export function mayBeMemoryLayout(h: PeHeaders, fileSize: number): boolean {
  if (h.sizeOfImage === 0 || !dumpSized(h, fileSize) || !h.sections.some((s) => backed(s) && s.rawOffset !== s.rva)) return false;
  // A linked file whose last section's raw data (padded to FileAlignment) ends the file has nothing a dump
  // would have past it.
  const rawEnd = h.sections.reduce((end, s) => (backed(s) ? Math.max(end, s.rawOffset + s.rawSize) : end), 0);
  const fa = h.fileAlignment >= 0x200 && h.fileAlignment <= 0x10000 ? h.fileAlignment : 0x200;
  return fileSize > Math.ceil(rawEnd / fa) * fa;
}

function dumpSized(h: PeHeaders, fileSize: number): boolean {
  return Math.abs(fileSize - h.sizeOfImage) <= Math.max(h.sectionAlignment, 0x1000);
}

/**
 * The layout of the file in `b`: file layout (as linked) unless the image's own structures (import descriptors,
 * .pdata, debug directory, resources, exports) parse with each section at its RVA and not at its raw offset.
 * Throws (naming the file, when `b` does) when a dump-sized file parses neither way.
 */
export function imageLayout(b: Bytes, h: PeHeaders): ImageLayout {
  const withRaw = h.sections.filter(backed);
  const rawIsRva = withRaw.length > 0 && withRaw.every((s) => s.rawOffset === s.rva);
  if (rawIsRva || !mayBeMemoryLayout(h, b.length)) return { memory: false, rawIsRva, sections: h.sections };
  const atRva = memorySections(h.sections, b.length);
  const asFile = new Reader(b, addressMap(h.sections, h.sizeOfHeaders, b.length));
  const asMemory = new Reader(b, addressMap(atRva, h.sizeOfHeaders, b.length));
  const present = PROBES.filter(([i]) => h.directories[i]!.rva !== 0);
  const score = (r: Reader) => present.filter(([i, , probe]) => safely(() => probe(r, h.directories[i]!, h))).length;
  const fileScore = score(asFile);
  const memoryScore = score(asMemory);
  if (memoryScore > fileScore) return { memory: true, rawIsRva, sections: atRva };
  // Nothing parses either way, but at their RVAs the structures are zeros: pages missing from the dump (paged
  // out, or INIT freed), not contradictions. Read by RVA; what is missing gives no evidence.
  const missing = present.filter(([i]) => asMemory.zeros(h.directories[i]!.rva, 16)).length;
  if (fileScore === 0 && missing > 0) return { memory: true, rawIsRva, sections: atRva };
  if (fileScore === 0 && present.length > 0) {
    const names = present.map(([, name]) => name).join(', ');
    throw b.error(`neither file nor memory layout: the file is SizeOfImage long (as a memory dump is), but its ${names} ` +
      `director${present.length === 1 ? 'y parses' : 'ies parse'} neither at the sections' raw offsets nor at their RVAs`);
  }
  return { memory: false, rawIsRva, sections: h.sections };
}

/**
 * Each section at its RVA. A section keeps only the bytes the linker gave it (what lies past SizeOfRawData in
 * memory is the uninitialised tail, run-time state rather than the driver's own bytes), and what the dump cut off.
 */
function memorySections(sections: readonly Section[], fileSize: number): Section[] {
  return sections.map((s) => {
    const extent = s.virtualSize || s.rawSize;
    const size = backed(s) ? Math.max(0, Math.min(s.rawSize, extent, fileSize - s.rva)) : 0;
    return { ...s, rawOffset: size > 0 ? s.rva : 0, rawSize: size };
  });
}

function safely(probe: () => boolean): boolean {
  try {
    return probe();
  } catch {
    return false;
  }
}

/** Reads by RVA through one candidate layout; undefined when the bytes are not in the file. */
class Reader {
  constructor(private readonly b: Bytes, private readonly map: AddressMap) {}

  u16(rva: number): number | undefined {
    const o = this.map.rvaToOffset(rva, 2);
    return o < 0 ? undefined : this.b.u16(o, 'layout probe');
  }

  u32(rva: number): number | undefined {
    const o = this.map.rvaToOffset(rva, 4);
    return o < 0 ? undefined : this.b.u32(o, 'layout probe');
  }

  /** Are the `length` bytes at `rva` all zero (or not in the file at all)? */
  zeros(rva: number, length: number): boolean {
    const o = this.map.rvaToOffset(rva, length);
    return o < 0 || this.b.buf.subarray(o, o + length).every((x) => x === 0);
  }

  /** A NUL-terminated name of printable ASCII, 1 to `max` characters; undefined for anything else. */
  name(rva: number, max = 255): string | undefined {
    const o = this.map.rvaToOffset(rva, 1);
    if (o < 0) return undefined;
    const s = this.b.cstring(o, max, 'layout probe');
    return s.length > 0 && /^[\x21-\x7e][\x20-\x7e]*$/.test(s) ? s : undefined;
  }
}

const inImage = (rva: number | undefined, h: PeHeaders): rva is number => rva !== undefined && rva > 0 && rva < h.sizeOfImage;

/** The first import descriptor names a DLL and points at an IAT inside the image. */
function importsProbe(r: Reader, dir: DataDirectory, h: PeHeaders): boolean {
  const lookup = r.u32(dir.rva);
  const name = r.u32(dir.rva + 12);
  const iat = r.u32(dir.rva + 16);
  if (lookup === undefined || !inImage(name, h) || !inImage(iat, h)) return false;
  return (lookup === 0 || inImage(lookup, h)) && r.name(name) !== undefined;
}

/** The first RUNTIME_FUNCTIONs start in executable sections, in ascending order (x64/ARM64/IA64 only). */
function exceptionProbe(r: Reader, dir: DataDirectory, h: PeHeaders): boolean {
  const arm64 = h.machineCode === 0xaa64;
  if (!arm64 && h.machineCode !== 0x8664 && h.machineCode !== 0x200) return false;
  const size = arm64 ? 8 : 12;
  const count = Math.min(16, Math.floor(dir.size / size));
  let last = 0;
  for (let i = 0; i < count; i++) {
    const begin = r.u32(dir.rva + i * size);
    const end = r.u32(dir.rva + i * size + 4);
    if (begin === undefined || end === undefined || begin <= last) return false;
    if (!h.sections.some((s) => s.executable && begin >= s.rva && begin < s.rva + (s.virtualSize || s.rawSize))) return false;
    if (!arm64 && (end <= begin || end - begin > 0x100000)) return false;
    last = begin;
  }
  return count > 0;
}

const CODEVIEW = 2;
const RSDS = 0x53445352;
const NB10 = 0x3031424e;

/** Debug directory entries have known types and sizes, and a CodeView entry's data starts "RSDS" or "NB10". */
function debugProbe(r: Reader, dir: DataDirectory, h: PeHeaders): boolean {
  const count = Math.min(8, Math.floor(dir.size / 28));
  for (let i = 0; i < count; i++) {
    const at = dir.rva + i * 28;
    const type = r.u32(at + 12);
    const size = r.u32(at + 16);
    const rva = r.u32(at + 20);
    if (type === undefined || size === undefined || rva === undefined) return false;
    if (type === 0 || type > 32 || size === 0 || size > h.sizeOfImage || (rva !== 0 && !inImage(rva, h))) return false;
    if (type === CODEVIEW && rva !== 0) {
      const signature = r.u32(rva);
      if (signature !== RSDS && signature !== NB10) return false;
    }
  }
  return count > 0;
}

/** The resource root: no characteristics, a few entries, each a subdirectory inside the resource data. */
function resourceProbe(r: Reader, dir: DataDirectory): boolean {
  const characteristics = r.u32(dir.rva);
  const named = r.u16(dir.rva + 12);
  const ids = r.u16(dir.rva + 14);
  if (characteristics !== 0 || named === undefined || ids === undefined) return false;
  const count = named + ids;
  if (count === 0 || count > 64) return false;
  const first = r.u32(dir.rva + 20);
  return first !== undefined && first >>> 31 === 1 && (first & 0x7fffffff) < Math.max(dir.size, 16 + 8 * count + 1);
}

/** The export directory names the image and points at an address table inside it. */
function exportProbe(r: Reader, dir: DataDirectory, h: PeHeaders): boolean {
  const characteristics = r.u32(dir.rva);
  const name = r.u32(dir.rva + 12);
  const functions = r.u32(dir.rva + 20);
  const table = r.u32(dir.rva + 28);
  if (characteristics !== 0 || !inImage(name, h) || functions === undefined || functions > 0x10000) return false;
  return (functions === 0 || inImage(table, h)) && r.name(name) !== undefined;
}
