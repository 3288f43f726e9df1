// A fleet of host databases made from one real index: every host a random ~70% of the index's files under
// its own host name, written straight into the real schema (the triggers keep content_hosts as index
// would). A host database holds its files' analyses too, as `whose-tag index` on that host would write it.
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, statfsSync } from 'node:fs';
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openDb } from '../src/db/schema.js';
import { prng } from '../test/helpers/prng.js';

export interface FleetSpec {
  hosts: number;
  /** Share of the index's files each host has (each file drawn on its own). */
  share: number;
  seed: number;
}

export const DEFAULT_FLEET: FleetSpec = { hosts: 10_000, share: 0.7, seed: 11 };

const CONTENT_COLUMNS = `sha256, size, machine, company_name, file_version, file_description, original_filename,
  product_name, product_version, tag_apis, analysed_at, extractor_version, warnings`;
const FINDING_COLUMNS = 'sha256, tag, kind, tier, protected, sites, apis';
const EVIDENCE_COLUMNS = 'sha256, tag, kind, seq, tier, section, rva, api, via, instruction, protected, via_export, source, field';

export function hostName(i: number): string {
  return `host-${String(i).padStart(5, '0')}`;
}

/**
 * An empty database with the current schema, copied for every host (saves running the migrations 10,000
 * times), without the findings trigger that fills tag_values row by row: writeHostDb fills tag_values in
 * one statement and puts the trigger back (its text is returned), so each host database ends up as index
 * would leave it, in a third of the time.
 */
function template(path: string): { path: string; trigger: string } {
  rmSync(path, { force: true });
  const db = openDb(path);
  try {
    db.pragma('journal_mode = DELETE');
    const trigger = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'findings_tag_value'").pluck().get() as string;
    db.exec('DROP TRIGGER findings_tag_value');
    return { path, trigger };
  } finally {
    db.close();
  }
}

const FILL_TAG_VALUES = `INSERT OR IGNORE INTO tag_values(be) SELECT
  ((tag & 255) << 24) | (((tag >> 8) & 255) << 16) | (((tag >> 16) & 255) << 8) | ((tag >> 24) & 255)
  FROM (SELECT DISTINCT tag FROM findings)`;

/**
 * Write one host database at `out`: the files of `index` whose rowids are `rowids`, under `host`, with their
 * contents, findings and evidence.
 */
export function writeHostDb(index: string, tpl: { path: string; trigger: string }, out: string, host: string, rowids: number[]): void {
  copyFileSync(tpl.path, out);
  const db = new Database(out);
  try {
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('foreign_keys = OFF');
    db.prepare('ATTACH DATABASE ? AS src').run(index);
    db.transaction(() => {
      db.exec('CREATE TEMP TABLE chosen (id INTEGER PRIMARY KEY)');
      const add = db.prepare('INSERT INTO temp.chosen (id) VALUES (?)');
      for (const id of rowids) add.run(id);
      db.exec(`
        CREATE TEMP TABLE shas AS SELECT DISTINCT sha256 FROM src.files WHERE rowid IN (SELECT id FROM temp.chosen);
        INSERT INTO contents (${CONTENT_COLUMNS}) SELECT ${CONTENT_COLUMNS} FROM src.contents WHERE sha256 IN (SELECT sha256 FROM temp.shas);
        INSERT INTO findings (${FINDING_COLUMNS}) SELECT ${FINDING_COLUMNS} FROM src.findings WHERE sha256 IN (SELECT sha256 FROM temp.shas);
        INSERT INTO evidence (${EVIDENCE_COLUMNS}) SELECT ${EVIDENCE_COLUMNS} FROM src.evidence WHERE sha256 IN (SELECT sha256 FROM temp.shas);
        ${FILL_TAG_VALUES};
        ${tpl.trigger};
      `);
      db.prepare(`INSERT INTO files (host, path, size, mtime_ms, sha256, indexed_at)
        SELECT ?, path, size, mtime_ms, sha256, indexed_at FROM src.files WHERE rowid IN (SELECT id FROM temp.chosen) ORDER BY path`).run(host);
    })();
  } finally {
    db.close();
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
  const src = new Database(index, { readonly: true });
  const rowids = src.prepare('SELECT rowid FROM files ORDER BY rowid').pluck().all() as number[];
  src.close();
  const tpl = template(join(dir, `..`, `fleet-template-${from}.db`));
  let files = 0;
  try {
    for (let h = from; h < to; h++) {
      const chosen = hostFiles(rowids, spec, h);
      files += chosen.length;
      writeHostDb(index, tpl, join(dir, `${hostName(h)}.db`), hostName(h), chosen);
    }
  } finally {
    rmSync(tpl.path, { force: true });
  }
  return files;
}

/** One more host database (host number `h`) at `out`, as makeHosts writes each. */
export function makeFleetHost(index: string, out: string, spec: FleetSpec, h: number): void {
  const src = new Database(index, { readonly: true });
  const rowids = src.prepare('SELECT rowid FROM files ORDER BY rowid').pluck().all() as number[];
  src.close();
  const tpl = template(`${out}.template`);
  try {
    writeHostDb(index, tpl, out, hostName(h), hostFiles(rowids, spec, h));
  } finally {
    rmSync(tpl.path, { force: true });
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
