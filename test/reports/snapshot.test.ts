import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tagFromText, PROTECTED_BIT } from '../../src/tag.js';
import { parseSnapshot, serializeSnapshot, looksLikeSnapshot, type SnapshotInput } from '../../src/reports/snapshot.js';
import { ReportParseError, type UsageRow } from '../../src/reports/types.js';

function row(tag: number, np: [number, number, number], p: [number, number, number], extra: Partial<UsageRow> = {}): UsageRow {
  return {
    tag,
    tagText: '',
    nonpaged: { allocs: np[0], frees: np[1], outstanding: np[0] - np[1], bytes: np[2] },
    paged: { allocs: p[0], frees: p[1], outstanding: p[0] - p[1], bytes: p[2] },
    line: 0,
    ...extra,
  };
}

const SNAP: SnapshotInput = {
  host: 'WS01',
  osBuild: '10.0.26100.2454',
  time: '2026-11-23T19:00:00.123Z',
  source: 'SystemPoolTagInformation',
  rows: [
    row(tagFromText('Proc'), [137, 89, 91328], [0, 0, 0]),
    row(tagFromText(' DMV'), [1, 1, 0], [0, 0, 0]),
    row(0x00414243, [3, 0, 96], [2 ** 40, 2 ** 40 - 7, Number.MAX_SAFE_INTEGER]),
    row((tagFromText('Ntf\\') | PROTECTED_BIT) >>> 0, [9, 2, 4096], [1, 0, 64], {
      session: { allocs: 4, frees: 1, outstanding: 3, bytes: 512 },
      description: 'ntfs.sys - general',
    }),
    // Outstanding given by the source rather than allocs - frees: kept.
    { ...row(tagFromText('Wrap'), [5, 15, 640], [0, 0, 0]), nonpaged: { allocs: 5, frees: 15, outstanding: 2 ** 32 - 10, bytes: 640 } },
  ],
};

const comparable = (rows: UsageRow[]) => rows.map(({ line: _l, tagText: _t, ...rest }) => rest);

test('serialize then parse gives the same snapshot back; one line of JSON', () => {
  const text = serializeSnapshot(SNAP);
  assert.equal(text.includes('\n'), false);
  assert.equal(looksLikeSnapshot(text), 1);
  const rep = parseSnapshot(text, 's.json');
  assert.equal(rep.format, 'whose-tag-snapshot');
  assert.equal(rep.snapshots.length, 1);
  const s = rep.snapshots[0];
  assert.equal(s.host, 'WS01');
  assert.equal(s.osBuild, '10.0.26100.2454');
  assert.equal(s.time, '2026-11-23T19:00:00.123Z');
  assert.equal(s.rows.length, 5);
  assert.deepEqual(comparable(s.rows), comparable(SNAP.rows));
  assert.deepEqual(s.rows.map((r) => r.tagText), ['Proc', ' DMV', 'CBA\\x00', 'Ntf\\xdc', 'Wrap']);
  const json = JSON.parse(text);
  assert.equal(json.whoseTagSnapshot, 1);
  assert.equal(json.source, 'SystemPoolTagInformation');
  assert.deepEqual(json.rows[0], { tag: 'Proc', tagHex: '0x636f7250', nonpaged: { allocs: 137, frees: 89, bytes: 91328 }, paged: { allocs: 0, frees: 0, bytes: 0 } });
  assert.equal(json.rows[3].tagHex, '0xdc66744e');
  assert.deepEqual(json.rows[4].nonpaged, { allocs: 5, frees: 15, bytes: 640, outstanding: 4294967286 });
});

test('a series is one object per line (NDJSON) and parses to one snapshot each, rows on their line', () => {
  const series = [0, 1, 2].map((k) => serializeSnapshot({ ...SNAP, time: `2026-11-23T19:0${k}:00Z`, rows: SNAP.rows.slice(0, k + 1) }));
  const text = '# SOURCE: generated\n' + series.join('\n') + '\n';
  const rep = parseSnapshot(text, 'series.ndjson');
  assert.equal(rep.snapshots.length, 3);
  assert.deepEqual(rep.snapshots.map((s) => s.rows.length), [1, 2, 3]);
  assert.deepEqual(rep.snapshots.map((s) => s.time), ['2026-11-23T19:00:00Z', '2026-11-23T19:01:00Z', '2026-11-23T19:02:00Z']);
  assert.deepEqual(rep.snapshots[2].rows.map((r) => r.line), [4, 4, 4]);
  const pretty = JSON.stringify(JSON.parse(series[1]), null, 2);
  assert.equal(parseSnapshot(pretty, 'p.json').snapshots[0].rows.length, 2);
});

test('validation is strict: the line of the offending object and the field path', () => {
  const good = serializeSnapshot(SNAP);
  const bad = (mutate: (o: any) => void) => {
    const o = JSON.parse(good);
    mutate(o);
    return good + '\n' + JSON.stringify(o);
  };
  const expectError = (text: string, re: RegExp) =>
    assert.throws(() => parseSnapshot(text, 'x.json'), (e: unknown) => e instanceof ReportParseError && e.line === 2 && re.test(e.message), String(re));
  expectError(bad((o) => (o.whoseTagSnapshot = 2)), /x\.json:2: whose-tag-snapshot: whoseTagSnapshot: expected 1, got 2/);
  expectError(bad((o) => (o.rows[0].tag = 'Prob')), /rows\[0\]\.tag: "Prob" does not match tagHex 0x636f7250/);
  expectError(bad((o) => (o.rows[2].paged.bytes = -1)), /rows\[2\]\.paged\.bytes: expected a whole number >= 0/);
  expectError(bad((o) => (o.rows[1].nonpaged.allocs = 2 ** 53)), /rows\[1\]\.nonpaged\.allocs: expected a whole number >= 0 below 2\^53/);
  expectError(bad((o) => (o.rows[1].pagd = {})), /rows\[1\]\.pagd: unknown field/);
  expectError(bad((o) => delete o.rows[3].paged), /rows\[3\]\.paged: expected an object/);
  expectError(bad((o) => (o.rows[0].tagHex = 'Proc')), /rows\[0\]\.tagHex: expected "0x" and 8 hex digits/);
  expectError(bad((o) => (o.time = 'yesterday')), /time: expected an ISO 8601 time/);
  expectError(bad((o) => (o.rows = {})), /rows: expected a list/);
  expectError(good + '\n{"whoseTagSnapshot":1,"rows":[1,]}', /x\.json:2: whose-tag-snapshot: invalid JSON/);
  expectError(good + '\n{"whoseTagSnapshot":1,"rows":[', /x\.json:2: whose-tag-snapshot: unterminated JSON value/);
  assert.throws(() => parseSnapshot('', 'e.json'), /e\.json:1: whose-tag-snapshot: no snapshot object found/);
});
