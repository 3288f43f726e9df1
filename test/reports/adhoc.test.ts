import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAdhoc, looksLikeAdhoc } from '../../src/reports/adhoc.js';
import { ReportParseError } from '../../src/reports/types.js';
import { needShared } from '../helpers/shared.js';

const SAMPLE = needShared('reports') ? '' : readFileSync(new URL('../../../shared/reports/adhoc-sysinfo22-1.txt', import.meta.url), 'utf8');
const MB = 1024 * 1024;

test('adhoc sample: 6 rows, MB to bytes rounded, commentary skipped, the total line kept', { skip: needShared('reports') }, () => {
  const r = parseAdhoc(SAMPLE, 'adhoc-sysinfo22-1.txt');
  assert.equal(r.format, 'adhoc');
  const rows = r.snapshots[0].rows;
  assert.equal(rows.length, 6);
  assert.deepEqual(rows.map((x) => x.tagText), ['NtFC', 'HalD', 'EtwB', 'smCB', 'NVRM', 'smNp']);
  // 21353.2 MB = 22390453043.2 bytes
  assert.deepEqual(rows[0].nonpaged, { bytes: 22390453043 }, 'a table of sizes has no counts: absent, not 0');
  assert.equal(rows[0].line, 3);
  // 40.6 MB = 42572185.6 bytes
  assert.equal(rows[5].nonpaged.bytes, 42572186);
  assert.equal(rows[5].line, 8);
  assert.deepEqual(rows[1].paged, {});
  assert.equal(rows[1].nonpaged.bytes, Math.round(64.4 * MB));
  assert.deepEqual(r.snapshots[0].totals, { nonpaged: { bytes: 21982 * MB } });
  assert.equal(looksLikeAdhoc(SAMPLE), 0.3);
});

test('adhoc: paged and count columns, units in brackets, thousands separators', () => {
  const t = [
    'Report from my tool',
    'Rank  Tag   NP(KB)   Paged_KB  NP_Allocs  NP_Frees',
    '1     Proc  1,024.5  2         10         4',
    '2     Io    0        0.5       3          3',
    '=====',
  ].join('\n');
  const rows = parseAdhoc(t, 't.txt').snapshots[0].rows;
  assert.equal(rows.length, 2);
  assert.deepEqual(rows[0].nonpaged, { allocs: 10, frees: 4, outstanding: 6, bytes: 1049088 });
  assert.deepEqual(rows[0].paged, { bytes: 2048 });
  assert.equal(rows[1].tagText, 'Io  ');
  assert.equal(rows[1].paged.bytes, 512);
});

test('adhoc: a row that does not fit names its line; no header is an error', { skip: needShared('reports') }, () => {
  const bad = SAMPLE.split('\n');
  bad[5] = 'smCB      lots     0.20%';
  assert.throws(() => parseAdhoc(bad.join('\n'), 'a.txt'), (e: unknown) => e instanceof ReportParseError && e.line === 6 && /a\.txt:6: adhoc: expected a row with a tag and numbers under NP_MB/.test(e.message));
  assert.throws(() => parseAdhoc('Tag share\nProc 1%\n', 'b.txt'), /b\.txt:1: adhoc: no table header/);
  assert.equal(looksLikeAdhoc('Tag Type Allocs Frees Diff Bytes\n'), 0);
});
