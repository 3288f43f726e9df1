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
   * Commands timed right before each timed run, by name (`node -e 0`, grep). A machine whose speed drifts
   * during the series moves each run and its baselines alike, so comparisons are taken pair by pair.
   */
  baselines?: Record<string, [cmd: string, args: string[]]>;
}

export interface Series {
  runs: Run[];
  time: Stats;
  rss?: Stats;
  /** For each baseline, its time in the pair of each run (same order as `runs`). */
  baselineMs?: Record<string, number[]>;
}

/** The median over runs of f(run's ms, its `name` baseline's ms): a difference or a ratio taken pair by pair. */
export function paired(s: Series, name: string, f: (ms: number, baseMs: number) => number): number | undefined {
  const base = s.baselineMs?.[name];
  return base ? stats(s.runs.map((r, i) => f(r.ms, base[i]))).median : undefined;
}

export function timeSeries(cmd: string, args: string[], opts: SeriesOptions): Series {
  for (let i = 0; i < (opts.warmup ?? 0); i++) {
    opts.before?.();
    runOnce(cmd, args, { ...opts, measureRss: false });
  }
  const runs: Run[] = [];
  const baselines = Object.entries(opts.baselines ?? {});
  const baselineMs: Record<string, number[]> = Object.fromEntries(baselines.map(([name]) => [name, []]));
  for (let i = 0; i < opts.runs; i++) {
    for (const [name, [bcmd, bargs]] of baselines) {
      // `before` precedes each baseline run too, so all start from the same state (a dropped page cache, say).
      opts.before?.();
      baselineMs[name].push(runOnce(bcmd, bargs, { cwd: opts.cwd, env: opts.env }).ms);
    }
    opts.before?.();
    runs.push(runOnce(cmd, args, opts));
  }
  const rss = runs.flatMap((r) => (r.peakRssKb === undefined ? [] : [r.peakRssKb]));
  return {
    runs,
    time: stats(runs.map((r) => r.ms)),
    rss: rss.length ? stats(rss) : undefined,
    baselineMs: baselines.length ? baselineMs : undefined,
  };
}
