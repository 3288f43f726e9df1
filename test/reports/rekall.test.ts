import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tagFromText } from '../../src/tag.js';
import { parseRekallText, looksLikeRekallText } from '../../src/reports/rekall-text.js';
import { parseRekallJson, looksLikeRekallJson } from '../../src/reports/rekall-json.js';
import { ReportParseError, type UsageRow } from '../../src/reports/types.js';
import { needShared } from '../helpers/shared.js';

const sample = (name: string) => (needShared('reports') ? '' : readFileSync(new URL(`../../../shared/reports/${name}`, import.meta.url), 'utf8'));
const TEXT = sample('rekall-text-1.txt');
const byTag = (rows: UsageRow[], t: string) => rows.find((r) => r.tagText === t)!;

test('rekall-text sample: 13 rows, elisions skipped, real line numbers', { skip: needShared('reports') }, () => {
  const r = parseRekallText(TEXT, 'rekall-text-1.txt');
  assert.equal(r.format, 'rekall-text');
  assert.equal(r.snapshots.length, 1);
  const rows = r.snapshots[0].rows;
  assert.equal(rows.length, 13);
  assert.deepEqual(rows.map((x) => x.tagText).slice(0, 4), [' DMV', '8042', 'ACPI', 'AFGp']);
  assert.equal(rows[0].tag, tagFromText(' DMV'));
  assert.equal(rows[0].line, 5);
  const alpc = byTag(rows, 'ALPC');
  assert.deepEqual(alpc.nonpaged, { allocs: 3211, frees: 2441, outstanding: 770, bytes: 434240 });
  assert.equal(alpc.line, 9);
  const ppsu = byTag(rows, 'Ppsu');
  assert.deepEqual(ppsu.paged, { allocs: 1394, frees: 1171, outstanding: 223, bytes: 18512 });
  assert.deepEqual(ppsu.nonpaged, { allocs: 0, frees: 0, outstanding: 0, bytes: 0 });
  const proc = byTag(rows, 'Proc');
  assert.equal(proc.tag, 0x636f7250);
  assert.deepEqual(proc.nonpaged, { allocs: 137, frees: 89, outstanding: 48, bytes: 91328 });
  assert.equal(proc.line, 17);
  assert.equal(byTag(rows, 'PsFn').line, 18);
  assert.equal(looksLikeRekallText(TEXT), 1);
});

test('rekall-text: a broken row names its line; a wrapped 32-bit outstanding is corrected', { skip: needShared('reports') }, () => {
  const lines = TEXT.split('\n');
  lines[8] = 'ALPC           3211 770     434240                0 (0)          0';
  assert.throws(() => parseRekallText(lines.join('\n'), 'r.txt'), (e: unknown) => e instanceof ReportParseError && e.line === 9 && /^r\.txt:9: rekall-text: expected a row/.test(e.message));
  const wrapped = 'Tag              NP Alloc   NP Bytes              P Alloc    P Bytes\n' +
    'Wrap                5 (-10)        640                0 (0)          0\n';
  const row = parseRekallText(wrapped, 'w.txt').snapshots[0].rows[0];
  assert.deepEqual(row.nonpaged, { allocs: 5, frees: 15, outstanding: 2 ** 32 - 10, bytes: 640 });
});

test('rekall-text: the header of later Rekall (column names as titles) and a closing prompt', () => {
  const t = 'tag              nonpaged nonpaged_bytes                paged paged_bytes\n' +
    'Io                 5 (2)         96                1 (1)         32\n' +
    'img.raw 10:00:00> exit\n';
  const rows = parseRekallText(t, 'n.txt').snapshots[0].rows;
  assert.equal(rows.length, 1);
  assert.equal(rows[0].tag, tagFromText('Io  '));
  assert.deepEqual(rows[0].paged, { allocs: 1, frees: 0, outstanding: 1, bytes: 32 });
  assert.throws(() => parseRekallText('no table here\n', 'x.txt'), /x\.txt:1: rekall-text: no pool_tracker header/);
});

test('rekall-json grammar sample is read: a stream of another plugin is stated by name, not ranked', { skip: needShared('reports') }, () => {
  const t = sample('rekall-json-grammar-1.txt');
  assert.equal(looksLikeRekallJson(t), 0.9);
  const r = parseRekallJson(t, 'g.json');
  assert.equal(r.kind, 'statement');
  assert.deepEqual(r.snapshots, []);
  assert.equal(r.statement, 'Rekall JSON output of the render_sample plugin (line 2), not pool_tracker: it holds no pool counters');
});

// Streams built from the text sample's rows, in the shapes the Rekall renderers write.
const textRows = needShared('reports') ? [] : parseRekallText(TEXT, 't').snapshots[0].rows;
const cell = (c: { allocs?: number; outstanding?: number }) => `${c.allocs} (${c.outstanding})`;
const V1_COLUMNS = [
  { name: 'Tag', cname: 'tag', formatstring: '4' },
  { name: 'NP Alloc', cname: 'nonpaged', formatstring: '>20' },
  { name: 'NP Bytes', cname: 'nonpaged_bytes', formatstring: '>10' },
  { name: 'P Alloc', cname: 'nonpaged', formatstring: '>20' },
  { name: 'P Bytes', cname: 'nonpaged_bytes', formatstring: '>10' },
];
const LATER_COLUMNS = [
  { name: 'tag', width: 4 }, { name: 'nonpaged', width: 20, align: 'r' }, { name: 'nonpaged_bytes', width: 10, align: 'r' },
  { name: 'paged', width: 20, align: 'r' }, { name: 'paged_bytes', width: 10, align: 'r' },
];
const META = ['m', { plugin_name: 'pool_tracker', tool_name: 'rekall', tool_version: '1.5.1' }];
const stripLines = (rows: UsageRow[]) => rows.map(({ line: _l, ...rest }) => rest);

test('rekall-json: positional rows (json renderer) give the same rows as the text renderer', { skip: needShared('reports') }, () => {
  const msgs = [META, ['t', V1_COLUMNS, {}], ...textRows.map((r) => ['r', [r.tagText, cell(r.nonpaged), r.nonpaged.bytes, cell(r.paged), r.paged.bytes], {}]), ['x']];
  const rep = parseRekallJson(JSON.stringify(msgs), 'p.json');
  assert.equal(rep.format, 'rekall-json');
  assert.equal(rep.snapshots[0].rows.length, 13);
  assert.deepEqual(stripLines(rep.snapshots[0].rows), stripLines(textRows));
  assert.equal(looksLikeRekallJson(JSON.stringify(msgs)), 1);
});

test('rekall-json: keyed rows (data renderer), encoded strings, several flushes, one message per line', { skip: needShared('reports') }, () => {
  const rows = textRows.map((r) => ['r', { tag: { mro: 'str:basestring:object', str: r.tagText }, nonpaged: cell(r.nonpaged), nonpaged_bytes: r.nonpaged.bytes, paged: { str: cell(r.paged) }, paged_bytes: String(r.paged.bytes) }]);
  const flushed = JSON.stringify([META, ['t', LATER_COLUMNS, {}], ['p', 'working'], ...rows.slice(0, 5)]) + JSON.stringify([...rows.slice(5), ['x']]);
  const a = parseRekallJson(flushed, 'd.json');
  assert.deepEqual(stripLines(a.snapshots[0].rows), stripLines(textRows));
  const jsonl = [META, ['t', LATER_COLUMNS, {}], ...rows, ['x']].map((m) => JSON.stringify(m)).join('\n');
  const b = parseRekallJson(jsonl, 'l.json').snapshots[0].rows;
  assert.equal(b.length, 13);
  assert.equal(b[4].tagText, 'ALPC');
  assert.equal(b[4].line, 7, 'each message has its own line');
  const b64 = JSON.stringify([META, ['t', LATER_COLUMNS, {}], ['r', { tag: { b64: Buffer.from([0x41, 0x42, 0x00, 0xff]).toString('base64') }, nonpaged: '1 (1)', nonpaged_bytes: 16, paged: '0 (0)', paged_bytes: 0 }], ['x']]);
  assert.equal(parseRekallJson(b64, 'b.json').snapshots[0].rows[0].tag, 0xff004241);
});

test('rekall-json: Rekall 1.x keyed rows (paged columns reuse the non-paged cnames) are refused, not guessed', () => {
  const msgs = [META, ['t', V1_COLUMNS, {}], ['r', { tag: 'Proc', nonpaged: '0 (0)', nonpaged_bytes: 0 }], ['x']];
  assert.throws(() => parseRekallJson(JSON.stringify(msgs), 'v1.json'), /v1\.json:1: rekall-json: the table repeats the column name "nonpaged"/);
});

test('rekall-json: truncation, stray rows, errors and bad cells carry the line', () => {
  const head = [META, ['t', LATER_COLUMNS, {}]].map((m) => JSON.stringify(m));
  const row = JSON.stringify(['r', ['Proc', '3 (1)', 64, '0 (0)', 0]]);
  assert.throws(() => parseRekallJson([...head, row].join('\n'), 'a'), /a:3: rekall-json: the stream stops without its "x" end message/);
  assert.throws(() => parseRekallJson(JSON.stringify([META, ['r', ['Proc', '1 (1)', 1, '0 (0)', 0]], ['x']]), 'b'), /b:1: rekall-json: row before any table header/);
  assert.throws(() => parseRekallJson([...head, JSON.stringify(['r', ['Proc', '3', 64, '0 (0)', 0]]), '["x"]'].join('\n'), 'c'), /c:3: rekall-json: NP Alloc cell: expected "allocs \(outstanding\)"/);
  assert.throws(() => parseRekallJson([...head, JSON.stringify(['e', 'no PoolTrackTable'])].join('\n'), 'd'), /d:3: rekall-json: Rekall reported an error/);
  assert.throws(() => parseRekallJson('[["m",{}],["t",[{"name":"pid"}],{}],["x"]]', 'e'), /e:1: rekall-json: table columns \(pid\) are not pool_tracker's/);
  assert.throws(() => parseRekallJson('[["m",{}],\n["t",[', 'f'), /f:1: rekall-json: unterminated JSON value/);
  assert.throws(() => parseRekallJson([...head, JSON.stringify(['r', ['Proc', '1 (1)', 2 ** 60, '0 (0)', 0]]), '["x"]'].join('\n'), 'g'), /g:3: NP Bytes: .* below 2\^53/);
});
