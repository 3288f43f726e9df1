// A one-line progress bar on stderr, redrawn at most ten times a second.
import type { IndexProgress } from './pipeline.js';

export function progressBar(stream: NodeJS.WriteStream = process.stderr): { update(p: IndexProgress): void; done(): void } {
  let last = 0;
  let drawn = false;
  const started = performance.now();
  const draw = (p: IndexProgress) => {
    const width = 30;
    const frac = p.total ? p.done / p.total : 1;
    const filled = Math.round(frac * width);
    const secs = (performance.now() - started) / 1000;
    const mb = p.bytesRead / 1e6;
    const rate = secs > 0 ? mb / secs : 0;
    const line = `[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${p.done}/${p.total} files  ${mb.toFixed(1)} MB  ${rate.toFixed(1)} MB/s`;
    stream.write(`\r${line.slice(0, Math.max(20, (stream.columns || 80) - 1))}\x1b[K`);
    drawn = true;
  };
  return {
    update(p) {
      const now = performance.now();
      if (now - last < 100 && p.done < p.total) return;
      last = now;
      draw(p);
    },
    done() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}
