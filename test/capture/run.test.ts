import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePoolTagInformation } from '../../src/capture/decode.js';
import { runCapture, type CaptureIo } from '../../src/capture/run.js';
import { snapshotFromRecords } from '../../src/capture/snapshot.js';
import { growth, isSuspect } from '../../src/rank/growth.js';
import { readReport } from '../../src/reports/index.js';
import type { SnapshotInput } from '../../src/reports/snapshot.js';
import { formatTag } from '../../src/tag.js';
import { entry, poolTagInformation } from './buffers.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'whose-tag-capture-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Snapshot i of a machine where `Leak` grows by 100 allocations of 64 bytes each time. */
function machine(i: number): SnapshotInput {
  const buf = poolTagInformation([entry('Leak', [0, 0, 0], [100 * (i + 1), 0, 6400 * (i + 1)]), entry('Flat', [10, 5, 500], [0, 0, 0])], 64);
  return snapshotFromRecords(decodePoolTagInformation(buf, 64), { host: 'WS01', osBuild: '10.0.26100', time: `2026-11-23T19:0${i}:00.000Z`, source: 'SystemPoolTagInformation' });
}

function fakeIo(overrides: Partial<CaptureIo> = {}) {
  const out: string[] = [];
  const slept: number[] = [];
  let i = 0;
  const io: CaptureIo = {
    take: async () => machine(i++),
    sleep: async (ms) => void slept.push(ms),
    stdout: (s) => void out.push(s),
    stopped: () => false,
    ...overrides,
  };
  return { io, out, slept };
}

test('a series written with --out reads back as snapshots that diff flags', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'series.ndjson');
  const { io, out, slept } = fakeIo();
  assert.equal(await runCapture({ count: 4, interval: 2.5, out: file }, io), 4);
  assert.deepEqual(slept, [2500, 2500, 2500]);
  assert.deepEqual(out, []);
  assert.deepEqual(readdirSync(dir), ['series.ndjson']); // the temp file was renamed away
  const report = readReport(file);
  assert.equal(report.format, 'whose-tag-snapshot');
  assert.equal(report.snapshots.length, 4);
  assert.equal(report.snapshots[3].host, 'WS01');
  assert.deepEqual(report.snapshots[3].rows[0].nonpaged, { allocs: 400, frees: 0, outstanding: 400, bytes: 25600 });
  const g = growth(report.snapshots, { ownersOf: () => [] }, { pool: 'all', sort: 'bytes' });
  assert.deepEqual(g.tags.map((x) => [formatTag(x.tag), x.bytes, isSuspect(x)]), [['Leak', 19200, true], ['Flat', 0, false]]);
});

test('without --out each snapshot is one JSON line on stdout; --top prints the ranking instead', async () => {
  const plain = fakeIo();
  await runCapture({ count: 2, interval: 1 }, plain.io);
  assert.equal(plain.out.length, 2);
  assert.equal(JSON.parse(plain.out[1]).rows[0].nonpaged.bytes, 12800);
  assert.ok(plain.out.every((l) => l.endsWith('}\n') && !l.slice(0, -1).includes('\n')));
  const ranked = fakeIo({ ranking: (s, i) => `#${i} ${s.rows.length} rows\n` });
  await runCapture({ count: 2, interval: 1, top: 5 }, ranked.io);
  assert.deepEqual(ranked.out, ['#1 2 rows\n', '#2 2 rows\n']);
});

test('Ctrl-C ends the series after the current snapshot and keeps what was taken', async (t) => {
  const file = join(tempDir(t), 's.ndjson');
  let stop = false;
  const { io } = fakeIo({ sleep: async () => void (stop = true), stopped: () => stop });
  assert.equal(await runCapture({ count: 10, interval: 1, out: file }, io), 1);
  assert.equal(readReport(file).snapshots.length, 1);
});

test('a failing query keeps the snapshots already taken, and a first failure leaves the old file alone', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 's.ndjson');
  let n = 0;
  const failSecond = fakeIo({ take: async () => (n++ === 0 ? machine(0) : Promise.reject(new Error('query failed'))) });
  await assert.rejects(runCapture({ count: 3, interval: 1, out: file }, failSecond.io), /query failed/);
  assert.equal(readReport(file).snapshots.length, 1);
  writeFileSync(file, 'old contents\n');
  const failFirst = fakeIo({ take: async () => Promise.reject(new Error('access denied')) });
  await assert.rejects(runCapture({ count: 3, interval: 1, out: file }, failFirst.io), /access denied/);
  assert.equal(readFileSync(file, 'utf8'), 'old contents\n');
  assert.deepEqual(readdirSync(dir), ['s.ndjson']);
  assert.equal(existsSync(join(dir, `.s.ndjson.${process.pid}.partial`)), false);
});

test('session pool counters go into the row, tags seen only in session pool get a row', () => {
  const sys = decodePoolTagInformation(poolTagInformation([entry('Proc', [0, 0, 0], [5, 1, 640])], 64), 64);
  const ses = decodePoolTagInformation(poolTagInformation([entry('Proc', [2, 0, 32], [1, 0, 16]), entry('Gh05', [3, 1, 300], [0, 0, 0])], 64), 64);
  const snap = snapshotFromRecords(sys, { host: 'h', osBuild: 'b', time: '2026-11-23T19:00:00Z', source: 's' }, ses);
  assert.deepEqual(snap.rows.map((r) => [r.tagText, r.nonpaged.bytes, r.session]), [
    ['Proc', 640, { allocs: 3, frees: 0, outstanding: 3, bytes: 48 }],
    ['Gh05', 0, { allocs: 3, frees: 1, outstanding: 2, bytes: 300 }],
  ]);
});
