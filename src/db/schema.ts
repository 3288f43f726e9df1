// The tag database's shape and its upgrades. The schema version lives in PRAGMA user_version (mirrored in
// meta for people reading the file with other tools); each migration step moves it up by one.
import Database from 'better-sqlite3';
import { accessSync, chmodSync, constants as fsConstants, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../errors.js';
import { dbFileState, isWriteDenied, type DbFileState } from './db-file.js';

export type Db = Database.Database;

/**
 * content_hosts from scratch (it must be empty): one pass over the (sha256, host) index. `db merge` drops
 * the triggers while it bulk-loads files and fills the table with this afterwards.
 */
export const CONTENT_HOSTS_FILL = `
  INSERT INTO content_hosts (sha256, hosts, files, first_path)
    SELECT h.sha256, h.hosts, f.files, f.first_path
    FROM (SELECT sha256, COUNT(*) AS hosts FROM (SELECT DISTINCT sha256, host FROM files) GROUP BY sha256) h
    JOIN (SELECT sha256, COUNT(*) AS files, MIN(path) AS first_path FROM files GROUP BY sha256) f ON f.sha256 = h.sha256;`;

/** The triggers that keep content_hosts exact on every insert, delete and update of files. */
export const CONTENT_HOSTS_TRIGGERS = `
  CREATE TRIGGER files_hosts_insert AFTER INSERT ON files BEGIN
    INSERT INTO content_hosts (sha256, hosts, files, first_path) VALUES (NEW.sha256, 1, 1, NEW.path)
    ON CONFLICT(sha256) DO UPDATE SET
      files = files + 1,
      hosts = hosts + NOT EXISTS (SELECT 1 FROM files WHERE sha256 = NEW.sha256 AND host = NEW.host AND path <> NEW.path),
      first_path = min(first_path, NEW.path);
  END;
  CREATE TRIGGER files_hosts_delete AFTER DELETE ON files BEGIN
    UPDATE content_hosts SET
      files = files - 1,
      hosts = hosts - NOT EXISTS (SELECT 1 FROM files WHERE sha256 = OLD.sha256 AND host = OLD.host),
      first_path = CASE WHEN first_path = OLD.path
        THEN coalesce((SELECT min(path) FROM files WHERE sha256 = OLD.sha256), '') ELSE first_path END
    WHERE sha256 = OLD.sha256;
    DELETE FROM content_hosts WHERE sha256 = OLD.sha256 AND files <= 0;
  END;
  CREATE TRIGGER files_hosts_update AFTER UPDATE OF host, path, sha256 ON files
  WHEN OLD.sha256 IS NOT NEW.sha256 OR OLD.host IS NOT NEW.host OR OLD.path IS NOT NEW.path BEGIN
    UPDATE content_hosts SET
      files = files - 1,
      hosts = hosts - NOT EXISTS (SELECT 1 FROM files WHERE sha256 = OLD.sha256 AND host = OLD.host AND rowid <> NEW.rowid),
      first_path = CASE WHEN first_path = OLD.path
        THEN coalesce((SELECT min(path) FROM files WHERE sha256 = OLD.sha256), '') ELSE first_path END
    WHERE sha256 = OLD.sha256;
    DELETE FROM content_hosts WHERE sha256 = OLD.sha256 AND files <= 0;
    INSERT INTO content_hosts (sha256, hosts, files, first_path) VALUES (NEW.sha256, 1, 1, NEW.path)
    ON CONFLICT(sha256) DO UPDATE SET
      files = files + 1,
      hosts = hosts + NOT EXISTS (SELECT 1 FROM files WHERE sha256 = NEW.sha256 AND host = NEW.host AND rowid <> NEW.rowid),
      first_path = min(first_path, NEW.path);
  END;`;

export const CONTENT_HOSTS_TRIGGER_NAMES = ['files_hosts_insert', 'files_hosts_delete', 'files_hosts_update'];

/** Step i takes a database from version i to i+1. Never edit a released step: append a new one. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE contents (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    machine TEXT NOT NULL,
    company_name TEXT,
    file_version TEXT,
    file_description TEXT,
    original_filename TEXT,
    product_name TEXT,
    product_version TEXT,
    tag_apis TEXT NOT NULL DEFAULT '[]',
    analysed_at TEXT NOT NULL,
    extractor_version TEXT NOT NULL,
    warnings TEXT NOT NULL DEFAULT '[]'
  );
  CREATE TABLE files (
    host TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ms REAL NOT NULL,
    sha256 TEXT NOT NULL REFERENCES contents(sha256),
    indexed_at TEXT NOT NULL,
    PRIMARY KEY (host, path)
  );
  CREATE INDEX files_by_content ON files(sha256);
  CREATE TABLE findings (
    sha256 TEXT NOT NULL REFERENCES contents(sha256) ON DELETE CASCADE,
    tag INTEGER NOT NULL,
    kind TEXT NOT NULL,
    tier TEXT NOT NULL,
    protected INTEGER NOT NULL,
    sites INTEGER NOT NULL,
    apis TEXT NOT NULL,
    PRIMARY KEY (sha256, tag, kind)
  ) WITHOUT ROWID;
  CREATE INDEX findings_by_tag ON findings(tag);
  CREATE TABLE evidence (
    sha256 TEXT NOT NULL,
    tag INTEGER NOT NULL,
    kind TEXT NOT NULL,
    seq INTEGER NOT NULL,
    tier TEXT NOT NULL,
    section TEXT NOT NULL,
    rva INTEGER NOT NULL,
    api TEXT,
    via INTEGER,
    instruction TEXT,
    protected INTEGER NOT NULL,
    PRIMARY KEY (sha256, tag, kind, seq),
    FOREIGN KEY (sha256, tag, kind) REFERENCES findings(sha256, tag, kind) ON DELETE CASCADE
  ) WITHOUT ROWID;
  CREATE TABLE pooltag_entries (
    origin TEXT NOT NULL,
    line INTEGER NOT NULL,
    tag TEXT NOT NULL,
    value INTEGER,
    binary TEXT NOT NULL,
    description TEXT NOT NULL,
    heading TEXT,
    PRIMARY KEY (origin, line)
  );
  CREATE INDEX pooltag_by_value ON pooltag_entries(value);
  CREATE TABLE failures (
    host TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ms REAL NOT NULL,
    message TEXT NOT NULL,
    extractor_version TEXT NOT NULL,
    failed_at TEXT NOT NULL,
    PRIMARY KEY (host, path)
  );
  `,
  // Wildcard lookups (Afd?, Ntf*) used SELECT DISTINCT over every finding (~160 ms at a million rows).
  // This table keeps each distinct tag once, keyed by its bytes read big-endian, so a pattern's literal
  // first bytes become a range of the key. Values are never removed: a stale one only costs a lookup that
  // finds no owner.
  `
  CREATE TABLE tag_values (be INTEGER PRIMARY KEY);
  CREATE TRIGGER findings_tag_value AFTER INSERT ON findings
  BEGIN
    INSERT OR IGNORE INTO tag_values(be) VALUES (
      ((NEW.tag & 255) << 24) | (((NEW.tag >> 8) & 255) << 16) | (((NEW.tag >> 16) & 255) << 8) | ((NEW.tag >> 24) & 255));
  END;
  INSERT OR IGNORE INTO tag_values(be) SELECT
    ((tag & 255) << 24) | (((tag >> 8) & 255) << 16) | (((tag >> 16) & 255) << 8) | ((tag >> 24) & 255)
  FROM (SELECT DISTINCT tag FROM findings);
  `,
  // Tag-taking functions across drivers: the wrappers each content exports (module, export name and ordinal,
  // the parameter that reaches a tag argument), the functions each content imports (to find the importers a
  // newly indexed exporter upgrades), which exported wrappers an analysis used (wrapper_state: a re-index does
  // not analyse again when it is unchanged), and evidence naming the exported wrapper a tag went through.
  `
  ALTER TABLE evidence ADD COLUMN via_export TEXT;
  ALTER TABLE contents ADD COLUMN wrapper_state TEXT NOT NULL DEFAULT '';
  CREATE TABLE exported_wrappers (
    sha256 TEXT NOT NULL REFERENCES contents(sha256) ON DELETE CASCADE,
    module TEXT NOT NULL,
    name TEXT,
    ordinal INTEGER NOT NULL,
    param INTEGER NOT NULL,
    api TEXT NOT NULL,
    kind TEXT NOT NULL,
    PRIMARY KEY (sha256, ordinal, param, api)
  ) WITHOUT ROWID;
  CREATE INDEX exported_wrappers_by_module ON exported_wrappers(module);
  CREATE TABLE content_imports (
    sha256 TEXT NOT NULL REFERENCES contents(sha256) ON DELETE CASCADE,
    module TEXT NOT NULL,
    name TEXT,
    ordinal INTEGER
  );
  CREATE INDEX content_imports_by_content ON content_imports(sha256);
  CREATE INDEX content_imports_by_module ON content_imports(module);
  `,
  // Framework evidence: where a framework takes the tag from (a structure field or registration it reads,
  // or KMDF's default tag inferred from the file name) and the label of that field or the service name.
  // Rows written before are ordinary evidence: NULL.
  `
  ALTER TABLE evidence ADD COLUMN source TEXT;
  ALTER TABLE evidence ADD COLUMN field TEXT;
  `,
  // Fleet databases: a driver on 7,000 of 10,000 hosts has 7,000 files rows, and listing them for every
  // owner of a tag took seconds. content_hosts keeps, per content, how many hosts and files have it and
  // its first path (the name lookups show), kept exact by triggers on files; files_by_content_host answers
  // "does this host have another file of this content" for them with one probe.
  `
  DROP INDEX files_by_content;
  CREATE INDEX files_by_content_host ON files(sha256, host);
  CREATE TABLE content_hosts (
    sha256 TEXT PRIMARY KEY,
    hosts INTEGER NOT NULL,
    files INTEGER NOT NULL,
    first_path TEXT NOT NULL
  ) WITHOUT ROWID;
  ${CONTENT_HOSTS_FILL}
  ${CONTENT_HOSTS_TRIGGERS}
  `,
  // Call-tier evidence for a tag read from the image's data names the global or table it came from.
  `
  ALTER TABLE evidence ADD COLUMN held_in TEXT;
  `,
  // `scan` on indexed, unchanged files: every tag-like immediate of a content's decoded code (by the RVA of
  // its bytes) with what a scan hit there reports (the instruction, and the call that proves it, if any), so
  // scan answers without loading the decoder. contents.code_sites counts them; NULL for contents analysed
  // before this table, or with other images' exported wrappers (a scan knows none): scan decodes those.
  `
  CREATE TABLE code_sites (
    sha256 TEXT NOT NULL REFERENCES contents(sha256) ON DELETE CASCADE,
    imm_rva INTEGER NOT NULL,
    rva INTEGER NOT NULL,
    value INTEGER NOT NULL,
    api TEXT,
    via INTEGER,
    via_export TEXT,
    source TEXT,
    field TEXT,
    held_in TEXT,
    instruction TEXT,
    PRIMARY KEY (sha256, imm_rva)
  ) WITHOUT ROWID;
  ALTER TABLE contents ADD COLUMN code_sites INTEGER;
  `,
  // Imports by module: one row per (content, module) with the functions as a JSON array (names, ordinals as
  // numbers) instead of one row per function. content_imports and its two indexes were half of a host
  // database (3.9 of 7.4 MB for 455 drivers, the 64-character hash repeated on every one of ~40 rows per
  // content): a 10,000-host fleet is 40 GB of host databases instead of 74.
  `
  CREATE TABLE content_modules (
    sha256 TEXT NOT NULL REFERENCES contents(sha256) ON DELETE CASCADE,
    module TEXT NOT NULL,
    functions TEXT NOT NULL,
    PRIMARY KEY (sha256, module)
  ) WITHOUT ROWID;
  CREATE INDEX content_modules_by_module ON content_modules(module);
  INSERT INTO content_modules (sha256, module, functions)
    SELECT sha256, module, json_group_array(coalesce(name, ordinal)) FROM content_imports GROUP BY sha256, module;
  DROP TABLE content_imports;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export interface OpenOptions {
  /**
   * Open for reading only: the query commands. Nothing is created beside the file, so a database in a
   * read-only folder or share works. An older schema is still upgraded once when the file is writable.
   */
  readonly?: boolean;
  /** Fail instead of creating a missing file. */
  mustExist?: boolean;
}

/** Every table the migrations create and keep: a database at the current version without one of them is damaged. */
const TABLES = (() => {
  const all = MIGRATIONS.join('\n');
  const dropped = new Set([...all.matchAll(/DROP TABLE (\w+)/g)].map((m) => m[1]));
  return [...all.matchAll(/CREATE TABLE (\w+)/g)].map((m) => m[1]).filter((t) => !dropped.has(t));
})();

/** Refuse a database written by a newer whose-tag, or an SQLite file that is not a whose-tag database. */
function checkOwnership(db: Db, path: string): number {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new UserError(
      `${path} was written by a newer whose-tag (schema ${version} > ${SCHEMA_VERSION}); upgrade whose-tag`,
    );
  }
  if (version === 0) refuseForeign(db, path);
  return version;
}

/** Bring a database to SCHEMA_VERSION, or refuse one written by a newer whose-tag. */
export function migrate(db: Db, path: string): void {
  const version = checkOwnership(db, path);
  for (let v = version; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
      db.prepare(`INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)`).run(String(v + 1));
    })();
  }
}

/** Version 0 with tables of its own is someone else's SQLite file: never add ours to it. */
function refuseForeign(db: Db, path: string): void {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
  if (tables.length > 0) {
    const shown = tables.slice(0, 3).join(', ') + (tables.length > 3 ? ', …' : '');
    throw new UserError(`${path}: an SQLite database, but not a whose-tag one (its tables: ${shown}); give --db a whose-tag database or a new file`);
  }
}

/** The schema is current: every table is there (a dropped or renamed table is damage, said as such). */
function checkTables(db: Db, path: string): void {
  const have = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
  const missing = TABLES.filter((t) => !have.has(t));
  if (missing.length) {
    throw new UserError(`${path}: damaged whose-tag database: schema ${schemaVersion(db)} but no table ${missing.join(', ')} (rebuild it: whose-tag index DIR --db NEW.db)`);
  }
}

function notADatabase(path: string, e: unknown): UserError {
  const code = (e as { code?: string }).code;
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') return new UserError(`${path}: damaged whose-tag database (${(e as Error).message})`);
  return new UserError(`${path}: not a whose-tag database (${(e as Error).message})`);
}

function writeDenied(path: string, e: unknown): UserError {
  return new UserError(
    `${path}: cannot write the database (${(e as Error).message}); index, db import-pooltag and db merge need write access to the file and its folder (lookups, top, enrich, diff, db stats and db export do not)`,
  );
}

/** Runs `fn` when the connection closes, before it closes. */
function beforeClose(db: Db, fn: () => void): void {
  const close = db.close.bind(db);
  db.close = () => {
    if (db.open) {
      try {
        fn();
      } catch {
        // Best effort: the connection closes either way.
      }
    }
    return close();
  };
}

export function openDb(path: string, opts: OpenOptions = {}): Db {
  if (path === ':memory:') return openWritable(path, opts);
  const state = dbFileState(path);
  if (opts.readonly || opts.mustExist) {
    if (state === 'missing') throw new UserError(`${path}: no such database (whose-tag index DIR --db ${path} builds it)`);
  }
  if (!opts.readonly) return openWritable(path, opts);
  if (state === 'empty') throw new UserError(`${path}: empty file, no whose-tag database in it yet (whose-tag index DIR --db ${path} fills it)`);
  return openReadOnly(path, state);
}

function openWritable(path: string, opts: OpenOptions): Db {
  if (!opts.mustExist && path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let db: Db;
  try {
    db = new Database(path, { fileMustExist: Boolean(opts.mustExist) });
  } catch (e) {
    if (isWriteDenied(e)) throw writeDenied(path, e);
    throw notADatabase(path, e);
  }
  try {
    // Before anything is written: someone else's SQLite file is left as it was.
    checkOwnership(db, path);
    db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a commit survives a killed process; only an OS crash may lose the last commits.
    db.pragma('synchronous = NORMAL');
    migrate(db, path);
    checkTables(db, path);
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
  } catch (e) {
    if (db.open) db.close();
    if (e instanceof UserError) throw e;
    if (isWriteDenied(e)) throw writeDenied(path, e);
    throw notADatabase(path, e);
  }
  // WAL while writing (readers are not blocked, a killed index keeps its commits), a rollback journal at
  // rest: a reader of a WAL database must create -wal and -shm files beside it, which a read-only folder or
  // share cannot hold and which a read-only open would leave behind. Skipped, not waited for, while another
  // connection has the file open; the next writer to close converts it.
  if (path !== ':memory:') {
    beforeClose(db, () => {
      db.pragma('busy_timeout = 0');
      db.pragma('journal_mode = DELETE');
    });
  }
  return db;
}

function openReadOnly(path: string, state: DbFileState, copied = false): Db {
  if (state === 'wal') state = leaveWal(path);
  // Still WAL and nobody writing it (a writer keeps its -wal file): the folder is read-only. A copy in a
  // writable temp folder reads the same data and leaves nothing beside the original.
  if (state === 'wal' && !existsSync(`${path}-wal`)) {
    if (copied) throw new UserError(`${path}: cannot read this WAL-mode database (no write access even to a temporary copy)`);
    return openCopy(path);
  }
  let db: Db;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (e) {
    if ((e as { code?: string }).code === 'SQLITE_CANTOPEN') throw new UserError(`${path}: cannot open database (no access)`);
    throw notADatabase(path, e);
  }
  try {
    const version = schemaVersion(db);
    if (version < SCHEMA_VERSION) {
      // An older file needs its upgrade written once; after that readers open it read-only.
      db.close();
      try {
        openDb(path, { mustExist: true }).close();
      } catch (e) {
        if (e instanceof UserError && /cannot write the database/.test(e.message)) {
          throw new UserError(
            `${path}: schema ${version} is older than this whose-tag's (${SCHEMA_VERSION}) and cannot be upgraded here (read-only); run any whose-tag command on it once where it is writable`,
          );
        }
        throw e;
      }
      return openReadOnly(path, dbFileState(path), copied);
    }
    migrate(db, path); // only checks: the version is current or newer
    checkTables(db, path);
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    return db;
  } catch (e) {
    if (db.open) db.close();
    if (e instanceof UserError) throw e;
    throw notADatabase(path, e);
  }
}

/**
 * A WAL database at rest (written by an older whose-tag, or by a writer that was killed) is switched to a
 * rollback journal when the file is writable; 'wal' when it could not be (read-only, or in use).
 */
function leaveWal(path: string): DbFileState {
  // A connection that cannot write would still create -wal and -shm to read, and leave them: ask first.
  if (!writable(path) || !writable(dirname(path))) return 'wal';
  try {
    const db = new Database(path, { fileMustExist: true });
    try {
      db.pragma('busy_timeout = 0');
      db.pragma('journal_mode = DELETE');
    } finally {
      db.close();
    }
  } catch {
    // Not writable or in use: read it as it is.
  }
  return dbFileState(path);
}

function writable(path: string): boolean {
  try {
    accessSync(path, fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** A private copy of `path` in a temp folder (writable: leaving WAL mode writes the header), and its removal. */
function tempCopy(path: string): { dir: string; copy: string } {
  const dir = mkdtempSync(join(tmpdir(), 'whose-tag-ro-'));
  const copy = join(dir, basename(path));
  try {
    copyFileSync(path, copy);
    chmodSync(copy, 0o600); // the original's mode may be read-only
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return { dir, copy };
}

/**
 * A file SQLite can read `path`'s data from without creating anything beside `path` (for `db merge`, which
 * ATTACHes its inputs): `path` itself when it is at rest in rollback-journal mode (converted from WAL where
 * writable, as openDb does for readers), else a private copy in rollback mode, which `release` removes.
 */
export function readableFile(path: string): { path: string; release(): void } {
  const state = dbFileState(path);
  if (state !== 'wal' || leaveWal(path) !== 'wal' || existsSync(`${path}-wal`)) return { path, release: () => undefined };
  const { dir, copy } = tempCopy(path);
  const release = () => rmSync(dir, { recursive: true, force: true });
  try {
    if (leaveWal(copy) === 'wal') throw new UserError(`${path}: cannot read this WAL-mode database (no write access even to a temporary copy)`);
  } catch (e) {
    release();
    throw e;
  }
  return { path: copy, release };
}

function openCopy(path: string): Db {
  const { dir, copy } = tempCopy(path);
  try {
    const db = openReadOnly(copy, leaveWal(copy), true);
    const close = db.close.bind(db);
    db.close = () => {
      try {
        return close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    return db;
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    if (e instanceof UserError) throw new UserError(e.message.split(copy).join(path));
    throw e;
  }
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}
