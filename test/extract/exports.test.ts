// Tag-taking functions across image boundaries: a kernel-like image's calls to its own exported APIs, the
// wrappers an image exports, and an importer's calls to another image's exported wrappers (fixture drivers
// kernel.sys, wrapexp.sys and wrapimp.sys, built by test/fixtures/drivers/build.sh).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { extractTags } from '../../src/extract/extract.js';
import { wrapperState } from '../../src/extract/exports.js';
import type { DriverReport } from '../../src/extract/types.js';
import { readPe } from '../../src/pe/read.js';
import { formatTag } from '../../src/tag.js';
import type { ArchTruth } from '../helpers/truth.js';

const DRIVERS = fileURLToPath(new URL('../fixtures/drivers/', import.meta.url));
const missing = existsSync(`${DRIVERS}x64/kernel.sys`) ? false : `fixture drivers absent from ${DRIVERS}`;
const truth = (): Record<string, { x64: ArchTruth; x86: ArchTruth }> => JSON.parse(readFileSync(`${DRIVERS}truth.json`, 'utf8')).drivers;
const file = (arch: string, name: string) => readFileSync(`${DRIVERS}${arch}/${name}.sys`);
const tagsAt = (r: DriverReport, tier: string) => r.findings.filter((f) => f.kind === 'pool' && f.tier === tier).map((f) => formatTag(f.tag)).sort();

for (const arch of ['x64', 'x86'] as const) {
  test(`${arch}: the export directory is read (names, ordinals, an ordinal-only export)`, { skip: missing }, () => {
    const pe = readPe(file(arch, 'wrapexp'));
    assert.equal(pe.exports?.module, 'wrapexp.sys');
    assert.deepEqual(pe.exports?.entries().map((e) => [e.ordinal, e.names]), [[1, ['WxAllocateTagged']], [2, ['WxTouch']], [7, []]]);
    assert.equal(pe.exports?.rvaOf('WxTouch'), pe.exports?.entries()[1].rva);
    assert.equal(pe.exports?.rvaOf('WxFreeTagged'), undefined);
    assert.equal(readPe(file(arch, 'direct')).exports, null);
  });

  test(`${arch}: a kernel-like image's direct, register and wrapper calls to its own exports are call tier`, { skip: missing }, () => {
    const r = extractTags(file(arch, 'kernel'));
    assert.deepEqual(r.tagApis, []);
    assert.equal(r.module, 'kernel.sys');
    const byTag = new Map(r.findings.map((f) => [formatTag(f.tag), f]));
    // KnR1: the call goes through a register loaded with the export's address.
    const reg = byTag.get('KnR1')!;
    assert.equal(reg.tier, 'call');
    assert.deepEqual(reg.apis, ['ExAllocatePoolWithTag']);
    assert.equal(byTag.get('KnW1')!.evidence[0].via, 0x1050);
    assert.match(byTag.get('KnL1')!.evidence[0].instruction!, arch === 'x64' ? /^mov dword ptr \[rsp\+28h\],314C6E4Bh$/ : /^push 314C6E4Bh$/);
  });

  test(`${arch}: exported wrappers are exactly the exports that forward a parameter into a tag argument`, { skip: missing }, () => {
    for (const [name, d] of Object.entries(truth())) {
      const want = d[arch].exportedWrappers;
      if (!want) continue;
      const r = extractTags(file(arch, name), { path: `${name}.sys` });
      assert.deepEqual(r.exportedWrappers, want.map((w) => ({ ...w, param: w.param - 1 })), name);
    }
  });

  test(`${arch}: with the exporter's wrappers, the importer's tags are call tier, naming the export`, { skip: missing }, () => {
    for (const [name, d] of Object.entries(truth())) {
      const want = d[arch].withExporters;
      if (!want) continue;
      const wrappers = want.exporters.flatMap((e) => extractTags(file(arch, e), { path: `${e}.sys` }).exportedWrappers);
      const r = extractTags(file(arch, name), { exportedWrappers: wrappers });
      assert.deepEqual(tagsAt(r, 'call'), want.call, `${name} call`);
      assert.deepEqual(tagsAt(r, 'code'), want.code, `${name} code`);
      for (const f of r.findings.filter((x) => x.tier === 'call')) {
        const tag = formatTag(f.tag);
        assert.deepEqual(f.apis, want.apis[tag], `${name} ${tag} apis`);
        for (const e of f.evidence.filter((x) => x.tier === 'call')) assert.equal(e.viaExport, want.viaExport[tag], `${name} ${tag}`);
      }
      // Wrappers of modules it does not import change nothing.
      const other = wrappers.map((w) => ({ ...w, module: 'other.sys' }));
      assert.deepEqual(tagsAt(extractTags(file(arch, name), { exportedWrappers: other }), 'call'), []);
      assert.equal(wrapperState(r.imports ?? [], other), '');
      assert.notEqual(wrapperState(r.imports ?? [], wrappers), '');
    }
  });
}
