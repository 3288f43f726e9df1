// The owner source the report commands use: the tag database (read-only) and the user's pooltag.txt,
// each when present. Both are loaded lazily so `top` on a bare report needs neither SQLite nor a file.
import { existsSync } from 'node:fs';
import { combineOwners, type OwnerSource } from '../owners.js';
import { UserError } from '../errors.js';
import { defaultDbPath } from '../db/location.js';

export interface OwnerSourceOptions {
  /** `--db`: must exist when given. Otherwise the default database is used if it exists. */
  db?: string;
  /** `--pooltag`: must be readable when given. Otherwise WHOSE_TAG_POOLTAG / the Debugging Tools. */
  pooltag?: string;
}

export interface LoadedOwners {
  source: OwnerSource;
  /** What was (not) loaded, for stderr. */
  notes: string[];
  close(): void;
}

export async function loadOwnerSource(opts: OwnerSourceOptions): Promise<LoadedOwners> {
  const sources: OwnerSource[] = [];
  const notes: string[] = [];
  const dbPath = opts.db ?? defaultDbPath();
  if (opts.db && !existsSync(dbPath)) throw new UserError(`${dbPath}: no such database (whose-tag index DIR --db ${dbPath} builds it)`);
  let close = () => {};
  if (existsSync(dbPath)) {
    const [{ openDb }, { dbOwners }] = await Promise.all([import('../db/schema.js'), import('../db/lookup.js')]);
    const db = openDb(dbPath, { readonly: true });
    close = () => db.close();
    sources.push(dbOwners(db));
  } else {
    notes.push(`no database at ${dbPath}: owners come from pooltag.txt and the report only (whose-tag index DIR builds one)`);
  }
  const { locatePooltag } = await import('../pooltag/locate.js');
  const pooltagPath = locatePooltag({ explicit: opts.pooltag });
  if (pooltagPath) {
    const [{ readPooltagFile }, { PooltagIndex, pooltagOwners }] = await Promise.all([import('../pooltag/parse.js'), import('../pooltag/lookup.js')]);
    try {
      sources.push(pooltagOwners(new PooltagIndex(await readPooltagFile(pooltagPath))));
    } catch (e) {
      close();
      throw new UserError((e as Error).message);
    }
  } else {
    notes.push('no pooltag.txt found (--pooltag FILE or WHOSE_TAG_POOLTAG)');
  }
  return { source: combineOwners(sources), notes, close };
}
