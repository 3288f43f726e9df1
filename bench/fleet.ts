// A fleet of host databases made from one real index: every host a random ~70% of the index's files under
// its own host name, written straight into the real schema. A host database holds every row `whose-tag
// index --host` would write for its files (every table keyed by content: contents, findings, evidence,
// exported wrappers, imports, code sites…, found from the schema so a new table is not forgotten), with
// tag_values and content_hosts filled and the triggers in place.
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, statfsSync } from 'node:fs';
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { CONTENT_HOSTS_FILL, openDb } from '../src/db/schema.js';
import { prng } from '../test/helpers/prng.js';

export interface FleetSpec {
  hosts: number;
  /** Share of the index's files each host has (each file drawn on its own). */
  share: number;
  seed: number;
}

export const DEFAULT_FLEET: FleetSpec = { hosts: 10_000, share: 0.7, seed: 11 };

/** Moves when what a host database holds changes: host databases kept from another version are made again. */
export const FLEET_GENERATOR = 2;

export function hostName(i: number): string {
  return `host-${String(i).padStart(5, '0')}`;
}

/**
 * An empty database with the current schema, copied for every host (saves running the migrations 10,000
 * times), without the triggers that keep tag_values and content_hosts row by row: each host's are filled in
 * one statement each and the triggers put back (their text is returned), so each host database ends up as
 * index would leave it, in a fraction of the time.
 */
function template(path: string): { path: string; triggers: string[] } {
  rmSync(path, { force: true });
  const db = openDb(path);
  try {
    db.pragma('journal_mode = DELETE');
    const triggers = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").all() as { name: string; sql: string }[];
    for (const t of triggers) db.exec(`DROP TRIGGER ${t.name}`);
    return { path, triggers: triggers.map((t) => t.sql) };
  } finally {
    db.close();
  }
}

const FILL_TAG_VALUES = `INSERT OR IGNORE INTO host_db.tag_values(be) SELECT
  ((tag & 255) << 24) | (((tag >> 8) & 255) << 16) | (((tag >> 16) & 255) << 8) | ((tag >> 24) & 255)
  FROM (SELECT DISTINCT tag FROM host_db.findings)`;

/** Tables keyed by content (a sha256 column) that index fills per analysed content: copied for the host's contents. */
function contentTables(db: Database.Database): { name: string; columns: string }[] {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
  const out: { name: string; columns: string }[] = [];
  for (const name of tables) {
    if (name === 'files' || name === 'content_hosts') continue;
    const cols = (db.prepare(`PRAGMA table_info(${name})`).all() as { name: string }[]).map((c) => c.name);
    if (cols.includes('sha256')) out.push({ name, columns: cols.join(', ') });
  }
  // Parents first: contents, then what references it.
  return out.sort((a, b) => (a.name === 'contents' ? -1 : b.name === 'contents' ? 1 : 0));
}

/**
 * Writes host databases from the index at `index`: one connection holds the index (its pages stay in
 * SQLite's cache from host to host) and attaches each new host file in turn.
 */
export class HostWriter {
  private readonly db: Database.Database;
  private readonly tpl: { path: string; triggers: string[] };
  private readonly tables: { name: string; columns: string }[];
  readonly rowids: number[];

  constructor(index: string, templatePath: string) {
    this.tpl = template(templatePath);
    // Not read-only: the host files attached to this connection are written (the index never is).
    this.db = new Database(index, { fileMustExist: true });
    this.db.pragma('cache_size = -65536');
    this.db.exec('CREATE TEMP TABLE chosen (id INTEGER PRIMARY KEY); CREATE TEMP TABLE shas (sha256 TEXT PRIMARY KEY)');
    this.rowids = this.db.prepare('SELECT rowid FROM files ORDER BY rowid').pluck().all() as number[];
    this.tables = contentTables(this.db);
  }

  /** Host database `out` holding the index's files `rowids` under `host`, with every row index writes for them. */
  write(out: string, host: string, rowids: number[]): void {
    const { db } = this;
    copyFileSync(this.tpl.path, out);
    db.prepare('ATTACH DATABASE ? AS host_db').run(out);
    try {
      db.pragma('host_db.journal_mode = OFF');
      db.pragma('host_db.synchronous = OFF');
      db.exec('DELETE FROM temp.chosen; DELETE FROM temp.shas');
      const add = db.prepare('INSERT INTO temp.chosen (id) VALUES (?)');
      db.transaction(() => {
        for (const id of rowids) add.run(id);
        db.exec('INSERT OR IGNORE INTO temp.shas SELECT sha256 FROM main.files WHERE rowid IN (SELECT id FROM temp.chosen)');
        for (const t of this.tables) {
          db.exec(`INSERT INTO host_db.${t.name} (${t.columns}) SELECT ${t.columns} FROM main.${t.name} WHERE sha256 IN (SELECT sha256 FROM temp.shas)`);
        }
        db.prepare(`INSERT INTO host_db.files (host, path, size, mtime_ms, sha256, indexed_at)
          SELECT ?, path, size, mtime_ms, sha256, indexed_at FROM main.files WHERE rowid IN (SELECT id FROM temp.chosen) ORDER BY path`).run(host);
        db.exec(FILL_TAG_VALUES);
        db.exec(CONTENT_HOSTS_FILL.replace('INSERT INTO content_hosts', 'INSERT INTO host_db.content_hosts').replace(/FROM files/g, 'FROM host_db.files'));
        // Triggers are created in the schema of the table they watch: `host_db.` on the trigger's name.
        for (const sql of this.tpl.triggers) db.exec(sql.replace(/^CREATE TRIGGER (\w+)/, 'CREATE TRIGGER host_db.$1'));
      })();
    } finally {
      db.exec('DETACH DATABASE host_db');
    }
  }

  close(): void {
    this.db.close();
    rmSync(this.tpl.path, { force: true });
  }
}

export interface FleetInfo {
  dir: string;
  hosts: number;
  /** Files in the index the hosts draw from, and on average per host. */
  indexFiles: number;
  filesPerHost: number;
  bytes: number;
  seconds: number;
}

/** Bytes free on the file system holding `dir`. */
export function freeBytes(dir: string): number {
  let d = dir;
  while (!existsSync(d)) d = dirname(d);
  const s = statfsSync(d);
  return s.bavail * s.bsize;
}

/** Host `h`'s files: each of `rowids` drawn on its own with probability `share`, from a per-host seed. */
export function hostFiles(rowids: number[], spec: FleetSpec, h: number): number[] {
  const rand = prng((spec.seed * 100_003 + h) >>> 0);
  return rowids.filter(() => rand() < spec.share);
}

/** Write hosts [from, to) of the fleet into `dir` (which exists). Returns the files written. */
export function makeHosts(index: string, dir: string, spec: FleetSpec, from: number, to: number): number {
  const w = new HostWriter(index, join(dir, '..', `fleet-template-${from}.db`));
  let files = 0;
  try {
    for (let h = from; h < to; h++) {
      const chosen = hostFiles(w.rowids, spec, h);
      files += chosen.length;
      w.write(join(dir, `${hostName(h)}.db`), hostName(h), chosen);
    }
  } finally {
    w.close();
  }
  return files;
}

/** One more host database (host number `h`) at `out`, as makeHosts writes each. */
export function makeFleetHost(index: string, out: string, spec: FleetSpec, h: number): void {
  const w = new HostWriter(index, `${out}.template`);
  try {
    w.write(out, hostName(h), hostFiles(w.rowids, spec, h));
  } finally {
    w.close();
  }
}

/**
 * Make `spec.hosts` host databases in `dir` (emptied first) from the index at `index`, in `parallel` child
 * processes (each writes its own share of the hosts).
 */
export async function makeFleet(index: string, dir: string, spec: FleetSpec, parallel: number): Promise<FleetInfo> {
  const started = performance.now();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const per = Math.ceil(spec.hosts / parallel);
  const children = [];
  for (let k = 0; k < parallel; k++) {
    const from = k * per;
    const to = Math.min(spec.hosts, from + per);
    if (from >= to) continue;
    children.push(
      spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'make', index, dir, JSON.stringify(spec), String(from), String(to)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
  }
  const results = (await Promise.all(children.map(exited))).map((r) => {
    if (r.status !== 0) throw new Error(`fleet generation failed (exit ${r.status})`);
    return Number(r.stdout.trim());
  });
  const src = new Database(index, { readonly: true });
  const indexFiles = src.prepare('SELECT COUNT(*) FROM files').pluck().get() as number;
  src.close();
  let bytes = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isFile()) bytes += statSync(join(dir, e.name)).size;
  const files = results.reduce((a, b) => a + b, 0);
  return { dir, hosts: spec.hosts, indexFiles, filesPerHost: files / spec.hosts, bytes, seconds: (performance.now() - started) / 1000 };
}

function exited(child: ChildProcess): Promise<{ status: number | null; stdout: string }> {
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve({ status: code, stdout: out }));
  });
}

if (process.argv[2] === 'make' && process.argv[1] === fileURLToPath(import.meta.url)) {
  const [index, dir, spec, from, to] = process.argv.slice(3);
  process.stdout.write(String(makeHosts(index, dir, JSON.parse(spec) as FleetSpec, Number(from), Number(to))) + '\n');
}
