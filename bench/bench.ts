// `npm run bench [-- CORPUS_DIR] [--runs N] [--only scan,index,lookup] [--tag TAG] [--jobs N] [--json]`
// Times the compiled whose-tag (node start included, as a user runs it) against grep and ripgrep on one
// corpus, checks every command's answer, and prints each median with min/max and its target.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { formatTag } from '../src/tag.js';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureCorpus, ensureRealCorpus, fixtureDrivers, folderStats, realDrivers } from './corpus.js';
import { DEFAULT_FLEET, FLEET_GENERATOR, freeBytes, makeFleet, makeFleetHost, type FleetSpec } from './fleet.js';
import { DEFAULT_LOOKUP_SPEC, ensureLookupDb } from './lookup-db.js';
import { formatMs, renderRows, rowsJson, verdict, type Row } from './report.js';
import { paired, peakRssAvailable, runOnce, timeSeries, type Run, type Series, type SeriesOptions } from './timing.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WORK = join(ROOT, 'bench', 'corpus');
/**
 * A private build (bin/, dist/, data/ laid out as in the package): a `dist/` removed or rebuilt by someone
 * else mid-run would make bin/whose-tag.cjs fall back to tsx and silently change what is measured.
 */
const BUILD = join(WORK, 'build');
const CLI = join(BUILD, 'bin', 'whose-tag.cjs');
const GROUPS = ['scan', 'index', 'lookup', 'fleet'] as const;
/** ../shared beside the checkout: real drivers (System Informer's signed builds) for the corpus. */
const SHARED = join(ROOT, '..', 'shared');
type Group = (typeof GROUPS)[number];

const TARGET = {
  rawScanRatio: 1.5, scanRatio: 10, indexedScanRatio: 3, indexMBps: 100, reindexMs: 500, lookupMs: 150, rssMB: 300,
  fleetMergeMs: 60_000, fleetRssMB: 500, fleetOneMs: 1000, fleetLookupMs: 150, fleetStatsMs: 1000,
};
/** A tag most drivers contain (findstr's `Proc` matches 340 of 647 real drivers): the other scan case. */
const COMMON_TAG = 'Proc';

interface Options {
  corpus?: string;
  runs: number;
  only: Set<Group>;
  tag: string;
  /** Worker threads for index; undefined = the program's default. */
  jobs?: number;
  json: boolean;
  /** Measure the old padded corpus (images + overlay) instead of the real-code one. */
  padded: boolean;
  /** Keep the fleet's host databases for the next run (~40 GB) instead of deleting them at the end. */
  keepFleet: boolean;
  fleetHosts: number;
}

function jobsArgs(opts: { jobs?: number }): string[] {
  return opts.jobs === undefined ? [] : ['--jobs', String(opts.jobs)];
}

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

function parseOptions(argv: string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        runs: { type: 'string', default: '5' },
        only: { type: 'string', default: GROUPS.join(',') },
        tag: { type: 'string', default: 'DrA1' },
        jobs: { type: 'string' },
        json: { type: 'boolean', default: false },
        padded: { type: 'boolean', default: false },
        'keep-fleet': { type: 'boolean', default: false },
        'fleet-hosts': { type: 'string', default: String(DEFAULT_FLEET.hosts) },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    fail((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(readFileSync(join(ROOT, 'bench', 'README.md'), 'utf8'));
    process.exit(0);
  }
  if (parsed.positionals.length > 1) fail(`one corpus folder at most, got ${parsed.positionals.join(' ')}`);
  const runs = Number(v.runs);
  if (!Number.isInteger(runs) || runs < 1) fail(`--runs must be a positive whole number, got ${v.runs}`);
  // Default: no --jobs, so the program's own default (one worker per spare core) is what gets measured.
  const jobs = v.jobs === undefined ? undefined : Number(v.jobs);
  if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1)) fail(`--jobs must be a positive whole number, got ${v.jobs}`);
  const only = new Set<Group>();
  for (const g of String(v.only).split(',').filter(Boolean)) {
    if (!(GROUPS as readonly string[]).includes(g)) fail(`--only takes ${GROUPS.join(',')}; got ${g}`);
    only.add(g as Group);
  }
  // grep and rg take the tag as a plain argument, so it must be 4 printable bytes.
  if (!/^[\x21-\x5b\x5d-\x7e][\x20-\x5b\x5d-\x7e]{3}$/.test(v.tag!)) fail(`--tag must be 4 printable ASCII characters, got ${JSON.stringify(v.tag)}`);
  const corpus = parsed.positionals[0];
  if (corpus !== undefined && !existsSync(corpus)) fail(`${corpus}: no such corpus folder`);
  const fleetHosts = Number(v['fleet-hosts']);
  if (!Number.isInteger(fleetHosts) || fleetHosts < 1) fail(`--fleet-hosts must be a positive whole number, got ${v['fleet-hosts']}`);
  return {
    corpus: corpus && resolve(corpus), runs, only, tag: v.tag!, jobs, json: Boolean(v.json), padded: Boolean(v.padded),
    keepFleet: Boolean(v['keep-fleet']), fleetHosts,
  };
}

const log = (s: string) => process.stderr.write(s + '\n');

/** Children get a plain environment: byte-wise locale for grep, and no database or pooltag.txt from the user. */
function childEnv(): NodeJS.ProcessEnv {
  // No user database: a scan without --db must not find one (the indexed rows name theirs).
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', WHOSE_TAG_DB: join(WORK, 'no-database-here.db') };
  delete env.WHOSE_TAG_POOLTAG;
  delete env.NODE_OPTIONS;
  return env;
}
const ENV = childEnv();

const wt = (...args: string[]): [string, string[]] => [process.execPath, [CLI, ...args]];

function firstLine(s: string): string {
  return s.trim().split('\n')[0]?.slice(0, 160) ?? '';
}

/** Build the program into BUILD (scripts/build.mjs --into), so `bin/whose-tag.cjs` there runs the compiled code and its bundles, not tsx. */
function build(): void {
  log(`building: node scripts/build.mjs --into ${BUILD}`);
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--into', BUILD], { cwd: ROOT, encoding: 'utf8', env: ENV });
  if (r.status !== 0) fail(`the build failed: ${firstLine(r.stderr || r.stdout)}`);
  for (const f of ['main.js', 'main.cjs', 'fast-lookup.cjs', 'fast-scan.cjs']) {
    if (!existsSync(join(BUILD, 'dist', 'cli', f))) fail(`dist/cli/${f} was not built; the benchmark measures the compiled program`);
  }
}

/** Which commands this build has: `whose-tag CMD --help` exits 0; otherwise why not. */
function availability(cmd: string): string | undefined {
  const [file, args] = wt(cmd, '--help');
  const r = runOnce(file, args, { cwd: ROOT, env: ENV });
  return r.status === 0 ? undefined : `not available (whose-tag ${cmd} --help: ${firstLine(r.stderr) || `exit ${r.status}`})`;
}

function commandWorks(cmd: string, args: string[]): boolean {
  try {
    return runOnce(cmd, args, { env: ENV }).status === 0;
  } catch {
    return false;
  }
}

/** Read every file once so each measurement starts from the same warm page cache. */
function warmPageCache(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) readFileSync(join(e.parentPath, e.name));
  }
}

const DROP_CACHES = '/proc/sys/vm/drop_caches';

/** Whether this process may empty the kernel's page cache (Linux, as root): the cold-cache rows need it. */
function canDropCaches(): boolean {
  try {
    accessSync(DROP_CACHES, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function dropCaches(): void {
  spawnSync('sync');
  writeFileSync(DROP_CACHES, '3\n');
}

/**
 * The same scan, grep against `whose-tag scan --raw`, each run after the page cache is emptied: the
 * first search of a mounted image or a freshly copied drivers folder. node then reads its own ~100 MB
 * binary from disk too, so "after node's start" is counted from a cold `node -e 0`.
 */
function coldScanRows(opts: Options, corpus: Corpus, unavailable: string | undefined): Row[] {
  const tag = opts.tag;
  log(`scan ${tag}, cold page cache:`);
  const cold = { runs: opts.runs, cwd: ROOT, env: ENV, before: dropCaches };
  const grep = grepReference(tag, corpus, cold, ', cold cache');
  const rows: Row[] = [grep.row];
  if (unavailable) return rows;
  const raw = timeSeries(...wt('scan', '--raw', tag, corpus.dir), { ...cold, baselines: { grep: grep.cmd, node: NODE_START } });
  rows.push(vsGrepRow(`whose-tag scan --raw ${tag}, cold cache`, raw, grep.files, true));
  return rows;
}

/** Absolute paths from output whose lines start with a path (`path` or `path<TAB>…`). */
function pathSet(stdout: string): Set<string> {
  return new Set(stdout.split('\n').filter(Boolean).map((l) => resolve(ROOT, l.split('\t')[0])));
}

function sameSet(a: Set<string>, b: Set<string>): string {
  const missing = [...b].filter((p) => !a.has(p));
  const extra = [...a].filter((p) => !b.has(p));
  if (!missing.length && !extra.length) return 'ok';
  return `WRONG: ${missing.length} missing, ${extra.length} extra` + (missing[0] ? ` (e.g. missing ${missing[0]})` : ` (e.g. extra ${extra[0]})`);
}

/** Exit 0 = found, 1 = nothing found: both are answers; anything else is a failure of the row. */
function failed(runs: Run[]): string | undefined {
  const bad = runs.find((r) => r.signal || (r.status !== 0 && r.status !== 1));
  if (!bad) return undefined;
  return `FAILED: ${bad.signal ?? `exit ${bad.status}`}: ${firstLine(bad.stderr)}`;
}

/**
 * The check of a --json command: a failed run, output that is not JSON, what `wrong` finds in the parsed
 * output, or `ok`; with the parsed output when there is one.
 */
function jsonCheck<T>(runs: Run[], stdout: string, wrong: (j: T) => string | undefined): { check: string; json?: T } {
  let json: T;
  try {
    json = JSON.parse(stdout) as T;
  } catch {
    return { check: failed(runs) ?? `WRONG: --json output is not JSON: ${firstLine(stdout)}` };
  }
  return { check: failed(runs) ?? wrong(json) ?? 'ok', json };
}

interface Corpus {
  dir: string;
  files: number;
  bytes: number;
  description: string;
  /** Ground-truth file sets for tags the corpus generator recorded. */
  hits: Record<string, Set<string>>;
  /** The files the fleet's index is made of (a generated corpus's first FLEET_INDEX_FILES). */
  sample?: string[];
}

/** Files of the corpus the fleet's one index is made of: as many as a real System32\\drivers holds. */
const FLEET_INDEX_FILES = 650;

function prepareCorpus(opts: Options): Corpus {
  if (opts.corpus) {
    const s = folderStats(opts.corpus);
    return { dir: opts.corpus, ...s, description: `${opts.corpus} (given)`, hits: {} };
  }
  return opts.padded ? paddedCorpus(opts) : realCorpus(opts);
}

/**
 * The default: whole real driver images, copied until 200 MB, each copy made distinct (its PE CheckSum).
 * Without ../shared the copies are of the project's fixture and wine drivers only, and the header says so.
 */
function realCorpus(opts: Options): Corpus {
  const dir = join(WORK, 'real');
  const started = performance.now();
  const shared = existsSync(join(SHARED, 'drivers')) ? SHARED : undefined;
  const sources = realDrivers(ROOT, shared);
  const group = new Map(sources.map((s) => [s.path, s.group]));
  const { manifest, reused } = ensureRealCorpus(
    {
      dir,
      manifestPath: join(WORK, 'real-manifest.json'),
      sources: sources.map((s) => s.path),
      totalBytes: 200e6,
      knownTags: [...new Set([opts.tag, COMMON_TAG])],
      seed: 1,
    },
    (p) => group.get(p) ?? 'fixtures',
  );
  log(`corpus: ${reused ? 'reused' : `built in ${((performance.now() - started) / 1000).toFixed(1)} s`}: ${dir}`);
  const hits = Object.fromEntries(
    Object.entries(manifest.hits).map(([tag, list]) => [tag, new Set(list.map((p) => join(dir, p)))]),
  );
  const made = Object.entries(manifest.groups)
    .map(([g, v]) => `${v.sources} ${g === 'shared' ? '../shared/drivers' : 'test/fixtures'} images (${(v.bytes / 1e6).toFixed(1)} MB)`)
    .join(' + ');
  const reduced = shared ? '' : '; REDUCED: ../shared is absent, so no System Informer builds (the MSVC code that costs most to decode)';
  return {
    dir,
    files: manifest.entries.length,
    bytes: manifest.totalBytes,
    description: `${dir} (real code: distinct copies of ${made}, no padding${reduced})`,
    hits,
    sample: manifest.entries.slice(0, FLEET_INDEX_FILES).map((e) => join(dir, e.path)),
  };
}

/** The old corpus: one image per file followed by an overlay of other drivers' bytes (70% of the bytes). */
function paddedCorpus(opts: Options): Corpus {
  const dir = join(WORK, 'drivers');
  const started = performance.now();
  const { manifest, reused } = ensureCorpus({
    dir,
    manifestPath: join(WORK, 'manifest.json'),
    sources: fixtureDrivers(ROOT),
    files: 600,
    totalBytes: 200e6,
    plantedTag: opts.tag,
    knownTags: [...new Set([opts.tag, COMMON_TAG])],
    seed: 1,
  });
  log(`corpus: ${reused ? 'reused' : `built in ${((performance.now() - started) / 1000).toFixed(1)} s`}: ${dir}`);
  const hits = Object.fromEntries(
    Object.entries(manifest.hits).map(([tag, list]) => [tag, new Set(list.map((p) => join(dir, p)))]),
  );
  const inImages = ((100 * manifest.imageBytes) / manifest.totalBytes).toFixed(0);
  return {
    dir,
    files: manifest.entries.length,
    bytes: manifest.totalBytes,
    description: `${dir} (PADDED: ${manifest.entries.length} files, ${inImages}% of bytes inside PE images, the rest overlay)`,
    hits,
    sample: manifest.entries.slice(0, FLEET_INDEX_FILES).map((e) => join(dir, e.path)),
  };
}

/** Node's own start, which no node program can avoid. */
const NODE_START: [string, string[]] = [process.execPath, ['-e', '0']];

/**
 * How long a whose-tag row took beyond node's start: the median of its runs' differences from a
 * `node -e 0` run just before each (a shared virtual machine's speed drifts within one benchmark run).
 */
function afterStart(s: Series): string {
  const over = paired(s, 'node', (ms, node) => ms - node);
  return over === undefined ? '' : `; ${Math.max(0, Math.round(over))} ms after node's start`;
}

/** `grep -rlF -a TAG` over the corpus: the reference row, and the files, every scan row of the tag is checked against. */
function grepReference(tag: string, corpus: Corpus, options: SeriesOptions, label: string) {
  const cmd: [string, string[]] = ['grep', ['-rlF', '-a', tag, corpus.dir]];
  const series = timeSeries(...cmd, options);
  const files = pathSet(series.runs[0].stdout);
  const truth = corpus.hits[tag];
  const row: Row = {
    group: 'scan',
    measurement: `grep -rlF -a ${tag}${label} (${files.size} files)`,
    stats: series.time,
    unit: 'ms',
    figure: '1.00× (reference)',
    check: failed(series.runs) ?? (truth ? sameSet(files, truth) : 'reference'),
  };
  return { cmd, files, row };
}

/**
 * A row measured against grep on the same files: the ratio is the median of run-by-run ratios to a grep
 * run just before each, so drift cancels. `ours`: a whose-tag row, which has the target and node's start.
 */
function vsGrepRow(measurement: string, s: Series, grepSet: Set<string>, ours: boolean, note = '', target = TARGET.rawScanRatio): Row {
  const ratio = paired(s, 'grep', (ms, grep) => ms / grep) ?? Number.NaN;
  const problem = failed(s.runs);
  return {
    group: 'scan',
    measurement,
    stats: s.time,
    unit: 'ms',
    figure: `${ratio.toFixed(2)}× grep` + (ours ? afterStart(s) : ''),
    target: ours ? `≤ ${target}× grep` : undefined,
    verdict: ours && !problem ? verdict(ratio <= target) : undefined,
    check: problem ?? sameSet(pathSet(s.runs[0].stdout), grepSet) + note,
    numbers: { ratio },
  };
}

/** `unavailable`: why `whose-tag scan` cannot be measured, if it cannot. */
function scanRows(opts: Options, corpus: Corpus, unavailable: string | undefined, hasRg: boolean): Row[] {
  const rows: Row[] = [];
  // The corpus indexed on this host (untimed), for the scans that answer from the tag database.
  let indexedDb: string | undefined;
  if (!unavailable) {
    mkdirSync(join(WORK, 'tmp'), { recursive: true });
    indexedDb = join(WORK, 'tmp', 'scan-index.db');
    ['', '-wal', '-shm'].forEach((x) => rmSync(indexedDb + x, { force: true }));
    log('scan: indexing the corpus for the indexed scans (untimed)');
    const r = runOnce(...wt('index', corpus.dir, '--db', indexedDb, '--include', '*'), { cwd: ROOT, env: ENV });
    if (r.status !== 0 && r.status !== 3) indexedDb = undefined;
  }
  for (const tag of [...new Set([opts.tag, COMMON_TAG])]) {
    log(`scan ${tag}:`);
    log('  grep');
    const grep = grepReference(tag, corpus, { runs: opts.runs, warmup: 1, cwd: ROOT, env: ENV }, '');
    rows.push(grep.row);
    // Every other run is paired with a grep run, and whose-tag's also with a node start.
    const series = (label: string, cmd: string, args: string[]): Series => {
      log(`  ${label}`);
      const baselines: Record<string, [string, string[]]> = cmd === process.execPath ? { grep: grep.cmd, node: NODE_START } : { grep: grep.cmd };
      return timeSeries(cmd, args, { runs: opts.runs, warmup: 1, cwd: ROOT, env: ENV, baselines });
    };
    const vsGrep = (measurement: string, s: Series, ours: boolean, note = '', target?: number) => vsGrepRow(measurement, s, grep.files, ours, note, target);
    if (hasRg) rows.push(vsGrep(`rg -l -F -a --no-ignore ${tag}`, series('rg', 'rg', ['-l', '-F', '-a', '--no-ignore', tag, corpus.dir]), false));
    if (unavailable) {
      rows.push({ group: 'scan', measurement: `whose-tag scan ${tag}`, unit: 'ms', check: unavailable });
      continue;
    }
    const raw = series('whose-tag scan --raw', ...wt('scan', '--raw', tag, corpus.dir));
    rows.push(vsGrep(`whose-tag scan --raw ${tag}`, raw, true));
    const tiered = series('whose-tag scan', ...wt('scan', tag, corpus.dir));
    rows.push(vsGrep(`whose-tag scan ${tag} (labelled, no database)`, tiered, true, tierCounts(tiered.runs[0].stdout), TARGET.scanRatio));
    if (indexedDb) {
      const indexed = series('whose-tag scan --db (files indexed)', ...wt('scan', tag, corpus.dir, '--db', indexedDb));
      const same = indexed.runs[0].stdout === tiered.runs[0].stdout ? '' : '; WRONG: output differs from the scan without a database';
      rows.push(vsGrep(`whose-tag scan ${tag} (labelled, files indexed)`, indexed, true, tierCounts(indexed.runs[0].stdout) + same, TARGET.indexedScanRatio));
    }
  }
  return rows;
}

/** `; call 2, code 0, data 22` from scan's `path<TAB>tier<TAB>…` lines. */
function tierCounts(stdout: string): string {
  const n: Record<string, number> = { call: 0, code: 0, data: 0 };
  for (const line of stdout.split('\n')) {
    const tier = line.split('\t')[1];
    if (tier && tier in n) n[tier]++;
  }
  return `; call ${n.call}, code ${n.code}, data ${n.data}`;
}

interface IndexSummaryJson {
  files: number;
  new: number;
  unchanged: number;
  analysed: number;
  failed: { path: string; message: string }[];
  bytesRead: number;
  mbPerSecond: number;
}

function summaryOf(run: Run): IndexSummaryJson | undefined {
  try {
    return JSON.parse(run.stdout) as IndexSummaryJson;
  } catch {
    return undefined;
  }
}

/** `unavailable`: why `whose-tag index` cannot be measured, if it cannot. */
function indexRows(opts: Options, corpus: Corpus, unavailable: string | undefined): Row[] {
  if (unavailable) return [{ group: 'index', measurement: 'whose-tag index', unit: 'ms', check: unavailable }];
  const tmp = join(WORK, 'tmp');
  mkdirSync(tmp, { recursive: true });
  const db = join(tmp, 'index.db');
  const removeDb = () => ['', '-wal', '-shm'].forEach((s) => rmSync(db + s, { force: true }));
  const args = wt('index', corpus.dir, '--db', db, '--host', 'bench', ...jobsArgs(opts), '--json');
  const rows: Row[] = [];

  log(`index cold (fresh database each run, ${jobsArgs(opts).join(' ') || 'default --jobs'}):`);
  const cold = timeSeries(...args, { runs: opts.runs, cwd: ROOT, env: ENV, before: removeDb, measureRss: true });
  const coldSummary = summaryOf(cold.runs[cold.runs.length - 1]);
  const bytes = coldSummary?.bytesRead || corpus.bytes;
  const mbps = bytes / 1e6 / (cold.time.median / 1000);
  let coldCheck = failed(cold.runs.filter((r) => r.status !== 3)) ?? 'ok';
  if (coldCheck === 'ok') {
    if (!coldSummary) coldCheck = `WRONG: --json output is not JSON: ${firstLine(cold.runs[0].stdout)}`;
    else if (coldSummary.files !== corpus.files || coldSummary.analysed !== corpus.files) {
      coldCheck = `WRONG: ${coldSummary.files} files walked, ${coldSummary.analysed} analysed, corpus has ${corpus.files}`;
    } else if (coldSummary.failed.length) {
      coldCheck = `WRONG: ${coldSummary.failed.length} failed, e.g. ${coldSummary.failed[0].path}: ${coldSummary.failed[0].message}`;
    }
  }
  rows.push({
    group: 'index',
    measurement: `whose-tag index, cold (${(bytes / 1e6).toFixed(0)} MB, ${corpus.files} files)`,
    stats: cold.time,
    unit: 'ms',
    figure: `${mbps.toFixed(1)} MB/s` + (coldSummary ? ` (self-reported ${coldSummary.mbPerSecond.toFixed(1)})` : ''),
    target: `≥ ${TARGET.indexMBps} MB/s`,
    verdict: coldCheck.startsWith('FAILED') ? undefined : verdict(mbps >= TARGET.indexMBps),
    check: coldCheck,
    numbers: { mbPerSecond: mbps, bytes },
  });
  if (cold.rss) {
    const mb = { median: cold.rss.median / 1024, min: cold.rss.min / 1024, max: cold.rss.max / 1024, n: cold.rss.n };
    rows.push({
      group: 'index',
      measurement: 'peak RSS of index, cold (GNU time %M)',
      stats: mb,
      unit: 'MB',
      figure: `max ${mb.max.toFixed(0)} MB`,
      target: `≤ ${TARGET.rssMB} MB`,
      verdict: verdict(mb.max <= TARGET.rssMB),
      check: 'ok',
      numbers: { peakRssMB: mb.max },
    });
  } else {
    rows.push({ group: 'index', measurement: 'peak RSS of index', unit: 'MB', check: 'not measured: /usr/bin/time (GNU time) is missing' });
  }

  log('index unchanged (same database, nothing changed):');
  const again = timeSeries(...args, { runs: opts.runs, cwd: ROOT, env: ENV });
  const againSummary = summaryOf(again.runs[again.runs.length - 1]);
  let againCheck = failed(again.runs.filter((r) => r.status !== 3)) ?? 'ok';
  if (againCheck === 'ok' && (!againSummary || againSummary.unchanged !== corpus.files || againSummary.analysed !== 0)) {
    againCheck = againSummary
      ? `WRONG: ${againSummary.unchanged} unchanged, ${againSummary.analysed} analysed of ${corpus.files}`
      : 'WRONG: --json output is not JSON';
  }
  rows.push({
    group: 'index',
    measurement: `whose-tag index, nothing changed (${corpus.files} files)`,
    stats: again.time,
    unit: 'ms',
    target: `≤ ${formatMs(TARGET.reindexMs)}`,
    verdict: againCheck.startsWith('FAILED') ? undefined : verdict(again.time.median <= TARGET.reindexMs),
    check: againCheck,
  });
  removeDb();
  return rows;
}

function lookupRows(opts: Options, unavailable: string | undefined): Row[] {
  const rows: Row[] = [];
  if (unavailable) {
    rows.push({ group: 'lookup', measurement: 'whose-tag TAG', unit: 'ms', check: unavailable });
    return rows;
  }
  const path = join(WORK, 'lookup-1M.db');
  log('lookup database (1M findings rows):');
  const { info, reused } = ensureLookupDb(path, DEFAULT_LOOKUP_SPEC);
  log(`  ${reused ? 'reused' : `built in ${info.buildSeconds.toFixed(1)} s`}: ${info.rows} rows, ${info.drivers} drivers, ${info.distinctTags} distinct tags`);
  const cases = [
    { label: `exact ${info.exactTag}`, query: info.exactTag, owners: info.exactOwners, tags: 1 },
    { label: `wildcard ${info.wildcard}`, query: info.wildcard, owners: info.wildcardOwners, tags: info.wildcardTags },
  ];
  for (const c of cases) {
    log(`  whose-tag ${c.query}`);
    const s = timeSeries(...wt(c.query, '--db', path), { runs: opts.runs, warmup: 1, cwd: ROOT, env: ENV, baselines: { node: NODE_START } });
    const json = runOnce(...wt(c.query, '--db', path, '--json'), { cwd: ROOT, env: ENV });
    let check = failed(s.runs) ?? 'ok';
    if (check === 'ok') {
      try {
        const owners = (JSON.parse(json.stdout) as { owners: unknown[] }[])[0].owners.length;
        if (owners !== c.owners) check = `WRONG: ${owners} owners, the database has ${c.owners}`;
      } catch {
        check = `WRONG: --json output is not JSON: ${firstLine(json.stdout || json.stderr)}`;
      }
    }
    rows.push({
      group: 'lookup',
      measurement: `whose-tag ${c.query} --db (1M rows; ${c.label})`,
      stats: s.time,
      unit: 'ms',
      figure: `${c.owners} owners of ${c.tags} tag${c.tags === 1 ? '' : 's'}${afterStart(s)}`,
      target: `≤ ${formatMs(TARGET.lookupMs)}`,
      verdict: check.startsWith('FAILED') ? undefined : verdict(s.time.median <= TARGET.lookupMs),
      check,
    });
  }
  return rows;
}

/** The most-owned tag of a database (the slowest exact lookup it has) and how many contents own it. */
function busiestTag(db: string): { tag: string; owners: number } {
  const d = new Database(db, { readonly: true });
  try {
    const r = d.prepare('SELECT tag, COUNT(*) AS n FROM findings GROUP BY tag ORDER BY n DESC, tag LIMIT 1').get() as { tag: number; n: number };
    return { tag: formatTag(r.tag), owners: r.n };
  } finally {
    d.close();
  }
}

/**
 * A fleet of `opts.fleetHosts` host databases made from one real index (FLEET_INDEX_FILES files of the
 * corpus), each host a random ~70% of its files under its own name; then `db merge` of all of them, one more
 * host merged in place, lookups and `db stats` on the fleet database.
 */
async function fleetRows(opts: Options, corpus: Corpus, unavailable: string | undefined): Promise<Row[]> {
  const row = (measurement: string, check: string): Row => ({ group: 'fleet', measurement, unit: 'ms', check });
  if (unavailable) return [row('fleet', unavailable)];
  if (!corpus.sample) return [row('fleet', 'not measured: a given corpus folder has no fleet sample (the generated corpora do)')];
  const dir = join(WORK, 'fleet');
  const hostsDir = join(dir, 'hosts');
  mkdirSync(dir, { recursive: true });
  const index = join(dir, 'index.db');
  const spec: FleetSpec = { ...DEFAULT_FLEET, hosts: opts.fleetHosts };
  // The one real index: `whose-tag index` of the sample, as one host's System32\drivers.
  log(`fleet: index of ${corpus.sample.length} corpus files`);
  rmSync(index, { force: true });
  const built = runOnce(...wt('index', ...corpus.sample, '--db', index, '--host', 'template', '--json'), { cwd: ROOT, env: ENV });
  if (built.status !== 0) return [row('fleet', `FAILED: index of the fleet sample: ${firstLine(built.stderr)}`)];
  rmSync(`${index}-wal`, { force: true });
  rmSync(`${index}-shm`, { force: true });
  const key = JSON.stringify({ spec, index: fingerprint(index), generator: FLEET_GENERATOR });
  const keyFile = join(dir, 'hosts.key.json');
  const reuse = existsSync(keyFile) && readFileSync(keyFile, 'utf8') === key && existsSync(hostsDir) && readdirSync(hostsDir).length === spec.hosts;
  if (!reuse) {
    const perHost = statSync(index).size * spec.share;
    const need = perHost * spec.hosts * 1.2 + 4e9;
    // The host databases of an earlier run are deleted first: their space counts as free.
    const free = freeBytes(dir) + folderBytes(hostsDir);
    if (free < need) {
      return [row(`fleet of ${spec.hosts} hosts`, `not measured: needs ~${(need / 1e9).toFixed(0)} GB free in ${dir}, has ${(free / 1e9).toFixed(0)} GB`)];
    }
    rmSync(keyFile, { force: true });
    log(`fleet: writing ${spec.hosts} host databases (~${((perHost * spec.hosts) / 1e9).toFixed(1)} GB) in 2 processes`);
    const info = await makeFleet(index, hostsDir, spec, 2);
    log(`fleet: ${info.hosts} hosts, ${info.filesPerHost.toFixed(0)} files each on average, ${(info.bytes / 1e9).toFixed(1)} GB, in ${info.seconds.toFixed(0)} s`);
    writeFileSync(keyFile, key);
  } else log(`fleet: reusing ${spec.hosts} host databases in ${hostsDir}`);

  const rows: Row[] = [];
  const fleet = join(dir, 'fleet.db');
  const removeFleet = () => ['', '-wal', '-shm'].forEach((x) => rmSync(fleet + x, { force: true }));
  // Each merge run takes most of a minute: at most 3.
  const runs = Math.min(opts.runs, 3);
  log(`fleet: db merge of ${spec.hosts} host databases (${runs} runs)`);
  const merge = timeSeries(...wt('db', 'merge', hostsDir, '--out', fleet, '--json'), { runs, cwd: ROOT, env: ENV, before: removeFleet, measureRss: true });
  const { check: mergeCheck, json: summary } = jsonCheck<{ hosts: number; files: number; contents: number }>(
    merge.runs,
    merge.runs[merge.runs.length - 1].stdout,
    (j) => (j.hosts !== spec.hosts ? `WRONG: ${j.hosts} hosts merged, made ${spec.hosts}` : undefined),
  );
  rows.push({
    group: 'fleet',
    measurement: `db merge of ${spec.hosts.toLocaleString('en-US')} host databases (${summary ? `${summary.files.toLocaleString('en-US')} files, ${summary.contents} contents` : '?'})`,
    stats: merge.time,
    unit: 'ms',
    figure: `${(fileSize(fleet) / 1e9).toFixed(2)} GB fleet database`,
    target: `≤ ${formatMs(TARGET.fleetMergeMs)}`,
    verdict: mergeCheck.startsWith('FAILED') ? undefined : verdict(merge.time.median <= TARGET.fleetMergeMs),
    check: mergeCheck,
  });
  if (merge.rss) {
    const mb = merge.rss.max / 1024;
    rows.push({
      group: 'fleet',
      measurement: 'peak RSS of db merge (GNU time %M)',
      stats: { median: merge.rss.median / 1024, min: merge.rss.min / 1024, max: mb, n: merge.rss.n },
      unit: 'MB',
      figure: `max ${mb.toFixed(0)} MB`,
      target: `≤ ${TARGET.fleetRssMB} MB`,
      verdict: verdict(mb <= TARGET.fleetRssMB),
      check: 'ok',
    });
  }

  // One more host each run, merged in place: a new host name, a fresh ~70% of the index.
  const extra = join(dir, 'extra');
  rmSync(extra, { recursive: true, force: true });
  mkdirSync(extra, { recursive: true });
  let added = 0;
  const oneMore = join(extra, 'one-more.db');
  const makeOne = () => {
    const h = spec.hosts + added++;
    rmSync(oneMore, { force: true });
    makeFleetHost(index, oneMore, spec, h);
  };
  log('fleet: db merge --into of one more host');
  const one = timeSeries(...wt('db', 'merge', oneMore, '--into', fleet, '--json'), { runs: opts.runs, cwd: ROOT, env: ENV, before: makeOne });
  const oneCheck = jsonCheck<{ hosts: number }>(one.runs, one.runs[one.runs.length - 1].stdout, (j) =>
    j.hosts !== spec.hosts + added ? `WRONG: ${j.hosts} hosts after adding ${added}` : undefined,
  ).check;
  rows.push({
    group: 'fleet',
    measurement: 'db merge --into the fleet database of one more host',
    stats: one.time,
    unit: 'ms',
    target: `≤ ${formatMs(TARGET.fleetOneMs)}`,
    verdict: oneCheck.startsWith('FAILED') ? undefined : verdict(one.time.median <= TARGET.fleetOneMs),
    check: oneCheck,
  });
  rmSync(extra, { recursive: true, force: true });
  const hostsNow = spec.hosts + added;

  const busiest = busiestTag(fleet);
  for (const [label, tag] of [[`most-owned tag ${busiest.tag}`, busiest.tag], [`rare tag ${opts.tag}`, opts.tag]] as const) {
    log(`fleet: whose-tag ${tag}`);
    const s = timeSeries(...wt(tag, '--db', fleet), { runs: opts.runs, warmup: 1, cwd: ROOT, env: ENV, baselines: { node: NODE_START } });
    let check = failed(s.runs) ?? 'ok';
    const out = s.runs[0].stdout;
    const counts = [...out.matchAll(/([\d,]+) hosts/g)].map((m) => Number(m[1].replace(/,/g, '')));
    if (check === 'ok' && counts.length === 0) check = `WRONG: no host counts printed: ${firstLine(out)}`;
    if (check === 'ok' && counts.some((n) => n > hostsNow)) check = `WRONG: a count above the ${hostsNow} hosts`;
    const owners = /drivers in the database \((\d+)\)/.exec(out)?.[1] ?? '?';
    rows.push({
      group: 'fleet',
      measurement: `whose-tag ${tag} --db fleet (${label})`,
      stats: s.time,
      unit: 'ms',
      figure: `${owners} owners, on up to ${Math.max(0, ...counts).toLocaleString('en-US')} hosts${afterStart(s)}`,
      target: `≤ ${formatMs(TARGET.fleetLookupMs)}`,
      verdict: check.startsWith('FAILED') ? undefined : verdict(s.time.median <= TARGET.fleetLookupMs),
      check,
    });
  }

  log('fleet: db stats');
  const st = timeSeries(...wt('db', 'stats', '--db', fleet, '--json'), { runs: opts.runs, warmup: 1, cwd: ROOT, env: ENV });
  const stCheck = jsonCheck<{ hosts: number }>(st.runs, st.runs[0].stdout, (j) =>
    j.hosts !== hostsNow ? `WRONG: ${j.hosts} hosts, the fleet has ${hostsNow}` : undefined,
  ).check;
  rows.push({
    group: 'fleet',
    measurement: 'db stats --db fleet',
    stats: st.time,
    unit: 'ms',
    target: `≤ ${formatMs(TARGET.fleetStatsMs)}`,
    verdict: stCheck.startsWith('FAILED') ? undefined : verdict(st.time.median <= TARGET.fleetStatsMs),
    check: stCheck,
  });

  removeFleet();
  if (!opts.keepFleet) {
    log(`fleet: removing the host databases (--keep-fleet keeps them for the next run)`);
    rmSync(hostsDir, { recursive: true, force: true });
    rmSync(keyFile, { force: true });
  }
  return rows;
}

/** What the index holds, so host databases made from an older index are made again. */
function fingerprint(index: string): string {
  const d = new Database(index, { readonly: true });
  try {
    const h = createHash('sha256');
    for (const r of d.prepare('SELECT path, sha256 FROM files ORDER BY path').iterate() as Iterable<{ path: string; sha256: string }>) h.update(`${r.path}\0${r.sha256}\n`);
    for (const r of d.prepare('SELECT sha256, tag, kind, tier, sites FROM findings ORDER BY sha256, tag, kind').raw().iterate() as Iterable<unknown[]>) h.update(r.join(',') + '\n');
    return h.digest('hex');
  } finally {
    d.close();
  }
}

/** Bytes of the files directly in `dir` (0 when it does not exist). */
function folderBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isFile()) n += statSync(join(dir, e.name)).size;
  return n;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const load = [loadavg()[0]];
  build();
  const unavailable = { scan: availability('scan'), index: availability('index'), lookup: availability('lookup') };
  let hasRg = commandWorks('rg', ['--version']);
  if (!hasRg && commandWorks('apt-get', ['--version'])) {
    // The comparison wants ripgrep beside grep: Debian's package, when this machine can install it.
    log('ripgrep is missing: apt-get install -y ripgrep');
    spawnSync('apt-get', ['install', '-y', '-o', 'DPkg::Lock::Timeout=120', 'ripgrep'], { stdio: 'ignore', env: ENV });
    hasRg = commandWorks('rg', ['--version']);
  }
  const corpus = opts.only.has('scan') || opts.only.has('index') || opts.only.has('fleet') ? prepareCorpus(opts) : undefined;
  if (corpus) warmPageCache(corpus.dir);

  log('node start (node -e 0):');
  const rows: Row[] = [{ group: 'node', measurement: 'node -e 0 (node start alone, for reference)', stats: timeSeries(...NODE_START, { runs: opts.runs, warmup: 1, env: ENV }).time, unit: 'ms', check: 'reference' }];
  if (corpus && opts.only.has('scan')) rows.push(...scanRows(opts, corpus, unavailable.scan, hasRg));
  if (corpus && opts.only.has('scan')) {
    if (canDropCaches()) {
      rows.push(...coldScanRows(opts, corpus, unavailable.scan));
      warmPageCache(corpus.dir);
    } else rows.push({ group: 'scan', measurement: 'scan, cold cache', unit: 'ms', check: `not measured: ${DROP_CACHES} is not writable (Linux, as root)` });
  }
  if (corpus && opts.only.has('index')) rows.push(...indexRows(opts, corpus, unavailable.index));
  if (opts.only.has('lookup')) rows.push(...lookupRows(opts, unavailable.lookup));
  if (corpus && opts.only.has('fleet')) rows.push(...(await fleetRows(opts, corpus, unavailable.lookup)));
  load.push(loadavg()[0]);

  const context = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: `${cpus()[0]?.model ?? 'unknown'} × ${availableParallelism()}`,
    memoryGB: Math.round(totalmem() / 2 ** 30),
    loadAverage1m: { start: load[0], end: load[1] },
    runs: opts.runs,
    jobs: opts.jobs,
    peakRss: peakRssAvailable() ? '/usr/bin/time -f %M (ru_maxrss of the child, KB)' : 'not measured',
    corpus: corpus && { dir: corpus.dir, files: corpus.files, bytes: corpus.bytes, description: corpus.description },
  };
  if (opts.json) {
    process.stdout.write(rowsJson(rows, context));
    return;
  }
  const header = [
    `whose-tag benchmark — ${context.date}, node ${context.node}, ${context.cpu}, ${context.memoryGB} GB`,
    `load average (1 min) ${load[0].toFixed(2)} at start, ${load[1].toFixed(2)} at end; median of ${opts.runs} runs each, warm page cache`,
  ];
  if (corpus) header.push(`corpus: ${corpus.files} files, ${(corpus.bytes / 1e6).toFixed(1)} MB — ${corpus.description}`);
  process.stdout.write(renderRows(rows, header));
  const wrong = rows.filter((r) => !['ok', 'reference'].includes(r.check.split(';')[0]));
  if (wrong.length) process.stdout.write(`\n${wrong.length} row(s) failed their check: their times do not count.\n`);
}

await main();
