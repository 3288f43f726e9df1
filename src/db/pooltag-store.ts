// pooltag.txt entries kept in the database, by origin: re-importing a file replaces what it brought before.
import type { Db } from './schema.js';
import { parseTagQuery, tagHex, withoutProtectedBit, type TagQuery } from '../tag.js';
import { PooltagIndex } from '../pooltag/lookup.js';
import type { PooltagEntry, PooltagFile } from '../pooltag/parse.js';

/** Replace the entries of `file.origin` with the file's entries; returns how many were stored. */
export function importPooltag(db: Db, file: PooltagFile): number {
  const del = db.prepare('DELETE FROM pooltag_entries WHERE origin = ?');
  const ins = db.prepare(
    'INSERT INTO pooltag_entries (origin, line, tag, value, binary, description, heading) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  db.transaction(() => {
    del.run(file.origin);
    for (const e of file.entries) {
      ins.run(file.origin, e.line, e.tag, e.query.exact ?? null, e.binary, e.description, e.heading ?? null);
    }
  })();
  return file.entries.length;
}

interface StoredRow {
  origin: string;
  line: number;
  tag: string;
  value: number | null;
  binary: string;
  description: string;
  heading: string | null;
}

function toEntry(r: StoredRow): PooltagEntry {
  // Exact tags go through their value so `0x1f`-looking tag text stays four characters.
  const query = r.value === null ? parseTagQuery(r.tag) : { ...parseTagQuery(tagHex(r.value)), input: r.tag };
  const e: PooltagEntry = {
    tag: r.tag, query, binary: r.binary, description: r.description, line: r.line,
    fields: r.binary === '' || r.description === '' ? 2 : 3,
  };
  if (r.heading !== null) e.heading = r.heading;
  return e;
}

export interface StoredPooltag {
  index: PooltagIndex;
  /** Every origin imported into the database (also those with no entry for this query). */
  origins: string[];
  originOf(e: PooltagEntry): string;
}

/**
 * Imported entries that may answer `q`: for an exact query only that value and the wildcard entries
 * (an indexed read), otherwise all of them.
 */
export function storedPooltagIndex(db: Db, q: TagQuery): StoredPooltag {
  const rows =
    q.exact !== undefined
      ? db
          .prepare<[number], StoredRow>(
            'SELECT * FROM pooltag_entries WHERE value = ? OR value IS NULL ORDER BY origin, line',
          )
          .all(withoutProtectedBit(q.exact))
      : db.prepare<[], StoredRow>('SELECT * FROM pooltag_entries ORDER BY origin, line').all();
  const files = filesOf(rows);
  const origin = new Map<PooltagEntry, string>();
  for (const f of files) for (const e of f.entries) origin.set(e, f.origin);
  const origins = db.prepare<[], { origin: string }>('SELECT DISTINCT origin FROM pooltag_entries').all();
  return {
    index: new PooltagIndex(files),
    origins: origins.map((o) => o.origin),
    originOf: (e) => origin.get(e) ?? '',
  };
}

/** Every imported pooltag.txt, one PooltagFile per origin, entries in line order. */
export function storedPooltagFiles(db: Db): PooltagFile[] {
  return filesOf(db.prepare<[], StoredRow>('SELECT * FROM pooltag_entries ORDER BY origin, line').all());
}

function filesOf(rows: StoredRow[]): PooltagFile[] {
  const byOrigin = new Map<string, PooltagFile>();
  for (const r of rows) {
    let file = byOrigin.get(r.origin);
    if (!file) byOrigin.set(r.origin, (file = { origin: r.origin, entries: [], warnings: [] }));
    file.entries.push(toEntry(r));
  }
  return [...byOrigin.values()];
}

/** Hosts the database knows, for naming the choices when `--host` names none of them. */
export function knownHosts(db: Db): string[] {
  return db.prepare<[], { host: string }>('SELECT DISTINCT host FROM files ORDER BY host').all().map((r) => r.host);
}

/** Whether any pooltag.txt was imported. */
export function hasImportedPooltag(db: Db): boolean {
  return db.prepare('SELECT 1 FROM pooltag_entries LIMIT 1').get() !== undefined;
}
