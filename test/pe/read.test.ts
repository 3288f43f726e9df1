import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readPe } from '../../src/pe/read.js';
import { Bytes } from '../../src/pe/bytes.js';
import * as PE from 'pe-library';
import { makeSection, readHeaders } from '../../src/pe/headers.js';
import { readHeadersWithPeLibrary } from '../../src/pe/pe-library-headers.js';
import { PeFormatError, type PeImage } from '../../src/pe/types.js';
import { wine, wineDrivers, wineMissing } from './wine.js';
import { prng } from '../helpers/prng.js';
import { DATA, RDATA, TEXT, buildPe, importData, versionBlob, versionResource, type SynthImage } from './synth.js';

// Import counts per driver, as `x86_64-w64-mingw32-objdump -p` lists them (same for both architectures).
const WINE_IMPORT_COUNTS: Record<string, number> = {
  'cng.sys': 2, 'fltmgr.sys': 22, 'hidclass.sys': 63, 'hidparse.sys': 28, 'http.sys': 68, 'ksecdd.sys': 21,
  'mountmgr.sys': 75, 'ndis.sys': 33, 'netio.sys': 49, 'nsiproxy.sys': 34, 'scsiport.sys': 21, 'tdi.sys': 21,
  'usbd.sys': 24, 'winebus.sys': 56, 'winehid.sys': 23, 'wineusb.sys': 41, 'winexinput.sys': 56,
};

function stripSymbols(buf: Buffer): Buffer {
  const copy = Buffer.from(buf);
  const lfanew = copy.readUInt32LE(0x3c);
  copy.writeUInt32LE(0, lfanew + 12);
  copy.writeUInt32LE(0, lfanew + 16);
  return copy;
}

function importOf(pe: PeImage, dll: string, name: string) {
  const found = pe.imports.find((i) => i.dll === dll && i.name === name);
  assert.ok(found, `${dll}!${name} not imported`);
  return found;
}

test('every wine driver parses with the import count objdump reports and no warnings', { skip: wineMissing }, () => {
  for (const arch of ['x64', 'x86'] as const) {
    const names = wineDrivers(arch);
    assert.deepEqual(names, Object.keys(WINE_IMPORT_COUNTS));
    for (const name of names) {
      const pe = readPe(wine(arch, name), name);
      assert.equal(pe.machine, arch, name);
      assert.equal(pe.imports.length, WINE_IMPORT_COUNTS[name], `${arch}/${name}`);
      assert.deepEqual(pe.warnings, [], `${arch}/${name}`);
      for (const i of pe.imports) assert.equal(pe.sectionAt(i.iatRva)?.name, '.idata', `${arch}/${name} ${i.name}`);
    }
  }
});

test('x64 hidclass.sys: headers, sections, ntoskrnl imports and .pdata functions', { skip: wineMissing }, () => {
  const pe = readPe(wine('x64', 'hidclass.sys'));
  assert.equal(pe.machineCode, 0x8664);
  assert.equal(pe.is64, true);
  assert.equal(pe.imageBase, 0x332e40000n);
  assert.equal(pe.entryRva, 0x43e0);
  assert.equal(pe.subsystem, 3);
  assert.equal(pe.timeDateStamp, 1676758571);
  assert.deepEqual(pe.sections.map((s) => s.name), [
    '.text', '.data', '.rodata', '.rdata', '.pdata', '.xdata', '.bss', '.edata', '.idata', '.rsrc', '.reloc',
    '.debug_aranges', '.debug_info', '.debug_abbrev', '.debug_line', '.debug_frame', '.debug_str', '.debug_loc',
    '.debug_ranges',
  ]);
  assert.deepEqual(pe.sections.filter((s) => s.executable).map((s) => s.name), ['.text']);
  assert.equal(pe.sectionAt(pe.entryRva)?.name, '.text');
  assert.deepEqual([...new Set(pe.imports.map((i) => i.dll))],
    ['hidparse.sys', 'kernel32.dll', 'ntdll.dll', 'ntoskrnl.exe', 'ucrtbase.dll', 'user32.dll', 'win32u.dll']);
  assert.equal(pe.imports.filter((i) => i.dll === 'ntoskrnl.exe').length, 30);
  // ntoskrnl's FirstThunk is 0xf360 (objdump -p); slots are 8 bytes apart.
  assert.equal(importOf(pe, 'ntoskrnl.exe', 'ObfReferenceObject').iatRva, 0xf360);
  assert.equal(importOf(pe, 'ntoskrnl.exe', 'ExAllocatePool').iatRva, 0xf368);
  assert.equal(pe.functions.length, 48);
  assert.deepEqual(pe.functions[0], { begin: 0x1030, end: 0x10c9 });
  for (const f of pe.functions) assert.equal(pe.sectionAt(f.begin)?.name, '.text');
  assert.equal(pe.version, null);
});

test('x86 hidclass.sys and ndis.sys: PE32 thunks, IAT slots 4 bytes apart, no .pdata', { skip: wineMissing }, () => {
  const pe = readPe(wine('x86', 'hidclass.sys'));
  assert.equal(pe.machine, 'x86');
  assert.equal(pe.machineCode, 0x14c);
  assert.equal(pe.is64, false);
  assert.equal(pe.imageBase, 0x6c0c0000n);
  assert.equal(pe.entryRva, 0x46d0);
  assert.equal(importOf(pe, 'ntoskrnl.exe', 'ObfReferenceObject').iatRva, 0xe224);
  assert.equal(importOf(pe, 'ntoskrnl.exe', 'ExAllocatePool').iatRva, 0xe228);
  // x86 hal.dll exports the spin-lock routines that x64 ntoskrnl exports.
  assert.deepEqual(pe.imports.filter((i) => i.dll === 'hal.dll').map((i) => [i.name, i.iatRva]),
    [['KeAcquireSpinLock', 0xe1d0], ['KeReleaseSpinLock', 0xe1d4]]);
  assert.deepEqual(pe.functions, []);
  assert.equal(pe.sections.length, 17);
  const ndis = readPe(wine('x86', 'ndis.sys'));
  assert.equal(ndis.subsystem, 1);
  assert.deepEqual(ndis.imports.filter((i) => i.dll === 'ntoskrnl.exe').map((i) => i.name),
    ['IoCompleteRequest', 'IoCreateDevice', 'IoCreateSymbolicLink', 'MmMapLockedPagesSpecifyCache', 'RtlInitUnicodeString']);
  assert.equal(importOf(ndis, 'ntoskrnl.exe', 'IoCreateDevice').iatRva, 0x11174);
});

test('ksecdd.sys carries a version resource on both architectures', { skip: wineMissing }, () => {
  for (const arch of ['x64', 'x86'] as const) {
    const pe = readPe(wine(arch, 'ksecdd.sys'));
    assert.equal(pe.version?.CompanyName, 'Microsoft Corporation', arch);
    assert.equal(pe.version?.FileVersion, '10.0.14393.187', arch);
    assert.equal(pe.version?.ProductVersion, '10.0.14393.197', arch);
    assert.equal(pe.version?.FileDescription, 'Wine ksecdd.sys', arch);
    assert.equal(pe.version?.OriginalFilename, 'ksecdd.sys', arch);
    assert.equal(pe.version?.ProductName, 'Wine', arch);
  }
});

test('images with COFF symbols: pe-library refuses them, the own reader resolves long section names', { skip: wineMissing }, () => {
  const buf = wine('x64', 'ndis.sys');
  const b = new Bytes(buf);
  assert.notEqual(buf.readUInt32LE(buf.readUInt32LE(0x3c) + 12), 0, 'fixture should have PointerToSymbolTable');
  assert.equal(readHeadersWithPeLibrary(b), null);
  const debugInfo = readHeaders(b).sections.find((s) => s.name === '.debug_info');
  assert.deepEqual([debugInfo?.virtualSize, debugInfo?.rawOffset], [0xb137, 0x14000]);
  assert.equal(readPe(buf).sections[11]!.name, '.debug_info');
});

test('pe-library and the own reader agree on every wine driver once its symbols are stripped', { skip: wineMissing }, () => {
  let compared = 0;
  for (const arch of ['x64', 'x86'] as const) {
    for (const name of wineDrivers(arch)) {
      const b = new Bytes(stripSymbols(wine(arch, name)));
      const viaLibrary = readHeadersWithPeLibrary(b);
      assert.ok(viaLibrary, `pe-library refused stripped ${arch}/${name}`);
      assert.deepEqual(viaLibrary, readHeaders(b), `${arch}/${name}`);
      compared++;
    }
  }
  assert.equal(compared, 34);
  // pe-library must also see the right bytes when the image is a view into a larger buffer.
  const file = stripSymbols(wine('x64', 'hidclass.sys'));
  const view = new Uint8Array(file.length + 8).fill(0xcc).subarray(5, 5 + file.length);
  view.set(file);
  assert.deepEqual(readHeadersWithPeLibrary(new Bytes(view)), readHeaders(new Bytes(file)));
});

function rdataImage(is64: boolean, dlls: Parameters<typeof importData>[1]) {
  const imports = importData(0x2000, dlls, is64);
  const img: SynthImage = {
    machine: is64 ? 0x8664 : 0x14c,
    is64,
    sections: [
      { name: '.text', rva: 0x1000, virtualSize: 0x10, data: new Uint8Array(0x10).fill(0xc3), characteristics: TEXT },
      { name: '.rdata', rva: 0x2000, virtualSize: imports.data.length, data: imports.data, characteristics: RDATA },
    ],
    directories: { 1: [0x2000, imports.size] },
  };
  return { img, firstThunks: imports.firstThunks };
}

test('synthetic imports: by ordinal, by name, several descriptors for one DLL, PE32 and PE32+', () => {
  for (const is64 of [false, true]) {
    const ptr = is64 ? 8 : 4;
    const { img, firstThunks } = rdataImage(is64, [
      { dll: 'ntoskrnl.exe', entries: ['ExAllocatePoolWithTag', 17] },
      { dll: 'HAL.dll', entries: [3] },
      { dll: 'ntoskrnl.exe', entries: ['ExFreePoolWithTag'] },
    ]);
    const viaLibrary = readPe(buildPe(img));
    const viaOwn = readPe(buildPe({ ...img, coffSymbols: { longName: '.text_long_name' } }));
    for (const pe of [viaLibrary, viaOwn]) {
      assert.equal(pe.is64, is64);
      assert.deepEqual(pe.imports, [
        { dll: 'ntoskrnl.exe', name: 'ExAllocatePoolWithTag', iatRva: firstThunks[0] },
        { dll: 'ntoskrnl.exe', ordinal: 17, iatRva: firstThunks[0]! + ptr },
        { dll: 'HAL.dll', ordinal: 3, iatRva: firstThunks[1] },
        { dll: 'ntoskrnl.exe', name: 'ExFreePoolWithTag', iatRva: firstThunks[2] },
      ]);
      assert.deepEqual(pe.warnings, []);
    }
    assert.equal(viaOwn.sections[0]!.name, '.text_long_name');
    assert.equal(viaLibrary.sections[0]!.name, '.text');
  }
});

test('a broken import table keeps the entries before the damage and warns', () => {
  const { img } = rdataImage(true, [{ dll: 'ntoskrnl.exe', entries: ['IoCreateDevice', 'IoDeleteDevice'] }]);
  const buf = buildPe(img);
  const rdata = 0x400; // first raw offset after .text
  const secondThunk = rdata + 40 + 8; // descriptors (2 x 20), then the lookup table
  new DataView(buf.buffer).setBigUint64(secondThunk, 0x7ffff000n, true);
  const pe = readPe(buf);
  assert.deepEqual(pe.imports.map((i) => i.name), ['IoCreateDevice']);
  assert.equal(pe.warnings.length, 1);
  assert.match(pe.warnings[0]!, /^import table unreadable after 1 entries: import name of ntoskrnl\.exe at RVA 0x7ffff000 is not in the file/);
});

function versionImage(resource: Uint8Array): SynthImage {
  return {
    machine: 0x8664,
    is64: true,
    sections: [
      { name: '.text', rva: 0x1000, virtualSize: 0x10, data: new Uint8Array(0x10), characteristics: TEXT },
      { name: '.rsrc', rva: 0x2000, virtualSize: resource.length, data: resource, characteristics: RDATA },
      // pe-library's resource parser fails when a section follows .rsrc; the own walker must not.
      { name: '.data', rva: 0x3000, virtualSize: 0x10, data: new Uint8Array(0x10), characteristics: DATA },
    ],
    directories: { 2: [0x2000, resource.length] },
  };
}

test('synthetic version resource, followed by another section', () => {
  const strings = { CompanyName: 'Contoso', FileVersion: '1.2.3.4', FileDescription: 'Tag test driver',
    OriginalFilename: 'tagtest.sys', ProductName: 'whose-tag', ProductVersion: '1.2', __proto__x: 'x' };
  const pe = readPe(buildPe(versionImage(versionResource(0x2000, versionBlob(strings)))));
  assert.deepEqual(pe.version, strings);
  assert.deepEqual(pe.warnings, []);
});

test('a resource directory that points back at itself ends without a version', () => {
  const resource = versionResource(0x2000, versionBlob({ CompanyName: 'Loop' }));
  new DataView(resource.buffer).setUint32(24 + 20, 0x80000000 | 0, true); // name level -> root
  const pe = readPe(buildPe(versionImage(resource)));
  assert.equal(pe.version, null);
  assert.deepEqual(pe.warnings, []);
});

test('a version block whose length overruns its parent becomes a warning', () => {
  const resource = versionResource(0x2000, versionBlob({ CompanyName: 'Broken' }));
  new DataView(resource.buffer).setUint16(88, 0xfff0, true); // VS_VERSION_INFO wLength
  const pe = readPe(buildPe(versionImage(resource)));
  assert.equal(pe.version, null);
  assert.deepEqual(pe.warnings, ['version resource unreadable: version block length 65520 does not fit its parent (at offset 0x0)']);
});

test('rvaToOffset and sectionAt: headers, short raw data, zero-sized and virtual-only sections', () => {
  const img: SynthImage = {
    machine: 0x14c,
    is64: false,
    sections: [
      { name: '.text', rva: 0x1000, virtualSize: 0x800, data: new Uint8Array(0x200), characteristics: TEXT },
      { name: '.empty', rva: 0x2000, virtualSize: 0, data: new Uint8Array(0), characteristics: DATA },
      { name: '.bss', rva: 0x3000, virtualSize: 0x100, data: new Uint8Array(0), characteristics: DATA },
      { name: '.big', rva: 0x4000, virtualSize: 0x10, data: new Uint8Array(0x200), characteristics: RDATA },
    ],
  };
  const pe = readPe(buildPe(img));
  assert.equal(pe.rvaToOffset(0), 0);
  assert.equal(pe.rvaToOffset(0x3c), 0x3c);
  assert.equal(pe.rvaToOffset(0x3ff), 0x3ff); // SizeOfHeaders is 0x400
  assert.equal(pe.rvaToOffset(0x400), -1);
  assert.equal(pe.sectionAt(0x3c), undefined);
  assert.equal(pe.rvaToOffset(0x1000), 0x400);
  assert.equal(pe.rvaToOffset(0x11ff), 0x5ff);
  assert.equal(pe.rvaToOffset(0x1200), -1); // past SizeOfRawData: zero-fill
  assert.equal(pe.sectionAt(0x1200)?.name, '.text');
  assert.equal(pe.sectionAt(0x1800), undefined);
  assert.equal(pe.sectionAt(0x2000), undefined);
  assert.equal(pe.sectionAt(0x3000)?.name, '.bss');
  assert.equal(pe.rvaToOffset(0x3000), -1);
  assert.equal(pe.rvaToOffset(0x400f), 0x60f);
  assert.equal(pe.rvaToOffset(0x4010), -1); // raw data past VirtualSize is not mapped
  assert.equal(pe.rvaToOffset(-1), -1);
  assert.equal(pe.rvaToOffset(2 ** 40), -1);
  assert.deepEqual(pe.sections.map((s) => [s.rawOffset, s.rawSize]), [[0x400, 0x200], [0, 0], [0, 0], [0x600, 0x200]]);
});

test('ARM64 .pdata: packed lengths and lengths read from .xdata', () => {
  const pdata = new Uint8Array(24);
  const v = new DataView(pdata.buffer);
  v.setUint32(0, 0x1000, true);
  v.setUint32(4, (0x10 << 2) | 1, true); // packed: 16 instructions
  v.setUint32(8, 0x1040, true);
  v.setUint32(12, 0x3000, true); // unpacked: .xdata record at 0x3000
  const xdata = new Uint8Array(8);
  new DataView(xdata.buffer).setUint32(0, 0x20, true); // FunctionLength = 32 instructions
  const pe = readPe(buildPe({
    machine: 0xaa64,
    is64: true,
    sections: [
      { name: '.text', rva: 0x1000, virtualSize: 0x100, data: new Uint8Array(0x100), characteristics: TEXT },
      { name: '.pdata', rva: 0x2000, virtualSize: 24, data: pdata, characteristics: RDATA },
      { name: '.xdata', rva: 0x3000, virtualSize: 8, data: xdata, characteristics: RDATA },
    ],
    directories: { 3: [0x2000, 24] },
  }));
  assert.equal(pe.machine, 'arm64');
  assert.deepEqual(pe.functions, [{ begin: 0x1000, end: 0x1040 }, { begin: 0x1040, end: 0x10c0 }]);
});

test('machine names', () => {
  const text = { name: '.text', rva: 0x1000, virtualSize: 0x10, data: new Uint8Array(0x10), characteristics: TEXT };
  const expected: [number, boolean, string][] = [
    [0x14c, false, 'x86'], [0x8664, true, 'x64'], [0xaa64, true, 'arm64'], [0x1c4, false, 'arm'],
    [0x1c0, false, 'arm'], [0x200, true, 'ia64'], [0x5032, false, 'unknown'],
  ];
  for (const [machine, is64, name] of expected) {
    const pe = readPe(buildPe({ machine, is64, sections: [text] }));
    assert.equal(pe.machine, name);
    assert.equal(pe.machineCode, machine);
  }
});

test('unreadable images throw PeFormatError naming the file and offset', () => {
  const good = buildPe({ machine: 0x8664, is64: true, sections: [] });
  const cases: [string, (b: Uint8Array) => Uint8Array, RegExp][] = [
    ['empty', () => new Uint8Array(0), /^x\.sys: not a PE image: empty file$/],
    ['two bytes', () => new Uint8Array([0x4d, 0x5a]), /^x\.sys: not a PE image: too short \(2 bytes; the DOS header alone is 64\)$/],
    ['text', () => new Uint8Array(Buffer.from('hello world'.repeat(10))), /no MZ signature/],
    ['e_lfanew', (b) => { new DataView(b.buffer).setUint32(0x3c, 0xffffff00, true); return b; },
      /^x\.sys: not a PE image: e_lfanew does not point at "PE\\0\\0" \(at offset 0xffffff00\)$/],
    ['magic', (b) => { new DataView(b.buffer).setUint16(0x98, 0x107, true); return b; },
      /optional header magic 0x107 is neither PE32 nor PE32\+ \(at offset 0x98\)$/],
    ['sections', (b) => { new DataView(b.buffer).setUint16(0x86, 97, true); return b; },
      /97 sections \(at most 96 allowed\) \(at offset 0x86\)$/],
    ['table', (b) => { new DataView(b.buffer).setUint16(0x86, 90, true); return b.slice(0, 0x400); },
      /^x\.sys: section table: 3600 bytes needed but the file has 512 \(at offset 0x188\)$/],
    ['optional', (b) => { new DataView(b.buffer).setUint16(0x94, 100, true); return b; },
      /SizeOfOptionalHeader 100 is too small for a PE32\+ header/],
  ];
  for (const [label, mutate, message] of cases) {
    assert.throws(() => readPe(mutate(good.slice()), 'x.sys'), (e: unknown) => {
      assert.ok(e instanceof PeFormatError, label);
      assert.match(e.message, message, label);
      return true;
    });
  }
});

/** What the header reader gave when it went through NtExecutable.from (which also copies every section). */
function viaNtExecutable(b: Bytes) {
  const viaViews = readHeadersWithPeLibrary(b);
  if (!viaViews) return null;
  let exe;
  try {
    exe = PE.NtExecutable.from(b.buf, { ignoreCert: true });
  } catch {
    return 'refused';
  }
  return {
    ...viaViews,
    sections: exe.getAllSections().map(({ info: s }) =>
      makeSection(s.name, s.virtualAddress, s.virtualSize, s.pointerToRawData, s.sizeOfRawData, s.characteristics)),
  };
}

test('the header views give the sections (and their order) NtExecutable.from gives, on real and mutated images', { skip: wineMissing }, () => {
  const rand = prng(11);
  let compared = 0;
  for (const arch of ['x64', 'x86'] as const) {
    for (const name of wineDrivers(arch)) {
      const clean = stripSymbols(wine(arch, name));
      for (let k = 0; k < 60; k++) {
        const buf = Buffer.from(clean);
        // Damage the headers and the section table most of the time, anywhere else now and then.
        const span = k % 4 === 3 ? buf.length : Math.min(buf.length, 1024);
        for (let j = 0; j < 1 + (k % 4); j++) buf[Math.floor(rand() * span)] = Math.floor(rand() * 256);
        const b = new Bytes(buf);
        const views = readHeadersWithPeLibrary(b);
        assert.deepEqual(views, viaNtExecutable(b) === 'refused' ? null : viaNtExecutable(b), `${arch}/${name} #${k}`);
        if (views) compared++;
      }
    }
  }
  assert.ok(compared > 500, `${compared} images read through pe-library`);
});
