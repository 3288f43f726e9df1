import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseVerifier, looksLikeVerifier } from '../../src/reports/verifier.js';
import { ReportParseError } from '../../src/reports/types.js';
import { tagFromText } from '../../src/tag.js';
import { needShared } from '../helpers/shared.js';

const sample = (name: string) => (needShared('reports') ? '' : readFileSync(new URL(`../../../shared/reports/${name}`, import.meta.url), 'utf8'));
const c = (outstanding: number, bytes: number) => ({ outstanding, bytes });
const ZERO = c(0, 0);

test('verifier-kd-1: Win7 `!verifier 0xf` blocks with elided lists', { skip: needShared('reports') }, () => {
  const rep = parseVerifier(sample('verifier-kd-1.txt'), 'v1');
  assert.equal(rep.format, 'verifier');
  assert.equal(rep.snapshots.length, 1);
  const s = rep.snapshots[0];
  assert.equal(s.rows.length, 2);
  const [vprt, usbp] = s.rows;
  assert.equal(vprt.tagText, 'Vprt');
  assert.equal(vprt.description, 'videoprt.sys');
  assert.deepEqual(vprt.nonpaged, c(3, 0x3c + 0x34 + 0x18));
  assert.deepEqual(vprt.paged, {});
  assert.equal(vprt.line, 45);
  assert.equal(usbp.description, 'usbport.sys');
  assert.deepEqual(usbp.nonpaged, c(3, 3 * 0x38));
  assert.deepEqual(s.totals, { paged: c(0x1a, 0x950), nonpaged: c(0xe3, 0x46110) });
});

test('verifier-kd-2: Win10 `!verifier 3 MyDriver.sys` with Address/Length/Tag/Caller', { skip: needShared('reports') }, () => {
  const s = parseVerifier(sample('verifier-kd-2.txt'), 'v2').snapshots;
  assert.equal(s.length, 1);
  assert.equal(s[0].rows.length, 3);
  const [vmdl, mdrv, vfwi] = s[0].rows;
  assert.equal(vmdl.tag, tagFromText('VMdl'));
  assert.deepEqual(vmdl.nonpaged, c(1, 0x20));
  assert.deepEqual(mdrv.nonpaged, c(1, 0x1008));
  assert.deepEqual(vfwi.nonpaged, c(1, 0x30));
  assert.equal(mdrv.description, 'MyDriver.sys');
  assert.equal(vfwi.line, 72);
  assert.deepEqual(s[0].totals, { paged: ZERO, nonpaged: c(3, 0x1058) });
});

test('verifier-kd-3: Win11 nt!_VF_TARGET_DRIVER block with 64-bit addresses', { skip: needShared('reports') }, () => {
  const s = parseVerifier(sample('verifier-kd-3.txt'), 'v3').snapshots;
  assert.equal(s.length, 1);
  assert.equal(s[0].rows.length, 1);
  assert.equal(s[0].rows[0].tagText, 'ebpf');
  assert.equal(s[0].rows[0].description, 'ebpfcore.sys');
  assert.deepEqual(s[0].rows[0].nonpaged, c(1, 4));
  assert.equal(s[0].rows[0].line, 20);
  assert.equal(s[0].totals, undefined);
});

const TWO_DRIVERS = [
  'kd> !verifier 3',
  '',
  '  MODULE: 0xfffff80012340000 a.sys (Loaded)',
  '      Current Pool Allocations: ( 0x00000000 / 0x00000003 )',
  '    Pool Allocations:',
  '      Address             Length      Tag   Caller Address',
  '      ------------------  ----------  ----  ------------------',
  '      0xffffa00000001000  0x00000100  Io    0xfffff80012341234  a!Start+0x10',
  '      0xffffa00000002000  0x00000200  Io    0xfffff80012341234  a!Start+0x10',
  '      ...',
  '      0xffffa00000003000  0x00000040  Shrd  0xfffff80012341300',
  '',
  '  MODULE: 0xfffff80056780000 b.sys (Loaded)',
  '      Current Pool Allocations: ( 0x00000001 / 0x00000001 )',
  '      Address             Length      Tag   Caller Address',
  '      0xffffa00000004000  0x00000010  Shrd  0xfffff80056781000  b!Init',
  '',
].join('\n');

test('per-driver blocks: Io  keeps its spaces, a paged-only driver counts paged, tags split by driver', () => {
  const s = parseVerifier(TWO_DRIVERS, 't').snapshots[0];
  assert.equal(s.rows.length, 3);
  const io = s.rows[0];
  assert.equal(io.tagText, 'Io  ');
  assert.deepEqual(io.paged, c(2, 0x300));
  assert.deepEqual(io.nonpaged, {});
  assert.equal(io.description, 'a.sys');
  const shrd = s.rows.filter((r) => r.tagText === 'Shrd');
  assert.deepEqual(shrd.map((r) => [r.description, r.paged.bytes, r.nonpaged.bytes]), [['a.sys', 0x40, undefined], ['b.sys', undefined, 0x10]]);
});

test('broken rows inside a list are errors; no list at all is an error', () => {
  const broken = TWO_DRIVERS.replace('0x00000200  Io', '0x0000zz00  Io');
  assert.throws(() => parseVerifier(broken, 'b'), (e: unknown) => {
    assert.ok(e instanceof ReportParseError);
    assert.match(e.message, /^b:9: verifier: column Length: expected a hex number, got '0x0000zz00'$/);
    return true;
  });
  const noCaller = TWO_DRIVERS.replace('Shrd  0xfffff80056781000  b!Init', 'Shrd');
  assert.throws(() => parseVerifier(noCaller, 'c'), /c:16: verifier: expected a hex address in column Caller, got 'end of line'/);
  assert.throws(() => parseVerifier('kd> !verifier 1\nDriver Verification List\n', 'n'), /n:1: verifier: no outstanding-allocation list/);
  const lines = TWO_DRIVERS.split('\n');
  lines.splice(14, 1); // b.sys's list header
  assert.throws(() => parseVerifier(lines.join('\n'), 'h'), /h:15: verifier: allocation row outside a list/);
});

test('detection score', { skip: needShared('reports') }, () => {
  for (const f of ['verifier-kd-1.txt', 'verifier-kd-2.txt', 'verifier-kd-3.txt']) assert.equal(looksLikeVerifier(sample(f)), 1, f);
  assert.equal(looksLikeVerifier(sample('poolused-2.txt')), 0);
  assert.equal(looksLikeVerifier(sample('poolmon-display-4.txt')), 0);
});
