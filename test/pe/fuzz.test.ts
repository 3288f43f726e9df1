import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readPe } from '../../src/pe/read.js';
import { Bytes } from '../../src/pe/bytes.js';
import { readHeaders, type PeHeaders } from '../../src/pe/headers.js';
import { addressMap } from '../../src/pe/layout.js';
import { PeFormatError } from '../../src/pe/types.js';
import { wine, wineMissing } from './wine.js';
import { RDATA, TEXT, buildPe, importData, versionBlob, versionResource } from './synth.js';
import { prng } from '../helpers/prng.js';

interface Seed {
  label: string;
  bytes: Uint8Array;
  headers: PeHeaders;
  peOffset: number;
  /** File ranges worth aiming at: import, resource and exception data. */
  targets: [number, number][];
}

function seed(label: string, file: Uint8Array): Seed {
  // A plain Uint8Array copy: Buffer#slice would share memory and let mutations pile up across cases.
  const bytes = new Uint8Array(file);
  const b = new Bytes(bytes);
  const headers = readHeaders(b);
  const map = addressMap(headers.sections, headers.sizeOfHeaders, bytes.length);
  const targets: [number, number][] = [];
  for (const d of headers.directories.slice(1, 4)) {
    const at = map.rvaToOffset(d.rva);
    if (d.rva !== 0 && at >= 0) targets.push([at, Math.max(64, Math.min(d.size, bytes.length - at))]);
  }
  return { label, bytes, headers, peOffset: new DataView(bytes.buffer, bytes.byteOffset).getUint32(0x3c, true), targets };
}

const EXTREMES = [0, 1, 0x7f, 0xff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff];

function mutate(s: Seed, rnd: () => number): Uint8Array {
  const int = (n: number) => Math.floor(rnd() * n);
  const out = s.bytes.slice();
  const v = new DataView(out.buffer);
  const value = () => (rnd() < 0.5 ? EXTREMES[int(EXTREMES.length)]! : rnd() < 0.5 ? int(out.length + 64) : int(2 ** 32));
  const put32 = (at: number, x: number) => { if (at >= 0 && at + 4 <= out.length) v.setUint32(at, x >>> 0, true); };
  const put16 = (at: number, x: number) => { if (at >= 0 && at + 2 <= out.length) v.setUint16(at, x & 0xffff, true); };
  const pe = s.peOffset;
  const opt = pe + 24;
  const dirs = opt + (s.headers.is64 ? 112 : 96);
  const table = opt + v.getUint16(pe + 20, true);
  let result: Uint8Array = out;
  const steps = 1 + int(3);
  for (let step = 0; step < steps; step++) {
    switch (int(9)) {
      case 0: // scattered byte flips
        for (let i = 0, n = 1 + int(32); i < n; i++) out[int(out.length)] ^= 1 << int(8);
        break;
      case 1: // byte flips in the headers and section table
        for (let i = 0, n = 1 + int(8); i < n; i++) out[int(Math.min(out.length, 0x400))] = int(256);
        break;
      case 2: { // random bytes in import, resource or exception data
        const [at, size] = s.targets[int(s.targets.length)] ?? [0, out.length];
        for (let i = 0, n = 1 + int(16); i < n; i++) out[Math.min(out.length - 1, at + int(size))] = int(256);
        break;
      }
      case 3: { // a header field set to an extreme or random value
        const fields = [
          () => put32(0x3c, value()), () => put16(pe + 4, value()), () => put16(pe + 6, value()),
          () => put32(pe + 12, value()), () => put32(pe + 16, value()), () => put16(pe + 20, value()),
          () => put16(opt, value()), () => put32(opt + 16, value()), () => put32(opt + 60, value()),
          () => put32(dirs - 4, value()), () => put32(dirs + int(16) * 8 + int(2) * 4, value()),
          () => put32(table + int(Math.max(1, s.headers.sections.length)) * 40 + 8 + int(8) * 4, value()),
        ];
        fields[int(fields.length)]!();
        break;
      }
      case 4: // truncation, mostly early in the file
        result = out.subarray(0, rnd() < 0.5 ? int(0x800) : int(out.length));
        break;
      case 5: { // huge counts: section count, resource directory counts, runaway import thunks
        put16(pe + 6, rnd() < 0.5 ? 96 : 0xffff);
        const [at] = s.targets[int(s.targets.length)] ?? [0];
        put16(at + 12, 0xffff);
        put16(at + 14, 0xffff);
        break;
      }
      case 6: { // resource cycles: every entry of a directory points back at the root
        const resource = s.headers.directories[2]!;
        const at = addressMap(s.headers.sections, s.headers.sizeOfHeaders, out.length).rvaToOffset(resource.rva, 16);
        if (resource.rva === 0 || at < 0) break;
        for (let i = 0; i < 8; i++) put32(at + 16 + i * 8 + 4, 0x80000000 | (rnd() < 0.5 ? 0 : int(64) * 8));
        break;
      }
      case 7: // no COFF symbols, so the image goes through pe-library
        put32(pe + 12, 0);
        put32(pe + 16, 0);
        break;
      case 8: { // a data directory aimed at the headers, the end of the file, or past it
        const d = 1 + int(3);
        put32(dirs + d * 8, [0, 0x3c, out.length - 8, out.length + 0x1000, value()][int(5)]!);
        put32(dirs + d * 8 + 4, value());
        break;
      }
    }
  }
  return result;
}

interface Outcome { parsed: number; rejected: number; warned: number }

function fuzz(seeds: Seed[], cases: number, seedValue: number): Outcome {
  const rnd = prng(seedValue);
  const outcome: Outcome = { parsed: 0, rejected: 0, warned: 0 };
  for (let i = 0; i < cases; i++) {
    const s = seeds[i % seeds.length]!;
    const input = mutate(s, rnd);
    try {
      const pe = readPe(input, s.label);
      outcome.parsed++;
      if (pe.warnings.length > 0) outcome.warned++;
      assert.ok(pe.sections.length <= 96);
      assert.ok(pe.imports.length <= 100_000);
      for (const rva of [0, pe.entryRva, Math.floor(rnd() * 2 ** 32), ...pe.imports.slice(0, 4).map((x) => x.iatRva)]) {
        const at = pe.rvaToOffset(rva);
        assert.ok(at === -1 || (at >= 0 && at < input.length), `${s.label} case ${i}: rvaToOffset(${rva}) = ${at}`);
        pe.sectionAt(rva);
      }
    } catch (e) {
      if (!(e instanceof PeFormatError)) {
        throw new Error(`${s.label} case ${i} (seed ${seedValue}) threw ${String(e)}`, { cause: e });
      }
      assert.match(e.message, new RegExp(`^${s.label.replace('.', '\\.')}: `));
      outcome.rejected++;
    }
  }
  return outcome;
}

test('fuzz: mutated wine drivers either parse or throw PeFormatError', { skip: wineMissing, timeout: 120_000 }, (t) => {
  const seeds = [
    seed('x64-hidclass.sys', wine('x64', 'hidclass.sys')),
    seed('x64-ksecdd.sys', wine('x64', 'ksecdd.sys')),
    seed('x86-ksecdd.sys', wine('x86', 'ksecdd.sys')),
    seed('x86-mountmgr.sys', wine('x86', 'mountmgr.sys')),
  ];
  const cases = 5000;
  const outcome = fuzz(seeds, cases, 0x5eed);
  t.diagnostic(`${cases} cases: ${JSON.stringify(outcome)}`);
  assert.equal(outcome.parsed + outcome.rejected, cases);
  assert.ok(outcome.parsed > 0 && outcome.rejected > 0 && outcome.warned > 0, JSON.stringify(outcome));
});

test('fuzz: mutated synthetic images (imports, version resource, ARM64 .pdata)', { timeout: 120_000 }, (t) => {
  const imports = importData(0x2000, [{ dll: 'ntoskrnl.exe', entries: ['ExAllocatePoolWithTag', 7, 'ExFreePoolWithTag'] }], true);
  const resource = versionResource(0x3000, versionBlob({ CompanyName: 'Contoso', FileVersion: '1.0' }));
  const pdata = new Uint8Array([0x00, 0x10, 0, 0, 0x41, 0, 0, 0, 0x40, 0x10, 0, 0, 0, 0x20, 0, 0]);
  const build = (machine: number) => buildPe({
    machine,
    is64: true,
    sections: [
      { name: '.text', rva: 0x1000, virtualSize: 0x100, data: new Uint8Array(0x100), characteristics: TEXT },
      { name: '.rdata', rva: 0x2000, virtualSize: imports.data.length, data: imports.data, characteristics: RDATA },
      { name: '.rsrc', rva: 0x3000, virtualSize: resource.length, data: resource, characteristics: RDATA },
      { name: '.pdata', rva: 0x4000, virtualSize: pdata.length, data: pdata, characteristics: RDATA },
    ],
    directories: { 1: [0x2000, imports.size], 2: [0x3000, resource.length], 3: [0x4000, pdata.length] },
  });
  const seeds = [seed('arm64.sys', build(0xaa64)), seed('x64.sys', build(0x8664))];
  assert.equal(readPe(seeds[0]!.bytes).functions.length, 2);
  const cases = 4000;
  const outcome = fuzz(seeds, cases, 0xc0ffee);
  t.diagnostic(`${cases} cases: ${JSON.stringify(outcome)}`);
  assert.equal(outcome.parsed + outcome.rejected, cases);
  assert.ok(outcome.parsed > 0 && outcome.rejected > 0 && outcome.warned > 0, JSON.stringify(outcome));
});
