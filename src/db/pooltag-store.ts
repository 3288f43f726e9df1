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
  const byOrigin = new Map<string, PooltagFile>();
  const origin = new Map<PooltagEntry, string>();
  for (const r of rows) {
    let file = byOrigin.get(r.origin);
    if (!file) byOrigin.set(r.origin, (file = { origin: r.origin, entries: [], warnings: [] }));
    const e = toEntry(r);
    file.entries.push(e);
    origin.set(e, r.origin);
  }
  const origins = db.prepare<[], { origin: string }>('SELECT DISTINCT origin FROM pooltag_entries').all();
  return {
    index: new PooltagIndex([...byOrigin.values()]),
    origins: origins.map((o) => o.origin),
    originOf: (e) => origin.get(e) ?? '',
  };
}
