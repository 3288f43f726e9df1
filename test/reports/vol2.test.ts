import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tagFromText } from '../../src/tag.js';
import { parseVol2, looksLikeVol2 } from '../../src/reports/vol2.js';
import { ReportParseError } from '../../src/reports/types.js';
import { needShared } from '../helpers/shared.js';

const SAMPLE = needShared('reports') ? '' : readFileSync(new URL('../../../shared/reports/vol2-pooltracker-1.txt', import.meta.url), 'utf8');

test('vol2 sample: 4 rows after the command line and banner, exact counters', { skip: needShared('reports') }, () => {
  const r = parseVol2(SAMPLE, 'vol2-pooltracker-1.txt');
  assert.equal(r.format, 'vol2-pooltracker');
  const rows = r.snapshots[0].rows;
  assert.equal(rows.length, 4);
  assert.deepEqual(rows.map((x) => x.tagText), ['Thre', 'File', 'Proc', 'Driv']);
  assert.deepEqual(rows[0].nonpaged, { allocs: 614895, frees: 614419, outstanding: 476, bytes: 606688 });
  assert.deepEqual(rows[1].nonpaged, { allocs: 75346601, frees: 75336591, outstanding: 10010, bytes: 3350912 });
  assert.equal(rows[2].tag, 0x636f7250);
  assert.deepEqual(rows[3].nonpaged, { allocs: 143, frees: 6, outstanding: 137, bytes: 67504 });
  assert.deepEqual(rows[3].paged, { allocs: 0, frees: 0, outstanding: 0, bytes: 0 });
  assert.deepEqual(rows.map((x) => x.line), [9, 10, 11, 12]);
  assert.equal(rows[0].description, undefined);
  assert.equal(looksLikeVol2(SAMPLE), 1);
});

test('vol2 with --tagfile: Driver and Reason columns become the description; tags keep a leading space', () => {
  const t = [
    'Tag    NpAllocs NpFrees  NpBytes  PgAllocs PgFrees  PgBytes  Driver                   Reason',
    '------ -------- -------- -------- -------- -------- -------- ------------------------ ------',
    '8042          6        2     4048       12       12        0 i8042prt.sys             PS/2 keyboard and mouse',
    ' DMV          1        0       64        0        0        0',
    'Ntfx          0        0        0       10        3     2048 nt!store or rdyboost.sys Store data',
  ].join('\n');
  const rows = parseVol2(t, 'd.txt').snapshots[0].rows;
  assert.equal(rows.length, 3);
  assert.equal(rows[0].description, 'i8042prt.sys - PS/2 keyboard and mouse');
  assert.equal(rows[1].tag, tagFromText(' DMV'));
  assert.equal(rows[1].description, undefined);
  assert.equal(rows[2].description, 'nt!store or rdyboost.sys - Store data');
  assert.deepEqual(rows[2].paged, { allocs: 10, frees: 3, outstanding: 7, bytes: 2048 });
});

test('vol2: 32-bit wrapped Allocs still gives the outstanding count; bad rows name their line', { skip: needShared('reports') }, () => {
  const t = 'Tag    NpAllocs NpFrees  NpBytes  PgAllocs PgFrees  PgBytes\nWrap          3        8      640        0        0        0\n';
  assert.equal(parseVol2(t, 'w').snapshots[0].rows[0].nonpaged.outstanding, 2 ** 32 - 5);
  const bad = SAMPLE.split('\n');
  bad[10] = 'Proc       4193     4154    51728        0        0';
  assert.throws(() => parseVol2(bad.join('\n'), 'b.txt'), (e: unknown) => e instanceof ReportParseError && e.line === 11 && /b\.txt:11: vol2-pooltracker: expected a row/.test(e.message));
  assert.throws(() => parseVol2('Tag Allocs\n', 'n.txt'), /n\.txt:1: vol2-pooltracker: no header/);
  assert.throws(() => parseVol2('Tag    NpAllocs NpFrees  NpBytes  PgAllocs PgFrees  PgBytes\nBig  99999999999999999 0 0 0 0 0\n', 'h'), /h:2: NpAllocs: .* below 2\^53/);
});

test('vol2 --output=json: a list of row objects, and the columns/rows form', () => {
  const list = [
    { Tag: 'Thre', NpAllocs: 614895, NpFrees: 614419, NpBytes: 606688, PgAllocs: 0, PgFrees: 0, PgBytes: 0, Driver: '', Reason: '' },
    { Tag: 'Io', NpAllocs: 5, NpFrees: 1, NpBytes: 80, PgAllocs: 2, PgFrees: 2, PgBytes: 0, Driver: 'nt!io', Reason: 'general IO' },
  ];
  const a = parseVol2(JSON.stringify(list, null, 1), 'a.json');
  assert.equal(looksLikeVol2(JSON.stringify(list)), 1);
  assert.equal(a.snapshots[0].rows.length, 2);
  assert.equal(a.snapshots[0].rows[1].tag, tagFromText('Io  '));
  assert.equal(a.snapshots[0].rows[1].description, 'nt!io - general IO');
  assert.equal(a.snapshots[0].rows[1].line, 13, '"[", then 11 lines for the first object');
  const columns = Object.keys(list[0]);
  const b = parseVol2(JSON.stringify({ columns, rows: list.map((r) => Object.values(r)) }), 'b.json');
  assert.deepEqual(b.snapshots[0].rows.map((r) => r.nonpaged), a.snapshots[0].rows.map((r) => r.nonpaged));
  assert.throws(() => parseVol2('[{"Tag":"Proc","NpAllocs":1}]', 'c.json'), /c\.json:1: vol2-pooltracker: NpFrees: expected a count/);
});
