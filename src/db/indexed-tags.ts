// What the tag database already knows about a file `scan` is classifying: when the file is indexed on this
// host with the same size and modification time (the test `index` uses to skip a file) and its content was
// analysed by this extractor version, the index's decoding of that content answers for the scan. Contents
// with code_sites (see the schema) give each immediate's scan hit; older ones still say, from their
// findings, when no immediate of the tag exists (then every occurrence is data). Any doubt (not indexed,
// changed, another extractor version) answers undefined.
import type { ScanSite } from '../extract/types.js';
import type { Db } from './schema.js';

interface FileRow {
  size: number;
  mtime_ms: number;
  sha256: string;
  extractor_version: string;
  code_sites: number | null;
}

interface SiteRow {
  imm_rva: number;
  rva: number;
  value: number;
  api: string | null;
  via: number | null;
  via_export: string | null;
  source: string | null;
  field: string | null;
  held_in: string | null;
  instruction: string | null;
}

export class IndexedTags {
  private readonly file;
  private readonly codeFinding;
  private readonly site;

  constructor(
    db: Db,
    private readonly host: string,
    private readonly extractorVersion: string,
  ) {
    this.file = db.prepare<[string, string], FileRow>(
      `SELECT f.size, f.mtime_ms, f.sha256, c.extractor_version, c.code_sites FROM files f JOIN contents c ON c.sha256 = f.sha256
       WHERE f.host = ? AND f.path = ?`,
    );
    // The extractor files an immediate under its tag without the protected bit, as call or code tier.
    this.codeFinding = db.prepare<[string, number], number>(
      `SELECT 1 FROM findings WHERE sha256 = ? AND tag = ? AND tier IN ('call', 'code') LIMIT 1`,
    ).pluck();
    // The sites between the lowest and highest RVA asked: one query per file, whatever its hits.
    this.site = db.prepare<[string, number, number], SiteRow>(
      `SELECT imm_rva, rva, value, api, via, via_export, source, field, held_in, instruction FROM code_sites
       WHERE sha256 = ? AND imm_rva BETWEEN ? AND ?`,
    );
  }

  private current(path: string, size: number, mtimeMs: number): FileRow | undefined {
    const f = this.file.get(this.host, path);
    if (!f || f.size !== size || f.mtime_ms !== mtimeMs || f.extractor_version !== this.extractorVersion) return undefined;
    return f;
  }

  /**
   * Whether the file's code holds `tag` (protected bit cleared) as an immediate; undefined when the
   * database cannot say for this file as it is now.
   */
  codeHasTag(path: string, size: number, mtimeMs: number, tag: number): boolean | undefined {
    const f = this.current(path, size, mtimeMs);
    return f ? this.codeFinding.get(f.sha256, tag) !== undefined : undefined;
  }

  /**
   * The scan sites of the file's content at `rvas` (an RVA without one holds no immediate); 'no-code-tag'
   * when the content has no sites recorded but its findings show no immediate of `tag`; undefined when the
   * database cannot say for this file as it is now.
   */
  scanSites(path: string, size: number, mtimeMs: number, tag: number, rvas: number[]): Map<number, ScanSite> | 'no-code-tag' | undefined {
    const f = this.current(path, size, mtimeMs);
    if (!f) return undefined;
    if (f.code_sites === null) return this.codeFinding.get(f.sha256, tag) === undefined ? 'no-code-tag' : undefined;
    const out = new Map<number, ScanSite>();
    if (f.code_sites === 0 || rvas.length === 0) return out;
    const wanted = new Set(rvas);
    for (const r of this.site.all(f.sha256, Math.min(...rvas), Math.max(...rvas))) if (wanted.has(r.imm_rva)) out.set(r.imm_rva, siteOf(r));
    return out;
  }
}

function siteOf(r: SiteRow): ScanSite {
  const site: ScanSite = { immAt: r.imm_rva, at: r.rva, v: r.value };
  if (r.api !== null) {
    site.call = { api: r.api };
    if (r.via !== null) site.call.via = r.via;
    if (r.via_export !== null) site.call.viaExport = r.via_export;
    if (r.source !== null) site.call.source = r.source as NonNullable<ScanSite['call']>['source'];
    if (r.field !== null) site.call.field = r.field;
    if (r.held_in !== null) site.call.heldIn = r.held_in;
  }
  if (r.instruction !== null) site.instruction = r.instruction;
  return site;
}
