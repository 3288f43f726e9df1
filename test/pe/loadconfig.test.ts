// The load configuration's Control Flow Guard pointers (src/pe/loadconfig.ts): real MSVC images, images
// without the directory, and thousands of mutated directories (a result or a warning, never a throw).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readPe } from '../../src/pe/read.js';
import { Bytes } from '../../src/pe/bytes.js';
import { readHeaders } from '../../src/pe/headers.js';
import { addressMap } from '../../src/pe/layout.js';
import { PeFormatError } from '../../src/pe/types.js';
import { prng } from '../helpers/prng.js';

const fixture = (rel: string) => readFileSync(fileURLToPath(new URL(`../fixtures/${rel}`, import.meta.url)));
const DIR_LOAD_CONFIG = 10;

test('guard pointers: an MSVC x64 driver built with /guard:cf names both; images without a load configuration name none', () => {
  const x64 = readPe(fixture('msvc/WinDivert64.sys'));
  // The pointer variables sit in .rdata: the words at these RVAs hold the guard functions' addresses.
  assert.deepEqual(x64.guard, { checkSlot: 0xd1f0, dispatchSlot: 0xd1f8 });
  assert.equal(x64.sectionAt(0xd1f0)?.name, '.rdata');
  assert.deepEqual(readPe(fixture('drivers-arm64/direct.sys')).guard, {});
});

test('guard pointers: 3,000 mutated load configurations give pointers inside 32 bits or none, never a throw', () => {
  const base = new Uint8Array(fixture('msvc/WinDivert64.sys'));
  const headers = readHeaders(new Bytes(base));
  const dir = headers.directories[DIR_LOAD_CONFIG]!;
  const at = addressMap(headers.sections, headers.sizeOfHeaders, base.length).rvaToOffset(dir.rva, dir.size);
  assert.ok(at > 0);
  const peOffset = new DataView(base.buffer, base.byteOffset).getUint32(0x3c, true);
  const dirEntry = peOffset + 24 + 112 + DIR_LOAD_CONFIG * 8;
  const rnd = prng(0x10adc0f);
  const int = (n: number) => Math.floor(rnd() * n);
  const extremes = [0, 4, 0x70, 0x77, 0x78, 0x80, 0xffffffff, base.length, base.length - 2];
  let named = 0;
  for (let i = 0; i < 3000; i++) {
    const out = base.slice();
    const v = new DataView(out.buffer);
    switch (int(4)) {
      case 0: // random bytes in the structure, the guard fields most of all
        for (let k = 0, n = 1 + int(12); k < n; k++) out[at + (rnd() < 0.5 ? 0x70 + int(16) : int(dir.size))] = int(256);
        break;
      case 1: // the structure's own Size
        v.setUint32(at, extremes[int(extremes.length)]!, true);
        break;
      case 2: // the directory entry aimed elsewhere
        v.setUint32(dirEntry, rnd() < 0.5 ? extremes[int(extremes.length)]! : int(2 ** 32), true);
        v.setUint32(dirEntry + 4, extremes[int(extremes.length)]!, true);
        break;
      default: // guard pointers below the image base, huge, or zero
        v.setBigUint64(at + 0x70 + 8 * int(2), [0n, 1n, 0x140000000n, 0xffffffffffffffffn, BigInt(int(2 ** 32))][int(5)]!, true);
    }
    try {
      const pe = readPe(out, 'mutated.sys');
      for (const slot of [pe.guard?.checkSlot, pe.guard?.dispatchSlot]) {
        if (slot === undefined) continue;
        named++;
        assert.ok(Number.isSafeInteger(slot) && slot > 0 && slot < 2 ** 32, `case ${i}: ${slot}`);
      }
    } catch (e) {
      if (!(e instanceof PeFormatError)) throw new Error(`case ${i} threw ${String(e)}`, { cause: e });
    }
  }
  assert.ok(named > 1000, `${named} pointers named`);
});
