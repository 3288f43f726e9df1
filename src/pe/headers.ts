import { Bytes } from './bytes.js';
import { type Machine, type PeImage, type Section } from './types.js';

export interface DataDirectory {
  rva: number;
  size: number;
}

/** What the file and optional headers and the section table say; both header readers produce this. */
export interface PeHeaders
  extends Pick<PeImage, 'machineCode' | 'is64' | 'imageBase' | 'entryRva' | 'subsystem' | 'timeDateStamp' | 'sections'> {
  sizeOfHeaders: number;
  /** SizeOfImage: the image's extent in memory, which a dump taken from memory is about as long as. */
  sizeOfImage: number;
  sectionAlignment: number;
  fileAlignment: number;
  /** Always 16 entries; those past NumberOfRvaAndSizes are zero. */
  directories: DataDirectory[];
}

export const DIR_EXPORT = 0;
export const DIR_IMPORT = 1;
export const DIR_RESOURCE = 2;
export const DIR_EXCEPTION = 3;
export const DIR_CERTIFICATE = 4;
export const DIR_DEBUG = 6;
export const DIR_LOAD_CONFIG = 10;
export const DIR_IAT = 12;

/** The Windows loader refuses images with more sections than this. */
export const MAX_SECTIONS = 96;

export const PE32_MAGIC = 0x10b;
export const PE32_PLUS_MAGIC = 0x20b;
const SECTION_HEADER_SIZE = 40;
const COFF_SYMBOL_SIZE = 18;
const SCN_CNT_CODE = 0x20;
const SCN_MEM_EXECUTE = 0x20000000;
/** Freed after initialisation (a driver's INIT section): absent from a memory dump taken later. */
export const SCN_MEM_DISCARDABLE = 0x02000000;

const MACHINES: Record<number, Machine> = {
  0x14c: 'x86',
  0x8664: 'x64',
  0xaa64: 'arm64',
  0x1c0: 'arm',
  0x1c4: 'arm',
  0x200: 'ia64',
};

export function machineName(code: number): Machine {
  return MACHINES[code] ?? 'unknown';
}

export function makeSection(
  name: string,
  rva: number,
  virtualSize: number,
  rawOffset: number,
  rawSize: number,
  characteristics: number,
): Section {
  // A section without both a file pointer and a raw size has no file bytes (the loader zero-fills it).
  const hasRaw = rawOffset !== 0 && rawSize !== 0;
  return {
    name,
    rva,
    virtualSize,
    rawOffset: hasRaw ? rawOffset : 0,
    rawSize: hasRaw ? rawSize : 0,
    characteristics,
    executable: (characteristics & (SCN_MEM_EXECUTE | SCN_CNT_CODE)) !== 0,
  };
}

/** Offsets of the NT headers' parts, shared with the pe-library guard. */
export interface NtLayout {
  peOffset: number;
  optOffset: number;
  magic: number;
  sizeOfOptionalHeader: number;
  sectionCount: number;
  sectionTable: number;
  symbolTable: number;
  symbolCount: number;
}

export function ntLayout(b: Bytes): NtLayout {
  if (b.length === 0) throw b.error('not a PE image: empty file');
  if (b.length < 64) throw b.error(`not a PE image: too short (${b.length} bytes; the DOS header alone is 64)`);
  if (b.u16(0, 'DOS header') !== 0x5a4d) throw b.error('not a PE image: no MZ signature', 0);
  const peOffset = b.u32(0x3c, 'DOS header e_lfanew');
  if (!b.has(peOffset, 4) || b.u32(peOffset, 'PE signature') !== 0x4550) {
    throw b.error('not a PE image: e_lfanew does not point at "PE\\0\\0"', peOffset);
  }
  const fh = peOffset + 4;
  const sectionCount = b.u16(fh + 2, 'file header NumberOfSections');
  const sizeOfOptionalHeader = b.u16(fh + 16, 'file header SizeOfOptionalHeader');
  const optOffset = fh + 20;
  const magic = b.u16(optOffset, 'optional header Magic');
  if (magic !== PE32_MAGIC && magic !== PE32_PLUS_MAGIC) {
    throw b.error(`optional header magic 0x${magic.toString(16)} is neither PE32 nor PE32+`, optOffset);
  }
  return {
    peOffset,
    optOffset,
    magic,
    sizeOfOptionalHeader,
    sectionCount,
    sectionTable: optOffset + sizeOfOptionalHeader,
    symbolTable: b.u32(fh + 8, 'file header PointerToSymbolTable'),
    symbolCount: b.u32(fh + 12, 'file header NumberOfSymbols'),
  };
}

/** Where the COFF string table (mingw's long section names) starts, if the image has a symbol table. */
export function coffStringTableOffset(nt: NtLayout): number | undefined {
  return nt.symbolTable === 0 ? undefined : nt.symbolTable + nt.symbolCount * COFF_SYMBOL_SIZE;
}

/**
 * The project's own header reader: used for every image pe-library refuses (e.g. mingw images with COFF
 * symbols). `strings`, when given, is the COFF string table read on its own (its offset 0 is the table's
 * start): a caller that holds only the file's first bytes still gets long section names.
 */
export function readHeaders(b: Bytes, strings?: Bytes): PeHeaders {
  const nt = ntLayout(b);
  const is64 = nt.magic === PE32_PLUS_MAGIC;
  const opt = nt.optOffset;
  const dirsAt = opt + (is64 ? 112 : 96);
  if (nt.sizeOfOptionalHeader < dirsAt - opt) {
    throw b.error(`SizeOfOptionalHeader ${nt.sizeOfOptionalHeader} is too small for a ${is64 ? 'PE32+' : 'PE32'} header`, nt.peOffset + 20);
  }
  if (nt.sectionCount > MAX_SECTIONS) {
    throw b.error(`${nt.sectionCount} sections (at most ${MAX_SECTIONS} allowed)`, nt.peOffset + 6);
  }
  const rvaCount = b.u32(dirsAt - 4, 'optional header NumberOfRvaAndSizes');
  const dirCount = Math.min(16, rvaCount, Math.floor((nt.sizeOfOptionalHeader - (dirsAt - opt)) / 8));
  const directories: DataDirectory[] = [];
  for (let i = 0; i < 16; i++) {
    directories.push(i < dirCount
      ? { rva: b.u32(dirsAt + i * 8, 'data directory'), size: b.u32(dirsAt + i * 8 + 4, 'data directory') }
      : { rva: 0, size: 0 });
  }
  const sections: Section[] = [];
  b.check(nt.sectionTable, nt.sectionCount * SECTION_HEADER_SIZE, 'section table');
  for (let i = 0; i < nt.sectionCount; i++) {
    const at = nt.sectionTable + i * SECTION_HEADER_SIZE;
    sections.push(makeSection(
      sectionName(b, at, nt, strings),
      b.u32(at + 12, 'section VirtualAddress'),
      b.u32(at + 8, 'section VirtualSize'),
      b.u32(at + 20, 'section PointerToRawData'),
      b.u32(at + 16, 'section SizeOfRawData'),
      b.u32(at + 36, 'section Characteristics'),
    ));
  }
  return {
    machineCode: b.u16(nt.peOffset + 4, 'file header Machine'),
    is64,
    imageBase: is64 ? b.u64(opt + 24, 'ImageBase') : BigInt(b.u32(opt + 28, 'ImageBase')),
    entryRva: b.u32(opt + 16, 'AddressOfEntryPoint'),
    subsystem: b.u16(opt + 68, 'Subsystem'),
    timeDateStamp: b.u32(nt.peOffset + 8, 'file header TimeDateStamp'),
    sizeOfHeaders: b.u32(opt + 60, 'SizeOfHeaders'),
    sizeOfImage: b.u32(opt + 56, 'SizeOfImage'),
    sectionAlignment: b.u32(opt + 32, 'SectionAlignment'),
    fileAlignment: b.u32(opt + 36, 'FileAlignment'),
    sections,
    directories,
  };
}

/** mingw writes names longer than 8 bytes (".debug_info") as "/N", an offset into the COFF string table. */
function sectionName(b: Bytes, at: number, nt: NtLayout, strings?: Bytes): string {
  const raw = b.paddedString(at, 8, 'section name');
  const m = /^\/(\d{1,7})$/.exec(raw);
  const table = coffStringTableOffset(nt);
  if (!m || table === undefined) return raw;
  const [source, at2] = strings ? [strings, Number(m[1])] : [b, table + Number(m[1])];
  if (!source.has(at2, 1)) return raw;
  try {
    return source.cstring(at2, 256, 'COFF string table');
  } catch {
    return raw;
  }
}
