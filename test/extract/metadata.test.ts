// PE metadata ranges: what the code sweep and the data tier leave out, on synthetic images.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tagApis } from '../../src/extract/apis.js';
import { dataTags, findBytes } from '../../src/extract/data.js';
import { codeInput, extractTags } from '../../src/extract/extract.js';
import { metadataRanges } from '../../src/extract/metadata.js';
import { normalise, subtract } from '../../src/extract/ranges.js';
import { readPe } from '../../src/pe/read.js';
import { PeFormatError } from '../../src/pe/types.js';
import { formatTag } from '../../src/tag.js';
import { DATA, RDATA, TEXT, buildPe, importData } from '../pe/synth.js';

test('normalise joins overlapping and touching ranges; subtract cuts holes out', () => {
  assert.deepEqual(normalise([{ begin: 9, end: 12 }, { begin: 1, end: 3 }, { begin: 3, end: 5 }, { begin: 4, end: 4 }, { begin: 10, end: 20 }]), [
    { begin: 1, end: 5 },
    { begin: 9, end: 20 },
  ]);
  assert.deepEqual(subtract(0, 30, [{ begin: 0, end: 2 }, { begin: 5, end: 8 }, { begin: 25, end: 40 }]), [
    { begin: 2, end: 5 },
    { begin: 8, end: 25 },
  ]);
  assert.deepEqual(subtract(10, 20, [{ begin: 0, end: 50 }]), []);
});

/** x64, MSVC-style: the import directory and its name strings inside the executable section after the code. */
function importsInCode(): Uint8Array {
  const imp = importData(0x1040, [{ dll: 'ntoskrnl.exe', entries: ['KeBugCheckEx', 'ExAllocatePoolWithTag'] }], true);
  const text = new Uint8Array(0x40 + imp.data.length).fill(0xcc);
  // mov r8d,'Tag1'; call [rip+IAT slot of ExAllocatePoolWithTag]; ret
  const slot = imp.firstThunks[0] + 8;
  const call = [0x41, 0xb8, ...Buffer.from('Tag1', 'latin1'), 0xff, 0x15];
  const disp = slot - (0x1000 + call.length + 4);
  text.set([...call, disp & 0xff, (disp >> 8) & 0xff, (disp >> 16) & 0xff, (disp >>> 24) & 0xff, 0xc3]);
  text.set(imp.data, 0x40);
  return buildPe({
    machine: 0x8664,
    is64: true,
    sections: [{ name: 'INIT', rva: 0x1000, virtualSize: text.length, data: text, characteristics: TEXT }],
    directories: { 1: [0x1040, imp.size] },
  });
}

test('code sweep: the import descriptors, name tables, IAT and hint/name strings are cut out of the code', () => {
  const buf = importsInCode();
  const pe = readPe(buf);
  const code = codeInput(buf, pe, tagApis())!;
  assert.deepEqual(code.sections[0], { name: 'INIT', rva: 0x1000, bytes: buf.subarray(pe.rvaToOffset(0x1000), pe.rvaToOffset(0x1040)) });
  for (const s of code.sections) {
    for (const name of ['KeBugCheckEx', 'ExAllocatePoolWithTag', 'ntoskrnl.exe']) assert.deepEqual(findBytes(s.bytes, [...Buffer.from(name, 'latin1')]), [], name);
  }
  // The zero bytes that align strings and the directory's end are no code either.
  assert.equal(code.sections.length, 1);
  const r = extractTags(buf);
  assert.deepEqual(r.findings.map((f) => [formatTag(f.tag), f.tier]), [['Tag1', 'call']]);
});

/** .rdata with a real tag table, a debug directory and its CodeView record; a .reloc section of tag-like words. */
function withDebugAndReloc(): Uint8Array {
  const rdata = Buffer.alloc(0x100);
  rdata.writeUInt32LE(48, 0x00);
  rdata.write('TbS1', 0x04, 'latin1');
  // IMAGE_DEBUG_DIRECTORY at 0x2040: Type 2 (CodeView), SizeOfData 0x20, AddressOfRawData 0x2080.
  rdata.writeUInt32LE(2, 0x40 + 12);
  rdata.writeUInt32LE(0x20, 0x40 + 16);
  rdata.writeUInt32LE(0x2080, 0x40 + 20);
  rdata.write('RSDS', 0x80, 'latin1');
  rdata.writeUInt32LE(0x01020304, 0x84);
  const reloc = Buffer.alloc(0x20);
  reloc.writeUInt32LE(0x1000, 0);
  reloc.writeUInt32LE(0x10, 4);
  reloc.write('P4V4', 8, 'latin1');
  reloc.writeUInt32LE(0, 12);
  reloc.write('a4z4', 0x14, 'latin1');
  return buildPe({
    machine: 0x14c,
    is64: false,
    sections: [
      { name: '.text', rva: 0x1000, virtualSize: 0x10, data: new Uint8Array(0x10).fill(0xc3), characteristics: TEXT },
      { name: '.rdata', rva: 0x2000, virtualSize: 0x100, data: rdata, characteristics: RDATA },
      { name: '.reloc', rva: 0x3000, virtualSize: 0x20, data: reloc, characteristics: DATA },
    ],
    directories: { 5: [0x3000, 0x10], 6: [0x2040, 28] },
  });
}

test('data tier: the debug directory, its CodeView record and .reloc are not tag tables', () => {
  const buf = withDebugAndReloc();
  const pe = readPe(buf);
  assert.deepEqual(metadataRanges(buf, pe).rvas, [
    { begin: 0x2040, end: 0x205c },
    { begin: 0x2080, end: 0x20a0 },
    { begin: 0x3000, end: 0x3020 },
  ]);
  assert.deepEqual(dataTags(buf, pe).map((d) => [formatTag(d.value), d.rva]), [['TbS1', 0x2004]]);
  const none = { rvas: [], offsets: [] };
  assert.deepEqual(dataTags(buf, pe, none).map((d) => formatTag(d.value)), ['TbS1', 'RSDS', 'P4V4', 'a4z4']);
});

test('metadataRanges survives a damaged import directory', () => {
  const buf = importsInCode();
  // Point the import directory past the end of the image: nothing to read, nothing thrown.
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dirs = view.getUint32(0x3c, true) + 24 + 112;
  view.setUint32(dirs + 8, 0x7fff0000, true);
  assert.deepEqual(metadataRanges(buf, readPe(buf)).rvas, [{ begin: 0x7fff0000, end: 0x7fff0000 + 40 }]);
});

test('hostile data directories: extraction still ends with a report or a PeFormatError', () => {
  const original = readFileSync(fileURLToPath(new URL('../fixtures/msvc/WinDivert64.sys', import.meta.url)));
  const dirs = original.readUInt32LE(0x3c) + 24 + 112;
  let x = 0x2545f491;
  const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
  for (let round = 0; round < 60; round++) {
    const buf = Buffer.from(original);
    for (let k = 0; k < 4; k++) {
      const slot = dirs + 8 * (next() % 16);
      // Mostly plausible RVAs and sizes, sometimes anything at all.
      buf.writeUInt32LE(next() % 4 === 0 ? next() : next() % 0x20000, slot);
      buf.writeUInt32LE(next() % 4 === 0 ? next() : next() % 0x4000, slot + 4);
    }
    try {
      const r = extractTags(buf);
      assert.ok(Array.isArray(r.findings));
    } catch (e) {
      assert.ok(e instanceof PeFormatError, String(e));
    }
  }
});
