// content_hosts (per content: hosts, files, first path) is kept by triggers and rebuilt in bulk by
// `db merge`: after any mix of inserts, upserts, updates and deletes of files rows, and after merges in
// both modes, it must equal the same numbers counted from the files table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openDb, type Db } from '../../src/db/schema.js';
import { mergeDatabases, mergeInto } from '../../src/db/merge.js';
import { dbStats, hostCount } from '../../src/db/stats.js';
import { prng } from '../helpers/prng.js';
import { tempDir } from './helpers.js';

const CONTENTS = ['a', 'b', 'c', 'd'].map((c) => c.repeat(64));
const HOSTS = ['h1', 'h2', 'h3'];
const PATHS = ['C:\\x.sys', 'C:\\y.sys', '/z.sys', 'C:\\a\\x.sys'];

function seedContents(db: Db): void {
  const add = db.prepare(`INSERT OR IGNORE INTO contents (sha256, size, machine, analysed_at, extractor_version) VALUES (?, 1, 'x64', 't', '1')`);
  for (const c of CONTENTS) add.run(c);
}

type Summary = { sha256: string; hosts: number; files: number; first_path: string }[];

function kept(db: Db): Summary {
  return db.prepare('SELECT sha256, hosts, files, first_path FROM content_hosts ORDER BY sha256').all() as Summary;
}

function counted(db: Db): Summary {
  return db
    .prepare(`SELECT sha256, COUNT(DISTINCT host) AS hosts, COUNT(*) AS files, MIN(path) AS first_path
              FROM files GROUP BY sha256 ORDER BY sha256`)
    .all() as Summary;
}

/** Random writes of every kind the program makes (upserts as index does, plain updates, deletes). */
function churn(db: Db, rand: () => number, steps: number): void {
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const upsert = db.prepare(`INSERT INTO files (host, path, size, mtime_ms, sha256, indexed_at) VALUES (?, ?, 1, 1, ?, 't')
    ON CONFLICT(host, path) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size`);
  for (let i = 0; i < steps; i++) {
    const r = rand();
    if (r < 0.5) upsert.run(pick(HOSTS), pick(PATHS), pick(CONTENTS));
    else if (r < 0.65) db.prepare('DELETE FROM files WHERE host = ? AND path = ?').run(pick(HOSTS), pick(PATHS));
    else if (r < 0.75) db.prepare('UPDATE OR IGNORE files SET host = ? WHERE host = ? AND path = ?').run(pick(HOSTS), pick(HOSTS), pick(PATHS));
    else if (r < 0.85) db.prepare('UPDATE OR IGNORE files SET path = ? WHERE host = ? AND path = ?').run(pick(PATHS), pick(HOSTS), pick(PATHS));
    else if (r < 0.95) db.prepare('UPDATE files SET sha256 = ? WHERE host = ?').run(pick(CONTENTS), pick(HOSTS));
    else db.prepare('DELETE FROM files WHERE host = ?').run(pick(HOSTS));
  }
}

test('content_hosts equals the counts of files after thousands of random writes', (t) => {
  const db = openDb(join(tempDir(t), 'one.db'));
  t.after(() => db.close());
  seedContents(db);
  const rand = prng(20261206);
  for (let round = 0; round < 200; round++) {
    churn(db, rand, 25);
    assert.deepEqual(kept(db), counted(db), `round ${round}`);
    assert.equal(hostCount(db), (db.prepare('SELECT COUNT(DISTINCT host) FROM files').pluck().get() as number));
  }
});

test('db merge (new output and in place) leaves content_hosts and the stats exact', (t) => {
  const dir = tempDir(t);
  const rand = prng(7);
  const inputs: string[] = [];
  for (let k = 0; k < 6; k++) {
    const path = join(dir, `host${k}.db`);
    const db = openDb(path);
    seedContents(db);
    churn(db, rand, 40);
    db.prepare('DELETE FROM contents WHERE sha256 NOT IN (SELECT sha256 FROM files)').run();
    db.close();
    inputs.push(path);
  }
  const out = join(dir, 'fleet.db');
  const s = mergeDatabases(inputs.slice(0, 4), out);
  const into = mergeInto(inputs.slice(4), out);
  const whole = mergeDatabases(inputs, join(dir, 'whole.db'));
  for (const [path, summary] of [[out, into], [join(dir, 'whole.db'), whole]] as const) {
    const db = openDb(path, { readonly: true });
    try {
      assert.deepEqual(kept(db), counted(db));
      const st = dbStats(db, path);
      assert.equal(st.files, db.prepare('SELECT COUNT(*) FROM files').pluck().get());
      assert.equal(st.hosts, db.prepare('SELECT COUNT(DISTINCT host) FROM files').pluck().get());
      assert.equal(summary.files, st.files);
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      db.close();
    }
  }
  // The same inputs in the same order give the same fleet whichever way they were merged.
  const a = openDb(out, { readonly: true });
  const b = openDb(join(dir, 'whole.db'), { readonly: true });
  try {
    const rows = (db: Db) => db.prepare('SELECT host, path, sha256 FROM files ORDER BY host, path').all();
    assert.deepEqual(rows(a), rows(b));
    assert.deepEqual(kept(a), kept(b));
  } finally {
    a.close();
    b.close();
  }
  assert.ok(s.inputs === 4 && into.inputs === 2);
});

test('db merge of inputs whose hosts are all new (a fleet) keeps content_hosts per input, exactly', (t) => {
  const dir = tempDir(t);
  const rand = prng(11);
  const inputs: string[] = [];
  for (let k = 0; k < 12; k++) {
    const path = join(dir, `host${String(k).padStart(2, '0')}.db`);
    const db = openDb(path);
    seedContents(db);
    churn(db, rand, 30);
    // Each input's own host names (some inputs hold two hosts, and a content twice on one host).
    db.prepare("UPDATE OR IGNORE files SET host = host || '-' || ?").run(String(k));
    db.prepare('DELETE FROM contents WHERE sha256 NOT IN (SELECT sha256 FROM files)').run();
    db.close();
    inputs.push(path);
  }
  const out = join(dir, 'fleet.db');
  const s = mergeDatabases(inputs, out);
  const db = openDb(out, { readonly: true });
  try {
    assert.deepEqual(kept(db), counted(db));
    assert.equal(s.hosts, db.prepare('SELECT COUNT(DISTINCT host) FROM files').pluck().get());
    assert.ok(s.hosts > 12, `several inputs hold more than one host (${s.hosts} hosts)`);
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  } finally {
    db.close();
  }
});
