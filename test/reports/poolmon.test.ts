import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parsePoolmon, looksLikePoolmon } from '../../src/reports/poolmon.js';
import { ReportParseError, type UsageRow } from '../../src/reports/types.js';
import { tagFromBytes, tagFromText } from '../../src/tag.js';
import { needShared } from '../helpers/shared.js';

const sample = (name: string) => (needShared('reports') ? '' : readFileSync(new URL(`../../../shared/reports/${name}`, import.meta.url), 'utf8'));
const row = (rows: UsageRow[], tagText: string) => {
  const r = rows.find((x) => x.tagText === tagText);
  assert.ok(r, `row ${tagText}`);
  return r;
};
const c = (allocs: number, frees: number, outstanding: number, bytes: number) => ({ allocs, frees, outstanding, bytes });
const ZERO = c(0, 0, 0, 0);

// Rows built with poolmon.c's own printf widths.
const p = (v: number | string, w: number) => String(v).padStart(w);
/** x64 interactive: " %4s %5s %9I64u (%4I64d) %9I64u (%4I64d) %8I64u %11I64u (%11I64d) %11I64u %s" */
const x64Screen = (tag: string, type: string, a: number, da: number, f: number, df: number, d: number, b: number, db: number, drv: string) =>
  ` ${p(tag, 4)} ${type.padEnd(5)} ${p(a, 9)} (${p(da, 4)}) ${p(f, 9)} (${p(df, 4)}) ${p(d, 8)} ${p(b, 11)} (${p(db, 11)}) ${p(Math.floor(b / (d || 1)), 11)} ${drv}`;
/** x86 /n log: " %4s %5s %9ld %9ld  %8ld %7ld     %6ld        %s" */
const x86Log = (tag: string, type: string, a: number, f: number, d: number, b: number, drv: string) =>
  ` ${p(tag, 4)} ${type.padEnd(5)} ${p(a, 9)} ${p(f, 9)}  ${p(d, 8)} ${p(b, 7)}     ${p(d > 0 ? Math.floor(b / d) : 0, 6)}        ${drv}`;

test('display-1: x86 screen with /g Mapped_Driver; header Pool N/P as byte totals', { skip: needShared('reports') }, () => {
  const rep = parsePoolmon(sample('poolmon-display-1.txt'), 'd1');
  assert.equal(rep.format, 'poolmon');
  assert.equal(rep.snapshots.length, 1);
  const s = rep.snapshots[0];
  assert.equal(s.rows.length, 13);
  const fc = row(s.rows, 'NtFC');
  assert.deepEqual(fc.paged, c(1579279, 1579269, 10, 640));
  assert.deepEqual(fc.nonpaged, ZERO);
  assert.equal(fc.description, '[ntfs.sys  -  Create.c]');
  assert.deepEqual(fc.delta, { allocs: 0, frees: 0, bytes: 0 });
  assert.deepEqual(row(s.rows, 'NtFs').nonpaged, c(48825, 47226, 1599, 64536));
  assert.equal(row(s.rows, 'NtFA').line, 7);
  assert.deepEqual(s.totals, { nonpaged: { bytes: 8500 * 1024 }, paged: { bytes: 33024 * 1024 } }, "the header gives bytes only: the counts are absent");
});

test('display-2/3/4: Unknown Driver, localtag and concatenated Mapped_Driver', { skip: needShared('reports') }, () => {
  const d2 = parsePoolmon(sample('poolmon-display-2.txt'), 'd2').snapshots;
  assert.equal(d2.length, 1);
  assert.equal(d2[0].rows.length, 3);
  assert.deepEqual(row(d2[0].rows, '3MEM').nonpaged, c(3, 0, 3, 248));
  assert.equal(row(d2[0].rows, '3MEM').description, undefined);
  assert.equal(d2[0].totals, undefined);

  const d3 = parsePoolmon(sample('poolmon-display-3.txt'), 'd3').snapshots;
  assert.equal(d3.length, 1);
  assert.equal(d3[0].rows.length, 3);
  assert.equal(row(d3[0].rows, '1MEM').description, '[el90xbc5]');
  assert.deepEqual(row(d3[0].rows, '2MEM').nonpaged, c(1, 0, 1, 3944));

  const d4 = parsePoolmon(sample('poolmon-display-4.txt'), 'd4').snapshots;
  assert.equal(d4.length, 1);
  assert.equal(d4[0].rows.length, 8);
  assert.deepEqual(row(d4[0].rows, 'IpSI').nonpaged, c(1027, 0, 1027, 53272));
  assert.equal(row(d4[0].rows, 'IpSI').description, '[ipsec][ipsec.sys    - initial allcoations]');
  assert.equal(row(d4[0].rows, 'IpHP').nonpaged.outstanding, 0);
  assert.equal(d4[0].totals?.paged?.bytes, 13384 * 1024);
});

test('display-5/6: unindented screen, non-zero deltas, no Mapped_Driver', { skip: needShared('reports') }, () => {
  const before = parsePoolmon(sample('poolmon-display-5.txt'), 'd5').snapshots;
  assert.equal(before.length, 1);
  assert.equal(before[0].rows.length, 1);
  const drsd = before[0].rows[0];
  assert.equal(drsd.tagText, 'Drsd');
  assert.deepEqual(drsd.paged, c(560, 539, 21, 17472));
  assert.deepEqual(drsd.delta, { allocs: 177, frees: 171, bytes: 4992 });
  assert.equal(drsd.line, 6);
  const after = parsePoolmon(sample('poolmon-display-6.txt'), 'd6').snapshots;
  assert.equal(after.length, 1);
  assert.equal(after[0].rows.length, 1);
  assert.deepEqual(after[0].rows[0].paged, c(737, 710, 27, 22464));
  assert.equal(after[0].totals?.paged?.bytes, 8012 * 1024);
});

test('snap-1: x64 /n log rows', { skip: needShared('reports') }, () => {
  const s = parsePoolmon(sample('poolmon-snap-1.txt'), 'n1').snapshots;
  assert.equal(s.length, 1);
  assert.equal(s[0].rows.length, 2);
  assert.deepEqual(row(s[0].rows, 'ConT').nonpaged, c(3097, 2409, 688, 42770432));
  assert.equal(row(s[0].rows, 'ConT').description, undefined);
  assert.equal(row(s[0].rows, 'Thre').description, '[nt!ps - Thread objects]');
  assert.equal(row(s[0].rows, 'Thre').delta, undefined);
  assert.equal(row(s[0].rows, 'Thre').line, 5);
});

test('x64 screen: Nonp and Paged rows of one tag merge; tags with spaces and dots; totals lines', () => {
  const text = [
    ' Memory:16661504K Avail: 9876543K  PageFlts:  1234   InRam Krnl:12345K P:123456K',
    ' Commit:9999999K Limit:99999999K Peak:9999999K            Pool N:654321K P:987654K',
    ' System pool information',
    ' Tag  Type     Allocs            Frees            Diff       Bytes                 Per Alloc Mapped_Driver',
    '',
    x64Screen('Io  ', 'Nonp', 1021112, 1, 1020985, 1, 127, 91912, 0, '[nt!io - general IO allocations]'),
    x64Screen('Io  ', 'Paged', 50, 0, 40, 0, 10, 6442450944, -4096, '[nt!io - general IO allocations]'),
    x64Screen('Cc  ', 'Nonp', 7, -2, 3, 0, 4, 256, -128, 'Unknown Driver'),
    x64Screen('Ob..', 'Paged', 9, 0, 1, 0, 8, 800, 0, 'Unknown Driver'),
    '',
    'Total Nonp    1021119 (  -1)   1020988 (   1)      131       92168 (       -128)         703',
    'Total Paged        59 (   0)        41 (   0)       18  6442451744 (      -4096)   357913985',
  ].join('\n');
  const s = parsePoolmon(text, 'x64').snapshots;
  assert.equal(s.length, 1);
  assert.equal(s[0].rows.length, 3);
  const io = row(s[0].rows, 'Io  ');
  assert.equal(io.tag, tagFromText('Io'));
  assert.deepEqual(io.nonpaged, c(1021112, 1020985, 127, 91912));
  assert.deepEqual(io.paged, c(50, 40, 10, 6442450944));
  assert.deepEqual(io.delta, { allocs: 1, frees: 1, bytes: -4096 });
  assert.equal(io.description, '[nt!io - general IO allocations]');
  assert.equal(io.line, 6);
  assert.deepEqual(row(s[0].rows, 'Cc  ').delta, { allocs: -2, frees: 0, bytes: -128 });
  assert.equal(row(s[0].rows, 'Ob..').tag, tagFromBytes(0x4f, 0x62, 0x2e, 0x2e));
  assert.deepEqual(s[0].totals, { nonpaged: c(1021119, 1020988, 131, 92168), paged: c(59, 41, 18, 6442451744) });
});

test('a poolsnap.log with appended runs gives one snapshot per run; wrapped 32-bit counters', () => {
  const header = ' Tag  Type     Allocs         Frees    Diff   Bytes    Per Alloc    Mapped_Driver';
  const text = [
    '',
    ' Memory: 2096696K Avail: 1048576K  PageFlts:123456   InRam Krnl: 4096K P:65536K',
    ' Commit: 524288K Limit:4194304K Peak: 600000K            Pool N:32768K P:98304K',
    '',
    header,
    '',
    x86Log('Leak', 'Nonp', 100, 60, 40, 4000, '[leaky.sys - test]'),
    x86Log('Leak', 'Paged', 5, 5, 0, 0, '[leaky.sys - test]'),
    '',
    header,
    '',
    x86Log('Leak', 'Nonp', 180, 60, 120, 12000, '[leaky.sys - test]'),
    // Frees passed 2^31 and x86 poolmon printed the ULONG difference signed.
    x86Log('Wrap', 'Nonp', 10, 2147483000, -2147482990, 1024, 'Unknown Driver'),
  ].join('\n');
  const s = parsePoolmon(text, 'poolsnap.log').snapshots;
  assert.equal(s.length, 2);
  assert.equal(s[0].rows.length, 1);
  assert.deepEqual(s[0].rows[0].nonpaged, c(100, 60, 40, 4000));
  assert.deepEqual(s[0].rows[0].paged, c(5, 5, 0, 0));
  assert.deepEqual(s[0].totals, { nonpaged: { bytes: 32768 * 1024 }, paged: { bytes: 98304 * 1024 } });
  assert.equal(s[1].rows.length, 2);
  assert.equal(s[1].totals, undefined);
  assert.deepEqual(s[1].rows[0].nonpaged, c(180, 60, 120, 12000));
  assert.deepEqual(row(s[1].rows, 'Wrap').nonpaged, c(10, 2147483000, 10 - 2147483000 + 2 ** 32, 1024));
  assert.equal(row(s[1].rows, 'Wrap').line, 13);
});

test('session pool screens fill the session counters', () => {
  const text = [
    ' Session 1 pool information',
    ' Tag  Type     Allocs            Frees            Diff   Bytes       Per Alloc',
    '',
    ' Gla5 Paged        20 (   0)        10 (   0)       10    1280 (     0)    128',
  ].join('\n');
  const r = parsePoolmon(text, 's').snapshots[0].rows[0];
  assert.deepEqual(r.session, c(20, 10, 10, 1280));
  assert.deepEqual(r.paged, ZERO);
});

test('broken input is an error naming file, line and the expected column', { skip: needShared('reports') }, () => {
  const head = ' Tag  Type     Allocs            Frees            Diff   Bytes       Per Alloc\n\n';
  assert.throws(() => parsePoolmon(head + ' Abcd Nonp       x1 (   0)         0 (   0)        1       8 (     0)      8\n', 'b'), (e: unknown) => {
    assert.ok(e instanceof ReportParseError);
    assert.equal(e.message, "b:3: poolmon: expected a number in column Allocs, got 'x1'");
    return true;
  });
  assert.throws(() => parsePoolmon(head + ' Abcd Huge        1 (   0)         0 (   0)        1       8 (     0)      8\n', 'b'), /b:3: poolmon: expected Nonp or Paged in column Type, got 'Huge'/);
  assert.throws(() => parsePoolmon(head + ' Abcd Nonp        1 (   0         0 (   0)        1       8 (     0)      8\n', 'b'), /b:3: poolmon: /);
  assert.throws(() => parsePoolmon(' Memory:  260620K Avail:   65152K  PageFlts:    85   InRam Krnl: 2116K P:19560K\n', 'm'), /m:1: poolmon: expected the "Tag  Type/);
  assert.throws(() => parsePoolmon('hello\n', 'e'), /e:1: poolmon: no table header/);
  assert.throws(() => parsePoolmon(head + 'Abcd Nonp 1 (0) 0 (0) 1 8 (0) 8\nAbcd Paged 1 (0) zero (0) 1 8 (0) 8\n', 'b'), /b:4: poolmon: expected a number in column Frees/);
  // A damaged header is passed over (and counted); the row reads by its shape.
  const damaged = parsePoolmon(sample('poolmon-display-5.txt').replace(/^Tag .*$/m, 'Tag  Tpye'), 'd5');
  assert.equal(damaged.snapshots[0].rows[0].paged.outstanding, 21);
  assert.deepEqual(damaged.skipped, { count: 1, firstLine: 4 });
});

test('detection score', { skip: needShared('reports') }, () => {
  assert.equal(looksLikePoolmon(sample('poolmon-display-1.txt')), 1);
  assert.equal(looksLikePoolmon(sample('poolmon-snap-1.txt')), 1);
  assert.equal(looksLikePoolmon(sample('poolused-1.txt')), 0);
  assert.equal(looksLikePoolmon(sample('verifier-kd-2.txt')), 0);
});
