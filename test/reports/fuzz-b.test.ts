// Seeded mutation fuzzing of the Rekall, Volatility 2, snapshot and ad-hoc parsers: every mutated
// input either parses to a sane Report or fails with a ReportParseError, never anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseReport, serializeSnapshot, ReportParseError, type Report, type ReportFormat } from '../../src/reports/index.js';
import { FORMATS } from '../../src/reports/detect.js';
import { needShared } from '../helpers/shared.js';
import { prng } from '../helpers/prng.js';

const sample = (name: string) => (needShared('reports') ? '' : readFileSync(new URL(`../../../shared/reports/${name}`, import.meta.url), 'utf8'));

const ALPHABET = ['0', '9', ' ', '  ', '(', ')', '-', '"', '[', ']', '{', '}', ',', ':', '\n', '\\', '\\x', '\0', '\u00ff', '\u0100', '\ufffd', '\t', '.', 'e', '%', 'MB', 'Tag', '["x"]', '99999999999999999999', '-1'];

function mutate(text: string, r: () => number): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  let t = text;
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(r() * (t.length + 1));
    const lines = t.split('\n');
    const li = Math.floor(r() * lines.length);
    switch (Math.floor(r() * 8)) {
      case 0: t = t.slice(0, at) + t.slice(at + 1 + Math.floor(r() * 8)); break;
      case 1: t = t.slice(0, at) + pick(ALPHABET) + t.slice(at); break;
      case 2: t = t.slice(0, at) + pick(ALPHABET) + t.slice(at + 1); break;
      case 3: lines.splice(li, 0, lines[li]); t = lines.join('\n'); break;
      case 4: lines.splice(li, 1); t = lines.join('\n'); break;
      case 5: { const lj = Math.floor(r() * lines.length); [lines[li], lines[lj]] = [lines[lj], lines[li]]; t = lines.join('\n'); break; }
      case 6: t = t.slice(0, at); break;
      default: t = t.replace(/\d+/, pick(['99999999999999999999', '9007199254740993', '-5', '0x10', '1.5', ''])); break;
    }
  }
  return t;
}

function checkReport(rep: Report, text: string): void {
  const lines = text.split('\n').length;
  if (rep.kind === 'statement') assert.ok(rep.statement && !rep.statement.includes('\n') && rep.snapshots.length === 0, 'a statement is one line, with no snapshot');
  for (const s of rep.snapshots) {
    for (const row of s.rows) {
      assert.ok(Number.isInteger(row.tag) && row.tag >= 0 && row.tag <= 0xffffffff, 'tag is a u32');
      assert.ok(row.line >= 1 && row.line <= lines, `line ${row.line} within 1..${lines}`);
      for (const c of [row.nonpaged, row.paged, row.session]) {
        if (!c) continue;
        for (const v of [c.allocs, c.frees, c.outstanding, c.bytes]) assert.ok(v === undefined || Number.isSafeInteger(v), `exact counter ${v}`);
        assert.ok((c.allocs ?? 0) >= 0 && (c.bytes ?? 0) >= 0);
      }
    }
  }
}

const rekallRows = needShared('reports') ? [] : parseReport(sample('rekall-text-1.txt'), 'x').snapshots[0].rows;
const rekallStream = JSON.stringify([
  ['m', { plugin_name: 'pool_tracker' }],
  ['t', [{ name: 'tag' }, { name: 'nonpaged' }, { name: 'nonpaged_bytes' }, { name: 'paged' }, { name: 'paged_bytes' }], {}],
  ...rekallRows.map((r) => ['r', { tag: r.tagText, nonpaged: `${r.nonpaged.allocs} (${r.nonpaged.outstanding})`, nonpaged_bytes: r.nonpaged.bytes, paged: `${r.paged.allocs} (${r.paged.outstanding})`, paged_bytes: r.paged.bytes }]),
  ['x'],
]).replace(/\],\[/g, '],\n[');
const series = [1, 2, 3].map((k) => serializeSnapshot({ host: 'h', time: `2026-01-0${k}T00:00:00Z`, source: 'SystemPoolTagInformation', rows: rekallRows.slice(0, 4 * k) })).join('\n');

const CORPUS: [string, ReportFormat, string][] = [
  ['rekall-text-1.txt', 'rekall-text', sample('rekall-text-1.txt')],
  ['rekall-json-grammar-1.txt', 'rekall-json', sample('rekall-json-grammar-1.txt')],
  ['generated pool_tracker stream', 'rekall-json', rekallStream],
  ['vol2-pooltracker-1.txt', 'vol2-pooltracker', sample('vol2-pooltracker-1.txt')],
  ['adhoc-sysinfo22-1.txt', 'adhoc', sample('adhoc-sysinfo22-1.txt')],
  ['generated snapshot series', 'whose-tag-snapshot', series],
];
const CASES = 700;

test('the unmutated corpus parses', { skip: needShared('reports') }, () => {
  for (const [name, format, text] of CORPUS) {
    if (name === 'rekall-json-grammar-1.txt') {
      assert.match(FORMATS[format].parse(text, name).statement ?? '', /render_sample plugin .*not pool_tracker/);
      continue;
    }
    assert.ok(FORMATS[format].parse(text, name).snapshots[0].rows.length > 0, name);
  }
});

for (const [name, format, text] of CORPUS) {
  test(`fuzz ${name}: ${CASES} seeded mutations, with the ${format} parser and with detection`, { skip: needShared('reports') }, () => {
    const r = prng(0xb0b + name.length * 7919);
    let parsed = 0;
    let refused = 0;
    for (let i = 0; i < CASES; i++) {
      const t = mutate(text, r);
      for (const run of [() => FORMATS[format].parse(t, 'fuzz'), () => parseReport(t, 'fuzz')]) {
        try {
          checkReport(run(), t);
          parsed++;
        } catch (e) {
          if (!(e instanceof ReportParseError)) {
            assert.fail(`case ${i} of ${name} threw ${(e as Error).stack}\ninput: ${JSON.stringify(t.slice(0, 400))}`);
          }
          assert.match(e.message, /^fuzz:\d+: /);
          refused++;
        }
      }
    }
    assert.equal(parsed + refused, 2 * CASES);
  });
}
