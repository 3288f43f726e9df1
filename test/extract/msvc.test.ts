// extractTags on two real, signed MSVC drivers (WinDivert 2.2, see test/fixtures/msvc/README.md). The source
// defines one pool tag, WINDIVERT_TAG 'viDW' = WDiv, passed to every ExAllocatePoolWithTag/ExFreePoolWithTag.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EXTRACTOR_VERSION, extractTags, scanTagInFile } from '../../src/extract/extract.js';
import type { DriverReport, Tier } from '../../src/extract/types.js';
import { formatTag, tagFromText } from '../../src/tag.js';

const MSVC = fileURLToPath(new URL('../fixtures/msvc/', import.meta.url));

const tagsAt = (r: DriverReport, tier: Tier) => r.findings.filter((f) => f.tier === tier).map((f) => formatTag(f.tag)).sort();

/** What each driver's code and data tiers hold once PE metadata is left out, judged one by one. */
const EXPECTED = {
  x64: { file: 'WinDivert64.sys', sites: 32, code: [] as string[], data: [] as string[] },
  x86: {
    file: 'WinDivert32.sys',
    sites: 26,
    // `mov dword ptr [eax],69645723h; mov dword ptr [eax+4],53595376h` at .text+0x75ac: the two halves of the
    // 64-bit WINDIVERT_MAGIC_SYS "#WdivSYS" written to a reply header. Not a pool tag, honestly labelled
    // `code` (an unproven immediate); x64 writes it with one `mov r64,imm64` whose low half "#Wdi" is no tag.
    code: ['vSYS'],
    data: [] as string[],
  },
};

for (const [arch, want] of Object.entries(EXPECTED)) {
  const buf = readFileSync(`${MSVC}${want.file}`);

  test(`${want.file}: WDiv through both tag-taking imports and both NDIS pool parameter structures; WinD, the KMDF default`, () => {
    const r = extractTags(buf, { path: want.file });
    assert.equal(r.machine, arch);
    assert.deepEqual(r.tagApis, ['ExAllocatePoolWithTag', 'ExFreePoolWithTag']);
    const call = r.findings.filter((f) => f.tier === 'call');
    assert.deepEqual(call.map((f) => [formatTag(f.tag), f.kind, f.apis]), [
      ['WDiv', 'pool', ['ExAllocatePoolWithTag', 'ExFreePoolWithTag', 'NdisAllocateNetBufferListPool', 'NdisAllocateNetBufferPool']],
      // WinDivert leaves WDF_DRIVER_CONFIG.DriverPoolTag zero: Wdf01000.sys tags its allocations "WinD"
      // (service WinDivert, or WinDivert64/32 when installed under the file's name).
      ['WinD', 'pool', ['WdfDriverCreate']],
    ]);
    const [wdiv, wind] = call;
    // The two pool-parameter stores were code-tier sites of WDiv before; they are call-tier now.
    assert.equal(wdiv.sites, want.sites);
    for (const e of wdiv.evidence) {
      assert.equal(e.section, '.text');
      assert.match(e.instruction!, /^(push |mov [a-z0-9]+,|mov (dword|qword) ptr \[[a-zA-Z0-9+-]+\],)76694457h$/);
    }
    const ndis = wdiv.evidence.filter((e) => e.source === 'framework').map((e) => [e.api, e.field]);
    assert.deepEqual(ndis.sort(), [
      ['NdisAllocateNetBufferListPool', 'NET_BUFFER_LIST_POOL_PARAMETERS.PoolTag'],
      ['NdisAllocateNetBufferPool', 'NET_BUFFER_POOL_PARAMETERS.PoolTag'],
    ]);
    assert.deepEqual(wind.evidence.map((e) => [e.source, e.field, e.api]), [['kmdf-default', want.file.replace('.sys', ''), 'WdfDriverCreate']]);
    assert.deepEqual(r.wrappers, []);
  });

  test(`${want.file}: without a file name the KMDF default is not guessed, and a warning says why`, () => {
    const r = extractTags(buf);
    assert.ok(!r.findings.some((f) => formatTag(f.tag) === 'WinD'));
    assert.ok(r.warnings.some((w) => /KMDF/.test(w) && /service name/.test(w)));
  });

  test(`${want.file}: exact code and data tiers; import names, CodeView and relocations are no tags`, () => {
    const r = extractTags(buf);
    assert.deepEqual(tagsAt(r, 'code'), want.code);
    assert.deepEqual(tagsAt(r, 'data'), want.data);
    const all = new Set(r.findings.map((f) => formatTag(f.tag)));
    for (const junk of ['eckE', 'RSDS', 'P4V4', 'a4z4', 'INIT']) assert.ok(!all.has(junk), `${junk} reported`);
  });

  test(`${want.file}: the excluded bytes are still found by scan, as data (findstr semantics)`, () => {
    // "KeBugCheckEx" sits in the import name table inside the executable INIT section.
    const hits = scanTagInFile(buf, tagFromText('eckE'));
    assert.deepEqual(hits.map((h) => [h.tier, h.section]), [['data', 'INIT']]);
  });
}

test('EXTRACTOR_VERSION is a non-empty string the index stores with each analysis', () => {
  assert.match(EXTRACTOR_VERSION, /^\S+$/);
});
