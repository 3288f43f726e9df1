// What a memory dumper writes for a loaded driver, made from its file: every section's bytes at its RVA in a
// SizeOfImage-long buffer (WinDbg `.writemem base L?SizeOfImage`, Volatility 2 `moddump --memory`, Volatility
// 3 `windows.modules --dump`). As in memory, the image is relocated to a kernel address (the loader also writes
// that base into the header's ImageBase) and its IAT holds resolved kernel addresses. Independent of src/pe on
// purpose: the reader under test must not be the one that built its input.

export interface DumpOptions {
  /**
   * 'kept': the linker's section table, whose raw offsets then point at other bytes (WinDbg, Volatility 2,
   * Rekall); 'rewritten': every PointerToRawData set to its VirtualAddress and both sizes to the section's
   * aligned extent (Volatility 3).
   */
  sectionTable: 'kept' | 'rewritten';
  /** Zero every discardable section (INIT, .reloc), as the kernel frees them after DriverEntry. */
  discard?: boolean;
  /** Leave the IAT as linked (name RVAs) instead of filling it with resolved kernel addresses. */
  unbound?: boolean;
}

const SCN_MEM_DISCARDABLE = 0x02000000;
const X64_BASE = 0xfffff80512340000n;
const X86_BASE = 0x8a340000n;

interface Header {
  is64: boolean;
  opt: number;
  sizeOfImage: number;
  sizeOfHeaders: number;
  sectionAlignment: number;
  imageBase: bigint;
  dirs: { rva: number; size: number }[];
  sections: { at: number; rva: number; vsize: number; raw: number; rawSize: number; flags: number }[];
}

function header(buf: Buffer): Header {
  const pe = buf.readUInt32LE(0x3c);
  const count = buf.readUInt16LE(pe + 6);
  const opt = pe + 24;
  const is64 = buf.readUInt16LE(opt) === 0x20b;
  const dirsAt = opt + (is64 ? 112 : 96);
  const table = opt + buf.readUInt16LE(pe + 20);
  return {
    is64,
    opt,
    sizeOfImage: buf.readUInt32LE(opt + 56),
    sizeOfHeaders: buf.readUInt32LE(opt + 60),
    sectionAlignment: buf.readUInt32LE(opt + 32),
    imageBase: is64 ? buf.readBigUInt64LE(opt + 24) : BigInt(buf.readUInt32LE(opt + 28)),
    dirs: Array.from({ length: 16 }, (_, i) => ({ rva: buf.readUInt32LE(dirsAt + 8 * i), size: buf.readUInt32LE(dirsAt + 8 * i + 4) })),
    sections: Array.from({ length: count }, (_, i) => {
      const at = table + 40 * i;
      return {
        at,
        vsize: buf.readUInt32LE(at + 8),
        rva: buf.readUInt32LE(at + 12),
        rawSize: buf.readUInt32LE(at + 16),
        raw: buf.readUInt32LE(at + 20),
        flags: buf.readUInt32LE(at + 36),
      };
    }),
  };
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

/** The memory-layout dump of the file-layout image `file`. */
export function memoryDump(file: Buffer, opts: DumpOptions): Buffer {
  const h = header(file);
  const out = Buffer.alloc(h.sizeOfImage);
  file.copy(out, 0, 0, Math.min(h.sizeOfHeaders, file.length));
  for (const s of h.sections) {
    if (s.raw === 0 || s.rawSize === 0) continue;
    const length = Math.min(s.rawSize, alignUp(s.vsize || s.rawSize, h.sectionAlignment), h.sizeOfImage - s.rva);
    file.copy(out, s.rva, s.raw, s.raw + length);
  }
  relocate(out, h, h.is64 ? X64_BASE : X86_BASE);
  if (!opts.unbound) bindImports(out, h);
  if (opts.discard) {
    for (const s of h.sections) if (s.flags & SCN_MEM_DISCARDABLE) out.fill(0, s.rva, Math.min(out.length, s.rva + alignUp(s.vsize || s.rawSize, h.sectionAlignment)));
  }
  if (opts.sectionTable === 'rewritten') {
    for (const s of h.sections) {
      const extent = alignUp(s.vsize || s.rawSize, h.sectionAlignment);
      out.writeUInt32LE(extent, s.at + 8);
      out.writeUInt32LE(extent, s.at + 16);
      out.writeUInt32LE(s.rva, s.at + 20);
    }
  }
  return out;
}

/** Applies the base relocations for a load at `base` and writes that base into ImageBase, as the loader does. */
function relocate(out: Buffer, h: Header, base: bigint): void {
  const delta = base - h.imageBase;
  const dir = h.dirs[5]!;
  for (let block = dir.rva; dir.rva !== 0 && block + 8 <= dir.rva + dir.size; ) {
    const page = out.readUInt32LE(block);
    const size = out.readUInt32LE(block + 4);
    if (size < 8) break;
    for (let e = block + 8; e + 2 <= block + size; e += 2) {
      const entry = out.readUInt16LE(e);
      const at = page + (entry & 0xfff);
      if (entry >> 12 === 3) out.writeUInt32LE(Number((BigInt(out.readUInt32LE(at)) + delta) & 0xffffffffn), at);
      if (entry >> 12 === 10) out.writeBigUInt64LE(BigInt.asUintN(64, out.readBigUInt64LE(at) + delta), at);
    }
    block += size;
  }
  if (h.is64) out.writeBigUInt64LE(base, h.opt + 24);
  else out.writeUInt32LE(Number(base), h.opt + 28);
}

/** Fills every IAT slot with a distinct kernel address, as the loader does when it resolves the imports. */
function bindImports(out: Buffer, h: Header): void {
  const size = h.is64 ? 8 : 4;
  let next = h.is64 ? 0xfffff80400a01000n : 0x80a01000n;
  for (let d = h.dirs[1]!.rva; d !== 0 && d + 20 <= out.length; d += 20) {
    const iat = out.readUInt32LE(d + 16);
    if (iat === 0 && out.readUInt32LE(d + 12) === 0) break;
    for (let slot = iat; slot + size <= out.length; slot += size) {
      const value = h.is64 ? out.readBigUInt64LE(slot) : BigInt(out.readUInt32LE(slot));
      if (value === 0n) break;
      if (h.is64) out.writeBigUInt64LE(next, slot);
      else out.writeUInt32LE(Number(next), slot);
      next += 0x40n;
    }
  }
}
