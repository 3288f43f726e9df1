// `scan` on files the tag database has indexed, unchanged, answers from the index's decoding (code_sites)
// instead of decoding again: the output must be the same, byte for byte, and no file may be decoded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScan } from '../../src/scan/run.js';
import { mergeDatabases } from '../../src/db/merge.js';
import { openDb } from '../../src/db/schema.js';
import { indexPaths } from '../../src/index/pipeline.js';
import { EXTRACTOR_VERSION, extractTags } from '../../src/extract/extract.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CASES = JSON.parse(readFileSync(new URL('./golden-cases.json', import.meta.url), 'utf8')) as { tags: string[]; files: string[] };

interface Scan {
  out: string;
  code: number;
  decoded: string[];
}

async function scan(tag: string, paths: string[], db: string, json = false): Promise<Scan> {
  let out = '';
  const decoded: string[] = [];
  const exitCode = process.exitCode;
  try {
    await runScan({ tag, paths, raw: false, json, multichar: false, db, out: (t) => (out += t), onDecode: (p) => decoded.push(p) });
    return { out, code: process.exitCode as number, decoded };
  } finally {
    process.exitCode = exitCode;
  }
}

async function indexInto(dbPath: string, paths: string[]): Promise<void> {
  const db = openDb(dbPath);
  try {
    // The version scan compares (a custom extractor is otherwise stored as version 1).
    await indexPaths(db, paths, { host: hostname(), extractor: extractTags, extractorVersion: EXTRACTOR_VERSION });
  } finally {
    db.close();
  }
}

test('on the fixture drivers indexed, every tag scans the same with and without the database, and nothing is decoded', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'whose-tag-scan-indexed-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const files = CASES.files.map((f) => join(ROOT, f));
  const dbPath = join(dir, 'tags.db');
  await indexInto(dbPath, files);
  const db = openDb(dbPath, { readonly: true });
  // Contents whose analysis used another image's exported wrappers keep no sites (a scan knows none).
  const withoutSites = new Set(
    db.prepare('SELECT f.path FROM files f JOIN contents c ON c.sha256 = f.sha256 WHERE c.code_sites IS NULL').pluck().all() as string[],
  );
  const sites = db.prepare('SELECT COUNT(*) FROM code_sites').pluck().get() as number;
  db.close();
  assert.ok(sites > 50, `code_sites holds the fixtures' immediates (${sites})`);
  assert.ok(withoutSites.size < files.length / 4, `most contents have sites (${withoutSites.size} without)`);

  let decodedWithout = 0;
  for (const tag of CASES.tags) {
    for (const json of [false, true]) {
      const bare = await scan(tag, files, join(dir, 'none.db'), json);
      const indexed = await scan(tag, files, dbPath, json);
      assert.equal(indexed.out, bare.out, `scan ${tag}${json ? ' --json' : ''}`);
      assert.equal(indexed.code, bare.code, `exit of scan ${tag}`);
      decodedWithout += bare.decoded.length;
      assert.deepEqual(indexed.decoded.filter((p) => !withoutSites.has(p)), [], `scan ${tag}: decoded an indexed file`);
    }
  }
  // Otherwise the comparison above proves nothing.
  assert.ok(decodedWithout > 20, `without the database files are decoded (${decodedWithout})`);
});

test('a changed file, or a content indexed before code_sites, is decoded again, with the same output', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'whose-tag-scan-changed-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const copies = ['direct.sys', 'mixed.sys'].map((n) => {
    const to = join(dir, n);
    copyFileSync(join(ROOT, 'test/fixtures/drivers/x64', n), to);
    return to;
  });
  const dbPath = join(dir, 'tags.db');
  await indexInto(dbPath, copies);
  const bare = await scan('DrA1', [dir], join(dir, 'none.db'));
  assert.match(bare.out, /direct\.sys\tcall\t/);
  assert.deepEqual((await scan('DrA1', [dir], dbPath)).decoded, []);

  // Touched since it was indexed: the database no longer speaks for it.
  utimesSync(copies[0], new Date(), new Date(Date.now() + 5000));
  const touched = await scan('DrA1', [dir], dbPath);
  assert.equal(touched.out, bare.out);
  assert.deepEqual(touched.decoded, [copies[0]]);

  // Indexed again, then its sites forgotten (as in a database from before them): decoded, same output.
  await indexInto(dbPath, copies);
  const db = openDb(dbPath);
  db.exec('UPDATE contents SET code_sites = NULL; DELETE FROM code_sites;');
  db.close();
  const old = await scan('DrA1', [dir], dbPath);
  assert.equal(old.out, bare.out);
  assert.deepEqual(old.decoded, [copies[0]]);
});

test('a fleet database merged from host databases keeps the sites: scans answer from it too', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'whose-tag-scan-merged-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const files = ['direct.sys', 'mixed.sys', 'decoys.sys'].map((n) => join(ROOT, 'test/fixtures/drivers/x64', n));
  const host = join(dir, 'host.db');
  await indexInto(host, files);
  const fleet = join(dir, 'fleet.db');
  mergeDatabases([host], fleet);
  const count = (path: string) => {
    const db = openDb(path, { readonly: true });
    try {
      return db.prepare('SELECT COUNT(*) FROM code_sites').pluck().get() as number;
    } finally {
      db.close();
    }
  };
  assert.ok(count(host) > 0);
  assert.equal(count(fleet), count(host));
  for (const tag of ['DrA1', 'DcA1', 'MxN1', 'MxR1']) {
    const bare = await scan(tag, files, join(dir, 'none.db'));
    const merged = await scan(tag, files, fleet);
    assert.match(bare.out, /\tcall\t/, tag);
    assert.equal(merged.out, bare.out, tag);
    assert.deepEqual(merged.decoded, [], tag);
  }
});
