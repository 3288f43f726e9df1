// Fleet databases: the union of per-host databases. Contents are keyed by hash, so a driver on 10,000 hosts
// is one contents row with 10,000 files rows. The output is built in a temp file and renamed into place.
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '../errors.js';
import { siblingTempPath } from '../util/atomic-write.js';
import { openDb } from './schema.js';
import { rowCounts } from './stats.js';

export interface MergeSummary {
  inputs: number;
  hosts: number;
  files: number;
  contents: number;
  findings: number;
}

const CONTENT_COLUMNS = `sha256, size, machine, company_name, file_version, file_description, original_filename,
  product_name, product_version, tag_apis, analysed_at, extractor_version, warnings, wrapper_state`;
const FINDING_COLUMNS = 'sha256, tag, kind, tier, protected, sites, apis';
const EVIDENCE_COLUMNS = 'sha256, tag, kind, seq, tier, section, rva, api, via, instruction, protected, via_export, source, field';
const WRAPPER_COLUMNS = 'sha256, module, name, ordinal, param, api, kind';
const IMPORT_COLUMNS = 'sha256, module, name, ordinal';
const FILE_COLUMNS = 'host, path, size, mtime_ms, sha256, indexed_at';
const FAILURE_COLUMNS = 'host, path, size, mtime_ms, message, extractor_version, failed_at';
const POOLTAG_COLUMNS = 'origin, line, tag, value, binary, description, heading';

/**
 * Merge `inputs` into a new database at `out` (replacing it). Later inputs win for the same (host, path)
 * and the same pooltag origin; a content hash keeps the first analysis met.
 */
export function mergeDatabases(inputs: string[], out: string): MergeSummary {
  if (inputs.length === 0) throw new UserError('db merge: give at least one database to merge');
  for (const input of inputs) {
    if (!existsSync(input) || !statSync(input).isFile()) throw new UserError(`${input}: no such database file`);
    // Checks the schema (a newer one is refused) and upgrades an older one before it is attached.
    openDb(input, { readonly: true }).close();
  }
  const target = resolve(out);
  const tmp = siblingTempPath(target);
  const db = openDb(tmp);
  try {
    // One file to rename: no WAL beside the temp database.
    db.pragma('journal_mode = DELETE');
    for (const input of inputs) {
      db.prepare('ATTACH DATABASE ? AS src').run(resolve(input));
      try {
        db.transaction(() => {
          db.exec(`
            CREATE TEMP TABLE fresh AS
              SELECT sha256 FROM src.contents WHERE sha256 NOT IN (SELECT sha256 FROM main.contents);
            INSERT INTO main.contents (${CONTENT_COLUMNS})
              SELECT ${CONTENT_COLUMNS} FROM src.contents WHERE sha256 IN (SELECT sha256 FROM temp.fresh);
            INSERT INTO main.findings (${FINDING_COLUMNS})
              SELECT ${FINDING_COLUMNS} FROM src.findings WHERE sha256 IN (SELECT sha256 FROM temp.fresh);
            INSERT INTO main.evidence (${EVIDENCE_COLUMNS})
              SELECT ${EVIDENCE_COLUMNS} FROM src.evidence WHERE sha256 IN (SELECT sha256 FROM temp.fresh);
            INSERT INTO main.exported_wrappers (${WRAPPER_COLUMNS})
              SELECT ${WRAPPER_COLUMNS} FROM src.exported_wrappers WHERE sha256 IN (SELECT sha256 FROM temp.fresh);
            INSERT INTO main.content_imports (${IMPORT_COLUMNS})
              SELECT ${IMPORT_COLUMNS} FROM src.content_imports WHERE sha256 IN (SELECT sha256 FROM temp.fresh);
            DROP TABLE temp.fresh;
            INSERT OR REPLACE INTO main.files (${FILE_COLUMNS}) SELECT ${FILE_COLUMNS} FROM src.files;
            DELETE FROM main.failures WHERE (host, path) IN (SELECT host, path FROM src.files);
            INSERT OR REPLACE INTO main.failures (${FAILURE_COLUMNS}) SELECT ${FAILURE_COLUMNS} FROM src.failures;
            DELETE FROM main.files WHERE (host, path) IN (SELECT host, path FROM src.failures);
            DELETE FROM main.pooltag_entries WHERE origin IN (SELECT DISTINCT origin FROM src.pooltag_entries);
            INSERT INTO main.pooltag_entries (${POOLTAG_COLUMNS}) SELECT ${POOLTAG_COLUMNS} FROM src.pooltag_entries;
          `);
        })();
      } finally {
        db.exec('DETACH DATABASE src');
      }
    }
    // A (host, path) replaced by a later input may leave its old content unreferenced.
    db.exec('DELETE FROM contents WHERE sha256 NOT IN (SELECT sha256 FROM files)');
    const summary: MergeSummary = { inputs: inputs.length, ...rowCounts(db) };
    db.close();
    // A stale WAL beside the old output would be replayed into the new file.
    rmSync(`${target}-wal`, { force: true });
    rmSync(`${target}-shm`, { force: true });
    renameSync(tmp, target);
    return summary;
  } catch (e) {
    if (db.open) db.close();
    rmSync(tmp, { force: true });
    throw e;
  }
}
