import { closeSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../errors.js';

/**
 * An output path a file can be written to: not a folder, and in a folder that exists. Said before any
 * work, and in the user's words (a failed rename would name the temporary file).
 */
export function checkOutputPath(path: string): void {
  const at = statSync(path, { throwIfNoEntry: false });
  if (at?.isDirectory()) throw new UserError(`${path}: is a folder; give a file path to write`);
  const folder = dirname(path);
  const parent = statSync(folder, { throwIfNoEntry: false });
  if (!parent) throw new UserError(`${path}: the folder ${folder} does not exist`);
  if (!parent.isDirectory()) throw new UserError(`${path}: ${folder} is not a folder`);
}

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
  checkOutputPath(path);
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
