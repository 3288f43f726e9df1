import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectFormat, parseReport, readReport, decodeReport, ReportParseError, REPORT_FORMATS, type ReportFormat } from '../../src/reports/index.js';
import { MIN_SCORE } from '../../src/reports/detect.js';
import type { ReportKind } from '../../src/reports/types.js';
import { needShared } from '../helpers/shared.js';

const DIR = fileURLToPath(new URL('../../../shared/reports/', import.meta.url));
const SAMPLES = needShared('reports') ? [] : readdirSync(DIR).filter((f) => f.endsWith('.txt')).sort();
const sample = (f: string) => readFileSync(join(DIR, f), 'utf8');

/** What every real sample is: its format, what kind of numbers it holds, and its rows (or its one-line statement). */
type Expected = { format: ReportFormat; kind: ReportKind; rows?: number; drivers?: number; statement?: RegExp };
const EXPECTED: Record<string, Expected> = {
  'adhoc-sysinfo22-1.txt': { format: 'adhoc', kind: 'usage', rows: 6 },
  'adhoc-sysinfo22-2.txt': { format: 'adhoc', kind: 'usage', rows: 1 },
  'adhoc-sysinfo22-3.txt': { format: 'adhoc', kind: 'usage', rows: 9 },
  'adhoc-sysinfo22-4.txt': { format: 'adhoc', kind: 'statement', statement: /^a table of changes over time \(delta over 4\.91 days\), not current pool usage/ },
  'pool-10.txt': { format: 'pool', kind: 'allocations', rows: 1 },
  'pool-11.txt': { format: 'pool', kind: 'allocations', rows: 4 },
  'pool-2.txt': { format: 'pool', kind: 'allocations', rows: 9 },
  'pool-3.txt': { format: 'pool', kind: 'allocations', rows: 16 },
  'pool-4.txt': { format: 'pool', kind: 'allocations', rows: 2 },
  'pool-5.txt': { format: 'pool', kind: 'allocations', rows: 5 },
  'pool-6.txt': { format: 'pool', kind: 'allocations', rows: 3 },
  'pool-7.txt': { format: 'pool', kind: 'allocations', rows: 3 },
  'pool-8.txt': { format: 'pool', kind: 'allocations', rows: 2 },
  'pool-9.txt': { format: 'pool', kind: 'allocations', rows: 2 },
  'poolfind-2.txt': { format: 'poolfind', kind: 'allocations', rows: 1 },
  'poolfind-3.txt': { format: 'poolfind', kind: 'allocations', rows: 4 },
  'poolfind-4.txt': { format: 'poolfind', kind: 'allocations', rows: 1 },
  'poolfind-5.txt': { format: 'poolfind', kind: 'allocations', rows: 1 },
  'poolmon-display-1.txt': { format: 'poolmon', kind: 'usage', rows: 13 },
  'poolmon-display-12.txt': { format: 'poolmon', kind: 'usage', rows: 4 },
  'poolmon-display-2.txt': { format: 'poolmon', kind: 'usage', rows: 3 },
  'poolmon-display-3.txt': { format: 'poolmon', kind: 'usage', rows: 3 },
  'poolmon-display-4.txt': { format: 'poolmon', kind: 'usage', rows: 8 },
  'poolmon-display-5.txt': { format: 'poolmon', kind: 'usage', rows: 1 },
  'poolmon-display-6.txt': { format: 'poolmon', kind: 'usage', rows: 1 },
  'poolmon-snap-1.txt': { format: 'poolmon', kind: 'usage', rows: 2 },
  'poolused-1.txt': { format: 'poolused', kind: 'usage', rows: 35 },
  'poolused-2.txt': { format: 'poolused', kind: 'usage', rows: 20 },
  'poolused-3.txt': { format: 'poolused', kind: 'usage', rows: 4 },
  'poolused-6.txt': { format: 'poolused', kind: 'usage', rows: 8 },
  'poolused-7.txt': { format: 'poolused', kind: 'usage', rows: 12 },
  'poolused-8.txt': { format: 'poolused', kind: 'usage', rows: 5 },
  'poolused-9.txt': { format: 'poolused', kind: 'usage', rows: 1 },
  'rekall-json-grammar-1.txt': { format: 'rekall-json', kind: 'statement', statement: /render_sample plugin .*not pool_tracker/ },
  'rekall-text-1.txt': { format: 'rekall-text', kind: 'usage', rows: 13 },
  'verifier-kd-1.txt': { format: 'verifier', kind: 'allocations', rows: 2, drivers: 2 },
  'verifier-kd-2.txt': { format: 'verifier', kind: 'allocations', rows: 3, drivers: 1 },
  'verifier-kd-3.txt': { format: 'verifier', kind: 'allocations', rows: 1, drivers: 1 },
  'verifier-kd-6.txt': { format: 'verifier', kind: 'allocations', rows: 1, drivers: 1 },
  'verifier-query-1.txt': { format: 'verifier-query', kind: 'drivers', rows: 0, drivers: 1 },
  'vm-1.txt': { format: 'windbg-vm', kind: 'statement', statement: /^WinDbg !vm output: pool totals only, no tags or drivers to rank: NonPagedPool 36868 KB \(9217 pages\); PagedPool 148228 KB \(37057 pages\)$/ },
  'vm-2.txt': { format: 'windbg-vm', kind: 'statement', statement: /: session 0: paged 3060 KB, nonpaged 316 KB; session 1: paged 0 KB, nonpaged 324 KB$/ },
  'vol2-pooltracker-1.txt': { format: 'vol2-pooltracker', kind: 'usage', rows: 4 },
  'vol2-pooltracker-2.txt': { format: 'vol2-pooltracker', kind: 'statement', statement: /header and no rows \(the run failed: MemoryError\)/ },
};

test('every real sample in ../shared/reports gives rows or a one-line statement of what it is', { skip: needShared('reports') }, () => {
  assert.deepEqual(SAMPLES, Object.keys(EXPECTED).sort(), 'a new sample needs its expected outcome here');
  for (const f of SAMPLES) {
    const want = EXPECTED[f];
    const scores = detectFormat(sample(f));
    assert.equal(scores.length, REPORT_FORMATS.length);
    assert.equal(scores[0].format, want.format, `${f}: ${JSON.stringify(scores.slice(0, 3))}`);
    assert.ok(scores[0].score >= MIN_SCORE, f);
    const r = parseReport(sample(f), f);
    assert.equal(r.format, want.format, f);
    assert.equal(r.kind, want.kind, f);
    if (want.kind === 'statement') {
      assert.match(r.statement ?? '', want.statement!, f);
      assert.ok(!r.statement!.includes('\n'), `${f}: one line`);
      assert.equal(r.snapshots.length, 0, f);
    } else {
      assert.equal(r.statement, undefined, f);
      assert.equal(r.snapshots.reduce((n, s) => n + s.rows.length, 0), want.rows, f);
      assert.equal(r.snapshots.reduce((n, s) => n + (s.drivers?.length ?? 0), 0), want.drivers ?? 0, `${f}: per-driver totals`);
    }
  }
});

test('unrecognised input and a wrong explicit format are clear errors naming file and line', { skip: needShared('reports') }, () => {
  assert.throws(() => parseReport('hello world\nnothing here\n', 'u.txt'), (e: unknown) =>
    e instanceof ReportParseError && e.line === 1 && e.message === `u.txt:1: unrecognised report: expected one of ${REPORT_FORMATS.join(', ')}`);
  assert.throws(() => parseReport('', 'empty.txt'), /empty\.txt:1: unrecognised report/);
  const vol2 = sample('vol2-pooltracker-1.txt');
  assert.throws(() => parseReport(vol2, 'v.txt', 'rekall-text'), /v\.txt:1: rekall-text: no pool_tracker header/);
  assert.equal(parseReport(vol2, 'v.txt', 'vol2-pooltracker').snapshots[0].rows.length, 4);
});

test('readReport: UTF-16LE with BOM and CRLF (PowerShell redirection), UTF-8 BOM, BOM-less UTF-16LE, UTF-16BE', { skip: needShared('reports') }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'whose-tag-reports-'));
  try {
    const text = sample('rekall-text-1.txt');
    const want = parseReport(text, 'x').snapshots[0].rows;
    const crlf = text.replace(/\n/g, '\r\n');
    const variants: [string, Buffer][] = [
      ['utf16le-bom.txt', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(crlf, 'utf16le')])],
      ['utf8-bom.txt', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(crlf, 'utf8')])],
      ['utf16le.txt', Buffer.from(crlf, 'utf16le')],
      ['utf16be-bom.txt', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(crlf, 'utf16le').swap16()])],
    ];
    for (const [name, bytes] of variants) {
      const p = join(dir, name);
      writeFileSync(p, bytes);
      const r = readReport(p);
      assert.equal(r.format, 'rekall-text', name);
      assert.equal(r.file, p);
      assert.deepEqual(r.snapshots[0].rows, want, name);
    }
    assert.equal(decodeReport(Buffer.from('Tag\r\n', 'utf8')), 'Tag\r\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CRLF text keeps line numbers in errors', { skip: needShared('reports') }, () => {
  const text = sample('vol2-pooltracker-1.txt').split('\n');
  text[9] = 'File   75346601 75336591';
  assert.throws(() => parseReport(text.join('\r\n'), 'c.txt'), (e: unknown) => e instanceof ReportParseError && e.line === 10);
});
