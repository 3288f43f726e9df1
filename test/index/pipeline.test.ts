import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, type Db } from '../../src/db/schema.js';
import { indexPaths, type IndexOptions } from '../../src/index/pipeline.js';
import { tagFromText } from '../../src/tag.js';
import { fakeDriver, fakeExtract } from './fake-driver.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'whose-tag-index-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Extractor and reader that count what they were asked to do. */
function counting(host = 'hostA'): IndexOptions & { reads: string[]; extracts: string[] } {
  const reads: string[] = [];
  const extracts: string[] = [];
  return {
    host,
    jobs: 2,
    reads,
    extracts,
    readFile: async (p) => {
      reads.push(p);
      return readFile(p);
    },
    extractor: (buf, opts) => {
      extracts.push(opts?.path ?? '');
      return fakeExtract(buf, opts);
    },
  };
}

function count(db: Db, sql: string, ...params: unknown[]): number {
  return db.prepare(sql).pluck().get(...params) as number;
}

function tagsOf(db: Db, path: string): number[] {
  return db
    .prepare('SELECT f.tag FROM findings f JOIN files x ON x.sha256 = f.sha256 WHERE x.path = ? ORDER BY f.tag')
    .pluck()
    .all(path) as number[];
}

test('index, unchanged re-index without reading, modified file re-analysed, deleted file pruned', async (t) => {
  const dir = tempDir(t);
  const drivers = join(dir, 'drivers');
  mkdirSync(join(drivers, 'sub'), { recursive: true });
  const a = join(drivers, 'a.sys');
  const b = join(drivers, 'sub', 'B.SYS');
  const c = join(drivers, 'c.sys');
  const bad = join(drivers, 'notpe.sys');
  writeFileSync(a, fakeDriver([{ tag: 'AaaA', tier: 'call', sites: 3 }, { tag: 'Shrd', tier: 'code' }]));
  writeFileSync(b, fakeDriver([{ tag: 'BbbB', tier: 'call' }, { tag: 'Shrd', tier: 'call', sites: 2 }]));
  writeFileSync(c, fakeDriver([{ tag: 'CccC', tier: 'data' }]));
  writeFileSync(bad, 'just text, not a driver');
  writeFileSync(join(drivers, 'readme.txt'), 'not matched by the driver patterns');
  const db = openDb(join(dir, 'tags.db'));
  t.after(() => db.close());

  const first = counting();
  const s1 = await indexPaths(db, [drivers], first);
  assert.deepEqual(
    { files: s1.files, new: s1.new, changed: s1.changed, unchanged: s1.unchanged, reused: s1.reused, analysed: s1.analysed, pruned: s1.pruned },
    { files: 4, new: 4, changed: 0, unchanged: 0, reused: 0, analysed: 3, pruned: 0 },
  );
  assert.deepEqual(s1.failed, [{ path: bad, message: `${bad}: no MZ signature (at offset 0x0)`, known: false }]);
  assert.equal(first.reads.length, 4);
  assert.equal(s1.bytesRead, [a, b, c, bad].reduce((n, p) => n + readFileSync(p).length, 0));
  assert.equal(count(db, 'SELECT COUNT(*) FROM files'), 3);
  assert.equal(count(db, 'SELECT COUNT(*) FROM contents'), 3);
  assert.equal(count(db, 'SELECT COUNT(*) FROM findings'), 5);
  assert.equal(count(db, 'SELECT COUNT(*) FROM evidence'), 3 + 1 + 1 + 2 + 1);
  assert.equal(count(db, 'SELECT COUNT(*) FROM failures WHERE path = ?', bad), 1);
  assert.deepEqual(tagsOf(db, b), [tagFromText('BbbB'), tagFromText('Shrd')].sort((x, y) => x - y));

  const second = counting();
  const s2 = await indexPaths(db, [drivers], second);
  assert.deepEqual(second.reads, [], 'unchanged files, and the unchanged failing one, are not read again');
  assert.deepEqual(second.extracts, []);
  assert.equal(s2.unchanged, 3);
  assert.equal(s2.new + s2.changed + s2.analysed + s2.pruned, 0);
  assert.deepEqual(s2.failed.map((f) => [f.path, f.known]), [[bad, true]]);

  writeFileSync(a, fakeDriver([{ tag: 'AaaA', tier: 'call', sites: 3 }, { tag: 'NewT', tier: 'call' }]));
  utimesSync(a, new Date(), new Date(Date.now() + 5000));
  rmSync(c);
  const third = counting();
  const s3 = await indexPaths(db, [drivers], third);
  assert.deepEqual(third.reads, [a]);
  assert.deepEqual(third.extracts, [a]);
  assert.equal(s3.changed, 1);
  assert.equal(s3.unchanged, 1);
  assert.equal(s3.pruned, 1);
  assert.deepEqual(tagsOf(db, a), [tagFromText('AaaA'), tagFromText('NewT')].sort((x, y) => x - y));
  assert.equal(count(db, 'SELECT COUNT(*) FROM files WHERE path = ?', c), 0);
  // a's old content and c's content have no file left: gone with their findings.
  assert.equal(count(db, 'SELECT COUNT(*) FROM contents'), 2);
  assert.equal(count(db, 'SELECT COUNT(*) FROM findings WHERE tag = ?', tagFromText('CccC')), 0);
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  assert.deepEqual(db.pragma('foreign_key_check'), []);

  // The failing file becomes a driver: analysed, and its failure row goes.
  writeFileSync(bad, fakeDriver([{ tag: 'Fixd', tier: 'call' }]));
  utimesSync(bad, new Date(), new Date(Date.now() + 9000));
  const s4 = await indexPaths(db, [drivers], counting());
  assert.deepEqual([s4.changed, s4.analysed, s4.failed.length], [1, 1, 0]);
  assert.equal(count(db, 'SELECT COUNT(*) FROM failures'), 0);
});

test('identical content on two hosts is analysed once; each host keeps its file rows', async (t) => {
  const dir = tempDir(t);
  const hostA = join(dir, 'A');
  const hostB = join(dir, 'B');
  mkdirSync(hostA);
  mkdirSync(hostB);
  const same = fakeDriver([{ tag: 'Same', tier: 'call' }]);
  writeFileSync(join(hostA, 'x.sys'), same);
  writeFileSync(join(hostB, 'x.sys'), same);
  writeFileSync(join(hostB, 'copy.sys'), same); // two copies in one run: one extraction
  writeFileSync(join(hostB, 'own.sys'), fakeDriver([{ tag: 'OwnB', tier: 'code' }]));
  const db = openDb(join(dir, 'tags.db'));
  t.after(() => db.close());

  const a = counting('A');
  const sa = await indexPaths(db, [hostA], a);
  assert.deepEqual([sa.analysed, sa.reused], [1, 0]);
  const b = counting('B');
  const sb = await indexPaths(db, [hostB], b);
  assert.deepEqual(b.extracts, [join(hostB, 'own.sys')]);
  assert.deepEqual([sb.analysed, sb.reused, sb.new], [1, 2, 3]);
  assert.equal(count(db, 'SELECT COUNT(*) FROM contents'), 2);
  assert.deepEqual(db.prepare('SELECT host FROM files WHERE sha256 = (SELECT sha256 FROM files WHERE path = ?) ORDER BY host, path').pluck().all(join(hostA, 'x.sys')), ['A', 'B', 'B']);
  // Indexing host B again prunes nothing of host A.
  rmSync(join(hostB, 'x.sys'));
  const again = await indexPaths(db, [hostB, hostA], counting('B'));
  assert.equal(again.pruned, 1);
  assert.equal(count(db, "SELECT COUNT(*) FROM files WHERE host = 'A'"), 1);
});

test('a file argument and include/exclude patterns; a missing argument is a failure, not an abort', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'one.dll'), fakeDriver([{ tag: 'Dll1', tier: 'call' }]));
  writeFileSync(join(dir, 'two.dll'), fakeDriver([{ tag: 'Dll2', tier: 'call' }]));
  writeFileSync(join(dir, 'skip.sys'), fakeDriver([{ tag: 'Skip', tier: 'call' }]));
  const single = join(dir, 'single.bin');
  writeFileSync(single, fakeDriver([{ tag: 'Sngl', tier: 'call' }]));
  const db = openDb(join(dir, 'tags.db'));
  t.after(() => db.close());
  const missing = join(dir, 'nope');
  const s = await indexPaths(db, [dir, single, missing], { ...counting(), include: ['*.dll'], exclude: ['two.*'] });
  assert.deepEqual(
    (db.prepare('SELECT path FROM files ORDER BY path').pluck().all() as string[]),
    [join(dir, 'one.dll'), single],
  );
  assert.deepEqual(s.failed, [{ path: missing, message: 'no such file or folder', known: false }]);
});

test('a throwing reader or extractor fails that file only', async (t) => {
  const dir = tempDir(t);
  for (const n of ['a', 'b', 'c']) writeFileSync(join(dir, `${n}.sys`), fakeDriver([{ tag: `Tg${n}`, tier: 'call' }]));
  const db = openDb(join(dir, 'tags.db'));
  t.after(() => db.close());
  const s = await indexPaths(db, [dir], {
    host: 'h',
    extractor: (buf, o) => {
      if (o?.path?.endsWith('b.sys')) throw new RangeError('offset 0x40 out of bounds');
      return fakeExtract(buf, o);
    },
    readFile: async (p) => {
      if (p.endsWith('c.sys')) throw Object.assign(new Error(`EACCES: permission denied, open '${p}'`), { code: 'EACCES' });
      return readFile(p);
    },
  });
  assert.deepEqual(
    s.failed.map((f) => f.message),
    ['offset 0x40 out of bounds', `EACCES: permission denied, open '${join(dir, 'c.sys')}'`],
  );
  assert.equal(count(db, 'SELECT COUNT(*) FROM files'), 1);
  assert.equal(count(db, 'SELECT COUNT(*) FROM failures'), 2);
});

test('files above the size limit are recorded as failures without being read', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'big.sys'), fakeDriver([{ tag: 'Bigg', tier: 'call' }]));
  const db = openDb(join(dir, 'tags.db'));
  t.after(() => db.close());
  const c = counting();
  const s = await indexPaths(db, [dir], { ...c, maxFileBytes: 10 });
  assert.deepEqual(c.reads, []);
  assert.match(s.failed[0].message, /^\d+ bytes is larger than the 10-byte limit$/);
});

test('a new extractor version analyses unchanged files again; the next run skips them unread', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.sys'), fakeDriver([{ tag: 'AaaA', tier: 'call' }]));
  writeFileSync(join(dir, 'b.sys'), fakeDriver([{ tag: 'BbbB', tier: 'code' }]));
  const db = openDb(join(dir, 'tags.db'));
  t.after(() => db.close());
  await indexPaths(db, [dir], { ...counting(), extractorVersion: 'v1' });

  const upgraded = counting();
  const s = await indexPaths(db, [dir], { ...upgraded, extractorVersion: 'v2' });
  assert.deepEqual([s.unchanged, s.changed, s.analysed], [0, 2, 2]);
  assert.equal(upgraded.extracts.length, 2);
  assert.deepEqual(db.prepare('SELECT DISTINCT extractor_version FROM contents').pluck().all(), ['v2']);

  const again = counting();
  const s2 = await indexPaths(db, [dir], { ...again, extractorVersion: 'v2' });
  assert.deepEqual([s2.unchanged, s2.changed, again.reads.length], [2, 0, 0]);
});
