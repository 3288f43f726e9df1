// Seeded mutation fuzzing of the per-allocation and driver-level parsers (!pool, !poolfind, Volatility
// 3, MemProcFS, DRAKVUF, !verifier, verifier /query, !vm): every mutated input gives a well-formed Report or a ReportParseError naming a real line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { parseReport, ReportParseError, type Report, type ReportFormat } from '../../src/reports/index.js';
import { FORMATS } from '../../src/reports/detect.js';
import { prng } from '../helpers/prng.js';
import { needShared, sharedPath } from '../helpers/shared.js';

const FIXTURES = new URL('../fixtures/reports/', import.meta.url);
const fixtureFormat = (f: string): ReportFormat =>
  f.startsWith('vol3-bigpools') ? 'vol3-bigpools' : f.startsWith('vol3-poolscanner') ? 'vol3-poolscanner' : f.startsWith('memprocfs') ? 'memprocfs-pool' : 'drakvuf-poolmon';
const CORPUS: [string, ReportFormat, string][] = readdirSync(FIXTURES)
  .filter((f) => /^(vol3|memprocfs|drakvuf)/.test(f))
  .sort()
  .map((f) => [f, fixtureFormat(f), readFileSync(new URL(f, FIXTURES), 'utf8')]);
// The two real samples the README shows travel with the repository (data/examples): always fuzzed.
CORPUS.push(['data/examples/poolfind-amda.txt', 'poolfind', readFileSync(new URL('../../data/examples/poolfind-amda.txt', import.meta.url), 'utf8')]);
CORPUS.push(['data/examples/verifier-query.txt', 'verifier-query', readFileSync(new URL('../../data/examples/verifier-query.txt', import.meta.url), 'utf8')]);
if (!needShared('reports')) {
  const formatOf = (f: string): ReportFormat | undefined =>
    f.startsWith('poolfind-') ? 'poolfind' : f.startsWith('pool-') ? 'pool' : f.startsWith('vm-') ? 'windbg-vm' : f.startsWith('verifier-kd-') ? 'verifier' : undefined;
  for (const f of readdirSync(sharedPath('reports')).sort()) {
    const format = formatOf(f);
    if (format) CORPUS.push([f, format, readFileSync(sharedPath(`reports/${f}`), 'utf8')]);
  }
}
/** Thousands of cases in all (each run twice: its parser, then detection), with or without ../shared. */
const CASES = Math.ceil(3100 / CORPUS.length);
const PIECES = ['0', 'f', ' ', '\t', '(', ')', '*', ',', '"', '`', ':', '|', '\n', '0x', 'size:', '(Free )', 'Allocated', 'N/A', '\u00ff', '\0', '99999999999999999999', 'tag ', '// x', '```'];

function mutate(text: string, r: () => number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  let t = text;
  for (let k = 1 + Math.floor(r() * 4); k > 0; k--) {
    const at = Math.floor(r() * (t.length + 1));
    const lines = t.split('\n');
    const li = Math.floor(r() * lines.length);
    switch (Math.floor(r() * 7)) {
      case 0: t = t.slice(0, at) + t.slice(at + 1 + Math.floor(r() * 6)); break;
      case 1: t = t.slice(0, at) + pick(PIECES) + t.slice(at); break;
      case 2: t = t.slice(0, at) + pick(PIECES) + t.slice(at + 1); break;
      case 3: lines.splice(li, 0, lines[li]); t = lines.join('\n'); break;
      case 4: lines.splice(li, 1); t = lines.join('\n'); break;
      case 5: t = t.slice(0, at); break;
      default: t = t.replace(/[0-9a-f]{2,}/, pick(['', 'zz', '1'.repeat(30), '0x', '-1'])); break;
    }
  }
  return t;
}

function check(rep: Report, text: string): void {
  const lines = text.split('\n').length;
  if (rep.kind === 'statement') {
    assert.ok(rep.statement && !rep.statement.includes('\n') && rep.snapshots.length === 0);
    return;
  }
  for (const s of rep.snapshots) {
    for (const d of s.drivers ?? []) {
      assert.ok(d.driver.length > 0 && d.line >= 1 && d.line <= lines);
      for (const c of [d.nonpaged, d.paged, d.peak?.nonpaged, d.peak?.paged]) {
        for (const v of [c?.outstanding, c?.bytes]) assert.ok(v === undefined || (Number.isSafeInteger(v) && v >= 0), `driver counter ${v}`);
      }
    }
    for (const row of s.rows) {
      assert.ok(Number.isInteger(row.tag) && row.tag >= 0 && row.tag <= 0xffffffff);
      for (const l of row.lines ?? [row.line]) assert.ok(l >= 1 && l <= lines, `line ${l} of ${lines}`);
      for (const c of row.callers ?? []) assert.equal(typeof c, 'string');
      for (const c of [row.nonpaged, row.paged, row.session, row.unknownPool]) {
        if (!c) continue;
        for (const v of [c.allocs, c.frees, c.outstanding, c.bytes]) assert.ok(v === undefined || (Number.isSafeInteger(v) && v >= 0), `counter ${v}`);
      }
    }
  }
}

test('the corpus parses unmutated: rows, per-driver totals, or a statement', () => {
  assert.ok(CORPUS.length >= 11);
  for (const [name, format, text] of CORPUS) {
    const r = FORMATS[format].parse(text, name);
    assert.ok(r.statement || r.snapshots[0].rows.length > 0 || (r.snapshots[0].drivers?.length ?? 0) > 0, name);
  }
});

test(`per-allocation and driver-level parsers: ${CASES} seeded mutations per corpus file, with its parser and with detection`, () => {
  const r = prng(0xa110c);
  let parsed = 0;
  let refused = 0;
  for (const [name, format, text] of CORPUS) {
    for (let i = 0; i < CASES; i++) {
      const t = mutate(text, r);
      for (const run of [() => FORMATS[format].parse(t, 'fuzz'), () => parseReport(t, 'fuzz')]) {
        try {
          check(run(), t);
          parsed++;
        } catch (e) {
          if (!(e instanceof ReportParseError)) assert.fail(`case ${i} of ${name} threw ${(e as Error).stack}\ninput: ${JSON.stringify(t.slice(0, 400))}`);
          assert.match(e.message, /^fuzz:\d+: /);
          assert.ok(e.line >= 1 && e.line <= t.split('\n').length, `error line ${e.line}`);
          refused++;
        }
      }
    }
  }
  assert.equal(parsed + refused, 2 * CASES * CORPUS.length);
  assert.ok(parsed > CASES && refused > CASES, `both outcomes occur: ${parsed} parsed, ${refused} refused`);
  assert.ok(parsed + refused >= 6000, 'thousands of cases');
});
