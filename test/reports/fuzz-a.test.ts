// Mutated samples through the poolused, poolmon and verifier parsers: every case must give a Report
// whose rows are well-formed, or a ReportParseError naming a real line; never another exception.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parsePoolused } from '../../src/reports/poolused.js';
import { parsePoolmon } from '../../src/reports/poolmon.js';
import { parseVerifier } from '../../src/reports/verifier.js';
import { ReportParseError, type PoolCounters, type Report } from '../../src/reports/types.js';
import { needShared } from '../helpers/shared.js';
import { prng } from '../helpers/prng.js';

const SAMPLES = [
  'poolused-1.txt', 'poolused-2.txt', 'poolused-3.txt',
  'poolmon-display-1.txt', 'poolmon-display-2.txt', 'poolmon-display-3.txt',
  'poolmon-display-4.txt', 'poolmon-display-5.txt', 'poolmon-display-6.txt', 'poolmon-snap-1.txt',
  'verifier-kd-1.txt', 'verifier-kd-2.txt', 'verifier-kd-3.txt',
];
const PARSERS = { poolused: parsePoolused, poolmon: parsePoolmon, verifier: parseVerifier };
const MUTATIONS_PER_SAMPLE = 400;

const texts = needShared('reports') ? [] : SAMPLES.map((f) => readFileSync(new URL(`../../../shared/reports/${f}`, import.meta.url), 'utf8'));
const allLines = texts.flatMap((t) => t.split('\n'));

const FLIPS = ['x', '0', '9', '-', '(', ')', '.', ' ', '\t', '\r', '`', '\u00ff', '\u2026', '\u4e2d', '\0', '/', ':', 'K'];
const GARBAGE = ['...', '0: kd> !poolused 8', ' Tag  Type     Allocs            Frees            Diff   Bytes       Per Alloc',
  ' Tag    Allocs     Used    Allocs     Used', '      Address     Length      Tag   Caller', 'Total Nonp 1 (1) 1 (1) 0 0 (0) 0',
  ' TOTAL 1 2 3', ' Memory:  1K Avail:   1K  PageFlts:    1   InRam Krnl: 1K P:1K', '\u0000\u0001\u0002',
  ' Abcd Nonp 99999999999999999999 ( 0) 1 ( 0) 1 1 ( 0) 1', ' ' .repeat(5000) + 'x'];

function mutate(text: string, rnd: () => number): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
  let lines = text.split('\n');
  const steps = 1 + Math.floor(rnd() * 4);
  for (let s = 0; s < steps; s++) {
    const i = Math.floor(rnd() * lines.length);
    switch (Math.floor(rnd() * 8)) {
      case 0: lines.splice(i, 1); break;
      case 1: lines.splice(i, 0, lines[i] ?? ''); break;
      case 2: { const j = Math.floor(rnd() * lines.length); [lines[i], lines[j]] = [lines[j], lines[i]]; break; }
      case 3: {
        const l = lines[i] ?? '';
        const k = Math.floor(rnd() * (l.length + 1));
        lines[i] = l.slice(0, k) + pick(FLIPS) + l.slice(k + 1);
        break;
      }
      case 4: {
        const joined = lines.join('\n');
        lines = joined.slice(0, Math.floor(rnd() * joined.length)).split('\n');
        break;
      }
      case 5: lines.splice(i, 0, pick(GARBAGE)); break;
      case 6: lines.splice(i, 0, pick(allLines)); break;
      default: lines[i] = (lines[i] ?? '').replace(/\d/g, () => String(Math.floor(rnd() * 10)).repeat(1 + Math.floor(rnd() * 3)));
    }
  }
  return lines.join(rnd() < 0.1 ? '\r\n' : '\n');
}

function assertWellFormed(rep: Report, lineCount: number): void {
  if (rep.kind === 'statement') {
    assert.ok(rep.statement && !rep.statement.includes('\n') && rep.snapshots.length === 0, 'a statement is one line, with no snapshot');
    return;
  }
  assert.ok(rep.snapshots.length >= 1);
  const counters = (c: PoolCounters | undefined) => {
    if (!c) return;
    for (const v of [c.allocs, c.frees, c.outstanding, c.bytes]) assert.ok(v === undefined || Number.isSafeInteger(v), `counter ${v}`);
  };
  for (const s of rep.snapshots) {
    counters(s.totals?.nonpaged);
    counters(s.totals?.paged);
    for (const r of s.rows) {
      assert.ok(Number.isInteger(r.tag) && r.tag >= 0 && r.tag <= 0xffffffff, `tag ${r.tag}`);
      assert.ok(r.line >= 1 && r.line <= lineCount, `line ${r.line} of ${lineCount}`);
      counters(r.nonpaged);
      counters(r.paged);
      counters(r.session);
    }
  }
}

test('mutated samples give a Report or a ReportParseError, nothing else', { skip: needShared('reports') }, () => {
  const rnd = prng(0x5eed_a001);
  const outcomes = { report: 0, error: 0 };
  for (const text of texts) {
    for (let k = 0; k < MUTATIONS_PER_SAMPLE; k++) {
      const input = mutate(text, rnd);
      const lineCount = input.split('\n').length;
      for (const [name, parse] of Object.entries(PARSERS)) {
        try {
          const rep = parse(input, 'fuzz.txt');
          assert.equal(rep.format, name);
          assertWellFormed(rep, lineCount);
          outcomes.report++;
        } catch (e) {
          if (!(e instanceof ReportParseError)) {
            assert.fail(`${name} threw ${String(e)} on input:\n${input.slice(0, 2000)}`);
          }
          assert.ok(e.line >= 1 && e.line <= lineCount, `error line ${e.line} of ${lineCount}`);
          assert.match(e.message, new RegExp(`^fuzz\\.txt:${e.line}: `));
          outcomes.error++;
        }
      }
    }
  }
  assert.equal(outcomes.report + outcomes.error, SAMPLES.length * MUTATIONS_PER_SAMPLE * 3);
  // Both outcomes must actually occur, or the mutations are not reaching the parsers' paths.
  assert.ok(outcomes.report > 1000, `reports: ${outcomes.report}`);
  assert.ok(outcomes.error > 1000, `errors: ${outcomes.error}`);
});

test('a pathological line (a megabyte of spaces) is handled in linear time', () => {
  const huge = ' Tag    Allocs     Used    Allocs     Used\n Abcd' + ' '.repeat(1 << 20) + '1\n';
  for (const parse of Object.values(PARSERS)) {
    try {
      parse(huge, 'huge.txt');
    } catch (e) {
      assert.ok(e instanceof ReportParseError, String(e));
    }
  }
});
