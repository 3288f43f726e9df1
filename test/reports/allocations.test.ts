// Per-allocation listings counted per tag: WinDbg !pool and !poolfind (real pastes in ../shared),
// Volatility 3 bigpools/poolscanner, MemProcFS and DRAKVUF (fixtures in the shape of each tool's source).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseReport, ReportParseError, type UsageRow } from '../../src/reports/index.js';
import { parsePool, parsePoolfind } from '../../src/reports/windbg-pool.js';
import { needShared } from '../helpers/shared.js';

const shared = (name: string) => readFileSync(new URL(`../../../shared/reports/${name}`, import.meta.url), 'utf8');
const fixture = (name: string) => readFileSync(new URL(`../fixtures/reports/${name}`, import.meta.url), 'utf8');
const byTag = (rows: UsageRow[], tagText: string) => {
  const r = rows.find((x) => x.tagText === tagText);
  assert.ok(r, `row ${JSON.stringify(tagText)}`);
  return r;
};
const SKIP = { skip: needShared('reports') };

test('!pool x64 page (pool-11): allocated blocks counted per tag, free blocks apart, Process: suffix, (Free ) lookaside', SKIP, () => {
  const r = parseReport(shared('pool-11.txt'), 'pool-11.txt');
  assert.equal(r.format, 'pool');
  assert.equal(r.kind, 'allocations');
  const rows = r.snapshots[0].rows;
  assert.deepEqual(rows.map((x) => x.tagText), ['Hack', 'Free', 'Io  ', 'Even']);
  assert.deepEqual(byTag(rows, 'Hack').nonpaged, { outstanding: 6, bytes: 5 * 0x70 + 0x210 });
  assert.deepEqual(byTag(rows, 'Io  ').nonpaged, { outstanding: 1, bytes: 0x80 });
  assert.deepEqual(byTag(rows, 'Io  ').free, { count: 2, bytes: 0x100 });
  assert.deepEqual(byTag(rows, 'Free').nonpaged, {}, 'a free block holds nothing');
  assert.deepEqual(byTag(rows, 'Even').nonpaged, { outstanding: 4, bytes: 4 * 0x80 });
  assert.deepEqual(byTag(rows, 'Hack').lines, [4, 6, 11, 13, 15, 17]);
  assert.deepEqual(r.skipped, { count: 1, firstLine: 7 }, 'the Owning component line');
});

test('!pool x86 pages: (Protected) and non-printable tags, TAB comments, paged region, wrapped error lines', SKIP, () => {
  const p3 = parsePool(shared('pool-3.txt'), 'pool-3.txt').snapshots[0].rows;
  assert.equal(p3.length, 16);
  assert.deepEqual(byTag(p3, 'ReTa').nonpaged, { outstanding: 6, bytes: 6 * 0x20 });
  assert.deepEqual(byTag(p3, 'File').nonpaged, { outstanding: 2, bytes: 2 * 0xb8 });
  assert.deepEqual(byTag(p3, 'Ntfx').nonpaged, { outstanding: 3, bytes: 3 * 0xc8 });
  assert.deepEqual(byTag(p3, '.PZH').free, { count: 1, bytes: 0x10 });
  const p5 = parsePool(shared('pool-5.txt'), 'pool-5.txt').snapshots[0].rows;
  assert.deepEqual(byTag(p5, 'IoCo').nonpaged, { outstanding: 15, bytes: 15 * 0x60 });
  assert.deepEqual(byTag(p5, 'IoCo').free, { count: 13, bytes: 13 * 0x60 });
  assert.deepEqual(byTag(p5, '`.C.').free, { count: 1, bytes: 0x38 }, 'a tag starting with a backtick is not Markdown');
  const p6 = parsePool(shared('pool-6.txt'), 'pool-6.txt').snapshots[0].rows;
  assert.deepEqual(byTag(p6, 'Qrnt').nonpaged, { outstanding: 1, bytes: 0x808 }, "the author's // comment after the tag is not part of it");
  assert.deepEqual(byTag(p6, 'Even').nonpaged, { outstanding: 11, bytes: 11 * 0x30 });
  const p9 = parseReport(shared('pool-9.txt'), 'pool-9.txt');
  assert.deepEqual(byTag(p9.snapshots[0].rows, 'NpAt').paged, { outstanding: 6, bytes: 6 * 0x190 });
  assert.deepEqual(byTag(p9.snapshots[0].rows, 'VULN').paged, { outstanding: 1, bytes: 0x190 });
  assert.deepEqual(p9.skipped, { count: 5, firstLine: 2 }, 'comments, Owning component and the two wrapped error lines');
  const p10 = parseReport(shared('pool-10.txt'), 'pool-10.txt').snapshots[0].rows;
  assert.deepEqual(p10.map((x) => [x.tagText, x.paged]), [['abcd', { outstanding: 1, bytes: 0x78 }]]);
  const p7 = parseReport(shared('pool-7.txt'), 'pool-7.txt').snapshots[0].rows;
  assert.deepEqual(byTag(p7, 'tvEm').nonpaged, { outstanding: 1, bytes: 0x600 });
});

test('!pool on a segment-heap page (pool-2) and a page of one tag (pool-4)', SKIP, () => {
  const p2 = parsePool(shared('pool-2.txt'), 'pool-2.txt').snapshots[0].rows;
  assert.deepEqual(byTag(p2, 'FOCX').nonpaged, { outstanding: 10, bytes: 10 * 0x30 });
  assert.deepEqual(byTag(p2, 'IoFE').nonpaged, { outstanding: 9, bytes: 9 * 0x30 });
  assert.deepEqual(byTag(p2, 'IoFE').free, { count: 1, bytes: 0x30 });
  assert.deepEqual(byTag(p2, 'Drht').nonpaged, { outstanding: 1, bytes: 0x30 });
  assert.deepEqual(byTag(p2, 'IoUs').free, { count: 9, bytes: 9 * 0x30 });
  assert.deepEqual(byTag(p2, 'IoUs').nonpaged, {});
  const p4 = parsePool(shared('pool-4.txt'), 'pool-4.txt').snapshots[0].rows;
  assert.deepEqual(byTag(p4, 'Even').nonpaged, { outstanding: 62, bytes: 62 * 0x40 });
  assert.deepEqual(byTag(p4, 'b.2.').free, { count: 1, bytes: 0x80 });
});

test('a block listed twice (!pool ADDR then !pool ADDR 1) counts once', SKIP, () => {
  const twice = shared('pool-8.txt') + '\n' + shared('pool-9.txt');
  const r = parsePool(twice, 'twice.txt');
  assert.deepEqual(byTag(r.snapshots[0].rows, 'NpAt').paged, { outstanding: 8, bytes: 8 * 0x190 }, 'the 8 NpAt blocks of the page, each once');
  assert.deepEqual(byTag(r.snapshots[0].rows, 'VULN').paged, { outstanding: 1, bytes: 0x190 });
});

test('!poolfind newer layout: big-pool table and nonpaged scan, elision, wildcard, size 0', SKIP, () => {
  const f2 = parseReport(shared('poolfind-2.txt'), 'poolfind-2.txt');
  assert.equal(f2.format, 'poolfind');
  assert.deepEqual(f2.snapshots[0].rows.map((x) => [x.tagText, x.nonpaged]), [['amda', { outstanding: 31, bytes: 2 * 0x18f0 + 2 * 0x3f0 + 0x300 + 0x3420 + 0x730 + 0x3d0 + 23 * 0x140 }]]);
  assert.deepEqual(f2.skipped, { count: 2, firstLine: 39 }, 'the author\'s "... All 0x140 nonpaged" and the terminating line');
  const f3 = parseReport(shared('poolfind-3.txt'), 'poolfind-3.txt').snapshots[0].rows;
  assert.deepEqual(f3.map((x) => [x.tagText, x.nonpaged.bytes]), [['XPPH', 0x79e8], ['Frag', 0], ['IdeP', 0x600], ['Cont', 0xa000]]);
  const f4 = parseReport(shared('poolfind-4.txt'), 'poolfind-4.txt').snapshots[0].rows;
  assert.deepEqual(f4[0].nonpaged, { outstanding: 36, bytes: 35 * 0xb70 + 0xaf0 });
  const f5 = parseReport(shared('poolfind-5.txt'), 'poolfind-5.txt').snapshots[0].rows;
  assert.deepEqual(f5[0].nonpaged, { outstanding: 13, bytes: 13 * 0xb70 });
});

test('!poolfind older layout (Microsoft docs example shape): pool from the Searching line', () => {
  const text = [
    'kd> !poolfind SeSd 0',
    '',
    'Scanning large pool allocation table for Tag: SeSd (827d1000 : 827e9000)',
    '',
    'Searching NonPaged pool (823b1000 : 82800000) for Tag: SeSd',
    '',
    '826fa130 size:   c0 previous size:   40  (Allocated) SeSd',
    '82712000 size:   c0 previous size:    0  (Allocated) SeSd',
    '82721c00 size:   10 previous size:   30  (Free)      SeSd',
    '',
    'Searching Paged pool (e1000000 : e3000000) for Tag: SeSd',
    '',
    'e1012000 size:   a0 previous size:    0  (Allocated) SeSd',
  ].join('\n');
  const r = parseReport(text, 'old.txt');
  assert.equal(r.format, 'poolfind');
  const [row] = r.snapshots[0].rows;
  assert.deepEqual(row.nonpaged, { outstanding: 2, bytes: 0x180 });
  assert.deepEqual(row.paged, { outstanding: 1, bytes: 0xa0 });
  assert.deepEqual(row.free, { count: 1, bytes: 0x10 });
});

test('a broken block line is an error with its line; no block at all is an error', () => {
  const text = 'Pool page 86294110 region is Nonpaged pool\n 86294000 size:   3x previous size:    0  (Allocated)  Even\n';
  assert.throws(() => parsePool(text, 'b.txt'), (e: unknown) => e instanceof ReportParseError && e.line === 2 && /^b\.txt:2: pool: /.test(e.message));
  assert.throws(() => parsePoolfind('ffffda0ff9791000 : tag amda, size    0x18zz, Nonpaged pool\n', 'f.txt'), /f\.txt:1: poolfind: /);
  assert.throws(() => parsePool('nothing here\n', 'n.txt'), /n\.txt:1: pool: no pool block lines/);
});

const BIGPOOLS = [
  ['CM31', 'paged', { outstanding: 2, bytes: 0x3000 }],
  ['MmSt', 'paged', { outstanding: 1, bytes: 0x3000 }],
  ['Io  ', 'nonpaged', { outstanding: 1, bytes: 0x1400 }],
  ['EtwB', 'nonpaged', { outstanding: 1, bytes: 0x11000 }],
  ['Ntfx', 'unknownPool', { outstanding: 1, bytes: 0x1000 }],
] as const;

test('Volatility 3 windows.bigpools: text, -r csv and -r json give the same rows; free apart; N/A pool', () => {
  for (const f of ['vol3-bigpools.txt', 'vol3-bigpools.csv', 'vol3-bigpools.json']) {
    const r = parseReport(fixture(f), f);
    assert.equal(r.format, 'vol3-bigpools', f);
    assert.equal(r.kind, 'allocations', f);
    const rows = r.snapshots[0].rows;
    assert.deepEqual(rows.map((x) => [x.tagText, ...BIGPOOLS.find((b) => b[0] === x.tagText)!.slice(1, 2), x[BIGPOOLS.find((b) => b[0] === x.tagText)![1]]]), BIGPOOLS.map((b) => [...b]), f);
    assert.deepEqual(byTag(rows, 'EtwB').free, { count: 1, bytes: 0x11000 }, f);
  }
});

test('Volatility 3 windows.poolscanner: the structure type names the tag; an object listed twice counts once; no sizes', () => {
  for (const f of ['vol3-poolscanner.txt', 'vol3-poolscanner.csv', 'vol3-poolscanner.json']) {
    const r = parseReport(fixture(f), f);
    assert.equal(r.format, 'vol3-poolscanner', f);
    assert.deepEqual(r.snapshots[0].rows.map((x) => [x.tagText, x.unknownPool]), [['Proc', { outstanding: 2 }], ['File', { outstanding: 1 }], ['Driv', { outstanding: 1 }]], f);
  }
  const bad = fixture('vol3-poolscanner.txt').replace('!_DRIVER_OBJECT', '!_WHATEVER');
  assert.throws(() => parseReport(bad, 'v.txt'), /v\.txt:10: vol3-poolscanner: column Tag: .*_WHATEVER/);
});

test('MemProcFS sys/pool allocations.txt: A and -, pools, fixed-width padding, a repeated address once', () => {
  const r = parseReport(fixture('memprocfs-allocations.txt'), 'm.txt');
  assert.equal(r.format, 'memprocfs-pool');
  const rows = r.snapshots[0].rows;
  assert.deepEqual(byTag(rows, 'Proc').nonpaged, { outstanding: 2, bytes: 2 * 0xb70 });
  assert.deepEqual(byTag(rows, 'Proc').free, { count: 1, bytes: 0xb70 });
  assert.deepEqual(byTag(rows, 'CM31').paged, { outstanding: 1, bytes: 0x1000 });
  assert.deepEqual(byTag(rows, '?..?').unknownPool, { outstanding: 1, bytes: 0x40 });
  assert.throws(() => parseReport(fixture('memprocfs-allocations.txt').replace('      b70 Lfh  NonPagedNx\n       1', '      b7g Lfh  NonPagedNx\n       1'), 'b.txt'), /b\.txt:3: memprocfs-pool: /);
});

test('DRAKVUF poolmon: default, CSV and key=value lines count calls and bytes requested (a trace, not what is held)', () => {
  for (const f of ['drakvuf-poolmon.txt', 'drakvuf-poolmon.csv', 'drakvuf-poolmon.kv']) {
    const r = parseReport(fixture(f), f);
    assert.equal(r.format, 'drakvuf-poolmon', f);
    assert.equal(r.kind, 'trace', f);
    const rows = r.snapshots[0].rows;
    assert.deepEqual(rows.map((x) => [x.tagText, x.nonpaged, x.paged]), [
      ['Proc', { allocs: 1, bytes: 2928 }, {}],
      ['Io  ', { allocs: 1, bytes: 128 }, {}],
      ['CM31', {}, { allocs: 2, bytes: 4608 }],
    ], f);
  }
  const json = '{"Plugin" : "poolmon","TimeStamp" :"1600000000.123456","VCPU": 0,"CR3": 1744896,"ProcessName": "System","UserName": "SessionID","UserId": 0,"PID" : 4,"PPID": 0,"Tag": "Proc","PoolType": "NonPagedPool","Size": 2928}\n';
  assert.deepEqual(parseReport(json, 'j.txt').snapshots[0].rows[0].nonpaged, { allocs: 1, bytes: 2928 });
  assert.throws(() => parseReport(fixture('drakvuf-poolmon.kv').replace('Size=128', 'Size=x'), 'k.txt'), /k\.txt:3: drakvuf-poolmon: /);
});
