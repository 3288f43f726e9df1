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

interface Pending {
  id: number;
  path: string;
  /** Settles the current phase: opening, then extracting. */
  resolve(v: FromWorker): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job?: Pending;
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
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  /** Set when a worker died before it ever started: every later request fails with it. */
  private broken?: Error;

  constructor(opts: WorkerPoolOptions) {
    this.module = opts.module ?? defaultModule();
    for (let i = 0; i < Math.max(1, opts.size); i++) this.slots.push(this.spawn());
  }

  /** Have a worker read and hash `path`; resolves once it holds the bytes. */
  open(path: string): Promise<OpenedFile> {
    return new Promise<FromWorker>((resolve, reject) => {
      if (this.closed) return reject(new Error('worker pool is closed'));
      if (this.broken) return reject(this.broken);
      this.queue.push({ id: this.nextId++, path, resolve, reject });
      this.dispatch();
    }).then((m) => {
      if (m.type !== 'opened') throw new Error(`worker answered ${m.type} to open`);
      const slot = this.slots.find((s) => s.job?.id === (m as { id: number }).id)!;
      return this.opened(slot, slot.job!, m.sha256, m.size);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const gone = new Error('worker pool is closed');
    for (const p of this.queue.splice(0)) p.reject(gone);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private opened(slot: Slot, job: Pending, sha256: string, size: number): OpenedFile {
    slot.holding = true;
    return {
      sha256,
      size,
      extract: () =>
        new Promise<FromWorker>((resolve, reject) => {
          if (slot.job !== job || !slot.holding) return reject(new Error(`${job.path}: no longer held by a worker`));
          slot.holding = false;
          job.resolve = resolve;
          job.reject = reject;
          this.post(slot, { type: 'extract', id: job.id });
        }).then((m) => {
          if (m.type !== 'report') throw new Error(`worker answered ${m.type} to extract`);
          return m.report;
        }),
      release: () => {
        if (slot.job !== job || !slot.holding) return;
        slot.holding = false;
        this.post(slot, { type: 'release', id: job.id });
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
    if (m.type === 'opened') return job.resolve(m);
    slot.holding = false;
    this.finish(slot);
    if (m.type === 'failed') job.reject(fromWire(m.error));
    else job.resolve(m);
  }

  private onExit(slot: Slot, code: number): void {
    if (this.closed) return;
    const err = slot.died ?? new Error(`extraction worker exited with code ${code}`);
    const i = this.slots.indexOf(slot);
    const job = slot.job;
    if (!slot.ready) {
      // A worker that cannot even start (missing module, bad build) would fail every replacement too.
      this.broken = new Error(`extraction worker failed to start: ${err.message}`);
      this.slots.splice(i, 1);
      job?.reject(this.broken);
      if (!this.slots.some((s) => s.ready)) for (const p of this.queue.splice(0)) p.reject(this.broken);
      return;
    }
    this.slots[i] = this.spawn();
    job?.reject(err);
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
      slot.job = job;
      this.post(slot, { type: 'open', id: job.id, path: job.path });
    }
  }

  private post(slot: Slot, m: ToWorker): void {
    slot.worker.postMessage(m);
  }
}
