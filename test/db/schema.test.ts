import { type TestContext, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, SCHEMA_VERSION, openDb, schemaVersion } from '../../src/db/schema.js';
import { UserError } from '../../src/cli/common.js';
import { tagFromText } from '../../src/tag.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'whose-tag-schema-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a new database gets every migration, WAL and the schema version in meta', (t) => {
  const path = join(tempDir(t), 'sub', 'tags.db');
  const db = openDb(path);
  assert.equal(schemaVersion(db), MIGRATIONS.length);
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
  assert.deepEqual(tables, [
    'code_sites', 'content_hosts', 'content_modules', 'contents', 'evidence', 'exported_wrappers', 'failures', 'files', 'findings', 'meta', 'pooltag_entries', 'tag_values',
  ]);
  const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all();
  assert.deepEqual(indexes, [
    'content_modules_by_module', 'exported_wrappers_by_module', 'files_by_content_host', 'findings_by_tag', 'pooltag_by_value',
  ]);
  assert.equal(db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get(), String(SCHEMA_VERSION));
  db.close();
  // Opening again runs nothing twice.
  const again = openDb(path);
  assert.equal(schemaVersion(again), SCHEMA_VERSION);
  again.close();
});

test('a database from a newer whose-tag is refused with a clear message', (t) => {
  const path = join(tempDir(t), 'new.db');
  openDb(path).close();
  const raw = new Database(path);
  raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  raw.close();
  for (const readonly of [false, true]) {
    assert.throws(
      () => openDb(path, { readonly }),
      (e: unknown) =>
        e instanceof UserError &&
        e.message === `${path} was written by a newer whose-tag (schema ${SCHEMA_VERSION + 1} > ${SCHEMA_VERSION}); upgrade whose-tag`,
    );
  }
});

test('a read-only open of an older database upgrades it first', (t) => {
  const path = join(tempDir(t), 'old.db');
  const raw = new Database(path);
  raw.exec(MIGRATIONS[0]);
  raw.pragma('user_version = 1');
  raw.close();
  const db = openDb(path, { readonly: true });
  assert.equal(schemaVersion(db), SCHEMA_VERSION);
  assert.equal(db.readonly, true);
  assert.equal(db.prepare('SELECT COUNT(*) FROM findings').pluck().get(), 0);
  db.close();
});

test('a file that is not a database, and a missing one, are one-line user errors', (t) => {
  const dir = tempDir(t);
  const junk = join(dir, 'junk.db');
  writeFileSync(junk, 'this is not sqlite, just some text that is long enough to have a header'.repeat(10));
  assert.throws(() => openDb(junk), (e: unknown) => e instanceof UserError && e.message.startsWith(`${junk}: not a whose-tag database`));
  const missing = join(dir, 'missing.db');
  assert.throws(() => openDb(missing, { readonly: true }), (e: unknown) => e instanceof UserError && e.message === `${missing}: no such database (whose-tag index DIR --db ${missing} builds it)`);
});

test('a folder, an empty file, a short file, a foreign SQLite file and a damaged schema each say so in one line', (t) => {
  const dir = tempDir(t);
  const expectError = (path: string, readonly: boolean, message: string | RegExp) =>
    assert.throws(() => openDb(path, { readonly }), (e: unknown) => {
      assert.ok(e instanceof UserError, String(e));
      assert.ok(!e.message.includes('\n'));
      if (typeof message === 'string') assert.equal(e.message, message);
      else assert.match(e.message, message);
      return true;
    });
  for (const readonly of [false, true]) expectError(dir, readonly, `${dir}: is a folder, not a database file (--db takes a file, e.g. ${dir}/tags.db)`);

  const empty = join(dir, 'empty.db');
  writeFileSync(empty, '');
  expectError(empty, true, `${empty}: empty file, no whose-tag database in it yet (whose-tag index DIR --db ${empty} fills it)`);
  const filled = openDb(empty); // a writer fills an empty file
  assert.equal(schemaVersion(filled), SCHEMA_VERSION);
  filled.close();

  const short = join(dir, 'short.db');
  writeFileSync(short, Buffer.from('SQLite format 3\0abc', 'latin1'));
  for (const readonly of [false, true]) expectError(short, readonly, `${short}: not a whose-tag database: too short (19 bytes) for an SQLite file, damaged or cut off`);
  const text = join(dir, 'notes.db');
  writeFileSync(text, 'MZ');
  for (const readonly of [false, true]) expectError(text, readonly, `${text}: not a whose-tag database: not an SQLite file (it starts with "MZ")`);

  const foreign = join(dir, 'foreign.db');
  const other = new Database(foreign);
  other.exec('CREATE TABLE songs (title TEXT); CREATE TABLE albums (name TEXT)');
  other.close();
  const foreignBytes = readFileSync(foreign);
  for (const readonly of [false, true]) {
    expectError(foreign, readonly, `${foreign}: an SQLite database, but not a whose-tag one (its tables: albums, songs); give --db a whose-tag database or a new file`);
  }
  assert.deepEqual(readFileSync(foreign), foreignBytes, "nothing was added to someone else's database");

  const damaged = join(dir, 'damaged.db');
  openDb(damaged).close();
  const cut = new Database(damaged);
  cut.exec('DROP TABLE evidence');
  cut.close();
  for (const readonly of [false, true]) {
    expectError(damaged, readonly, `${damaged}: damaged whose-tag database: schema ${SCHEMA_VERSION} but no table evidence (rebuild it: whose-tag index DIR --db NEW.db)`);
  }
  const garbled = join(dir, 'garbled.db');
  openDb(garbled).close();
  const bytes = readFileSync(garbled);
  bytes.fill(0x5a, 100, 4096); // the first page after the header: the schema table itself
  writeFileSync(garbled, bytes);
  for (const readonly of [false, true]) expectError(garbled, readonly, new RegExp(`^${garbled.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: damaged whose-tag database \\(`));
});

test('deleting a content cascades to its findings and evidence; files keep contents alive', (t) => {
  const db = openDb(join(tempDir(t), 'fk.db'));
  db.prepare(`INSERT INTO contents (sha256, size, machine, analysed_at, extractor_version) VALUES ('aa', 1, 'x64', 'now', '1')`).run();
  db.prepare(`INSERT INTO findings VALUES ('aa', 1, 'pool', 'call', 0, 1, '[]')`).run();
  db.prepare(`INSERT INTO evidence VALUES ('aa', 1, 'pool', 0, 'call', '.text', 16, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL)`).run();
  db.prepare(`INSERT INTO exported_wrappers VALUES ('aa', 'a.sys', 'F', 1, 0, 'ExFreePoolWithTag', 'pool')`).run();
  db.prepare(`INSERT INTO content_modules VALUES ('aa', 'b.sys', '["G"]')`).run();
  db.prepare(`INSERT INTO files VALUES ('h', '/a.sys', 1, 1, 'aa', 'now')`).run();
  assert.throws(() => db.prepare(`DELETE FROM contents WHERE sha256 = 'aa'`).run(), /FOREIGN KEY/);
  db.prepare('DELETE FROM files').run();
  db.prepare(`DELETE FROM contents WHERE sha256 = 'aa'`).run();
  assert.equal(db.prepare('SELECT COUNT(*) FROM findings').pluck().get(), 0);
  assert.equal(db.prepare('SELECT COUNT(*) FROM evidence').pluck().get(), 0);
  assert.equal(db.prepare('SELECT COUNT(*) FROM exported_wrappers').pluck().get(), 0);
  assert.equal(db.prepare('SELECT COUNT(*) FROM content_modules').pluck().get(), 0);
  db.close();
});

test('version 2 keeps each distinct tag once, big-endian keyed: filled from version 1 findings, then by a trigger', (t) => {
  const path = join(tempDir(t), 'v1.db');
  const raw = new Database(path);
  raw.exec(MIGRATIONS[0]);
  raw.pragma('user_version = 1');
  raw.prepare(`INSERT INTO contents (sha256, size, machine, analysed_at, extractor_version) VALUES ('aa', 1, 'x64', 'now', '1')`).run();
  raw.prepare(`INSERT INTO findings VALUES ('aa', 7, 'pool', 'call', 0, 1, '[]'), ('aa', 7, 'object-ref', 'call', 0, 1, '[]'), ('aa', 9, 'pool', 'code', 0, 1, '[]')`).run();
  raw.close();
  const db = openDb(path);
  assert.equal(schemaVersion(db), SCHEMA_VERSION);
  // Keyed by the bytes read big-endian: 7 = bytes 07 00 00 00 → 0x07000000.
  assert.deepEqual(db.prepare('SELECT be FROM tag_values ORDER BY be').pluck().all(), [0x07000000, 0x09000000]);
  db.prepare(`INSERT INTO findings VALUES ('aa', ?, 'pool', 'data', 0, 1, '[]')`).run(tagFromText('Proc'));
  assert.deepEqual(db.prepare('SELECT be FROM tag_values ORDER BY be').pluck().all(), [0x07000000, 0x09000000, 0x50726f63]);
  db.close();
});

/** A database as an older whose-tag left it: the first `version` migrations, nothing after. */
function databaseAt(t: TestContext, version: number): { path: string; raw: Database.Database } {
  const path = join(tempDir(t), `v${version}.db`);
  const raw = new Database(path);
  for (const m of MIGRATIONS.slice(0, version)) raw.exec(m);
  raw.pragma(`user_version = ${version}`);
  return { path, raw };
}

test('version 4 adds the evidence source and field: older evidence rows read as ordinary evidence', (t) => {
  const { path, raw } = databaseAt(t, 3);
  raw.prepare(`INSERT INTO contents (sha256, size, machine, analysed_at, extractor_version) VALUES ('aa', 1, 'x64', 'now', '4')`).run();
  raw.prepare(`INSERT INTO findings VALUES ('aa', 7, 'pool', 'call', 0, 1, '[]')`).run();
  raw.prepare(`INSERT INTO evidence VALUES ('aa', 7, 'pool', 0, 'call', '.text', 16, 'ExAllocatePoolWithTag', NULL, NULL, 0, NULL)`).run();
  raw.close();
  const db = openDb(path);
  assert.ok(SCHEMA_VERSION >= 4);
  assert.deepEqual(db.prepare('SELECT api, source, field FROM evidence').get(), { api: 'ExAllocatePoolWithTag', source: null, field: null });
  db.prepare(`INSERT INTO evidence VALUES ('aa', 7, 'pool', 1, 'call', '.text', 32, 'WdfDriverCreate', NULL, NULL, 0, NULL, 'kmdf-default', 'WdfTest', NULL)`).run();
  assert.equal(db.prepare(`SELECT COUNT(*) FROM evidence WHERE source = 'kmdf-default'`).pluck().get(), 1);
  db.close();
});

test('version 8 keeps imports one row per module: version 7 rows become JSON arrays, names and ordinals kept', (t) => {
  const { path, raw } = databaseAt(t, 7);
  raw.prepare(`INSERT INTO contents (sha256, size, machine, analysed_at, extractor_version) VALUES ('aa', 1, 'x64', 'now', '7')`).run();
  const imp = raw.prepare('INSERT INTO content_imports VALUES (?, ?, ?, ?)');
  imp.run('aa', 'ndis.sys', 'NdisAllocateMemoryWithTagPriority', null);
  imp.run('aa', 'ndis.sys', null, 42);
  imp.run('aa', 'wrapexp.sys', 'WrapAlloc', null);
  raw.close();
  const db = openDb(path);
  assert.ok(SCHEMA_VERSION >= 8);
  const rows = db.prepare('SELECT module, functions FROM content_modules ORDER BY module').all() as { module: string; functions: string }[];
  assert.deepEqual(
    rows.map((r) => [r.module, (JSON.parse(r.functions) as (string | number)[]).sort()]),
    [['ndis.sys', [42, 'NdisAllocateMemoryWithTagPriority']], ['wrapexp.sys', ['WrapAlloc']]],
  );
  assert.equal(db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 'content_imports'").pluck().get(), 0);
  db.close();
});
