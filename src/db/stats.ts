// What a database holds, for `whose-tag db stats`.
import { statSync } from 'node:fs';
import type { Db } from './schema.js';
import { schemaVersion } from './schema.js';

export interface DbStats {
  path: string;
  schemaVersion: number;
  /** Database file plus its WAL, in bytes. */
  bytes: number;
  hosts: number;
  files: number;
  contents: number;
  findings: number;
  distinctTags: number;
  findingsByTier: Record<string, number>;
  findingsByKind: Record<string, number>;
  evidence: number;
  failures: number;
  pooltagEntries: { origin: string; entries: number }[];
}

/**
 * Distinct hosts in files by walking the (host, path) key from one host to the next: one index probe per
 * host, where COUNT(DISTINCT host) reads every files row (millions in a fleet database).
 */
export function hostCount(db: Db): number {
  const next = db.prepare<[string], string>('SELECT host FROM files WHERE host > ? ORDER BY host LIMIT 1').pluck();
  const first = db.prepare<[], string>('SELECT host FROM files ORDER BY host LIMIT 1').pluck().get();
  let n = 0;
  for (let h = first; h !== undefined; h = next.get(h)) n++;
  return n;
}

/** Hosts, files, contents and findings: the size of a database as `db stats` and `db merge` report it. */
export function rowCounts(db: Db): { hosts: number; files: number; contents: number; findings: number } {
  const count = (sql: string) => db.prepare(sql).pluck().get() as number;
  return {
    hosts: hostCount(db),
    // content_hosts keeps each content's file count (exact, by triggers): no pass over the files rows.
    files: count('SELECT coalesce(SUM(files), 0) FROM content_hosts'),
    contents: count('SELECT COUNT(*) FROM contents'),
    findings: count('SELECT COUNT(*) FROM findings'),
  };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

export function dbStats(db: Db, path: string): DbStats {
  const count = (sql: string) => db.prepare(sql).pluck().get() as number;
  const grouped = (sql: string) =>
    Object.fromEntries(db.prepare<[], { k: string; n: number }>(sql).all().map((r) => [r.k, r.n]));
  return {
    path,
    schemaVersion: schemaVersion(db),
    bytes: fileSize(path) + fileSize(`${path}-wal`),
    ...rowCounts(db),
    distinctTags: count('SELECT COUNT(DISTINCT tag) FROM findings'),
    findingsByTier: grouped('SELECT tier AS k, COUNT(*) AS n FROM findings GROUP BY tier ORDER BY tier'),
    findingsByKind: grouped('SELECT kind AS k, COUNT(*) AS n FROM findings GROUP BY kind ORDER BY kind'),
    evidence: count('SELECT COUNT(*) FROM evidence'),
    failures: count('SELECT COUNT(*) FROM failures'),
    pooltagEntries: db
      .prepare<[], { origin: string; entries: number }>(
        'SELECT origin, COUNT(*) AS entries FROM pooltag_entries GROUP BY origin ORDER BY origin',
      )
      .all(),
  };
}
