import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** The temp file beside `path` that is filled and then renamed over it (same folder, so the rename is atomic). */
export function siblingTempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
}

/**
 * Write a file so a reader never sees half of it: write a sibling temp file, fsync, rename.
 * A crash leaves either the old file or the new one.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  writeAtomically(path, (write) => write(data));
}

/** writeFileAtomic for output made in pieces: `fill` appends each piece through `write`, in order. */
export function writeAtomically<T>(path: string, fill: (write: (chunk: string | Uint8Array) => void) => T): T {
  const tmp = siblingTempPath(path);
  let fd = -1;
  try {
    fd = openSync(tmp, 'w');
    const result = fill((chunk) => writeSync(fd, typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
    return result;
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
}
