// Fleet databases: the union of per-host databases. Contents are keyed by hash, so a driver on 10,000 hosts
// is one contents row with 10,000 files rows. `mergeDatabases` builds a new output in a temp file and renames
// it into place; `mergeInto` adds inputs to an existing database in place, one transaction per input.
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { checkOutputPath, siblingTempPath } from '../util/atomic-write.js';
import { CONTENT_HOSTS_FILL, CONTENT_HOSTS_TRIGGERS, CONTENT_HOSTS_TRIGGER_NAMES, SCHEMA_VERSION, openDb, readableFile, type Db } from './schema.js';
import { rowCounts } from './stats.js';

export interface MergeSummary {
  inputs: number;
  hosts: number;
  files: number;
  contents: number;
  findings: number;
}

const CONTENT_COLUMNS = `sha256, size, machine, company_name, file_version, file_description, original_filename,
  product_name, product_version, tag_apis, analysed_at, extractor_version, warnings, wrapper_state, code_sites`;
const FINDING_COLUMNS = 'sha256, tag, kind, tier, protected, sites, apis';
const EVIDENCE_COLUMNS =
  'sha256, tag, kind, seq, tier, section, rva, api, via, instruction, protected, via_export, source, field, held_in';
const WRAPPER_COLUMNS = 'sha256, module, name, ordinal, param, api, kind';
const IMPORT_COLUMNS = 'sha256, module, functions';
const CODE_SITE_COLUMNS = 'sha256, imm_rva, rva, value, api, via, via_export, source, field, held_in, instruction';
/** The tables keyed by content, parents first: a content new to the output brings its rows of each. */
const CONTENT_TABLES = [
  ['contents', CONTENT_COLUMNS],
  ['findings', FINDING_COLUMNS],
  ['evidence', EVIDENCE_COLUMNS],
  ['exported_wrappers', WRAPPER_COLUMNS],
  ['content_modules', IMPORT_COLUMNS],
  ['code_sites', CODE_SITE_COLUMNS],
] as const;
const FILE_COLUMNS = 'host, path, size, mtime_ms, sha256, indexed_at';
const FAILURE_COLUMNS = 'host, path, size, mtime_ms, message, extractor_version, failed_at';
const POOLTAG_COLUMNS = 'origin, line, tag, value, binary, description, heading';

/**
 * Page cache of the merging connection. SQLite's sorter takes as much again when the (sha256, host) index
 * is built (4.5 million keys for 10,000 hosts): at 128 MB that merge peaked at 480 MB of RSS, at 64 MB
 * under 300 MB. The bulk load itself only touches the ends of the files table and its key.
 */
const MERGE_CACHE_KB = 64 * 1024;

/**
 * The databases named by `args`: files as given, folders as every `*.db` file directly inside them (sorted),
 * so a fleet's 10,000 host databases need no 10,000-word command line.
 */
export function mergeInputs(args: string[]): string[] {
  const out: string[] = [];
  for (const arg of args) {
    let isDir = false;
    try {
      isDir = statSync(arg).isDirectory();
    } catch {
      throw new UserError(`${arg}: no such database file`);
    }
    if (!isDir) {
      out.push(arg);
      continue;
    }
    const dbs = readdirSync(arg).filter((n) => n.endsWith('.db')).sort();
    if (dbs.length === 0) throw new UserError(`${arg}: folder holds no *.db file to merge`);
    for (const n of dbs) out.push(join(arg, n));
  }
  if (out.length === 0) throw new UserError('db merge: give at least one database to merge');
  return out;
}

/**
 * `input` attached as `alias`, its schema checked (an older one upgraded first). Returns what detaches it
 * and releases its private copy, if it needed one.
 */
function attachInput(db: Db, input: string, alias: string): () => void {
  if (!existsSync(input) || !statSync(input).isFile()) throw new UserError(`${input}: no such database file`);
  // Inputs are only read. SQLite creates nothing beside a rollback-journal database it only reads, but it
  // needs -wal and -shm files to read a WAL-mode one: such an input in a read-only folder or share is read
  // through a private copy. (ATTACH cannot be asked for read-only: this SQLite build takes no URI filenames.)
  let source = readableFile(input);
  const attach = () => {
    try {
      db.prepare(`ATTACH DATABASE ? AS ${alias}`).run(resolve(source.path));
      return db.pragma(`${alias}.user_version`, { simple: true }) as number;
    } catch (e) {
      throw new UserError(`${input}: not a whose-tag database (${(e as Error).message})`);
    }
  };
  try {
    const version = attach();
    if (version !== SCHEMA_VERSION) {
      db.exec(`DETACH DATABASE ${alias}`);
      source.release();
      // openDb refuses a newer schema with its message, and writes an older one's upgrade once.
      openDb(input, { mustExist: true }).close();
      source = readableFile(input);
      attach();
    }
  } catch (e) {
    source.release();
    throw e;
  }
  return () => {
    try {
      db.exec(`DETACH DATABASE ${alias}`);
    } finally {
      source.release();
    }
  };
}

/** One input attached as `src` for `body`, detached after it. */
function withAttached(db: Db, input: string, body: () => void): void {
  const detach = attachInput(db, input, 'src');
  try {
    body();
  } finally {
    detach();
  }
}

/**
 * Inputs attached a group at a time (SQLite attaches at most 10 databases, and cannot attach or detach
 * inside a transaction), `body` run for the group's aliases, then detached.
 */
const GROUP = 8;
function withAttachedGroups(db: Db, inputs: string[], body: (aliases: string[]) => void): void {
  for (let i = 0; i < inputs.length; i += GROUP) {
    const detach: (() => void)[] = [];
    try {
      for (const [k, input] of inputs.slice(i, i + GROUP).entries()) detach.push(attachInput(db, input, `src${k}`));
      body(detach.map((_, k) => `src${k}`));
    } finally {
      for (const d of detach) d();
    }
  }
}

/**
 * content_hosts of a bulk merge (triggers off), counted in memory as inputs come: while every input brings
 * hosts the output does not have yet (a fleet), its files only add to each content's counts. `exact` turns
 * false at the first input that could replace rows (a host seen before, failures): then the table is
 * counted from the files at the end instead.
 */
class HostTally {
  exact = true;
  private readonly counts = new Map<string, { hosts: number; files: number; first: string }>();

  /** The rows main.files got after rowid `before`, from an input whose `hosts` hosts are all new. */
  add(db: Db, before: number, hosts: number): void {
    const rows = db.prepare<[number], [string, string, string]>('SELECT sha256, host, path FROM main.files WHERE rowid > ?').raw().all(before);
    // A content's hosts in this input: the usual input is one host, so its contents are.
    const seen = new Set<string>();
    for (const [sha, host, path] of rows) {
      let c = this.counts.get(sha);
      if (!c) this.counts.set(sha, (c = { hosts: 0, files: 0, first: path }));
      c.files++;
      if (path < c.first) c.first = path;
      const key = hosts > 1 ? `${sha}\0${host}` : sha;
      if (!seen.has(key)) {
        seen.add(key);
        c.hosts++;
      }
    }
  }

  write(db: Db): void {
    const put = db.prepare('INSERT INTO content_hosts (sha256, hosts, files, first_path) VALUES (?, ?, ?, ?)');
    for (const [sha, c] of this.counts) put.run(sha, c.hosts, c.files, c.first);
  }
}

/**
 * Statements that copy the attached `src` into main: later inputs win for the same (host, path). With a
 * `tally`, content_hosts is counted in it (a bulk merge: see HostTally).
 */
function copyAttached(db: Db, tally?: HostTally, src = 'src'): void {
  const has = (sql: string) => db.prepare(sql).pluck().get() !== undefined;
  // In a fleet most inputs bring no content the output lacks: then only their files rows are copied.
  if (has(`SELECT 1 FROM ${src}.contents s WHERE NOT EXISTS (SELECT 1 FROM main.contents m WHERE m.sha256 = s.sha256) LIMIT 1`)) {
    db.exec(`
      CREATE TEMP TABLE fresh AS
        SELECT sha256 FROM ${src}.contents WHERE sha256 NOT IN (SELECT sha256 FROM main.contents);
      ${CONTENT_TABLES.map(([table, columns]) => `INSERT INTO main.${table} (${columns})
        SELECT ${columns} FROM ${src}.${table} WHERE sha256 IN (SELECT sha256 FROM temp.fresh);`).join('\n')}
      DROP TABLE temp.fresh;`);
  }
  let hosts = 0;
  if (tally?.exact) {
    const names = db.prepare(`SELECT DISTINCT host FROM ${src}.files`).pluck().all() as string[];
    const known = db.prepare('SELECT 1 FROM main.files WHERE host = ? LIMIT 1').pluck();
    if (names.some((h) => known.get(h) !== undefined) || has(`SELECT 1 FROM ${src}.failures LIMIT 1`)) tally.exact = false;
    else hosts = names.length;
  }
  const before = hosts > 0 ? (db.prepare('SELECT coalesce(max(rowid), 0) FROM main.files').pluck().get() as number) : 0;
  db.exec(`
    INSERT INTO main.files (${FILE_COLUMNS}) SELECT ${FILE_COLUMNS} FROM ${src}.files WHERE true
      ON CONFLICT(host, path) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms,
        sha256 = excluded.sha256, indexed_at = excluded.indexed_at;
  `);
  // New hosts only add files, at the end of the table.
  if (hosts > 0) tally!.add(db, before, hosts);
  // Each step below is a probe per row of a small table; guarded, so the common case (no failures, no
  // pooltag entries) costs nothing and never scans the fleet's files.
  if (has('SELECT 1 FROM main.failures LIMIT 1')) {
    db.exec(`DELETE FROM main.failures WHERE rowid IN
      (SELECT m.rowid FROM ${src}.files s JOIN main.failures m ON m.host = s.host AND m.path = s.path)`);
  }
  if (has(`SELECT 1 FROM ${src}.failures LIMIT 1`)) {
    db.exec(`
      INSERT OR REPLACE INTO main.failures (${FAILURE_COLUMNS}) SELECT ${FAILURE_COLUMNS} FROM ${src}.failures;
      DELETE FROM main.files WHERE rowid IN
        (SELECT f.rowid FROM ${src}.failures s JOIN main.files f ON f.host = s.host AND f.path = s.path);`);
  }
  if (has(`SELECT 1 FROM ${src}.pooltag_entries LIMIT 1`)) {
    db.exec(`
      DELETE FROM main.pooltag_entries WHERE origin IN (SELECT DISTINCT origin FROM ${src}.pooltag_entries);
      INSERT INTO main.pooltag_entries (${POOLTAG_COLUMNS}) SELECT ${POOLTAG_COLUMNS} FROM ${src}.pooltag_entries;`);
  }
}

/** A (host, path) replaced by a later input may leave its old content unreferenced. */
function dropOrphans(db: Db): void {
  db.exec('DELETE FROM contents WHERE sha256 NOT IN (SELECT sha256 FROM files)');
}

/**
 * Merge `inputs` (files, or folders of *.db) into a new database at `out` (replacing it). Later inputs win
 * for the same (host, path) and the same pooltag origin; a content hash keeps the first analysis met.
 */
export function mergeDatabases(args: string[], out: string): MergeSummary {
  const inputs = mergeInputs(args);
  for (const input of inputs) if (!existsSync(input) || !statSync(input).isFile()) throw new UserError(`${input}: no such database file`);
  checkOutputPath(out);
  const target = resolve(out);
  const tmp = siblingTempPath(target);
  const db = openDb(tmp);
  try {
    // A temp file renamed only on success: no journal needed, and one file to rename.
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma(`cache_size = -${MERGE_CACHE_KB}`);
    // Bulk load: content_hosts is kept per input (copyAttached), not by a trigger per files row, and the
    // (sha256, host) index is built once at the end (kept during the load, its inserts cost 5x the rows').
    for (const t of CONTENT_HOSTS_TRIGGER_NAMES) db.exec(`DROP TRIGGER ${t}`);
    db.exec('DROP INDEX files_by_content_host');
    const tally = new HostTally();
    // A transaction per group of inputs: fewer commits, each writing the pages the group dirtied once.
    withAttachedGroups(db, inputs, (aliases) =>
      db.transaction(() => {
        for (const a of aliases) copyAttached(db, tally, a);
      })(),
    );
    db.transaction(() => {
      db.exec('CREATE INDEX files_by_content_host ON files(sha256, host)');
      if (tally.exact) tally.write(db);
      else db.exec(CONTENT_HOSTS_FILL);
      dropOrphans(db);
      db.exec(CONTENT_HOSTS_TRIGGERS);
    })();
    const summary: MergeSummary = { inputs: inputs.length, ...rowCounts(db) };
    db.close();
    // A stale WAL beside the old output would be replayed into the new file.
    rmSync(`${target}-wal`, { force: true });
    rmSync(`${target}-shm`, { force: true });
    renameSync(tmp, target);
    return summary;
  } catch (e) {
    if (db.open) db.close();
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Add `inputs` to the existing database `into`, in place: each input is one transaction (a killed merge
 * leaves every input either merged or not), so one more host costs its own rows, not the fleet's.
 */
export function mergeInto(args: string[], into: string): MergeSummary {
  const inputs = mergeInputs(args);
  if (!existsSync(into)) throw new UserError(`${into}: no such database (db merge --out ${into} creates one)`);
  const db = openDb(into, { mustExist: true });
  try {
    db.pragma(`cache_size = -${MERGE_CACHE_KB}`);
    for (const input of inputs) {
      if (resolve(input) === resolve(into)) throw new UserError(`${input}: cannot merge a database into itself`);
      withAttached(db, input, () =>
        db.transaction(() => {
          copyAttached(db);
          dropOrphans(db);
        })(),
      );
    }
    return { inputs: inputs.length, ...rowCounts(db) };
  } finally {
    db.close();
  }
}
