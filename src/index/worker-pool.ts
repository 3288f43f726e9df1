// A few worker threads running the extractor, so indexing uses every core while the main thread keeps the
// single SQLite writer. Workers read and hash files themselves (the main thread never holds file bytes); a
// worker that dies takes only its current file with it and is replaced.
import { Worker } from 'node:worker_threads';
import type { DriverReport } from '../extract/types.js';
import { type FromWorker, type ToWorker, fromWire } from './worker-protocol.js';

/** A file read and hashed by a worker, which keeps its bytes until `extract` or `release`. */
export interface OpenedFile {
  sha256: string;
  size: number;
  extract(): Promise<DriverReport>;
  /** The content needs no analysis: free the worker. Safe to call more than once, and after `extract`. */
  release(): void;
}

export interface WorkerPoolOptions {
  size: number;
  /** Worker entry; default extract-worker (.ts under tsx, .js in dist). Tests pass one that misbehaves. */
  module?: URL;
}

interface Job {
  id: number;
  path: string;
  slot?: Slot;
  /** Settles the current phase: opening, then extracting. */
  resolve(m: FromWorker): void;
  reject(e: Error): void;
  /** Why the worker holding this file went away, for a later extract(). */
  lost?: Error;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job?: Job;
  /** Set between `opened` and extract/release: the worker holds this file's bytes. */
  holding: boolean;
  died?: Error;
}

/** Under tsx the `.ts` entry needs tsx in the worker too; tsx's own --import hook skips worker threads. */
function workerFor(module: URL): Worker {
  if (!module.pathname.endsWith('.ts')) return new Worker(module);
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(module.href)}); })`;
  return new Worker(boot, { eval: true });
}

function defaultModule(): URL {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./extract-worker${ext}`, import.meta.url);
}

function describeDeath(value: unknown): string {
  return value instanceof Error ? value.message || value.name : String(value);
}

export class ExtractWorkerPool {
  private readonly module: URL;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  /** Set when no worker could be started: every request fails with it. */
  private broken?: Error;

  constructor(opts: WorkerPoolOptions) {
    this.module = opts.module ?? defaultModule();
    for (let i = 0; i < Math.max(1, opts.size); i++) this.slots.push(this.spawn());
  }

  /** Have a worker read and hash `path`; resolves once it holds the bytes. */
  async open(path: string): Promise<OpenedFile> {
    const job: Job = { id: this.nextId++, path, resolve: () => {}, reject: () => {} };
    const m = await new Promise<FromWorker>((resolve, reject) => {
      if (this.closed) return reject(new Error('worker pool is closed'));
      if (this.broken) return reject(this.broken);
      Object.assign(job, { resolve, reject });
      this.queue.push(job);
      this.dispatch();
    });
    if (m.type !== 'opened') throw new Error(`worker answered ${m.type} to open`);
    return this.opened(job, m.sha256, m.size);
  }

  async close(): Promise<void> {
    this.closed = true;
    const gone = new Error('worker pool is closed');
    for (const j of this.queue.splice(0)) j.reject(gone);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private opened(job: Job, sha256: string, size: number): OpenedFile {
    const held = () => job.slot?.job === job && job.slot.holding;
    return {
      sha256,
      size,
      extract: async () => {
        const m = await new Promise<FromWorker>((resolve, reject) => {
          if (!held()) return reject(job.lost ?? new Error(`${job.path}: no longer held by a worker`));
          job.slot!.holding = false;
          Object.assign(job, { resolve, reject });
          job.slot!.worker.postMessage({ type: 'extract', id: job.id } satisfies ToWorker);
        });
        if (m.type !== 'report') throw new Error(`worker answered ${m.type} to extract`);
        return m.report;
      },
      release: () => {
        if (!held()) return;
        const slot = job.slot!;
        slot.holding = false;
        slot.worker.postMessage({ type: 'release', id: job.id } satisfies ToWorker);
        this.finish(slot);
      },
    };
  }

  private spawn(): Slot {
    const slot: Slot = { worker: workerFor(this.module), ready: false, holding: false };
    slot.worker.on('message', (m: FromWorker) => this.onMessage(slot, m));
    slot.worker.on('error', (e) => (slot.died ??= new Error(`extraction worker crashed: ${describeDeath(e)}`)));
    slot.worker.on('exit', (code) => this.onExit(slot, code));
    return slot;
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    if (m.type === 'ready') {
      slot.ready = true;
      this.dispatch();
      return;
    }
    const job = slot.job;
    if (!job || job.id !== m.id) return;
    if (m.type === 'opened') {
      slot.holding = true;
      return job.resolve(m);
    }
    slot.holding = false;
    this.finish(slot);
    if (m.type === 'failed') job.reject(fromWire(m.error));
    else job.resolve(m);
  }

  private onExit(slot: Slot, code: number): void {
    if (this.closed) return;
    const err = slot.died ?? new Error(`extraction worker exited with code ${code}`);
    const job = slot.job;
    slot.job = undefined;
    slot.holding = false;
    const i = this.slots.indexOf(slot);
    if (slot.ready) {
      this.slots[i] = this.spawn();
    } else {
      // A worker that cannot even start (missing module, bad build) would fail every replacement too.
      this.slots.splice(i, 1);
      if (!this.slots.length) {
        this.broken = new Error(`extraction worker failed to start: ${err.message}`);
        for (const j of this.queue.splice(0)) j.reject(this.broken);
      }
    }
    if (job) {
      job.lost = err;
      job.reject(err);
    }
  }

  private finish(slot: Slot): void {
    slot.job = undefined;
    this.dispatch();
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (!this.queue.length) return;
      if (!slot.ready || slot.job) continue;
      const job = this.queue.shift()!;
      job.slot = slot;
      slot.job = job;
      slot.worker.postMessage({ type: 'open', id: job.id, path: job.path } satisfies ToWorker);
    }
  }
}
