import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { mergeDatabases } from '../../src/db/merge.js';
import { dbStats } from '../../src/db/stats.js';
import { importPooltag } from '../../src/db/pooltag-store.js';
import { lookup } from '../../src/db/lookup.js';
import { SCHEMA_VERSION, openDb } from '../../src/db/schema.js';
import { parsePooltag } from '../../src/pooltag/parse.js';
import { parseTagQuery } from '../../src/tag.js';
import { UserError } from '../../src/cli/common.js';
import { buildDb, tempDir } from './helpers.js';

const SHARED = { tags: [{ tag: 'Shar', tier: 'call' as const, sites: 4 }] };

test('merge two host databases: both hosts, one content row per hash, pooltag origins kept', async (t) => {
  const dir = tempDir(t);
  const a = join(dir, 'a.db');
  const b = join(dir, 'b.db');
  const dbA = await buildDb(join(dir, 'A'), a, [{ host: 'hostA', files: { 'shared.sys': SHARED, 'onlya.sys': { tags: [{ tag: 'OnlA', tier: 'code' }] } } }]);
  importPooltag(dbA, parsePooltag('Shar - shared.sys - from A', 'origin-a'));
  dbA.close();
  const dbB = await buildDb(join(dir, 'B'), b, [{ host: 'hostB', files: { 'shared.sys': SHARED, 'empty.sys': { tags: [] } } }]);
  dbB.close();

  const out = join(dir, 'fleet.db');
  const s = mergeDatabases([a, b], out);
  assert.deepEqual(s, { inputs: 2, hosts: 2, files: 4, contents: 3, findings: 2 });
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.')), [], 'no temp file left');

  const fleet = openDb(out, { readonly: true });
  t.after(() => fleet.close());
  assert.equal(fleet.pragma('integrity_check', { simple: true }), 'ok');
  const [r] = lookup(fleet, [parseTagQuery('Shar')]);
  assert.deepEqual(r.owners.map((o) => [o.name, o.hosts, o.sites]), [['shared.sys', ['hostA', 'hostB'], 4]]);
  assert.equal(r.owners[0].evidence.length, 4);
  assert.deepEqual(r.pooltag.map((p) => [p.origin, p.description]), [['origin-a', 'from A']]);
  const stats = dbStats(fleet, out);
  assert.deepEqual(
    [stats.schemaVersion, stats.hosts, stats.files, stats.contents, stats.findings, stats.distinctTags, stats.findingsByTier, stats.pooltagEntries],
    [SCHEMA_VERSION, 2, 4, 3, 2, 2, { call: 1, code: 1 }, [{ origin: 'origin-a', entries: 1 }]],
  );
  assert.ok(stats.bytes > 0);

  // Merging again over the existing fleet file replaces it and is idempotent.
  assert.deepEqual(mergeDatabases([out, a, b], out), { ...s, inputs: 3 });
});

test('merge refuses a newer database and a missing one, and leaves no output behind', async (t) => {
  const dir = tempDir(t);
  const newer = join(dir, 'newer.db');
  openDb(newer).close();
  const raw = new Database(newer);
  raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  raw.close();
  const out = join(dir, 'fleet.db');
  assert.throws(() => mergeDatabases([newer], out), (e: unknown) => e instanceof UserError && /newer whose-tag/.test(e.message));
  assert.throws(() => mergeDatabases([join(dir, 'missing.db')], out), (e: unknown) => e instanceof UserError && /missing\.db: no such database file/.test(e.message));
  assert.deepEqual(readdirSync(dir).filter((n) => !n.startsWith('newer.db')), []);
});
