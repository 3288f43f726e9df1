// The extraction worker pool: same answers as the in-process extractor, and a dying worker costs one file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDb, type Db } from '../../src/db/schema.js';
import { extractTags } from '../../src/extract/extract.js';
import { indexPaths } from '../../src/index/pipeline.js';
import { ExtractWorkerPool } from '../../src/index/worker-pool.js';
import { LANE_ARM64, LANE_X86, laneOf } from '../../src/index/lanes.js';
import { fakeDriver } from './fake-driver.js';
import { formatTag, tagFromText } from '../../src/tag.js';
import type { ExportedWrapper } from '../../src/extract/types.js';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const crashingWorker = new URL('./crashing-worker.ts', import.meta.url);

function sysFilesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((n) => n.toLowerCase().endsWith('.sys'))
    .map((n) => join(dir, n))
    .sort();
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'whose-tag-pool-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function count(db: Db, sql: string, ...params: unknown[]): number {
  return db.prepare(sql).pluck().get(...params) as number;
}

const fixtureFiles = ['drivers', 'wine', 'msvc'].flatMap((d) => sysFilesUnder(join(fixtures, d)));

test('worker pool: the same report and hash as in-process extraction for every fixture driver', { skip: !fixtureFiles.length && 'fixture drivers absent' }, async (t) => {
  const pool = new ExtractWorkerPool({ size: 2 });
  t.after(() => pool.close());
  const results = await Promise.all(
    fixtureFiles.map(async (path) => {
      const opened = await pool.open(path);
      return { path, sha256: opened.sha256, size: opened.size, report: await opened.extract() };
    }),
  );
  assert.equal(results.length, fixtureFiles.length);
  for (const r of results) {
    const buf = readFileSync(r.path);
    assert.equal(r.sha256, createHash('sha256').update(buf).digest('hex'), r.path);
    assert.equal(r.size, buf.byteLength, r.path);
    assert.deepEqual(r.report, extractTags(buf, { path: r.path }), r.path);
  }
});

test('worker pool: a non-PE file fails with the extractor\'s PeFormatError, name and message kept', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'text.sys');
  writeFileSync(path, 'plain text, no MZ header');
  const pool = new ExtractWorkerPool({ size: 1 });
  t.after(() => pool.close());
  const opened = await pool.open(path);
  const expected = (() => {
    try {
      extractTags(readFileSync(path), { path });
    } catch (e) {
      return e as Error;
    }
    throw new Error('extractTags accepted plain text');
  })();
  await assert.rejects(opened.extract(), { name: 'PeFormatError', message: expected.message });
  await assert.rejects(pool.open(join(dir, 'missing.sys')), { name: 'Error', message: /^ENOENT: no such file or directory/ });
});

test('worker pool: a worker out of heap fails its file; its replacement serves the next one', async (t) => {
  const dir = tempDir(t);
  const hog = join(dir, 'hog.sys');
  const good = join(dir, 'good.sys');
  writeFileSync(hog, 'CRASH-OOM');
  writeFileSync(good, fakeDriver([{ tag: 'Good', tier: 'call' }]));
  const pool = new ExtractWorkerPool({ size: 1, module: crashingWorker, maxHeapMb: 64 });
  t.after(() => pool.close());
  const [a, b] = await Promise.all([pool.open(hog), pool.open(good)]);
  await assert.rejects(a.extract(), { message: /^extraction worker crashed: .*out of memory/ });
  const report = await b.extract();
  assert.deepEqual(report.findings.map((f) => f.tag), [tagFromText('Good')]);
});

test('worker pool of two: crashes fail only their own files, whichever worker had them', async (t) => {
  const dir = tempDir(t);
  const files: [string, string | undefined][] = [];
  for (let i = 0; i < 16; i++) {
    const crash = i % 5 === 2 ? (i % 2 ? 'CRASH-EXIT' : 'CRASH-THROW') : undefined;
    const path = join(dir, `f${String(i).padStart(2, '0')}.sys`);
    writeFileSync(path, crash ?? fakeDriver([{ tag: `F${String(i).padStart(3, '0')}`, tier: 'call' }]));
    files.push([path, crash]);
  }
  const pool = new ExtractWorkerPool({ size: 2, module: crashingWorker });
  t.after(() => pool.close());
  const outcomes = await Promise.all(
    files.map(async ([path]) => {
      const opened = await pool.open(path);
      return opened.extract().then(
        (r) => r.findings.map((f) => formatTag(f.tag)).join(),
        (e: Error) => e.message,
      );
    }),
  );
  assert.deepEqual(
    outcomes,
    files.map(([, crash], i) =>
      crash === 'CRASH-EXIT' ? 'extraction worker exited with code 3'
      : crash === 'CRASH-THROW' ? 'extraction worker crashed: thrown string, not an Error'
      : `F${String(i).padStart(3, '0')}`,
    ),
  );
});

test('index through workers: crashed workers are failures with reasons, replaced, and the run completes', async (t) => {
  const dir = tempDir(t);
  const drivers = join(dir, 'drivers');
  const names: string[] = [];
  const write = (name: string, text: string) => {
    writeFileSync(join(drivers, name), text);
    names.push(name);
  };
  mkdirSync(drivers);
  for (let i = 0; i < 12; i++) write(`good${String(i).padStart(2, '0')}.sys`, fakeDriver([{ tag: `G${String(i).padStart(3, '0')}`, tier: 'call' }]));
  write('copy.sys', fakeDriver([{ tag: 'G000', tier: 'call' }])); // same content as good00.sys
  write('crash1.sys', 'CRASH-THROW');
  write('crash2.sys', 'CRASH-EXIT');
  write('crash3.sys', 'CRASH-THROW again');
  write('notpe.sys', 'just text');
  const db = openDb(join(dir, 'tags.db'));
  t.after(() => db.close());

  const s = await indexPaths(db, [drivers], { host: 'h', workerModule: crashingWorker });
  assert.deepEqual([s.files, s.new, s.analysed, s.reused], [names.length, names.length, 12, 1]);
  assert.deepEqual(
    s.failed.map((f) => [f.path.slice(drivers.length + 1), f.message]),
    [
      ['crash1.sys', 'extraction worker crashed: thrown string, not an Error'],
      ['crash2.sys', 'extraction worker exited with code 3'],
      ['crash3.sys', 'extraction worker crashed: thrown string, not an Error'],
      ['notpe.sys', `${join(drivers, 'notpe.sys')}: no MZ signature (at offset 0x0)`],
    ],
  );
  assert.equal(count(db, 'SELECT COUNT(*) FROM files'), 13);
  assert.equal(count(db, 'SELECT COUNT(*) FROM contents'), 12);
  assert.equal(count(db, 'SELECT COUNT(*) FROM findings'), 12);
  assert.equal(count(db, 'SELECT COUNT(*) FROM failures'), 4);
  assert.equal(s.bytesRead, names.reduce((n, name) => n + readFileSync(join(drivers, name)).length, 0));

  // The failures were recorded under the version the workers reported. Unchanged failures are not read again,
  // so no worker starts to report it: the caller names it.
  assert.deepEqual(db.prepare('SELECT DISTINCT extractor_version FROM failures').pluck().all(), ['fake']);
  const again = await indexPaths(db, [drivers], { host: 'h', workerModule: crashingWorker, extractorVersion: 'fake' });
  assert.deepEqual([again.unchanged, again.bytesRead, again.failed.filter((f) => f.known).length], [13, 0, 4]);
});

test('index through workers: a worker that cannot start stops the run with the reason and blames no file', async (t) => {
  const dir = tempDir(t);
  for (const n of ['a', 'b', 'c']) writeFileSync(join(dir, `${n}.sys`), fakeDriver([{ tag: `Tg${n}`, tier: 'call' }]));
  const db = openDb(join(dir, 'tags.db'));
  t.after(() => db.close());
  await assert.rejects(
    indexPaths(db, [dir], { host: 'h', jobs: 2, workerModule: new URL('./no-such-worker.ts', import.meta.url) }),
    { name: 'WorkerStartError', message: /^extraction worker failed to start: Cannot find module .*no-such-worker\.ts/ },
  );
  assert.equal(count(db, 'SELECT COUNT(*) FROM files'), 0);
  assert.equal(count(db, 'SELECT COUNT(*) FROM failures'), 0);
});

test('lanes: ARM64 images go to the ARM64 lane; x86, x64, non-PE and unreadable files to the x86 lane', (t) => {
  const arm64 = sysFilesUnder(join(fixtures, 'drivers-arm64'));
  const x86 = sysFilesUnder(join(fixtures, 'drivers'));
  assert.ok(arm64.length > 0 && x86.length > 0);
  for (const f of arm64) assert.equal(laneOf(f), LANE_ARM64, f);
  for (const f of x86) assert.equal(laneOf(f), LANE_X86, f);
  const dir = tempDir(t);
  const cut = join(dir, 'cut.sys');
  writeFileSync(cut, readFileSync(arm64[0]).subarray(0, 0x40));
  const text = join(dir, 'text.sys');
  writeFileSync(text, 'MZ but nothing else');
  for (const f of [cut, text, join(dir, 'missing.sys')]) assert.equal(laneOf(f), LANE_X86, f);
});

test('worker pool: an eager open analyses at once and gives the same report; release drops it; other wrappers read the file again', { skip: !fixtureFiles.length && 'fixture drivers absent' }, async (t) => {
  const pool = new ExtractWorkerPool({ size: 1 });
  t.after(() => pool.close());
  const files = fixtureFiles.slice(0, 6);
  const wrappers: ExportedWrapper[] = [];
  for (const path of files) {
    const eager = await pool.open(path, { eager: { wrappers } });
    assert.deepEqual(await eager.extract(wrappers), extractTags(readFileSync(path), { path }), path);
    await assert.rejects(eager.extract(wrappers), /called twice/);
  }
  // Released before its report came: the worker goes on to the next file.
  (await pool.open(files[0], { eager: { wrappers } })).release();
  const other: ExportedWrapper[] = [{ module: 'helper.sys', name: 'HelperAlloc', ordinal: 1, param: 2, api: 'ExAllocatePoolWithTag', kind: 'pool' }];
  const reread = await pool.open(files[1], { eager: { wrappers } });
  assert.deepEqual(await reread.extract(other), extractTags(readFileSync(files[1]), { path: files[1], exportedWrappers: other }));
});

test('worker pool: every file of every lane is served, whatever the pool size (no lane waits for a worker it has not)', async (t) => {
  const arm64 = sysFilesUnder(join(fixtures, 'drivers-arm64')).slice(0, 3);
  const x86 = sysFilesUnder(join(fixtures, 'drivers')).slice(0, 5);
  assert.ok(arm64.length > 0 && x86.length > 0);
  for (const size of [1, 2]) {
    const pool = new ExtractWorkerPool({ size });
    t.after(() => pool.close());
    const files = [...arm64.map((path) => ({ path, lane: LANE_ARM64 })), ...x86.map((path) => ({ path, lane: LANE_X86 }))];
    const shas = await Promise.all(files.map(async ({ path, lane }) => {
      const f = await pool.open(path, { lane, eager: { wrappers: [] } });
      await f.extract([]);
      return f.sha256;
    }));
    assert.deepEqual(shas, files.map(({ path }) => createHash('sha256').update(readFileSync(path)).digest('hex')), `pool of ${size}`);
  }
});
