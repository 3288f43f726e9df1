// Exact numbers from the real pastes the other test files do not cover: doc conversions, Markdown
// tables, a one-tag record, indented and multi-command !poolused pastes (values read off the files).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseReport, type UsageRow } from '../../src/reports/index.js';
import { needShared, sharedPath } from '../helpers/shared.js';

const SKIP = { skip: needShared('reports') };
const read = (f: string) => parseReport(readFileSync(sharedPath(`reports/${f}`), 'utf8'), f);
const byTag = (rows: UsageRow[], t: string) => {
  const r = rows.find((x) => x.tagText === t);
  assert.ok(r, t);
  return r;
};
const MB = 1024 * 1024;

test('poolmon-display-12: "## Tag" header, collapsed spaces, unpadded CM and Fat at column 0', SKIP, () => {
  const r = read('poolmon-display-12.txt');
  const rows = r.snapshots[0].rows;
  assert.deepEqual(rows.map((x) => x.tagText), ['CM  ', 'Strg', 'Fat ', 'MmSt']);
  assert.deepEqual(byTag(rows, 'CM  ').paged, { allocs: 1283, frees: 1002, outstanding: 281, bytes: 1377312 });
  assert.deepEqual(byTag(rows, 'Fat ').paged, { allocs: 6662, frees: 4971, outstanding: 1691, bytes: 174560 });
  assert.deepEqual(byTag(rows, 'Strg').delta, { allocs: 10, frees: 4, bytes: 512 });
  assert.deepEqual(r.snapshots[0].totals, { nonpaged: { bytes: 744 * 1024 }, paged: { bytes: 2180 * 1024 } });
});

test('poolused-6/7/8/9: progress dots, two commands in one paste, 4-space indentation and 3-character tags, TOTAL at column 0', SKIP, () => {
  const six = read('poolused-6.txt').snapshots[0].rows;
  assert.deepEqual(byTag(six, 'amda').nonpaged, { outstanding: 5768754, bytes: 1938325232 });
  assert.deepEqual(byTag(six, 'IoWI').binary, 'nt!io');
  const seven = read('poolused-7.txt');
  assert.equal(seven.snapshots.length, 1, '!poolused 2 then !poolused 4: one moment, one snapshot');
  assert.deepEqual(byTag(seven.snapshots[0].rows, 'CM31').paged, { outstanding: 19797, bytes: 91705344 });
  assert.deepEqual(byTag(seven.snapshots[0].rows, 'EtwB').nonpaged, { outstanding: 128, bytes: 5041136 });
  assert.equal(byTag(seven.snapshots[0].rows, 'CIcr').binary, 'ci.dll');
  const eight = read('poolused-8.txt').snapshots[0].rows;
  assert.deepEqual(eight.map((x) => x.tagText), ['Abc ', 'Tron', 'IoN7', 'Gla5', 'Ggb ']);
  assert.deepEqual(byTag(eight, 'Abc ').paged, { outstanding: 36405, bytes: 33930272 });
  assert.deepEqual(byTag(eight, 'Gla5').nonpaged, { outstanding: 1, bytes: 128 });
  const nine = read('poolused-9.txt').snapshots[0];
  assert.deepEqual(byTag(nine.rows, 'Even').nonpaged, { outstanding: 19248, bytes: 2470752 });
  assert.deepEqual(nine.totals?.nonpaged, { outstanding: 19248, bytes: 2470752 });
});

test('adhoc-sysinfo22-2: a one-tag Key: value record with thousands separators inside a fence', SKIP, () => {
  const r = read('adhoc-sysinfo22-2.txt');
  assert.deepEqual(r.snapshots[0].rows.map((x) => [x.tagText, x.nonpaged]), [['NtFC', { bytes: 18574637216, allocs: 1607446837, frees: 1497028083, outstanding: 110418754 }]]);
});

test('adhoc-sysinfo22-3: Markdown tables, pool from the heading, units in the cells, a row cut off at the end skipped', SKIP, () => {
  const r = read('adhoc-sysinfo22-3.txt');
  const rows = r.snapshots[0].rows;
  assert.equal(rows.length, 9);
  assert.deepEqual(byTag(rows, 'Toke').paged, { bytes: Math.round(7695.3 * MB), outstanding: 3708367 });
  assert.deepEqual(byTag(rows, 'D2d ').paged, { bytes: Math.round(406.7 * MB), outstanding: 13325627 }, "the space inside `D2d ` is the tag's");
  assert.deepEqual(byTag(rows, 'File').nonpaged, { bytes: Math.round(5197.8 * MB), outstanding: 13626897 });
  assert.equal(rows.some((x) => x.tagText === 'SQSF'), false, 'the cut-off last row is not guessed');
  assert.equal(r.skipped?.count, 4);
});
