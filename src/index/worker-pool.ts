// A few worker threads running the extractor, so indexing uses every core while the main thread keeps the
// single SQLite writer. Workers read and hash files themselves (the main thread never holds file bytes). Each
// worker gets two files at a time, so it reads the next while the main thread decides about the last. A
// worker that dies takes only the file it was working on with it: it is replaced, and its other file retried.
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { DriverReport, ExportedWrapper } from '../extract/types.js';
import { LANES } from './lanes.js';
import { type FromWorker, type ToWorker, fromWire } from './worker-protocol.js';

/** A file read and hashed by a worker, which keeps its bytes until `extract` or `release`. */
export interface OpenedFile {
  sha256: string;
  size: number;
  /** `wrappers`: other images' exported wrappers, whose callers' tags the analysis then proves. */
  extract(wrappers?: ExportedWrapper[]): Promise<DriverReport>;
  /** The content needs no analysis: free the worker. Safe to call more than once, and after `extract`. */
  release(): void;
}

export interface WorkerPoolOptions {
  size: number;
  /** Worker entry; default extract-worker (.ts under tsx, .js in dist). Tests pass one that misbehaves. */
  module?: URL;
  /** Heap limit of each worker; a worker that reaches it dies and its file fails. Default: V8's. */
  maxHeapMb?: number;
  /** Young-generation size of each worker, MB (default YOUNG_GENERATION_MB). */
  youngGenerationMb?: number;
}

/**
 * V8 sizes a worker's young generation like a whole process's. On the real-code corpus with two workers a
 * 16 MB one kept the index's peak RSS at ~226 MB instead of 257–305 MB, for the same CPU time. Since the
 * analysis grew (code sites, decoys, lanes), 16 MB peaked at 276–292 MB over six runs and 8 MB at 253–281 MB,
 * for ~3% more CPU: the margin under the 300 MB target is worth it.
 */
const YOUNG_GENERATION_MB = 8;

/** Files given to one worker at once: one being worked on, one read ahead while the main thread decides. */
const DEPTH = 2;
/**
 * Eager files given to one worker at once. The worker reads each only when it comes to it, so a deeper queue
 * would hold no more file bytes; but 4 showed a higher peak RSS on the real-code bench corpus (278–288 MB
 * against 264–268 MB with 2, on a loaded machine), for no CPU time saved.
 */
const EAGER_DEPTH = 2;

/**
 * A worker whose own lane ran out takes another lane's files only while that many are still queued. A worker
 * switching analysers runs their code cold (3–5× slower for its first few hundred files while its JIT warms
 * up): on the real-code bench corpus, the ARM64 worker taking the x64 lane's last files cost ~1 s more CPU
 * (9.8–10.7 s against 8.7–9.4 s) for no shorter run on 2 cores. A worker that never had a file of its own
 * lane (an x64-only folder) takes any from the start, so every core works.
 */
const STEAL_MIN_QUEUED = 1024;

export interface OpenOptions {
  /** The lane (lanes.ts) whose worker takes this file first. */
  lane?: number;
  /**
   * Extract right after reading, with these wrappers, instead of waiting for extract(): for content the
   * database cannot know yet. Its worker then never waits for the main thread. extract() with other wrappers
   * reads the file again; release() drops the report when it comes.
   */
  eager?: { wrappers: ExportedWrapper[] };
}

type JobState = 'queued' | 'opening' | 'held' | 'extracting' | 'done';

interface Job {
  id: number;
  path: string;
  /** The lane (lanes.ts) whose worker takes this file first. */
  lane: number;
  eager?: { wrappers: ExportedWrapper[] };
  /** An eager job's report, once it is opened. */
  report?: Promise<FromWorker>;
  state: JobState;
  slot?: Slot;
  /** Settles the current request: open, then extract. */
  resolve(m: FromWorker): void;
  reject(e: Error): void;
  /** Why the worker holding this file went away, for a later extract(). */
  lost?: Error;
}

interface Slot {
  worker: Worker;
  /** The lane of files this worker takes first: its JIT warms up to one analyser. */
  lane: number;
  /** It has had a file of its own lane: it is warm for that analyser (see STEAL_MIN_QUEUED). */
  specialised: boolean;
  ready: boolean;
  /** In the order sent; the worker answers them in that order. */
  jobs: Job[];
  /** What the worker threw, when it died of an uncaught error. */
  died?: string;
}

/** Rejection of a request that another file's crash took down: the request is made again elsewhere. */
class Retry extends Error {}

/** No worker could start (missing or broken build): indexing cannot go on, and no file is to blame. */
export class WorkerStartError extends Error {
  override name = 'WorkerStartError';
}

/** Under tsx the `.ts` entry needs tsx in the worker too; tsx's own --import hook skips worker threads. */
function workerFor(module: URL, options: WorkerOptions): Worker {
  if (!module.pathname.endsWith('.ts')) return new Worker(module, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(module.href)}); })`;
  return new Worker(boot, { ...options, eval: true });
}

function defaultModule(): URL {
  // The worker is what this module is: TypeScript under tsx, a compiled ES module, or (inside the bundle
  // dist/cli/main.cjs, whose import.meta.url is the bundle's) the bundle dist/index/extract-worker.cjs.
  // Hence the path by way of ../index/, right from both dist/index/ and dist/cli/.
  const ext = import.meta.url.match(/\.(ts|cjs)$/)?.[0] ?? '.js';
  return new URL(`../index/extract-worker${ext}`, import.meta.url);
}

function describeDeath(value: unknown): string {
  return value instanceof Error ? value.message || value.name : String(value);
}

export class ExtractWorkerPool {
  private readonly module: URL;
  private readonly options: WorkerOptions;
  private readonly slots: Slot[] = [];
  /** Files waiting for a worker, by lane. */
  private readonly queues: Job[][] = Array.from({ length: LANES }, () => []);
  private nextId = 1;
  private closed = false;
  /** Set when no worker could be started: every request fails with it. */
  private broken?: WorkerStartError;
  private readonly started: Promise<string>;
  private onStarted!: { resolve(version: string): void; reject(e: Error): void };

  constructor(opts: WorkerPoolOptions) {
    this.module = opts.module ?? defaultModule();
    this.options = {
      resourceLimits: {
        maxYoungGenerationSizeMb: opts.youngGenerationMb ?? YOUNG_GENERATION_MB,
        ...(opts.maxHeapMb ? { maxOldGenerationSizeMb: opts.maxHeapMb } : {}),
      },
    };
    this.started = new Promise((resolve, reject) => (this.onStarted = { resolve, reject }));
    this.started.catch(() => undefined); // also surfaced through open()
    for (let i = 0; i < Math.max(1, opts.size); i++) this.slots.push(this.spawn(i % LANES));
  }

  /** The extractor version the workers run, once the first one is up. */
  version(): Promise<string> {
    return this.started;
  }

  /** Have a worker read and hash `path`; resolves once it holds the bytes (or, eager, is analysing them). */
  async open(path: string, opts: OpenOptions = {}): Promise<OpenedFile> {
    const lane = (opts.lane ?? 0) % LANES;
    const job: Job = { id: this.nextId++, path, lane, eager: opts.eager, state: 'queued', resolve: () => {}, reject: () => {} };
    let m: FromWorker;
    try {
      m = await new Promise<FromWorker>((resolve, reject) => {
        if (this.broken) return reject(this.broken);
        if (this.closed) return reject(new Error('worker pool is closed'));
        Object.assign(job, { resolve, reject });
        this.queues[job.lane].push(job);
        this.dispatch();
      });
    } catch (e) {
      if (e instanceof Retry) return this.open(path, opts);
      throw e;
    }
    if (m.type !== 'opened') throw new Error(`worker answered ${m.type} to open`);
    return job.eager ? this.openedEager(job, m.sha256, m.size) : this.opened(job, m.sha256, m.size);
  }

  async close(): Promise<void> {
    this.closed = true;
    const gone = new Error('worker pool is closed');
    for (const j of this.queued()) j.reject(gone);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private opened(job: Job, sha256: string, size: number): OpenedFile {
    return {
      sha256,
      size,
      extract: async (wrappers?: ExportedWrapper[]) => {
        let m: FromWorker;
        try {
          m = await new Promise<FromWorker>((resolve, reject) => {
            if (job.lost) return reject(job.lost);
            if (job.state !== 'held') return reject(new Error(`${job.path}: extract() called twice or after release()`));
            Object.assign(job, { resolve, reject, state: 'extracting' });
            const msg: ToWorker = wrappers?.length ? { type: 'extract', id: job.id, wrappers } : { type: 'extract', id: job.id };
            job.slot!.worker.postMessage(msg);
          });
        } catch (e) {
          if (e instanceof Retry) return (await this.open(job.path, { lane: job.lane })).extract(wrappers);
          throw e;
        }
        if (m.type !== 'report') throw new Error(`worker answered ${m.type} to extract`);
        return m.report;
      },
      release: () => {
        if (job.state !== 'held' || job.lost) return;
        job.slot!.worker.postMessage({ type: 'release', id: job.id } satisfies ToWorker);
        this.finish(job);
      },
    };
  }

  private openedEager(job: Job, sha256: string, size: number): OpenedFile {
    let taken = false;
    const again = async (wrappers?: ExportedWrapper[]) => (await this.open(job.path, { lane: job.lane })).extract(wrappers);
    return {
      sha256,
      size,
      extract: async (wrappers?: ExportedWrapper[]) => {
        if (taken) throw new Error(`${job.path}: extract() called twice or after release()`);
        taken = true;
        if (wrappers !== job.eager!.wrappers && (wrappers?.length || job.eager!.wrappers.length)) return again(wrappers);
        let m: FromWorker;
        try {
          m = await job.report!;
        } catch (e) {
          if (e instanceof Retry) return again(wrappers);
          throw e;
        }
        if (m.type !== 'report') throw new Error(`worker answered ${m.type} to extract`);
        return m.report;
      },
      // The worker drops the bytes itself once it has analysed them; the report is not waited for.
      release: () => {
        taken = true;
      },
    };
  }

  private spawn(lane: number): Slot {
    const slot: Slot = { worker: workerFor(this.module, this.options), lane, specialised: false, ready: false, jobs: [] };
    slot.worker.on('message', (m: FromWorker) => this.onMessage(slot, m));
    slot.worker.on('error', (e) => (slot.died ??= describeDeath(e)));
    slot.worker.on('exit', (code) => this.onExit(slot, code));
    return slot;
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    if (m.type === 'ready') {
      slot.ready = true;
      this.onStarted.resolve(m.version);
      this.dispatch();
      return;
    }
    const job = slot.jobs.find((j) => j.id === m.id);
    if (!job) return;
    if (m.type === 'opened') {
      const opened = job.resolve;
      if (job.eager) {
        // The worker analyses it now: what settles next is the report.
        job.state = 'extracting';
        job.report = new Promise<FromWorker>((resolve, reject) => Object.assign(job, { resolve, reject }));
        job.report.catch(() => undefined); // a released job's report is never awaited
      } else job.state = 'held';
      return opened(m);
    }
    this.finish(job);
    if (m.type === 'failed') job.reject(fromWire(m.error));
    else job.resolve(m);
  }

  private onExit(slot: Slot, code: number): void {
    if (this.closed) return;
    const reason = slot.died ?? `exited with code ${code}`;
    const err = new Error(slot.died ? `extraction worker crashed: ${reason}` : `extraction worker ${reason}`);
    const i = this.slots.indexOf(slot);
    if (slot.ready) {
      this.slots[i] = this.spawn(slot.lane);
    } else {
      // A worker that cannot even start (missing module, bad build) would fail every replacement too.
      this.slots.splice(i, 1);
      if (!this.slots.length) {
        this.broken = new WorkerStartError(`extraction worker failed to start: ${reason}`);
        for (const j of this.queued()) j.reject(this.broken);
        this.onStarted.reject(this.broken);
      }
    }
    // The extractor is synchronous, so the worker answers in order: the first job still waiting for an
    // answer is the one it died on.
    const culprit = slot.jobs.find((j) => j.state === 'opening' || j.state === 'extracting');
    for (const job of slot.jobs.splice(0)) {
      job.lost = job === culprit ? err : new Retry();
      if (job.state !== 'held') job.reject(job.lost);
    }
  }

  private finish(job: Job): void {
    job.state = 'done';
    const jobs = job.slot!.jobs;
    const i = jobs.indexOf(job);
    if (i >= 0) jobs.splice(i, 1);
    this.dispatch();
  }

  /** Every queued job, taken off the queues. */
  private queued(): Job[] {
    return this.queues.flatMap((q) => q.splice(0));
  }

  /**
   * Where `slot` takes its next file from: its own lane, else the longest other lane (once specialised, only
   * a long one, or one no worker has as its own); undefined when there is none.
   */
  private queueFor(slot: Slot): Job[] | undefined {
    const own = this.queues[slot.lane];
    if (own.length) return own;
    let longest: number | undefined;
    this.queues.forEach((q, lane) => {
      if (q.length && (longest === undefined || q.length > this.queues[longest].length)) longest = lane;
    });
    if (longest === undefined) return undefined;
    const q = this.queues[longest];
    const orphan = !this.slots.some((s) => s.lane === longest);
    return !slot.specialised || orphan || q.length >= STEAL_MIN_QUEUED ? q : undefined;
  }

  /** Idle workers first, then read-ahead, so a short queue spreads over every worker. */
  private dispatch(): void {
    for (let depth = 1; depth <= EAGER_DEPTH; depth++) {
      for (const slot of this.slots) {
        if (!slot.ready || slot.jobs.length >= depth) continue;
        const queue = this.queueFor(slot);
        if (!queue) continue;
        if (depth > DEPTH && !queue[0].eager) continue;
        const job = queue.shift()!;
        if (job.lane === slot.lane) slot.specialised = true;
        job.slot = slot;
        job.state = 'opening';
        slot.jobs.push(job);
        const msg: ToWorker = { type: 'open', id: job.id, path: job.path };
        if (job.eager) msg.extract = job.eager.wrappers.length ? { wrappers: job.eager.wrappers } : {};
        slot.worker.postMessage(msg);
      }
    }
  }
}
