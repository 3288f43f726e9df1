// The capture loop, with the live query, the clock and the output passed in so it runs in tests.
import { serializeSnapshot, type SnapshotInput } from '../reports/snapshot.js';
import { SeriesWriter } from './series.js';

export interface CapturePlan {
  /** Snapshots to take (>= 1). */
  count: number;
  /** Seconds between snapshots. */
  interval: number;
  out?: string;
  /** Print a ranking of this many rows after each snapshot instead of the JSON lines. */
  top?: number;
}

export interface CaptureIo {
  take(): Promise<SnapshotInput>;
  /** Resolves after `ms`, or early when the user interrupts. */
  sleep(ms: number): Promise<void>;
  stdout(text: string): void;
  /** The live ranking for --top. */
  ranking?(snapshot: SnapshotInput, index: number): string;
  /** True once the user asked to stop (Ctrl-C): the series ends after the current snapshot. */
  stopped(): boolean;
}

/** Returns the number of snapshots taken. With `out`, the file appears only when at least one was. */
export async function runCapture(plan: CapturePlan, io: CaptureIo): Promise<number> {
  const writer = plan.out ? new SeriesWriter(plan.out) : undefined;
  let taken = 0;
  try {
    while (taken < plan.count && !io.stopped()) {
      const snap = await io.take();
      taken++;
      const line = serializeSnapshot(snap);
      if (writer) writer.append(line);
      if (plan.top !== undefined && io.ranking) io.stdout(io.ranking(snap, taken));
      else if (!writer) io.stdout(line + '\n');
      if (taken < plan.count && !io.stopped()) await io.sleep(plan.interval * 1000);
    }
  } finally {
    // Snapshots already taken are complete and worth keeping even when a later query failed.
    if (writer && taken > 0) writer.commit();
    else writer?.abort();
  }
  return taken;
}
