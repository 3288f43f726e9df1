import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseVerifier, looksLikeVerifier } from '../../src/reports/verifier.js';
import { parseReport } from '../../src/reports/index.js';
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
  assert.deepEqual(vprt.unknownPool, c(3, 0x3c + 0x34 + 0x18), 'videoprt holds both pools: the list does not say which');
  assert.deepEqual(vprt.paged, {});
  assert.equal(vprt.driver, 'videoprt.sys', 'the block names the driver that made the allocations');
  assert.equal(vprt.line, 45);
  assert.equal(usbp.description, 'usbport.sys');
  assert.deepEqual(usbp.unknownPool, c(3, 3 * 0x38));
  assert.deepEqual(s.totals, { paged: c(0x1a, 0x950), nonpaged: c(0xe3, 0x46110) });
  // The per-driver statistics are complete where the lists are elided: they are the drivers' totals.
  assert.deepEqual(s.drivers?.map((d) => [d.driver, d.nonpaged, d.paged, d.peak]), [
    ['videoprt.sys', c(2, 0xa0), c(0x13, 0x854), { nonpaged: c(6, 0x8c0), paged: c(0x14, 0x9c8) }],
    ['usbport.sys', c(0xe1, 0x46070), c(7, 0xfc), { nonpaged: c(0x10d, 0x48da0), paged: c(0xa, 0x254) }],
  ]);
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
  assert.equal(mdrv.driver, 'MyDriver.sys');
  assert.deepEqual(mdrv.callers, ['MyDriver'], "the Caller column's module");
  assert.deepEqual(s[0].drivers?.map((d) => [d.driver, d.nonpaged, d.paged]), [['MyDriver.sys', c(3, 0x1058), c(0, 0)]]);
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
  assert.deepEqual(s[0].rows[0].callers, ['ebpfcore']);
  assert.equal(s[0].totals, undefined);
  assert.deepEqual(s[0].drivers?.map((d) => [d.driver, d.nonpaged, d.peak?.nonpaged]), [['ebpfcore.sys', c(1, 4), c(0x6f, 0xbe59)]]);
  const six = parseVerifier(sample('verifier-kd-6.txt'), 'v6').snapshots[0];
  assert.deepEqual(six.rows.map((r) => [r.tagText, r.paged, r.driver, r.callers]), [['abcd', c(1, 0x70), 'Sample.sys', ['Sample']]]);
  assert.deepEqual(six.drivers?.map((d) => [d.driver, d.paged]), [['Sample.sys', c(1, 0x70)]]);
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
  assert.deepEqual(shrd.map((r) => [r.driver, r.paged.bytes, r.unknownPool?.bytes]), [['a.sys', 0x40, undefined], ['b.sys', undefined, 0x10]], 'b.sys holds both pools: unknown');
  assert.deepEqual(io.callers, ['a']);
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
  assert.throws(() => parseVerifier('kd> !verifier 1\nDriver Verification List\n', 'n'), /n:1: verifier: no driver block, allocation list or statistics/);
  const lines = TWO_DRIVERS.split('\n');
  lines.splice(14, 1); // b.sys's list header
  assert.throws(() => parseVerifier(lines.join('\n'), 'h'), /h:15: verifier: allocation row outside a list/);
});

test('detection score', { skip: needShared('reports') }, () => {
  for (const f of ['verifier-kd-1.txt', 'verifier-kd-2.txt', 'verifier-kd-3.txt']) assert.equal(looksLikeVerifier(sample(f)), 1, f);
  assert.equal(looksLikeVerifier(sample('poolused-2.txt')), 0);
  assert.equal(looksLikeVerifier(sample('poolmon-display-4.txt')), 0);
});

test('verifier /query MODULE blocks (decimal pairs): per-driver totals and peaks, kind drivers', { skip: needShared('reports') }, () => {
  const r = parseReport(sample('verifier-query-1.txt'), 'q');
  assert.equal(r.format, 'verifier-query');
  assert.equal(r.kind, 'drivers');
  assert.deepEqual(r.snapshots[0].rows, []);
  assert.deepEqual(r.snapshots[0].drivers, [
    { driver: 'SafeUpload.sys', nonpaged: c(0, 0), paged: c(0, 0), peak: { nonpaged: c(33, 40128), paged: c(0, 0) }, line: 2 },
  ]);
});

test('several verifier /query modules; a broken number names its line', () => {
  const text = [
    'MODULE: a.sys (load: 1 / unload: 0)',
    '    Current Pool Allocations:  (     12 /      3 )',
    '    Current Pool Bytes:        (   4096 /    512 )',
    'MODULE: b.sys (load: 2 / unload: 1)',
    '    Current Pool Allocations:  (      1 /      0 )',
    '    Current Pool Bytes:        (     64 /      0 )',
  ].join('\n');
  const r = parseReport(text, 'm');
  assert.equal(r.format, 'verifier-query');
  assert.deepEqual(r.snapshots[0].drivers?.map((d) => [d.driver, d.nonpaged, d.paged]), [['a.sys', c(12, 4096), c(3, 512)], ['b.sys', c(1, 64), c(0, 0)]]);
  assert.throws(() => parseReport(text.replace('4096', '40x6'), 'm'), /m:3: verifier: Current Pool Bytes \(NonPagedPool\): expected a hex number/);
});

test('global statistics or settings alone are a one-line statement with their numbers', () => {
  const stats = ['kd> !verifier', 'Summary of All Verifier Statistics', '  Current paged pool allocations         0x1a for 00000950 bytes', '  Current nonpaged pool allocations      0xe3 for 00046110 bytes'].join('\n');
  const r = parseReport(stats, 's');
  assert.equal(r.kind, 'statement');
  assert.equal(r.statement, 'Driver Verifier global statistics with no per-driver or per-tag data: current nonpaged pool 227 allocations, 286992 bytes; current paged pool 26 allocations, 2384 bytes');
  const flags = parseReport('kd> !verifier\n\nVerify Flags Level 0x000209bb\n\n  STANDARD FLAGS:\n    [X] (0x00000001) Special pool\n', 'f');
  assert.equal(flags.statement, 'Driver Verifier settings (level 0x000209bb) with no pool data');
});
