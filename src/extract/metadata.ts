// Where a PE image keeps its own metadata (import and export tables, resources, relocations, debug data,
// the signature): bytes that are neither code nor the driver's data, so neither the code sweep nor the data
// tier looks at them. MSVC puts the import directory and its name strings inside the executable INIT
// section, where "KeBugCheckEx" decodes as `push 456B6365h`; a CodeView record starts with "RSDS".
import type { PeImage, Section } from '../pe/types.js';
import { type Range, normalise } from './ranges.js';

export interface Metadata {
  /** RVA ranges, sorted and disjoint. */
  rvas: Range[];
  /** File-offset ranges that no RVA maps (the certificate table, debug data outside the image), sorted and disjoint. */
  offsets: Range[];
}

const DIR_SECURITY = 4;
const DIR_DEBUG = 6;
const DIR_GLOBALPTR = 8;
const DIR_IMPORT = 1;
const DIR_DELAY_IMPORT = 13;
const MAX_DESCRIPTORS = 10_000;
const MAX_THUNKS = 100_000;
const MAX_NAME = 512;
const MAX_DEBUG_ENTRIES = 1_000;

/** Bounds-checked little-endian reads by RVA; undefined when the bytes are not in the file. */
class RvaReader {
  private readonly view: DataView;
  constructor(private readonly buf: Uint8Array, private readonly pe: PeImage) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** The section of the last read: import tables are read entry by entry from one or two sections. */
  private last: Section | undefined;

  private offset(rva: number, size: number): number | undefined {
    const s = this.last;
    let o: number;
    if (s && rva >= s.rva && rva + size <= s.rva + Math.min(s.rawSize, s.virtualSize || s.rawSize)) o = s.rawOffset + rva - s.rva;
    else {
      o = this.pe.rvaToOffset(rva);
      this.last = this.pe.sectionAt(rva);
    }
    return o >= 0 && o + size <= this.buf.byteLength ? o : undefined;
  }

  u32(rva: number): number | undefined {
    const o = this.offset(rva, 4);
    return o === undefined ? undefined : this.view.getUint32(o, true);
  }

  /** Thunk value; bit 63/31 (import by ordinal) is returned as `ordinal`. */
  thunk(rva: number, is64: boolean): { ordinal: boolean; value: number } | undefined {
    const lo = this.u32(rva);
    if (lo === undefined) return undefined;
    if (!is64) return { ordinal: lo >>> 31 === 1, value: lo };
    const hi = this.u32(rva + 4);
    if (hi === undefined) return undefined;
    return { ordinal: hi >>> 31 === 1, value: hi === 0 ? lo : -1 };
  }

  /** Length of the NUL-terminated string at `rva`, terminator included. */
  stringLength(rva: number): number | undefined {
    const o = this.offset(rva, 1);
    if (o === undefined) return undefined;
    const nul = this.buf.subarray(o, Math.min(this.buf.byteLength, o + MAX_NAME + 1)).indexOf(0);
    return nul < 0 ? undefined : nul + 1;
  }
}

/**
 * The import name table, IAT, DLL names and hint/name entries of each descriptor, which the import
 * directory's own range (the descriptors) does not cover. Stops quietly at damage: readPe warns already.
 */
function importRanges(r: RvaReader, pe: PeImage, dirRva: number, delay: boolean, out: Range[]): void {
  const ptr = pe.is64 ? 8 : 4;
  const size = delay ? 32 : 20;
  let thunks = 0;
  for (let i = 0; i < MAX_DESCRIPTORS; i++) {
    const at = dirRva + i * size;
    const words = Array.from({ length: size / 4 }, (_, k) => r.u32(at + 4 * k));
    if (words.some((w) => w === undefined)) return;
    out.push({ begin: at, end: at + size });
    // Delay-load descriptors of old linkers (attribute bit 0 clear) hold VAs instead of RVAs.
    const rebase = delay && (words[0]! & 1) === 0 ? Number(pe.imageBase & 0xffffffffn) : 0;
    const rva = (k: number) => (words[k] === 0 ? 0 : (words[k]! - rebase) >>> 0);
    const [nameRva, tables] = delay ? [rva(1), [rva(3), rva(4), rva(5), rva(6)]] : [words[3]!, [words[0]!, words[4]!]];
    if (nameRva === 0 && tables.every((t) => t === 0)) return;
    // Hint/name entries are reached through the import name table, or the IAT when there is none.
    const nameTable = delay ? tables[1] : tables[0] || tables[1];
    const nameLen = r.stringLength(nameRva);
    if (nameLen !== undefined) out.push({ begin: nameRva, end: nameRva + nameLen });
    for (const table of tables) {
      if (table === 0) continue;
      let n = 0;
      for (; thunks < MAX_THUNKS; n++, thunks++) {
        const t = r.thunk(table + n * ptr, pe.is64);
        if (!t || (t.value === 0 && !t.ordinal)) break;
        if (table === nameTable && !t.ordinal && t.value > 0) {
          const hintName = (t.value - rebase) >>> 0;
          const len = r.stringLength(hintName + 2);
          if (len !== undefined) out.push({ begin: hintName, end: hintName + 2 + len + ((len & 1) === 1 ? 1 : 0) });
        }
      }
      out.push({ begin: table, end: table + (n + 1) * ptr });
    }
  }
}

function debugRanges(r: RvaReader, dirRva: number, dirSize: number, rvas: Range[], offsets: Range[]): void {
  const count = Math.min(Math.floor(dirSize / 28), MAX_DEBUG_ENTRIES);
  for (let i = 0; i < count; i++) {
    const at = dirRva + 28 * i;
    const size = r.u32(at + 16);
    const rva = r.u32(at + 20);
    const offset = r.u32(at + 24);
    if (size === undefined || rva === undefined || offset === undefined) return;
    if (rva !== 0) rvas.push({ begin: rva, end: rva + size });
    if (offset !== 0) offsets.push({ begin: offset, end: offset + size });
  }
}

/** The optional header's data directories, read again here because PeImage does not carry them. */
export function dataDirectories(buf: Uint8Array): { rva: number; size: number }[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const u32 = (o: number) => (o >= 0 && o + 4 <= buf.byteLength ? view.getUint32(o, true) : undefined);
  const peAt = u32(0x3c);
  if (peAt === undefined || u32(peAt) !== 0x4550 || peAt + 26 > buf.byteLength) return [];
  const optAt = peAt + 24;
  const optSize = view.getUint16(peAt + 20, true);
  const magic = optAt + 2 <= buf.byteLength ? view.getUint16(optAt, true) : 0;
  const dirsAt = optAt + (magic === 0x20b ? 112 : 96);
  const count = Math.min(16, u32(dirsAt - 4) ?? 0, Math.max(0, Math.floor((optAt + optSize - dirsAt) / 8)));
  const out: { rva: number; size: number }[] = [];
  for (let i = 0; i < count; i++) {
    const rva = u32(dirsAt + 8 * i);
    const size = u32(dirsAt + 8 * i + 4);
    if (rva === undefined || size === undefined) break;
    out.push({ rva, size });
  }
  return out;
}

/** Every metadata range of the image (see the file comment). Never throws on a damaged image. */
export function metadataRanges(buf: Uint8Array, pe: PeImage): Metadata {
  const rvas: Range[] = [];
  const offsets: Range[] = [];
  const r = new RvaReader(buf, pe);
  // An image dumped from memory holds no byte at any file offset the linker wrote (the signature and unmapped
  // debug data were never loaded): those ranges would hide the driver's own bytes.
  const fileOffsets = pe.layout === 'memory' ? [] : offsets;
  dataDirectories(buf).forEach(({ rva, size }, i) => {
    if (rva === 0 || i === DIR_GLOBALPTR) return;
    // The certificate table is the one directory addressed by file offset.
    if (i === DIR_SECURITY) fileOffsets.push({ begin: rva, end: rva + size });
    else rvas.push({ begin: rva, end: rva + size });
    if (i === DIR_IMPORT) importRanges(r, pe, rva, false, rvas);
    if (i === DIR_DELAY_IMPORT) importRanges(r, pe, rva, true, rvas);
    if (i === DIR_DEBUG) debugRanges(r, rva, size, rvas, fileOffsets);
  });
  // Relocation blocks fill the .reloc section, padding included.
  for (const s of pe.sections) if (s.name === '.reloc') rvas.push({ begin: s.rva, end: s.rva + Math.max(s.virtualSize, s.rawSize) });
  return { rvas: normalise(rvas), offsets: normalise(offsets) };
}
