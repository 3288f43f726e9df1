// extractTags / scanTagInFile against the ground-truth fixture drivers, synthetic images and wine's
// real drivers (a negative control: they make no tagged pool calls).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import iced from 'iced-x86';
import { analyseCode, codeInput, extractTags, scanTagInFile } from '../../src/extract/extract.js';
import { tagApis } from '../../src/extract/apis.js';
import { MAX_EVIDENCE, type DriverReport } from '../../src/extract/types.js';
import { readPe } from '../../src/pe/read.js';
import { formatTag, tagFromText } from '../../src/tag.js';
import { DATA, RDATA, TEXT, buildPe, importData } from '../pe/synth.js';
import { wine, wineDrivers, wineMissing } from '../pe/wine.js';
import type { ArchTruth } from '../helpers/truth.js';

const DRIVERS = fileURLToPath(new URL('../fixtures/drivers/', import.meta.url));
const fixturesMissing = existsSync(`${DRIVERS}truth.json`) ? false : `fixture drivers absent from ${DRIVERS}`;

interface DriverTruth {
  tagApis: string[];
  x64: ArchTruth;
  x86: ArchTruth;
}

const truth: { drivers: Record<string, DriverTruth> } | undefined = fixturesMissing
  ? undefined
  : JSON.parse(readFileSync(`${DRIVERS}truth.json`, 'utf8'));

const sorted = (xs: Iterable<string>) => [...xs].sort();
function tags(r: DriverReport, pick: (f: DriverReport['findings'][number]) => boolean): string[] {
  return sorted(r.findings.filter(pick).map((f) => formatTag(f.tag)));
}

for (const arch of ['x64', 'x86'] as const) {
  test(`fixture drivers (${arch}): exact call, protected, object-ref and code sets`, { skip: fixturesMissing }, () => {
    for (const [name, d] of Object.entries(truth!.drivers)) {
      const t = d[arch];
      const buf = readFileSync(`${DRIVERS}${arch}/${name}.sys`);
      const r = extractTags(buf, { path: `${name}.sys` });
      const msg = `${arch}/${name}.sys`;
      assert.equal(r.machine, arch, msg);
      assert.deepEqual(r.tagApis, sorted(d.tagApis), msg);
      assert.deepEqual(tags(r, (f) => f.kind === 'pool' && f.tier === 'call'), sorted(t.call), `${msg} call`);
      assert.deepEqual(tags(r, (f) => f.kind === 'pool' && f.tier === 'call' && f.protected), sorted(t.protected), `${msg} protected`);
      assert.deepEqual(tags(r, (f) => f.kind === 'object-ref' && f.tier === 'call'), sorted(t.objectRef), `${msg} object-ref`);
      assert.deepEqual(tags(r, (f) => f.kind === 'pool' && f.tier === 'code'), sorted(t.code), `${msg} code`);
      const poolCallOrCode = new Set(tags(r, (f) => f.kind === 'pool' && f.tier !== 'data'));
      for (const a of t.absent) assert.ok(!poolCallOrCode.has(a), `${msg}: ${a} must not be a pool tag at call/code tier`);

      for (const f of r.findings.filter((x) => x.tier === 'call')) {
        const want = f.kind === 'pool' ? t.apis[formatTag(f.tag)] : t.objectRefApis?.[formatTag(f.tag)];
        assert.deepEqual(f.apis, sorted(want ?? []), `${msg} apis of ${formatTag(f.tag)}`);
      }
      const via = tags(r, (f) => f.kind === 'pool' && f.tier === 'call' && f.evidence.every((e) => e.tier !== 'call' || e.via !== undefined));
      assert.deepEqual(via, sorted(t.viaWrapper), `${msg} via wrapper`);
      for (const [tag, where] of Object.entries(t.heldIn ?? {})) {
        const f = r.findings.find((x) => formatTag(x.tag) === tag)!;
        for (const e of f.evidence.filter((x) => x.tier === 'call')) assert.equal(e.heldIn, where, `${msg} ${tag} held in`);
      }
      const runtime = r.warnings.filter((w) => w.startsWith('tag chosen at run time')).map((w) => / read from (\S+),/.exec(w)![1]);
      assert.deepEqual([...new Set(runtime)].sort(), t.runtime ?? [], `${msg} run-time tags`);
      const wrappers = new Set(r.wrappers.map((w) => `${w.rva}/${w.param}/${w.api}`));
      for (const w of t.wrappersInclude) assert.ok(wrappers.has(`${w.rva}/${w.param - 1}/${w.api}`), `${msg} wrapper ${JSON.stringify(w)}`);
    }
  });

  test(`fixture drivers (${arch}): scanTagInFile matches findstr and labels each hit`, { skip: fixturesMissing }, () => {
    for (const [name, d] of Object.entries(truth!.drivers)) {
      const t = d[arch];
      const buf = readFileSync(`${DRIVERS}${arch}/${name}.sys`);
      const pe = readPe(buf);
      for (const tag of t.dataIncludes) assert.ok(scanTagInFile(buf, tagFromText(tag), pe).length > 0, `${name}: ${tag} occurs`);
      for (const tag of t.bytesAbsent) assert.deepEqual(scanTagInFile(buf, tagFromText(tag), pe), [], `${name}: ${tag} absent`);
      // Tags held in data sit in data bytes: scan places a hit by its bytes, so they are data hits there.
      for (const tag of t.call.filter((x) => !t.protected.includes(x) && !t.heldIn?.[x])) {
        const hits = scanTagInFile(buf, tagFromText(tag), pe);
        const call = hits.filter((h) => h.tier === 'call');
        assert.ok(call.length > 0, `${name}: ${tag} has a call-tier hit`);
        for (const h of call) assert.ok(t.apis[tag].includes(h.evidence!.api!), `${name}: ${tag} api ${h.evidence!.api}`);
      }
      for (const tag of t.code) assert.deepEqual(sorted(new Set(scanTagInFile(buf, tagFromText(tag), pe).map((h) => h.tier))), ['code'], `${name}: ${tag}`);
      for (const tag of ['With', 'Pool']) {
        assert.ok(scanTagInFile(buf, tagFromText(tag), pe).every((h) => h.tier === 'data'), `${name}: ${tag} only as bytes`);
      }
    }
  });
}

test('fixture report: evidence names section, RVA, API and instruction', { skip: fixturesMissing }, () => {
  const buf = readFileSync(`${DRIVERS}x64/direct.sys`);
  const r = extractTags(buf, { path: 'direct.sys' });
  assert.equal(r.path, 'direct.sys');
  assert.equal(r.size, buf.length);
  assert.equal(r.sha256, createHash('sha256').update(buf).digest('hex'));
  const f = r.findings.find((x) => formatTag(x.tag) === 'DrA1')!;
  assert.equal(f.tier, 'call');
  const ev = f.evidence[0];
  assert.equal(ev.tier, 'call');
  assert.equal(ev.api, 'ExAllocatePoolWithTag');
  assert.match(ev.instruction!, /^mov r8d,31417244h$/);
  assert.equal(ev.section, readPe(buf).sectionAt(ev.rva)!.name);
  // The unload routine lives in PAGE and ends in jmp [rip+IAT] to ExFreePoolWithTag.
  const free = r.findings.find((x) => formatTag(x.tag) === 'DrF1')!;
  assert.equal(free.evidence[0].section, 'PAGE');
});

/** x64 image: `mov r8d,'Many'; call [rip+IAT]` ten times, plus a tag in .rdata. */
function manyCalls(): Uint8Array {
  const imp = importData(0x3000, [{ dll: 'ntoskrnl.exe', entries: ['ExAllocatePoolWithTag'] }], true);
  const iat = imp.firstThunks[0];
  const code: number[] = [];
  for (let i = 0; i < 10; i++) {
    code.push(0x41, 0xb8, ...Buffer.from('Many', 'latin1'));
    const next = 0x1000 + code.length + 6;
    const disp = iat - next;
    code.push(0xff, 0x15, disp & 0xff, (disp >> 8) & 0xff, (disp >> 16) & 0xff, (disp >>> 24) & 0xff);
  }
  code.push(0xc3);
  const rdata = new Uint8Array(16);
  rdata.set(Buffer.from('Tabl', 'latin1'), 8);
  return buildPe({
    machine: 0x8664,
    is64: true,
    entryRva: 0x1000,
    sections: [
      { name: '.text', rva: 0x1000, virtualSize: code.length, data: Uint8Array.from(code), characteristics: TEXT },
      { name: '.rdata', rva: 0x2000, virtualSize: 16, data: rdata, characteristics: RDATA },
      { name: '.idata', rva: 0x3000, virtualSize: imp.data.length, data: imp.data, characteristics: DATA },
    ],
    directories: { 1: [0x3000, imp.size] },
  });
}

test('synthetic image: evidence is capped, sites counted, data-tier table found', () => {
  const r = extractTags(manyCalls());
  const many = r.findings.find((f) => formatTag(f.tag) === 'Many')!;
  assert.equal(many.tier, 'call');
  assert.equal(many.sites, 10);
  assert.equal(many.evidence.length, MAX_EVIDENCE);
  assert.deepEqual(many.apis, ['ExAllocatePoolWithTag']);
  assert.deepEqual(many.evidence.map((e) => e.rva), [0, 1, 2, 3, 4, 5, 6, 7].map((i) => 0x1000 + 12 * i));
  const tabl = r.findings.find((f) => formatTag(f.tag) === 'Tabl')!;
  assert.equal(tabl.tier, 'data');
  assert.deepEqual(tabl.evidence, [{ tier: 'data', section: '.rdata', rva: 0x2008 }]);
  assert.deepEqual(r.warnings, []);
});

test('ARM (32-bit Thumb) image: no decoding, data tier only, with a warning', () => {
  const rdata = new Uint8Array(16);
  rdata.set(Buffer.from('ArmT', 'latin1'), 4);
  const code = new Uint8Array(16);
  code.set(Buffer.from('Code', 'latin1'), 0);
  const buf = buildPe({
    machine: 0x1c4,
    is64: false,
    sections: [
      { name: '.text', rva: 0x1000, virtualSize: 16, data: code, characteristics: TEXT },
      { name: '.rdata', rva: 0x2000, virtualSize: 16, data: rdata, characteristics: RDATA },
    ],
  });
  const r = extractTags(buf);
  assert.equal(r.machine, 'arm');
  assert.deepEqual(r.findings.map((f) => [formatTag(f.tag), f.tier]), [['ArmT', 'data']]);
  assert.deepEqual(r.warnings, ['arm code is not decoded: only data-tier evidence']);
  assert.deepEqual(scanTagInFile(buf, tagFromText('Code')).map((h) => [h.tier, h.section, h.rva]), [['data', '.text', 0x1000]]);
});

test('scanTagInFile on a file that is not a PE: raw data hits by offset', () => {
  const buf = Buffer.from('xxProcyyProc', 'latin1');
  assert.deepEqual(scanTagInFile(buf, tagFromText('Proc')), [
    { offset: 2, tier: 'data' },
    { offset: 8, tier: 'data' },
  ]);
});

/** The decoder alone, for comparison with the analysis. */
function decodeOnly(bitness: 32 | 64, bytes: Uint8Array): void {
  const decoder = new iced.Decoder(bitness, bytes, iced.DecoderOptions.None);
  const ins = new iced.Instruction();
  for (let pos = 0; pos < bytes.length; ) {
    decoder.decodeOut(ins);
    pos += ins.length;
  }
  ins.free();
  decoder.free();
}

for (const arch of ['x64', 'x86'] as const) {
  test(`wine drivers (${arch}): no call-tier pool tags`, { skip: wineMissing }, (t) => {
    const names = wineDrivers(arch);
    assert.equal(names.length, 17);
    let largest: { name: string; code: number; buf: Buffer } = { name: '', code: 0, buf: Buffer.alloc(0) };
    for (const name of names) {
      const buf = wine(arch, name);
      const r = extractTags(buf, { path: name });
      assert.equal(r.machine, arch, name);
      assert.deepEqual(tags(r, (f) => f.tier === 'call'), [], `${arch}/${name}`);
      const code = codeInput(buf, readPe(buf), tagApis())!.sections.reduce((n, s) => n + s.bytes.length, 0);
      if (code > largest.code) largest = { name, code, buf };
    }
    // Decoder throughput on the largest code, after JIT warm-up: reported, not asserted.
    const input = codeInput(largest.buf, readPe(largest.buf), tagApis())!;
    const rounds = 20;
    for (let i = 0; i < rounds; i++) analyseCode(input);
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) analyseCode(input);
    const s = (performance.now() - t0) / 1000 / rounds;
    const r0 = performance.now();
    for (let i = 0; i < rounds; i++) for (const sec of input.sections) decodeOnly(input.bitness, sec.bytes);
    const raw = (performance.now() - r0) / 1000 / rounds;
    const mib = (secs: number) => (largest.code / 1048576 / secs).toFixed(1);
    t.diagnostic(`${arch}/${largest.name}: ${(largest.code / 1024).toFixed(0)} KiB of code analysed at ${mib(s)} MiB/s (bare decoding: ${mib(raw)} MiB/s)`);
  });
}
