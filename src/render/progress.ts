// A one-line progress bar on stderr, redrawn at most ten times a second, for work long enough to watch
// (index, scan). The caller decides whether anyone is watching (progressEnabled, below).

export interface Progress {
  done: number;
  total: number;
  /** Bytes read so far, when the work knows them: shown with the rate. */
  bytesRead?: number;
  /** Files that matched so far (scan). */
  matched?: number;
}

export interface ProgressBar {
  update(p: Progress): void;
  /** Erase the bar so that a result line can be printed on the same terminal; the next update redraws it. */
  clear(): void;
  done(): void;
}

export function progressBar(stream: NodeJS.WriteStream = process.stderr, now: () => number = () => performance.now()): ProgressBar {
  let last = -Infinity;
  let drawn = false;
  const started = now();
  const draw = (p: Progress) => {
    const width = 30;
    const frac = p.total ? p.done / p.total : 1;
    const filled = Math.round(frac * width);
    let line = `[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${p.done}/${p.total} files`;
    if (p.bytesRead !== undefined) {
      const secs = (now() - started) / 1000;
      const mb = p.bytesRead / 1e6;
      line += `  ${mb.toFixed(1)} MB  ${(secs > 0 ? mb / secs : 0).toFixed(1)} MB/s`;
    }
    if (p.matched !== undefined) line += `  ${p.matched} matching`;
    stream.write(`\r${line.slice(0, Math.max(20, (stream.columns || 80) - 1))}\x1b[K`);
    drawn = true;
  };
  const clear = () => {
    if (drawn) stream.write('\r\x1b[K');
    drawn = false;
  };
  return {
    update(p) {
      const t = now();
      if (t - last < 100 && p.done < p.total) return;
      last = t;
      draw(p);
    },
    clear,
    done: clear,
  };
}

/** Progress goes to stderr and only when a person is watching. */
export function progressEnabled(): boolean {
  return Boolean(process.stderr.isTTY) && !process.env.CI;
}
