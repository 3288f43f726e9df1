// What a --db path holds, read from the file itself before SQLite opens it: SQLite's own messages for a
// folder ("disk I/O error"), an empty file or a text file ("file is not a database") do not say which.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { UserError } from '../errors.js';

/** SQLite's 100-byte header: the magic string, then (byte 18) 1 for a rollback journal, 2 for WAL. */
const MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const HEADER_BYTES = 100;
const WRITE_VERSION_OFFSET = 18;

export type DbFileState =
  /** No file yet: a writing command creates it. */
  | 'missing'
  /** A 0-byte file (a fresh `touch`, or SQLite's own before the first write): a writer fills it. */
  | 'empty'
  /** At rest in rollback-journal mode: readers open it with no side files. */
  | 'rollback'
  /** In WAL mode: a reader needs -wal/-shm files beside it, which a read-only folder cannot hold. */
  | 'wal';

const printable = (b: Buffer) => JSON.stringify(b.toString('latin1').replace(/[^\x20-\x7e]/g, '.'));

/** Reads what `path` is; a folder, a short file or a file that is no SQLite database is a UserError. */
export function dbFileState(path: string): DbFileState {
  let stat;
  try {
    stat = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'missing';
    throw new UserError(`${path}: cannot read the database (${code ?? (e as Error).message})`);
  }
  if (stat.isDirectory()) throw new UserError(`${path}: is a folder, not a database file (--db takes a file, e.g. ${path.replace(/[\\/]+$/, '')}/tags.db)`);
  if (!stat.isFile()) throw new UserError(`${path}: not a regular file, so not a whose-tag database`);
  if (stat.size === 0) return 'empty';
  const header = Buffer.alloc(HEADER_BYTES);
  let n = 0;
  let fd = -1;
  try {
    fd = openSync(path, 'r');
    n = readSync(fd, header, 0, HEADER_BYTES, 0);
  } catch (e) {
    throw new UserError(`${path}: cannot read the database (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
  if (n < MAGIC.length || !header.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new UserError(`${path}: not a whose-tag database: not an SQLite file (it starts with ${printable(header.subarray(0, Math.min(n, 16)))})`);
  }
  if (n < HEADER_BYTES) throw new UserError(`${path}: not a whose-tag database: too short (${n} bytes) for an SQLite file, damaged or cut off`);
  return header[WRITE_VERSION_OFFSET] === 2 ? 'wal' : 'rollback';
}

/** SQLite and file-system error codes that mean "no write access here". */
export function isWriteDenied(e: unknown): boolean {
  const code = String((e as { code?: unknown } | undefined)?.code ?? '');
  return code.startsWith('SQLITE_READONLY') || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_PERM' || code === 'SQLITE_AUTH' || code === 'EACCES' || code === 'EPERM' || code === 'EROFS';
}
