// The data tier and the raw byte search behind `scan`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dataTags, findBytes, mayBeTag } from '../../src/extract/data.js';
import { locateOffset } from '../../src/pe/locate.js';
import { readPe } from '../../src/pe/read.js';
import { formatTag, looksLikeTag, tagFromText } from '../../src/tag.js';
import { DATA, RDATA, TEXT, buildPe } from '../pe/synth.js';

test('findBytes: every offset, overlapping ones included', () => {
  assert.deepEqual(findBytes(Buffer.from('aaaaaXaaaa', 'latin1'), [0x61, 0x61, 0x61, 0x61]), [0, 1, 6]);
  assert.deepEqual(findBytes(new Uint8Array([1, 2, 3]), [1, 2, 3, 4]), []);
  assert.deepEqual(findBytes(new Uint8Array([9, 1, 2, 3, 4]).subarray(1), [1, 2, 3, 4]), [0]);
});

test('mayBeTag never rejects what looksLikeTag accepts', () => {
  let x = 0x9e3779b9;
  for (let i = 0; i < 20000; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    // Bias towards printable bytes so both filters see plenty of candidates.
    const v = (x & 0x3f3f3f3f) + 0x30303030;
    if (looksLikeTag(v >>> 0)) assert.ok(mayBeTag(v >>> 0), formatTag(v >>> 0));
  }
  assert.ok(mayBeTag(tagFromText('Io  ')));
  assert.ok(!mayBeTag(tagFromText('\\x00abc')));
});

function image(): Uint8Array {
  const rdata = Buffer.alloc(0x60);
  rdata.write('a string holding DcS1 inside\0', 0, 'latin1');
  rdata.write('D\0c\0W\x001\0', 0x20, 'latin1'); // UTF-16: never four printable bytes
  rdata.writeUInt32LE(48, 0x30); // { size, tag } table entry: the size's low byte 0x30 is printable
  rdata.write('TbS1', 0x34, 'latin1');
  rdata.writeUInt32LE(96, 0x38);
  rdata.write('TbS2', 0x3c, 'latin1');
  rdata.write('Misa', 0x42, 'latin1'); // not 4-byte aligned
  rdata.writeUInt32LE((0x80000000 | tagFromText('Prot')) >>> 0, 0x48);
  const data = Buffer.alloc(0x10);
  data.write('Glob', 8, 'latin1');
  const text = Buffer.alloc(0x10, 0xcc);
  text.write('Code', 4, 'latin1');
  return buildPe({
    machine: 0x8664,
    is64: true,
    sections: [
      { name: '.text', rva: 0x1000, virtualSize: 0x10, data: text, characteristics: TEXT },
      { name: '.rdata', rva: 0x2000, virtualSize: 0x60, data: rdata, characteristics: RDATA },
      { name: '.data', rva: 0x3000, virtualSize: 0x10, data, characteristics: DATA },
    ],
  });
}

test('dataTags: aligned tag-like values outside code; strings, UTF-16 and code bytes are not tags', () => {
  const buf = image();
  const found = dataTags(buf, readPe(buf)).map((d) => `${formatTag(d.value & 0x7fffffff)} ${d.section} 0x${d.rva.toString(16)}${d.value >>> 31 ? ' protected' : ''}`);
  assert.deepEqual(found, ['TbS1 .rdata 0x2034', 'TbS2 .rdata 0x203c', 'Prot .rdata 0x2048 protected', 'Glob .data 0x3008']);
});

test('locateOffset maps file offsets to section and RVA', () => {
  const buf = image();
  const pe = readPe(buf);
  const at = findBytes(buf, [...Buffer.from('Code', 'latin1')])[0];
  assert.deepEqual(locateOffset(pe, at), { offset: at, section: '.text', rva: 0x1004, executable: true });
  assert.deepEqual(locateOffset(pe, 0), { offset: 0 });
  assert.deepEqual(locateOffset(undefined, 5), { offset: 5 });
});
