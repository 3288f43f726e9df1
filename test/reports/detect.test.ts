import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectFormat, parseReport, readReport, decodeReport, ReportParseError, REPORT_FORMATS, type ReportFormat } from '../../src/reports/index.js';
import { MIN_SCORE } from '../../src/reports/detect.js';

const DIR = fileURLToPath(new URL('../../../shared/reports/', import.meta.url));
const SAMPLES = readdirSync(DIR).filter((f) => f.endsWith('.txt')).sort();
const EXPECTED: [RegExp, ReportFormat][] = [
  [/^poolused-/, 'poolused'],
  [/^poolmon-/, 'poolmon'],
  [/^verifier-/, 'verifier'],
  [/^rekall-text-/, 'rekall-text'],
  [/^rekall-json-/, 'rekall-json'],
  [/^vol2-pooltracker-/, 'vol2-pooltracker'],
  [/^adhoc-/, 'adhoc'],
];
const expectedFormat = (f: string) => EXPECTED.find(([re]) => re.test(f))![1];

test('detection picks the right format for every one of the 17 samples', () => {
  assert.equal(SAMPLES.length, 17);
  for (const f of SAMPLES) {
    const scores = detectFormat(readFileSync(join(DIR, f), 'utf8'));
    assert.equal(scores.length, REPORT_FORMATS.length);
    assert.equal(scores[0].format, expectedFormat(f), `${f}: ${JSON.stringify(scores.slice(0, 3))}`);
    assert.ok(scores[0].score >= MIN_SCORE, f);
  }
});

test('parseReport (auto) on this module\'s samples: format and row counts', () => {
  const rows = (f: string) => {
    const r = parseReport(readFileSync(join(DIR, f), 'utf8'), f);
    return [r.format, r.snapshots.reduce((n, s) => n + s.rows.length, 0)];
  };
  assert.deepEqual(rows('rekall-text-1.txt'), ['rekall-text', 13]);
  assert.deepEqual(rows('vol2-pooltracker-1.txt'), ['vol2-pooltracker', 4]);
  assert.deepEqual(rows('adhoc-sysinfo22-1.txt'), ['adhoc', 6]);
  assert.throws(() => rows('rekall-json-grammar-1.txt'), /rekall-json-grammar-1\.txt:2: rekall-json: plugin render_sample is not pool_tracker/);
});

test('unrecognised input and a wrong explicit format are clear errors naming file and line', () => {
  assert.throws(() => parseReport('hello world\nnothing here\n', 'u.txt'), (e: unknown) =>
    e instanceof ReportParseError && e.line === 1 && e.message === `u.txt:1: unrecognised report: expected one of ${REPORT_FORMATS.join(', ')}`);
  assert.throws(() => parseReport('', 'empty.txt'), /empty\.txt:1: unrecognised report/);
  const vol2 = readFileSync(join(DIR, 'vol2-pooltracker-1.txt'), 'utf8');
  assert.throws(() => parseReport(vol2, 'v.txt', 'rekall-text'), /v\.txt:1: rekall-text: no pool_tracker header/);
  assert.equal(parseReport(vol2, 'v.txt', 'vol2-pooltracker').snapshots[0].rows.length, 4);
});

test('readReport: UTF-16LE with BOM and CRLF (PowerShell redirection), UTF-8 BOM, BOM-less UTF-16LE, UTF-16BE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'whose-tag-reports-'));
  try {
    const text = readFileSync(join(DIR, 'rekall-text-1.txt'), 'utf8');
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

test('CRLF text keeps line numbers in errors', () => {
  const text = readFileSync(join(DIR, 'vol2-pooltracker-1.txt'), 'utf8').split('\n');
  text[9] = 'File   75346601 75336591';
  assert.throws(() => parseReport(text.join('\r\n'), 'c.txt'), (e: unknown) => e instanceof ReportParseError && e.line === 10);
});
