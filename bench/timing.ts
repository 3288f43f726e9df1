// Runs a command N times as a child of this process and keeps wall times (and, when GNU time is there, the
// child's peak RSS). Everything is spawnSync: one child at a time, nothing else of ours running meanwhile.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Stats {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function stats(xs: number[]): Stats {
  if (xs.length === 0) throw new Error('no samples');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], n: s.length };
}

export interface Run {
  ms: number;
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Peak resident set of the child (largest of it and its descendants), in KB; undefined without GNU time. */
  peakRssKb?: number;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Wrap the child in `/usr/bin/time -f %M` to read its peak RSS. */
  measureRss?: boolean;
  /** Kill the child after this long (ms). */
  timeoutMs?: number;
}

const GNU_TIME = '/usr/bin/time';
let gnuTimeWorks: boolean | undefined;

/** GNU time's `-f %M` is the child's ru_maxrss from wait4, in KB. */
export function peakRssAvailable(): boolean {
  if (gnuTimeWorks === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'whose-tag-bench-'));
    try {
      const out = join(dir, 'rss');
      const r = spawnSync(GNU_TIME, ['-f', '%M', '-o', out, 'true']);
      gnuTimeWorks = r.status === 0 && /^\d+\s*$/.test(readFileSync(out, 'utf8'));
    } catch {
      gnuTimeWorks = false;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return gnuTimeWorks;
}

export function runOnce(cmd: string, args: string[], opts: RunOptions = {}): Run {
  const wrap = Boolean(opts.measureRss) && peakRssAvailable();
  const dir = wrap ? mkdtempSync(join(tmpdir(), 'whose-tag-bench-')) : undefined;
  try {
    const rssFile = dir ? join(dir, 'rss') : '';
    const [file, argv] = wrap ? [GNU_TIME, ['-f', '%M', '-o', rssFile, cmd, ...args]] : [cmd, args];
    const start = process.hrtime.bigint();
    const r = spawnSync(file, argv, {
      cwd: opts.cwd,
      env: opts.env,
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
      timeout: opts.timeoutMs,
    });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
    const run: Run = { ms, status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
    if (wrap) {
      // GNU time writes "Command exited with non-zero status N" before the number when the child fails.
      const last = readFileSync(rssFile, 'utf8').trim().split('\n').pop() ?? '';
      if (/^\d+$/.test(last)) run.peakRssKb = Number(last);
    }
    return run;
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

export interface SeriesOptions extends RunOptions {
  runs: number;
  /** Untimed runs first (page cache, disk cache of node's own files). */
  warmup?: number;
  /** Called before every run, warm-up included, outside the timed span (e.g. delete the database). */
  before?: () => void;
  /**
   * A command timed right before each timed run (`node -e 0`): the differences, pair by pair, are what
   * the command costs beyond it, and a machine whose speed drifts during the series moves both alike.
   */
  baseline?: [cmd: string, args: string[]];
}

export interface Series {
  runs: Run[];
  time: Stats;
  rss?: Stats;
  /** Each run's time minus its baseline run's, when a baseline was given. */
  overBaseline?: Stats;
}

export function timeSeries(cmd: string, args: string[], opts: SeriesOptions): Series {
  for (let i = 0; i < (opts.warmup ?? 0); i++) {
    opts.before?.();
    runOnce(cmd, args, { ...opts, measureRss: false });
  }
  const runs: Run[] = [];
  const over: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    // `before` also precedes the baseline run, so both start from the same state (a dropped page cache, say).
    if (opts.baseline) opts.before?.();
    const base = opts.baseline && runOnce(...opts.baseline, { env: opts.env });
    opts.before?.();
    const run = runOnce(cmd, args, opts);
    runs.push(run);
    if (base) over.push(run.ms - base.ms);
  }
  const rss = runs.flatMap((r) => (r.peakRssKb === undefined ? [] : [r.peakRssKb]));
  return {
    runs,
    time: stats(runs.map((r) => r.ms)),
    rss: rss.length ? stats(rss) : undefined,
    overBaseline: over.length ? stats(over) : undefined,
  };
}
