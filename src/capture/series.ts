// A capture series on disk: snapshots are appended (one JSON line each, fsynced) to a temp file beside
// the target, which is renamed over it when the series ends, so a reader sees the old file or the
// whole new series, never part of one.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export class SeriesWriter {
  private fd: number;
  readonly tmp: string;

  constructor(readonly path: string) {
    this.tmp = join(dirname(path), `.${basename(path)}.${process.pid}.partial`);
    this.fd = openSync(this.tmp, 'w');
  }

  append(line: string): void {
    writeSync(this.fd, Buffer.from(line + '\n'));
    fsyncSync(this.fd);
  }

  commit(): void {
    closeSync(this.fd);
    this.fd = -1;
    renameSync(this.tmp, this.path);
  }

  /** Nothing was captured worth keeping: leave the target as it was. */
  abort(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    rmSync(this.tmp, { force: true });
  }
}
