// Real data lives in ../shared beside the checkout (drivers, reports, Microsoft's pooltag.txt). A fresh
// clone does not have it: tests that need it skip with one line saying why, everything else still runs.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The shared folder beside the checkout (…/main/../shared). */
export const SHARED_DIR = fileURLToPath(new URL('../../../shared/', import.meta.url));

/** Absolute path of a file or folder inside ../shared (it may not exist). */
export function sharedPath(rel: string): string {
  return fileURLToPath(new URL(rel, new URL('../../../shared/', import.meta.url)));
}

/**
 * The `skip` option for a test that reads `rel` from ../shared: false when it is there, else a one-line
 * reason (node's runner prints it). Use as `test('…', { skip: needShared('reports') }, …)`.
 */
export function needShared(rel = ''): false | string {
  return existsSync(sharedPath(rel)) ? false : `needs ../shared/${rel} (real data, not in a fresh clone)`;
}
