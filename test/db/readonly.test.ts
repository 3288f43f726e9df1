// Fleet databases on read-only shares: every query command opens the database read-only and leaves nothing
// beside it (no -wal, -shm or -journal); only the writing commands need write access, and they leave the
// file at rest in rollback-journal mode so that readers need none. CI runs as root, for whom chmod binds
// nothing: the program then runs as an unprivileged user (uid 65534) when it can, so a write would fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { accessSync, chmodSync, constants, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { BIN, runCli, type RunAs } from '../helpers/cli.js';
import { MIGRATIONS, SCHEMA_VERSION, openDb } from '../../src/db/schema.js';
import { serializeSnapshot } from '../../src/reports/snapshot.js';
import { c, row } from '../rank/helpers.js';

const FIXTURES = new URL('../fixtures/drivers/', import.meta.url).pathname;
const ON_WINDOWS = process.platform === 'win32' ? 'chmod does not make a folder read-only on Windows' : false;

/** A private folder every user can enter (mkdtemp makes it 0700). */
function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'whose-tag-readonly-'));
  chmodSync(dir, 0o755);
  t.after(() => {
    chmodTree(dir, 0o755);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

function chmodTree(dir: string, mode: number): void {
  chmodSync(dir, mode);
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) chmodTree(join(dir, e.name), mode);
}

/**
 * As root, the unprivileged user the program runs as, when that user can read the project (a checkout
 * under a private home folder cannot be read by it: the test then runs as root and still proves that
 * nothing is created and no byte changes).
 */
function unprivileged(): { as: RunAs; note?: string } {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return { as: {} };
  const as = { uid: 65534, gid: 65534 };
  const probe = spawnSync(process.execPath, ['-e', `require('node:fs').accessSync(${JSON.stringify(BIN)}, require('node:fs').constants.R_OK)`], as);
  if (probe.status === 0) return { as };
  return { as: {}, note: 'running as root: uid 65534 cannot read the checkout, so chmod binds nothing here' };
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
/** SQLite's file header, byte 18: 1 = rollback journal, 2 = WAL. */
const journalByte = (path: string) => readFileSync(path)[18];

function fleetDb(dir: string): string {
  const db = join(dir, 'fleet.db');
  const r = runCli(['index', FIXTURES, '--db', db, '--host', 'h1']);
  assert.equal(r.code, 0, r.stderr);
  return db;
}

function seriesFile(dir: string): string {
  const path = join(dir, 'series.ndjson');
  const lines = [0, 1, 2].map((i) => serializeSnapshot({ time: `2026-11-23T19:0${i}:00Z`, rows: [row('DrA1', c(10 + i * 5, 0, 1000 + i * 500)), row('WrB1', c(4, 0, 400))] }));
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

test('a writing command leaves the database at rest in rollback mode, with nothing beside it', { skip: ON_WINDOWS }, (t) => {
  const dir = tempDir(t);
  const db = fleetDb(dir);
  assert.deepEqual(readdirSync(dir), ['fleet.db']);
  assert.equal(journalByte(db), 1);
  // While a writer has it open it is in WAL mode (readers are not blocked); closing returns it to rest.
  const writer = openDb(db);
  assert.equal(writer.pragma('journal_mode', { simple: true }), 'wal');
  const reader = runCli(['DrA1', '--db', db, '--json']);
  assert.equal(reader.code, 0, reader.stderr);
  writer.close();
  assert.deepEqual(readdirSync(dir), ['fleet.db']);
  assert.equal(journalByte(db), 1);
  const ro = openDb(db, { readonly: true });
  assert.equal(ro.readonly, true);
  ro.close();
});

test('every query command works on a database in a read-only folder and creates nothing there', { skip: ON_WINDOWS }, (t) => {
  const dir = tempDir(t);
  const share = join(dir, 'share');
  mkdirSync(share);
  const db = join(share, 'fleet.db');
  copyFileSync(fleetDb(dir), db);
  const series = seriesFile(dir);
  const run = (args: string[], as: RunAs = {}) => runCli(args, { WHOSE_TAG_POOLTAG: '', WHOSE_TAG_DB: join(dir, 'no-default.db') }, dir, as);
  const demo = join(FIXTURES, '..', '..', '..', 'data', 'examples', 'poolused-demo.txt');
  const cases: [string[], RegExp][] = [
    [['DrA1', '--db', db], /direct\.sys/],
    [['lookup', 'Wr?1', '--db', db, '--tier', 'call'], /wrappers\.sys/],
    [['top', demo, '--db', db, '--by', 'driver'], /wrappers\.sys/],
    [['enrich', demo, '--db', db], /direct\.sys/],
    [['diff', series, '--db', db], /direct\.sys/],
    [['db', 'stats', '--db', db], /hosts 1, files \d+/],
    [['db', 'export', '--format', 'localtag', '--db', db], /DrA1 +- +direct\.sys/],
    // inspect reads the database only for other drivers' exported wrappers: read-only too.
    [['inspect', join(FIXTURES, 'x64', 'wrapimp.sys'), '--db', db], /wrapimp\.sys: x64/],
  ];
  // The same answers as from a writable folder.
  const expected = cases.map(([args]) => run(args).stdout);
  const before = sha256(db);
  chmodSync(db, 0o444);
  chmodSync(share, 0o555);
  const { as, note } = unprivileged();
  if (note) t.diagnostic(note);
  if (as.uid !== undefined || process.getuid?.() !== 0) {
    // The user the program runs as really cannot write here.
    const probe = spawnSync(process.execPath, ['-e', `require('node:fs').writeFileSync(${JSON.stringify(join(share, 'x'))}, '')`], as);
    assert.notEqual(probe.status, 0, 'the folder is read-only for the program');
  }
  cases.forEach(([args, pattern], i) => {
    const r = run(args, as);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, pattern, args.join(' '));
    assert.equal(r.stdout, expected[i], args.join(' '));
    assert.deepEqual(readdirSync(share), ['fleet.db'], `${args.join(' ')} left files beside the database`);
  });
  assert.equal(sha256(db), before);
  // Only a writing command needs write access, and it says so in one line.
  if (as.uid !== undefined) {
    const w = run(['index', FIXTURES, '--db', db], as);
    assert.equal(w.code, 2);
    assert.match(w.stderr, /^whose-tag: .*fleet\.db: cannot write the database \(.*\); index, db import-pooltag and db merge need write access/);
    assert.equal(w.stderr.trim().split('\n').length, 1);
  }
  assert.deepEqual(readdirSync(share), ['fleet.db']);
});

test('a database left in WAL mode (an older whose-tag, a killed index) reads from a read-only folder through a copy, and is converted where writable', { skip: ON_WINDOWS }, (t) => {
  const dir = tempDir(t);
  const source = fleetDb(dir);
  const toWal = (path: string) => {
    const raw = new Database(path);
    raw.pragma('journal_mode = WAL');
    raw.close();
    assert.equal(journalByte(path), 2);
  };
  const { as, note } = unprivileged();
  if (note) t.diagnostic(note);
  const scratch = join(dir, 'tmp');
  mkdirSync(scratch, { mode: 0o777 });
  chmodSync(scratch, 0o777);
  const run = (db: string) => runCli(['db', 'stats', '--db', db], { TMPDIR: scratch, WHOSE_TAG_DB: join(dir, 'no-default.db') }, dir, as);

  const share = join(dir, 'share');
  mkdirSync(share);
  const walDb = join(share, 'fleet.db');
  copyFileSync(source, walDb);
  toWal(walDb);
  const before = sha256(walDb);
  chmodSync(walDb, 0o444);
  chmodSync(share, 0o555);
  const r = run(walDb);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /hosts 1, files \d+/);
  assert.deepEqual(readdirSync(share), ['fleet.db']);
  assert.equal(sha256(walDb), before);
  // The copy is gone with the process.
  assert.deepEqual(readdirSync(scratch).filter((f) => f.startsWith('whose-tag-ro-')), []);

  const own = join(dir, 'own');
  mkdirSync(own, { mode: 0o777 });
  chmodSync(own, 0o777);
  const mine = join(own, 'fleet.db');
  copyFileSync(source, mine);
  toWal(mine);
  chmodSync(mine, 0o666);
  const w = run(mine);
  assert.equal(w.code, 0, w.stderr);
  assert.deepEqual(readdirSync(own), ['fleet.db']);
  assert.equal(journalByte(mine), 1);
});

test('an older schema in a read-only folder says it must be upgraded once where it is writable', { skip: ON_WINDOWS }, (t) => {
  const dir = tempDir(t);
  const share = join(dir, 'share');
  mkdirSync(share);
  const db = join(share, 'old.db');
  const raw = new Database(db);
  raw.exec(MIGRATIONS[0]);
  raw.pragma('user_version = 1');
  raw.close();
  chmodSync(db, 0o444);
  chmodSync(share, 0o555);
  const { as } = unprivileged();
  if (as.uid === undefined) {
    try {
      accessSync(share, constants.W_OK);
      return t.skip('root without an unprivileged user to run as: the folder is writable for the program');
    } catch {
      // Not root: the folder is read-only for us.
    }
  }
  const r = runCli(['DrA1', '--db', db], { WHOSE_TAG_DB: join(dir, 'no-default.db') }, dir, as);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `whose-tag: ${db}: schema 1 is older than this whose-tag's (${SCHEMA_VERSION}) and cannot be upgraded here (read-only); run any whose-tag command on it once where it is writable\n`);
  assert.deepEqual(readdirSync(share), ['old.db']);
});

test('db merge reads its inputs read-only: a WAL-mode input in a read-only folder merges and nothing appears beside it', { skip: ON_WINDOWS }, (t) => {
  const dir = tempDir(t);
  const source = fleetDb(dir);
  const { as, note } = unprivileged();
  if (note) t.diagnostic(note);
  const scratch = join(dir, 'tmp');
  mkdirSync(scratch, { mode: 0o777 });
  chmodSync(scratch, 0o777);
  const out = join(dir, 'out');
  mkdirSync(out, { mode: 0o777 });
  chmodSync(out, 0o777);

  const share = join(dir, 'share');
  mkdirSync(share);
  const atRest = join(share, 'rest.db');
  const wal = join(share, 'wal.db');
  copyFileSync(source, atRest);
  copyFileSync(source, wal);
  const raw = new Database(wal);
  raw.pragma('journal_mode = WAL');
  raw.close();
  assert.equal(journalByte(wal), 2);
  const before = [sha256(atRest), sha256(wal)];
  chmodSync(atRest, 0o444);
  chmodSync(wal, 0o444);
  chmodSync(share, 0o555);

  const merged = join(out, 'fleet.db');
  const r = runCli(['db', 'merge', atRest, wal, '--out', merged], { TMPDIR: scratch, WHOSE_TAG_DB: join(dir, 'no-default.db') }, dir, as);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(share).sort(), ['rest.db', 'wal.db'], 'no -wal, -shm or -journal beside the inputs');
  assert.deepEqual([sha256(atRest), sha256(wal)], before, 'the inputs are unchanged');
  assert.equal(journalByte(wal), 2);
  assert.deepEqual(readdirSync(scratch).filter((f) => f.startsWith('whose-tag-ro-')), [], 'the private copy is gone');
  const stats = runCli(['db', 'stats', '--db', merged], {}, dir);
  assert.match(stats.stdout, /hosts 1, files \d+/);
  const lookup = runCli(['DrA1', '--db', merged, '--json'], {}, dir);
  assert.equal(lookup.code, 0, lookup.stderr);
});

