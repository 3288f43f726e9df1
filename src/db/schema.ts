// The tag database's shape and its upgrades. The schema version lives in PRAGMA user_version (mirrored in
// meta for people reading the file with other tools); each migration step moves it up by one.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from '../errors.js';

export type Db = Database.Database;

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
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export interface OpenOptions {
  /** Open for reading only; an older database is still upgraded when the file is writable. */
  readonly?: boolean;
  /** Fail instead of creating a missing file. */
  mustExist?: boolean;
}

/** Bring a database to SCHEMA_VERSION, or refuse one written by a newer whose-tag. */
export function migrate(db: Db, path: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new UserError(
      `${path} was written by a newer whose-tag (schema ${version} > ${SCHEMA_VERSION}); upgrade whose-tag`,
    );
  }
  for (let v = version; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
      db.prepare(`INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)`).run(String(v + 1));
    })();
  }
}

function notADatabase(path: string, e: unknown): UserError {
  return new UserError(`${path}: not a whose-tag database (${(e as Error).message})`);
}

export function openDb(path: string, opts: OpenOptions = {}): Db {
  if (!opts.mustExist && !opts.readonly && path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let db: Db;
  try {
    db = new Database(path, { readonly: Boolean(opts.readonly), fileMustExist: Boolean(opts.mustExist || opts.readonly) });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'SQLITE_CANTOPEN') throw new UserError(`${path}: cannot open database (no such file or no access)`);
    throw notADatabase(path, e);
  }
  try {
    if (opts.readonly) {
      const version = schemaVersion(db);
      if (version < SCHEMA_VERSION) {
        // An older file needs its upgrade written once; after that readers open it read-only.
        db.close();
        openDb(path, { mustExist: true }).close();
        return openDb(path, opts);
      }
      migrate(db, path); // only checks: the version is current or newer
    } else {
      db.pragma('journal_mode = WAL');
      // WAL + NORMAL: a commit survives a killed process; only an OS crash may lose the last commits.
      db.pragma('synchronous = NORMAL');
      migrate(db, path);
    }
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    return db;
  } catch (e) {
    if (db.open) db.close();
    if (e instanceof UserError) throw e;
    throw notADatabase(path, e);
  }
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}
