// Tags that frameworks use on a driver's behalf (KMDF, Filter Manager, NDIS parameter structures), judged
// against test/fixtures/frameworks/truth.json exactly per kind, plus KMDF's default-tag rule and a fuzz of
// the framework pass over mutated fixture images.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { extractTags } from '../../src/extract/extract.js';
import { kmdfDefaultTag, serviceNameOf } from '../../src/extract/frameworks/index.js';
import type { DriverReport } from '../../src/extract/types.js';
import { formatTag } from '../../src/tag.js';
import { prng } from '../helpers/prng.js';
import { needShared, sharedPath } from '../helpers/shared.js';

const DIR = fileURLToPath(new URL('../fixtures/frameworks/', import.meta.url));

interface CallTruth {
  api: string;
  source?: string;
  field?: string;
  viaWrapper?: boolean;
}
interface FileTruth {
  call: Record<string, CallTruth>;
  code: string[];
  data: string[];
}
const truth = JSON.parse(readFileSync(`${DIR}truth.json`, 'utf8')) as { files: Record<string, FileTruth> };

const tiered = (r: DriverReport, tier: string) => r.findings.filter((f) => f.tier === tier && f.kind === 'pool').map((f) => formatTag(f.tag)).sort();

for (const arch of ['x64', 'x86']) {
  for (const [file, want] of Object.entries(truth.files)) {
    test(`${arch}/${file}: call, code and data tiers exactly as truth.json says, each call with its kind of proof`, () => {
      const r = extractTags(readFileSync(`${DIR}${arch}/${file}`), { path: `${DIR}${arch}/${file}` });
      assert.equal(r.machine, arch);
      assert.deepEqual(tiered(r, 'call'), Object.keys(want.call).sort());
      assert.deepEqual(tiered(r, 'code'), [...want.code].sort());
      assert.deepEqual(tiered(r, 'data'), [...want.data].sort());
      for (const [tag, how] of Object.entries(want.call)) {
        const f = r.findings.find((x) => formatTag(x.tag) === tag)!;
        const calls = f.evidence.filter((e) => e.tier === 'call');
        assert.deepEqual(f.apis, [how.api], tag);
        assert.ok(calls.length > 0, tag);
        for (const e of calls) {
          assert.equal(e.source, how.source, `${tag} source`);
          assert.equal(e.field, how.field, `${tag} field`);
          assert.equal(e.via !== undefined, how.viaWrapper === true, `${tag} via`);
        }
      }
    });
  }
}

test('KMDF default tag: four characters of the service name, after a leading WDF in any case, else FxDr', () => {
  const cases: [string, string][] = [
    ['WdfTest', 'Test'],
    ['ab', 'FxDr'],
    ['amdacpbus2', 'amda'],
    ['WinDivert64', 'WinD'],
    ['wdfNetCx', 'NetC'],
    ['WDFabc', 'FxDr'],
    ['Wdf', 'FxDr'],
    ['abcd', 'abcd'],
    ['', 'FxDr'],
  ];
  for (const [service, tag] of cases) assert.equal(formatTag(kmdfDefaultTag(service)), tag, service);
  assert.equal(serviceNameOf('C:\\Windows\\System32\\drivers\\amdacpbus2.sys'), 'amdacpbus2');
  assert.equal(serviceNameOf('/mnt/fleet/host1/WdfTest.sys'), 'WdfTest');
  assert.equal(serviceNameOf('noext'), 'noext');
});

test('the same KMDF content under another name gets that name\'s default tag', () => {
  const buf = readFileSync(`${DIR}x64/WdfTest.sys`);
  const tags = (path: string) => extractTags(buf, { path }).findings.filter((f) => f.evidence.some((e) => e.source === 'kmdf-default')).map((f) => formatTag(f.tag));
  assert.deepEqual(tags('WdfTest.sys'), ['Test']);
  assert.deepEqual(tags('amdacpbus2.sys'), ['amda']);
  assert.deepEqual(tags('ab.sys'), ['FxDr']);
});

test('fuzz: 3,000 mutated framework images give a report or a PE format error, never a crash', () => {
  const seeds = ['x64', 'x86'].flatMap((arch) => Object.keys(truth.files).map((f) => new Uint8Array(readFileSync(`${DIR}${arch}/${f}`))));
  const rnd = prng(0x5eed12);
  const int = (n: number) => Math.floor(rnd() * n);
  let reports = 0;
  for (let i = 0; i < 3000; i++) {
    const out = seeds[i % seeds.length].slice();
    const v = new DataView(out.buffer);
    // Aim at the data sections (bind info, registrations, configs) and the code that points at them.
    for (let k = 1 + int(6); k > 0; k--) {
      const at = 0x200 + int(out.length - 0x204);
      if (rnd() < 0.5) v.setUint32(at, rnd() < 0.5 ? int(2 ** 32) : [0, 0xffff, 0x10000, 0x7fffffff, 0xffffffff][int(5)], true);
      else out[at] = int(256);
    }
    try {
      extractTags(out, { path: `case${i}.sys` });
      reports++;
    } catch (e) {
      assert.equal((e as Error).name, 'PeFormatError', `case ${i}: ${(e as Error).stack}`);
    }
  }
  assert.ok(reports > 2000, `${reports} of 3000 mutated images still read as PE images`);
});

test('System Informer: the Filter Manager context tag of every build that registers one is call-tier framework evidence, x64 and ARM64', { skip: needShared('drivers/systeminformer') }, () => {
  const dir = sharedPath('drivers/systeminformer/');
  let builds = 0;
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.truth.json'))) {
    const t = JSON.parse(readFileSync(`${dir}${name}`, 'utf8')) as {
      binaries: { file: string }[];
      trueTags: string[];
      detail: { macro: string; tag: string }[];
    };
    // KphpFltContextRegistration's one entry: KPH_TAG_FLT_STREAMHANDLE_CONTEXT (builds from 2023-12 on).
    const want = t.detail.filter((d) => d.macro === 'KPH_TAG_FLT_STREAMHANDLE_CONTEXT' && t.trueTags.includes(d.tag)).map((d) => d.tag);
    for (const b of t.binaries) {
      const r = extractTags(readFileSync(`${dir}${b.file}`), { path: b.file });
      const registered = r.findings
        .filter((f) => f.tier === 'call' && f.evidence.some((e) => e.source === 'framework' && e.api === 'FltRegisterFilter' && e.field === 'context registration'))
        .map((f) => formatTag(f.tag));
      assert.deepEqual(registered, want, b.file);
      // Nothing the framework pass adds lies outside the source truth.
      for (const f of r.findings.filter((x) => x.evidence.some((e) => e.source !== undefined))) {
        assert.ok(t.trueTags.includes(formatTag(f.tag)), `${b.file}: ${formatTag(f.tag)}`);
      }
      if (want.length > 0) builds++;
    }
  }
  assert.equal(builds, 6, 'three versions register a context, each built for x64 and ARM64');
});
