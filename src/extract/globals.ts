// Tags held in the image's own data: the value a global holds when no instruction stores to it, and the
// tag-like entries of a table read through an index or a walking pointer. The questions are asked only for
// the few globals and tables whose loads reach a tag argument, so the raw scan of the code that answers them
// (every reference to an address, then the instruction around each one, decoded) runs only then.
import { createRequire } from 'node:module';
import type * as Iced from 'iced-x86';
import type { PeImage, Section } from '../pe/types.js';
import { looksLikeTag } from '../tag.js';
import { mayBeTag } from './data.js';
import type { CodeInput } from './types.js';

const iced = createRequire(import.meta.url)('iced-x86') as typeof Iced;
const { Decoder, DecoderOptions, Instruction, InstructionInfoFactory, Mnemonic, OpAccess, OpKind, Register } = iced;

const SCN_MEM_WRITE = 0x80000000;
/** A table is read at most this far past its start (entries). */
const MAX_TABLE_ENTRIES = 256;
/** Decoding toward a reference starts at most this far before it (x86 code resynchronises within a few instructions). */
const MAX_SYNC = 4096;

/** What code does with the data at an address: only reads it, stores to it, or takes its address. */
type Use = 'read' | 'write' | 'address';

export type GlobalValue = { value: number } | 'written' | undefined;

/** The image's data as the resolution of tag arguments sees it (x64/x86: answers from a raw scan of the code). */
export interface HeldValues {
  /** The global's value when no code writes it; 'written' when an instruction stores to it; else undefined. */
  global(rva: number): GlobalValue;
  /**
   * The tag-like entries of a table whose first entry is at `rva`, the next `stride` bytes apart: `count`
   * entries when known, else the run of tag-like entries from the first. Undefined when code may write it.
   */
  table(rva: number, stride: number, count?: number): number[] | undefined;
  /** "global .data+0x3020" / "table .rdata+0x4000", for evidence. */
  name(rva: number, table: boolean): string;
  /** Where decoding may start to reach the instruction at `rva` on its boundary (the function's start). */
  alignWith?(regionBegin: (rva: number) => number | undefined): void;
}

interface Reference {
  /** Code RVA where the address (disp32 or absolute) sits. */
  at: number;
  /** The address as the raw bytes give it (x64: before the size of any trailing immediate is known). */
  target: number;
}

export class ImageData implements HeldValues {
  private refs?: Reference[];
  private readonly uses = new Map<number, Use[]>();
  private readonly view: DataView;
  private regionBegin: (rva: number) => number | undefined = () => undefined;

  alignWith(regionBegin: (rva: number) => number | undefined): void {
    this.regionBegin = regionBegin;
  }

  constructor(private readonly buf: Uint8Array, private readonly pe: PeImage, private readonly code: CodeInput) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  name(rva: number, table: boolean): string {
    return `${table ? 'table' : 'global'} ${this.pe.sectionAt(rva)?.name ?? ''}+0x${rva.toString(16)}`;
  }

  private u32(rva: number): number | undefined {
    const o = this.pe.rvaToOffset(rva);
    const s = this.pe.sectionAt(rva);
    // Past a section's file bytes the loader zero-fills: no value is held there.
    if (o < 0 || o + 4 > this.buf.byteLength || !s || rva + 4 > s.rva + s.rawSize) return undefined;
    return this.view.getUint32(o, true);
  }

  private writable(s: Section | undefined): boolean {
    return s !== undefined && (s.characteristics & SCN_MEM_WRITE) !== 0;
  }

  global(rva: number): GlobalValue {
    const s = this.pe.sectionAt(rva);
    if (!s || s.executable) return undefined;
    if (this.writable(s)) {
      const uses = this.usesOf(rva, rva + 4);
      if (uses.includes('write')) return 'written';
      if (uses.includes('address')) return undefined;
    }
    const v = this.u32(rva);
    return v === undefined ? undefined : { value: v };
  }

  table(rva: number, stride: number, count?: number): number[] | undefined {
    const s = this.pe.sectionAt(rva);
    if (!s || s.executable || stride <= 0) return undefined;
    // Without a bound on the index the table ends where the next datum code refers to begins, at the end
    // of the section's file bytes, after MAX_TABLE_ENTRIES, or at its first entry that is no tag.
    const sectionEnd = s.rva + Math.min(s.rawSize, s.virtualSize || s.rawSize);
    let end = Math.min(sectionEnd, rva + stride * (count ?? MAX_TABLE_ENTRIES));
    if (count === undefined) for (const r of this.references()) if (r.target >= rva + 4 && r.target < end) end = r.target;
    // A writable table is proven only when code never stores into it nor takes its address but to read it.
    if (this.writable(s) && this.usesOf(rva, end).some((u) => u !== 'read')) return undefined;
    const out: number[] = [];
    for (let a = rva; a + 4 <= end; a += stride) {
      const v = this.u32(a);
      const tag = v !== undefined && mayBeTag(v) && looksLikeTag(v);
      if (tag) out.push(v);
      else if (count === undefined) break;
    }
    return out;
  }

  /** Every place code names an address in a data section (a superset: raw bytes, not decoded), by target. */
  private references(): Reference[] {
    if (this.refs) return this.refs;
    const out: Reference[] = [];
    const data = this.code.dataRanges ?? [];
    // Most raw words are nowhere near the image: one compare against the span of all data rejects them.
    let lo = Infinity;
    let hi = -Infinity;
    for (const d of data) {
      lo = Math.min(lo, d.begin - 4);
      hi = Math.max(hi, d.end);
    }
    const inData = (t: number) => t >= lo && t < hi && data.some((d) => t >= d.begin - 4 && t < d.end);
    for (const sec of this.code.sections) {
      const b = sec.bytes;
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      if (this.code.bitness === 64) {
        // ModRM mod=00 r/m=101: a rip-relative disp32 follows.
        for (let i = 0; i + 5 <= b.length; i++) {
          if ((b[i] & 0xc7) !== 0x05) continue;
          const t = (sec.rva + i + 5 + dv.getInt32(i + 1, true)) >>> 0;
          if (inData(t)) out.push({ at: sec.rva + i + 1, target: t });
        }
      } else {
        const base = Number(this.code.imageBase & 0xffffffffn);
        for (let i = 0; i + 4 <= b.length; i++) {
          const t = (dv.getUint32(i, true) - base) >>> 0;
          if (inData(t)) out.push({ at: sec.rva + i, target: t });
        }
      }
    }
    return (this.refs = out.sort((x, y) => x.target - y.target));
  }

  /** How code uses the bytes [lo, hi): one entry per instruction found naming an address inside. */
  private usesOf(lo: number, hi: number): Use[] {
    const key = lo * 65536 + (hi - lo);
    const known = this.uses.get(key);
    if (known) return known;
    const out: Use[] = [];
    // x64: the raw target is short by the size of a trailing immediate (up to 4 bytes).
    const slack = this.code.bitness === 64 ? 4 : 0;
    const ins = new Instruction();
    const factory = new InstructionInfoFactory();
    // One decoder per section for all the references: each new one copies the whole section into wasm memory.
    const decoders = new Map<CodeInput['sections'][number], InstanceType<typeof Decoder>>();
    try {
      for (const r of this.references()) {
        if (r.target < lo - slack || r.target >= hi) continue;
        const use = this.useAt(r.at, lo, hi, ins, factory, decoders);
        if (use) out.push(use);
      }
    } finally {
      for (const d of decoders.values()) d.free();
      factory.free();
      ins.free();
    }
    this.uses.set(key, out);
    return out;
  }

  /** The use made by the instruction holding an address in [lo, hi) at `at`, decoded from its function's start. */
  private useAt(
    at: number, lo: number, hi: number, ins: InstanceType<typeof Instruction>, factory: InstanceType<typeof InstructionInfoFactory>,
    decoders: Map<CodeInput['sections'][number], InstanceType<typeof Decoder>>,
  ): Use | undefined {
    const sec = this.code.sections.find((s) => at >= s.rva && at < s.rva + s.bytes.length);
    if (!sec) return undefined;
    const base = this.code.bitness === 64 ? 0 : Number(this.code.imageBase & 0xffffffffn);
    let pos = Math.max(sec.rva, this.regionBegin(at) ?? sec.rva, at - MAX_SYNC);
    let decoder = decoders.get(sec);
    if (!decoder) decoders.set(sec, (decoder = new Decoder(this.code.bitness, sec.bytes, DecoderOptions.None)));
    decoder.position = pos - sec.rva;
    decoder.ip = BigInt(pos + base);
    while (pos <= at) {
      decoder.decodeOut(ins);
      if (pos + ins.length > at) return ins.isInvalid ? undefined : this.classify(ins, factory, lo, hi, base);
      pos += ins.length;
    }
    return undefined;
  }

  private classify(ins: InstanceType<typeof Instruction>, factory: InstanceType<typeof InstructionInfoFactory>, lo: number, hi: number, base: number): Use | undefined {
    const inside = (a: number) => a >= lo && a < hi;
    // An immediate that is the address (x86 mov reg,offset / push offset): the address escapes.
    for (let i = 0; i < ins.opCount; i++) {
      const k = ins.opKind(i);
      if ((k === OpKind.Immediate32 || k === OpKind.Immediate32to64) && inside((Number(ins.immediate(i) & 0xffffffffn) - base) >>> 0)) return 'address';
    }
    const hasMem = Array.from({ length: ins.opCount }, (_, i) => ins.opKind(i)).includes(OpKind.Memory);
    if (!hasMem) return undefined;
    const absolute = ins.memoryBase === Register.RIP || ins.memoryBase === Register.None || ins.memoryBase === Register.EIP;
    const target = (Number(ins.memoryDisplacement & 0xffffffffn) - base) >>> 0;
    if (!absolute || !inside(target)) return undefined;
    if (ins.mnemonic === Mnemonic.Lea) return 'address';
    const info = factory.info(ins);
    const mem = info.usedMemory();
    let use: Use = 'read';
    for (const m of mem) {
      // Only the access to the global counts (a push also writes the stack).
      const fixed = m.base === Register.RIP || m.base === Register.EIP || m.base === Register.None;
      const a = m.access;
      const writes = a === OpAccess.Write || a === OpAccess.CondWrite || a === OpAccess.ReadWrite || a === OpAccess.ReadCondWrite;
      if (fixed && writes && inside((Number(m.displacement & 0xffffffffn) - base) >>> 0)) use = 'write';
      m.free();
    }
    info.free();
    return use;
  }
}
