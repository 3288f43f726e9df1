// index: walk → skip unchanged (no read) → read + hash (in worker threads, or in-process with an injected
// extractor) → reuse known content or extract → store each file all or nothing on this thread, many files
// to a commit → prune vanished files. One bad file never stops the run.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import fg from 'fast-glob';
import pLimit from 'p-limit';
import { DRIVER_PATTERNS, walk } from '../walk/walk.js';
import type { Db } from '../db/schema.js';
import { IndexStore, type FileStat } from '../db/store.js';
import type { DriverReport, ExportedWrapper } from '../extract/types.js';
import { wrapperState } from '../extract/exports.js';
import { EXTRACTOR_VERSION } from '../extract/version.js';
import { isNoCallProofWarning } from '../pe/types.js';
import { laneOf } from './lanes.js';
import { ExtractWorkerPool, WorkerStartError, type OpenedFile } from './worker-pool.js';

export type Extractor = (
  buf: Uint8Array,
  opts?: { path?: string; exportedWrappers?: readonly ExportedWrapper[] },
) => DriverReport | Promise<DriverReport>;

export interface IndexProgress {
  /** Files decided so far (unchanged ones count at once). */
  done: number;
  total: number;
  bytesRead: number;
  /** The file just finished, when one was read. */
  path?: string;
}

export interface IndexOptions {
  /** Host the files belong to; default this machine's hostname. */
  host?: string;
  /** Extraction worker threads (fewer for a small amount of work; each holds at most two files), or with an
   *  injected extractor the files read and analysed at once. */
  jobs?: number;
  /** Patterns used inside folder arguments instead of DRIVER_PATTERNS (`*.dll` means any depth). */
  include?: string[];
  exclude?: string[];
  /** Runs in-process instead of the worker pool. Default: extractTags in `jobs` worker threads. */
  extractor?: Extractor;
  /** Stored with each analysis; content analysed by another version is analysed again. Default: the
   *  extractor's EXTRACTOR_VERSION, as the workers report it. */
  extractorVersion?: string;
  /** Default: fs.readFile. Tests count reads through it; giving one runs the extractor in-process. */
  readFile?: (path: string) => Promise<Uint8Array>;
  /** Worker entry instead of extract-worker (tests: a worker that crashes on cue). */
  workerModule?: URL;
  onProgress?: (p: IndexProgress) => void;
  /** Files larger than this are recorded as failures instead of being read. */
  maxFileBytes?: number;
}

export interface IndexFailure {
  path: string;
  message: string;
  /** True when the file failed before with the same size and mtime and was not read again. */
  known: boolean;
}

export interface IndexSummary {
  host: string;
  files: number;
  new: number;
  changed: number;
  unchanged: number;
  /** Read files whose content was already analysed (on any host): not extracted again. */
  reused: number;
  analysed: number;
  /** Contents analysed again because an exported wrapper they import was indexed, changed or went. */
  upgraded: number;
  failed: IndexFailure[];
  /** Drivers read in this run whose report says no call-tier proof was possible (imports discarded). */
  warnings: { path: string; message: string }[];
  pruned: number;
  bytesRead: number;
  seconds: number;
  mbPerSecond: number;
}

export const DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024;

/**
 * A commit per file cost more than the rest of the main thread's work: files are committed in batches of at
 * most this many, or this long after the batch's first write, whichever comes first. A file is reported done
 * (onProgress with its path) only once its batch is committed.
 */
const BATCH_FILES = 64;
const BATCH_MS = 250;

/** A worker costs ~0.3 s of CPU to start and warm its JIT up: a few changed files do not need every core. */
const BYTES_PER_WORKER = 32 * 1024 * 1024;

/** `*.dll` → `**\/*.dll`: a bare name pattern applies at any depth, like .gitignore. */
export function anyDepth(pattern: string): string {
  return pattern.includes('/') ? pattern : `**/${pattern}`;
}

async function defaultExtractor(): Promise<{ extractor: Extractor; version: string }> {
  const mod = await import('../extract/extract.js');
  return { extractor: mod.extractTags, version: mod.EXTRACTOR_VERSION };
}

type Opener = (path: string, size: number) => Promise<OpenedFile>;

function inProcessOpener(read: (path: string) => Promise<Uint8Array>, extract: Extractor): Opener {
  return async (path) => {
    let buf: Uint8Array | undefined = await read(path);
    const sha256 = createHash('sha256').update(buf).digest('hex');
    const size = buf.byteLength;
    return {
      sha256,
      size,
      extract: async (wrappers?: ExportedWrapper[]) => {
        const bytes = buf;
        if (!bytes) throw new Error(`${path}: already released`);
        buf = undefined;
        return extract(bytes, wrappers?.length ? { path, exportedWrappers: wrappers } : { path });
      },
      release: () => {
        buf = undefined;
      },
    };
  };
}

function norm(p: string): string {
  return p.replace(/\\/g, '/');
}

/** Folders whose previously indexed files this run may prune: each folder argument, each glob's static base. */
function walkedRoots(args: string[]): string[] {
  return args.map((a) => {
    const slashed = norm(a);
    if (fg.isDynamicPattern(slashed)) return norm(resolve(fg.generateTasks([slashed])[0]?.base ?? '.'));
    return norm(resolve(a));
  });
}

function isUnder(path: string, roots: string[]): boolean {
  const p = norm(path);
  return roots.some((r) => p === r || p.startsWith(r.endsWith('/') ? r : r + '/'));
}

async function vanished(path: string): Promise<boolean> {
  try {
    await stat(path);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR';
  }
}

function errorMessage(e: unknown): string {
  const err = e as Error;
  return (err && err.message) || String(e);
}

/** Analyses a file again with `wrappers` if it still has content `sha256`; undefined when it changed. */
type Reanalysis = (path: string, sha256: string, wrappers: ExportedWrapper[]) => Promise<{ size: number; report: DriverReport } | undefined>;

function pooledReanalysis(pool: ExtractWorkerPool): Reanalysis {
  return async (path, sha256, wrappers) => {
    const f = await pool.open(path, { lane: laneOf(path) });
    if (f.sha256 !== sha256) {
      f.release();
      return undefined;
    }
    return { size: f.size, report: await f.extract(wrappers) };
  };
}

function inProcessReanalysis(read: ((path: string) => Promise<Uint8Array>) | undefined, extract: Extractor): Reanalysis {
  return async (path, sha256, wrappers) => {
    const buf = await (read ?? readFile)(path);
    if (createHash('sha256').update(buf).digest('hex') !== sha256) return undefined;
    return { size: buf.byteLength, report: await extract(buf, { path, exportedWrappers: wrappers }) };
  };
}

export async function indexPaths(db: Db, args: string[], opts: IndexOptions = {}): Promise<IndexSummary> {
  const started = performance.now();
  const host = opts.host ?? hostname();
  // One worker per core: on real drivers (the real-code bench corpus) the extraction workers do ~80% of
  // the work and the main thread (decisions, SQLite writes) sits idle ~80% of the time, so on 2 cores a
  // second worker nearly halves the time. (On the old padded corpus, 70% overlay that only needed hashing,
  // one worker per spare core was as fast.)
  const jobs = Math.max(1, opts.jobs ?? availableParallelism());
  const maxBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const inProcess = Boolean(opts.extractor || opts.readFile);
  const store = new IndexStore(db);

  const { files, problems } = await walk(args, {
    patterns: opts.include?.length ? opts.include.map(anyDepth) : DRIVER_PATTERNS,
    exclude: (opts.exclude ?? []).map(anyDepth),
  });
  const knownFiles = store.knownFiles(host);
  const knownFailures = store.knownFailures(host);

  let extractor = opts.extractor;
  // Known before any worker starts, except with a test's own worker module, which reports its version.
  const versionUpFront = opts.extractorVersion ?? (opts.extractor ? '1' : opts.workerModule ? undefined : EXTRACTOR_VERSION);
  let extractorVersion = versionUpFront;
  const summary: IndexSummary = {
    host, files: files.length, new: 0, changed: 0, unchanged: 0, reused: 0, analysed: 0, upgraded: 0,
    failed: problems.map((p) => ({ path: p.path, message: p.message, known: false })),
    warnings: [],
    pruned: 0, bytesRead: 0, seconds: 0, mbPerSecond: 0,
  };
  const progress = { done: 0, total: files.length, bytesRead: 0 };
  const report = (path?: string) => opts.onProgress?.({ ...progress, path });

  // Unchanged files need nothing; files that failed before with the same size and mtime need the extractor's
  // version (a new version tries them again); the rest are read.
  const toRead: FileStat[] = [];
  const failedAlike: FileStat[] = [];
  for (const f of files) {
    const known = knownFiles.get(f.path);
    const failedBefore = knownFailures.get(f.path);
    // An unchanged file analysed by an older extractor is read again (and counted as changed): an upgrade
    // must not leave old answers behind.
    const current = versionUpFront === undefined || known?.extractorVersion === versionUpFront;
    if (known && known.size === f.size && known.mtimeMs === f.mtimeMs && current) {
      summary.unchanged++;
      progress.done++;
      continue;
    }
    const file = { host, path: f.path, size: f.size, mtimeMs: f.mtimeMs };
    if (failedBefore && failedBefore.size === f.size && failedBefore.mtimeMs === f.mtimeMs) {
      failedAlike.push(file);
      continue;
    }
    if (known || failedBefore) summary.changed++;
    else summary.new++;
    toRead.push(file);
  }

  // The main thread loads the extractor (and its WASM) only when it extracts in-process; a test's own worker
  // module says which version it runs.
  let pool: ExtractWorkerPool | undefined;
  const startPool = () => {
    const bytes = toRead.reduce((n, f) => n + f.size, 0);
    const size = Math.min(jobs, toRead.length, Math.ceil(bytes / BYTES_PER_WORKER));
    return new ExtractWorkerPool({ size, module: opts.workerModule });
  };
  if (!inProcess && toRead.length) {
    pool = startPool();
    extractorVersion ??= await pool.version(); // rejects only when no worker could start: none left to stop
  }
  if ((toRead.length || failedAlike.length) && (extractorVersion === undefined || (inProcess && !extractor))) {
    const loaded = await defaultExtractor();
    extractorVersion ??= loaded.version;
    extractor ??= loaded.extractor;
  }
  const version = extractorVersion ?? '1';
  for (const file of failedAlike) {
    const before = knownFailures.get(file.path)!;
    if (before.extractorVersion === version) {
      summary.failed.push({ path: file.path, message: before.message, known: true });
      progress.done++;
    } else {
      summary.changed++;
      toRead.push(file);
    }
  }
  if (!inProcess && toRead.length && !pool) pool = startPool();
  report();

  // Each file's rows are written all or nothing (a savepoint) into a batch that commits many files at once.
  const uncommitted: string[] = [];
  let batchOpenedAt = 0;
  let batchTimer: NodeJS.Timeout | undefined;
  const commit = () => {
    clearTimeout(batchTimer);
    batchTimer = undefined;
    store.commit();
    for (const path of uncommitted.splice(0)) {
      progress.done++;
      report(path);
    }
  };
  const write = <T>(save: () => T): T => {
    if (!db.inTransaction) {
      store.openBatch();
      batchOpenedAt = performance.now();
    }
    return save();
  };
  const written = (path: string) => {
    uncommitted.push(path);
    if (uncommitted.length >= BATCH_FILES || performance.now() - batchOpenedAt >= BATCH_MS) commit();
    else batchTimer ??= setTimeout(commit, BATCH_MS - (performance.now() - batchOpenedAt)).unref();
  };

  // Other drivers' exported wrappers known so far: calls to them carry tags.
  let wrappers: ExportedWrapper[] = store.exportedWrappers();
  const stateOf = (r: DriverReport) => wrapperState(r.imports ?? [], wrappers);

  // Two copies of one content in the same run are analysed once: the second waits for the first.
  const inFlight = new Map<string, Promise<void>>();
  // Content of a size no analysed content has cannot be known: its worker analyses it without asking first.
  const knownSizes = pool ? store.contentSizes() : new Set<number>();
  const open: Opener = pool
    ? (path, size) => pool.open(path, { lane: laneOf(path), ...(knownSizes.has(size) ? {} : { eager: { wrappers } }) })
    : inProcessOpener(opts.readFile ?? ((p: string) => readFile(p)), extractor!); // loaded above when needed
  const processFile = async (file: FileStat): Promise<void> => {
    let opened: OpenedFile | undefined;
    try {
      if (file.size > maxBytes) throw new Error(`${file.size} bytes is larger than the ${maxBytes}-byte limit`);
      const f = (opened = await open(file.path, file.size));
      summary.bytesRead += f.size;
      progress.bytesRead += f.size;
      // The file may have changed since the walk: store what was actually read.
      const current = { ...file, size: f.size };
      const sha256 = f.sha256;
      const pending = inFlight.get(sha256);
      if (pending) await pending.catch(() => undefined);
      if (store.contentVersion(sha256) === version) {
        f.release();
        write(() => store.saveReused(current, sha256));
        summary.reused++;
        // The same content analysed before (another host, another path): its warning still holds here.
        const noCallProof = store.contentWarnings(sha256).find(isNoCallProofWarning);
        if (noCallProof) summary.warnings.push({ path: file.path, message: noCallProof });
        return;
      }
      const work = (async () => {
        const result = await f.extract(wrappers);
        write(() => store.saveAnalysed(current, sha256, result, version, stateOf(result)));
        if (result.importsDiscarded) summary.warnings.push({ path: file.path, message: result.importsDiscarded });
      })();
      inFlight.set(sha256, work);
      try {
        await work;
      } finally {
        inFlight.delete(sha256);
      }
      summary.analysed++;
    } catch (e) {
      if (e instanceof WorkerStartError) throw e;
      const message = errorMessage(e);
      summary.failed.push({ path: file.path, message, known: false });
      write(() => store.saveFailure(file, message, version));
    } finally {
      opened?.release();
      written(file.path);
    }
  };
  // The pool holds at most two files per worker (one's SQLite write overlaps the other's analysis) and queues
  // the rest by lane, so it is given every file at once.
  const limit = pLimit(pool ? Infinity : jobs);
  try {
    try {
      // Settle every file before giving up on a fatal error, so none is still writing when the caller closes.
      const outcomes = await Promise.allSettled(toRead.map((f) => limit(() => processFile(f))));
      const fatal = outcomes.find((o) => o.status === 'rejected');
      if (fatal) throw fatal.reason;
    } finally {
      // Every file written so far is complete: a fatal error keeps them.
      commit();
    }

    const roots = walkedRoots(args);
    const walked = new Set(files.map((f) => f.path));
    const candidates = [...knownFiles.keys(), ...knownFailures.keys()].filter((p) => !walked.has(p) && isUnder(p, roots));
    const gone: string[] = [];
    for (const p of new Set(candidates)) if (await vanished(p)) gone.push(p);
    summary.pruned = store.prune(host, gone);
    store.dropOrphanContents();

    // Importers analysed before an exporter they call (in this run or an earlier one), or whose exporter
    // changed or went, are analysed again with the wrappers known now; an upgraded importer may export wrappers
    // in turn, hence the rounds. By the workers, warm by now, when this run started them; else in this thread.
    for (let round = 0; round < 4; round++) {
      wrappers = store.exportedWrappers();
      const stale = store.staleImporters(host, version, (imports) => wrapperState(imports, wrappers));
      if (stale.length === 0) break;
      const reanalyse = pool ? pooledReanalysis(pool) : inProcessReanalysis(opts.readFile, extractor ?? (extractor = (await defaultExtractor()).extractor));
      // In this thread one file at a time (each is read whole); the pool bounds what its workers hold.
      const one = pLimit(pool ? Infinity : 1);
      await Promise.all(stale.map(({ sha256, file }) => one(async () => {
        try {
          const done = await reanalyse(file.path, sha256, wrappers);
          if (!done) return; // changed: the next run analyses it
          write(() => store.saveAnalysed({ ...file, size: done.size }, sha256, done.report, version, stateOf(done.report)));
          summary.upgraded++;
        } catch {
          // Unreadable now: its earlier analysis stays, and the next run tries again.
        }
      })));
      commit();
    }
  } finally {
    await pool?.close();
  }

  summary.failed.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  summary.warnings.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  summary.seconds = (performance.now() - started) / 1000;
  summary.mbPerSecond = summary.seconds > 0 ? summary.bytesRead / 1e6 / summary.seconds : 0;
  return summary;
}
