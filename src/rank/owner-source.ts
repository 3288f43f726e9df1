// The owner source the report commands use: the tag database (read-only), the user's pooltag.txt and the
// pooltag.txt entries imported into the database, each when present. Both are loaded lazily so `top` on a
// bare report needs neither SQLite nor a file.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { combineOwners, type OwnerSource } from '../owners.js';
import { UserError } from '../errors.js';
import { defaultDbPath } from '../db/location.js';
import type { PooltagFile } from '../pooltag/parse.js';
import { POOLTAG_NOTE } from '../pooltag/locate.js';

export interface OwnerSourceOptions {
  /** `--db`: must exist when given. Otherwise the default database is used if it exists. */
  db?: string;
  /** `--pooltag`: must be readable when given. Otherwise WHOSE_TAG_POOLTAG / the Debugging Tools. */
  pooltag?: string;
  /** `--host`: only drivers the database records on this host are owners. */
  host?: string;
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
  let imported: PooltagFile[] = [];
  if (existsSync(dbPath)) {
    const [{ openDb }, { dbOwners }, { storedPooltagFiles, knownHosts }] = await Promise.all([
      import('../db/schema.js'),
      import('../db/lookup.js'),
      import('../db/pooltag-store.js'),
    ]);
    const db = openDb(dbPath, { readonly: true });
    close = () => db.close();
    try {
      if (opts.host !== undefined) {
        const hosts = knownHosts(db);
        if (!hosts.some((h) => h.toLowerCase() === opts.host!.toLowerCase())) {
          throw new UserError(`--host ${opts.host}: ${dbPath} records no such host (it has: ${hosts.join(', ') || 'none'})`);
        }
      }
      imported = storedPooltagFiles(db);
    } catch (e) {
      close();
      throw e;
    }
    sources.push(dbOwners(db, { host: opts.host }));
  } else if (opts.host !== undefined) {
    throw new UserError(`--host ${opts.host}: needs a tag database that records hosts (no database at ${dbPath}; whose-tag index DIR --host NAME builds one)`);
  } else {
    notes.push(`no database at ${dbPath}: owners come from pooltag.txt and the report only (whose-tag index DIR builds one)`);
  }
  const { locatePooltag } = await import('../pooltag/locate.js');
  const pooltagPath = locatePooltag({ explicit: opts.pooltag });
  const files: PooltagFile[] = [];
  if (pooltagPath) {
    const { readPooltagFile } = await import('../pooltag/parse.js');
    try {
      files.push(await readPooltagFile(pooltagPath));
    } catch (e) {
      close();
      throw new UserError((e as Error).message);
    }
  }
  // The file given and the same file imported earlier are one source, not two votes.
  const given = pooltagPath ? resolve(pooltagPath) : undefined;
  files.push(...imported.filter((f) => f.origin !== given));
  if (files.length) {
    const { PooltagIndex, pooltagOwners } = await import('../pooltag/lookup.js');
    sources.push(pooltagOwners(new PooltagIndex(files)));
  } else {
    notes.push(POOLTAG_NOTE);
  }
  return { source: combineOwners(sources), notes, close };
}
