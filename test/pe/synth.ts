// Builds small synthetic PE images for tests: real layouts with exactly the features a test needs.

export interface SynthSection {
  name: string;
  rva: number;
  virtualSize: number;
  /** File bytes; their length is SizeOfRawData (0 = no file data). */
  data: Uint8Array;
  characteristics: number;
}

export interface SynthImage {
  machine: number;
  is64: boolean;
  sections: SynthSection[];
  /** [rva, size] per data directory index. */
  directories?: Record<number, [number, number]>;
  entryRva?: number;
  imageBase?: bigint;
  /** Adds a COFF symbol table (one symbol) and string table, with the first section named through it. */
  coffSymbols?: { longName: string };
}

export const TEXT = 0x60000020;
export const RDATA = 0x40000040;
export const DATA = 0xc0000040;
const FILE_ALIGN = 0x200;

export class Writer {
  private bytes = new Uint8Array(256);
  private view = new DataView(this.bytes.buffer);
  length = 0;

  private grow(end: number): void {
    if (end > this.bytes.length) {
      const next = new Uint8Array(Math.max(end, this.bytes.length * 2));
      next.set(this.bytes);
      this.bytes = next;
      this.view = new DataView(next.buffer);
    }
    this.length = Math.max(this.length, end);
  }
  u16(at: number, v: number): void { this.grow(at + 2); this.view.setUint16(at, v, true); }
  u32(at: number, v: number): void { this.grow(at + 4); this.view.setUint32(at, v >>> 0, true); }
  u64(at: number, v: bigint): void { this.grow(at + 8); this.view.setBigUint64(at, v, true); }
  ascii(at: number, s: string): void { this.put(at, new Uint8Array([...Buffer.from(s, 'latin1'), 0])); }
  utf16(at: number, s: string): void { this.put(at, new Uint8Array(Buffer.from(s + '\0', 'utf16le'))); }
  put(at: number, b: Uint8Array): void { this.grow(at + b.length); this.bytes.set(b, at); }
  pad(to: number): void { this.grow(to); }
  result(): Uint8Array { return this.bytes.slice(0, this.length); }
}

export function buildPe(img: SynthImage): Uint8Array {
  const w = new Writer();
  const lfanew = 0x80;
  const optSize = img.is64 ? 240 : 224;
  const opt = lfanew + 24;
  const table = opt + optSize;
  const sizeOfHeaders = align(table + img.sections.length * 40, FILE_ALIGN);
  w.u16(0, 0x5a4d);
  w.u32(0x3c, lfanew);
  w.u32(lfanew, 0x4550);
  w.u16(lfanew + 4, img.machine);
  w.u16(lfanew + 6, img.sections.length);
  w.u32(lfanew + 8, 0x5f000000);
  w.u16(lfanew + 20, optSize);
  w.u16(lfanew + 22, 0x2102);
  w.u16(opt, img.is64 ? 0x20b : 0x10b);
  w.u32(opt + 16, img.entryRva ?? img.sections[0]?.rva ?? 0);
  if (img.is64) w.u64(opt + 24, img.imageBase ?? 0x140000000n);
  else w.u32(opt + 28, Number(img.imageBase ?? 0x10000n));
  w.u32(opt + 32, 0x1000);
  w.u32(opt + 36, FILE_ALIGN);
  const end = img.sections.reduce((m, s) => Math.max(m, s.rva + s.virtualSize), 0x1000);
  w.u32(opt + 56, align(end, 0x1000));
  w.u32(opt + 60, sizeOfHeaders);
  w.u16(opt + 68, 1);
  const dirs = opt + (img.is64 ? 112 : 96);
  w.u32(dirs - 4, 16);
  for (const [index, [rva, size]] of Object.entries(img.directories ?? {})) {
    w.u32(dirs + Number(index) * 8, rva);
    w.u32(dirs + Number(index) * 8 + 4, size);
  }
  let raw = sizeOfHeaders;
  img.sections.forEach((s, i) => {
    const at = table + i * 40;
    const name = img.coffSymbols && i === 0 ? '/4' : s.name;
    w.put(at, new Uint8Array(Buffer.from(name.padEnd(8, '\0').slice(0, 8), 'latin1')));
    w.u32(at + 8, s.virtualSize);
    w.u32(at + 12, s.rva);
    w.u32(at + 16, s.data.length);
    w.u32(at + 20, s.data.length ? raw : 0);
    w.u32(at + 36, s.characteristics);
    if (s.data.length) {
      w.put(raw, s.data);
      raw = align(raw + s.data.length, FILE_ALIGN);
      w.pad(raw);
    }
  });
  w.pad(raw);
  if (img.coffSymbols) {
    // One 18-byte symbol, then the string table: its 4-byte size, then names; "/4" is the first name.
    w.u32(lfanew + 12, raw);
    w.u32(lfanew + 16, 1);
    w.ascii(raw, '.file');
    const strings = raw + 18;
    w.ascii(strings + 4, img.coffSymbols.longName);
    w.u32(strings, 4 + img.coffSymbols.longName.length + 1);
  }
  return w.result();
}

export function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

export interface SynthDll {
  dll: string;
  /** A name imports by name, a number by ordinal. */
  entries: (string | number)[];
}

/** An import directory placed at `base`; returns the bytes and each descriptor's FirstThunk. */
export function importData(base: number, dlls: SynthDll[], is64: boolean): { data: Uint8Array; size: number; firstThunks: number[] } {
  const w = new Writer();
  const ptr = is64 ? 8 : 4;
  const descriptors = (dlls.length + 1) * 20;
  let p = descriptors;
  const firstThunks: number[] = [];
  dlls.forEach((d, i) => {
    const lookup = p;
    const iat = lookup + (d.entries.length + 1) * ptr;
    p = iat + (d.entries.length + 1) * ptr;
    const name = p;
    w.ascii(name, d.dll);
    p = align(name + d.dll.length + 1, 2);
    d.entries.forEach((e, j) => {
      let thunk: bigint;
      if (typeof e === 'number') {
        thunk = (1n << BigInt(ptr * 8 - 1)) | BigInt(e);
      } else {
        w.u16(p, j);
        w.ascii(p + 2, e);
        thunk = BigInt(base + p);
        p = align(p + 2 + e.length + 1, 2);
      }
      for (const at of [lookup, iat]) {
        if (is64) w.u64(at + j * ptr, thunk);
        else w.u32(at + j * ptr, Number(thunk));
      }
    });
    w.pad(p);
    w.u32(i * 20, base + lookup);
    w.u32(i * 20 + 12, base + name);
    w.u32(i * 20 + 16, base + iat);
    firstThunks.push(base + iat);
  });
  w.pad(align(p, 4));
  return { data: w.result(), size: descriptors, firstThunks };
}

/** A VS_VERSIONINFO blob with one StringTable holding `strings`. */
export function versionBlob(strings: Record<string, string>): Uint8Array {
  const fixed = new Uint8Array(52);
  new DataView(fixed.buffer).setUint32(0, 0xfeef04bd, true);
  const entries = Object.entries(strings).map(([k, v]) => versionBlock(k, Buffer.from(v + '\0', 'utf16le'), true, [], v.length + 1));
  const table = versionBlock('040904b0', new Uint8Array(0), true, entries);
  const sfi = versionBlock('StringFileInfo', new Uint8Array(0), true, [table]);
  return versionBlock('VS_VERSION_INFO', fixed, false, [sfi]);
}

function versionBlock(key: string, value: Uint8Array, isText: boolean, children: Uint8Array[], valueLength = value.length): Uint8Array {
  const w = new Writer();
  w.u16(2, valueLength);
  w.u16(4, isText ? 1 : 0);
  w.utf16(6, key);
  let p = align(6 + (key.length + 1) * 2, 4);
  w.put(p, value);
  p = align(p + value.length, 4);
  for (const c of children) {
    w.put(p, c);
    p = align(p + c.length, 4);
  }
  const length = children.length ? p : Math.max(w.length, 6);
  w.u16(0, length);
  return w.result().slice(0, length);
}

/** A resource tree at `base` holding one RT_VERSION resource (name 1, language 0x409). */
export function versionResource(base: number, blob: Uint8Array): Uint8Array {
  const w = new Writer();
  const directory = (at: number, id: number, target: number) => {
    w.u16(at + 14, 1);
    w.u32(at + 16, id);
    w.u32(at + 20, target);
  };
  directory(0, 16, 0x80000000 | 24);
  directory(24, 1, 0x80000000 | 48);
  directory(48, 0x409, 72);
  w.u32(72, base + 88);
  w.u32(76, blob.length);
  w.put(88, blob);
  return w.result();
}
