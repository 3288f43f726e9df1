// Writes of the index pipeline. Every method is one transaction, so a process killed between two calls
// leaves a database where each file row points at a complete analysis.
import type { Db } from './schema.js';
import type { DriverReport } from '../extract/types.js';
import { kmdfDefaultTag, serviceNameOf } from '../extract/frameworks/kmdf.js';

export interface FileStat {
  host: string;
  path: string;
  size: number;
  mtimeMs: number;
}

export interface KnownFile {
  size: number;
  mtimeMs: number;
  sha256: string;
  /** Version of the extractor that analysed the file's content. */
  extractorVersion: string;
}

export interface KnownFailure {
  size: number;
  mtimeMs: number;
  message: string;
  extractorVersion: string;
}

export class IndexStore {
  private readonly stmt;

  constructor(private readonly db: Db) {
    this.stmt = {
      contentVersion: db.prepare<[string], { extractor_version: string }>(
        'SELECT extractor_version FROM contents WHERE sha256 = ?',
      ),
      upsertContent: db.prepare(`
        INSERT INTO contents (sha256, size, machine, company_name, file_version, file_description, original_filename,
          product_name, product_version, tag_apis, analysed_at, extractor_version, warnings)
        VALUES (@sha256, @size, @machine, @company_name, @file_version, @file_description, @original_filename,
          @product_name, @product_version, @tag_apis, @analysed_at, @extractor_version, @warnings)
        ON CONFLICT(sha256) DO UPDATE SET size = excluded.size, machine = excluded.machine,
          company_name = excluded.company_name, file_version = excluded.file_version,
          file_description = excluded.file_description, original_filename = excluded.original_filename,
          product_name = excluded.product_name, product_version = excluded.product_version,
          tag_apis = excluded.tag_apis, analysed_at = excluded.analysed_at,
          extractor_version = excluded.extractor_version, warnings = excluded.warnings`),
      deleteFindings: db.prepare('DELETE FROM findings WHERE sha256 = ?'),
      insertFinding: db.prepare(
        'INSERT INTO findings (sha256, tag, kind, tier, protected, sites, apis) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      insertEvidence: db.prepare(`
        INSERT INTO evidence (sha256, tag, kind, seq, tier, section, rva, api, via, instruction, protected, source, field)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      upsertFile: db.prepare(`
        INSERT INTO files (host, path, size, mtime_ms, sha256, indexed_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT(host, path) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms,
          sha256 = excluded.sha256, indexed_at = excluded.indexed_at`),
      deleteFile: db.prepare('DELETE FROM files WHERE host = ? AND path = ?'),
      deleteFailure: db.prepare('DELETE FROM failures WHERE host = ? AND path = ?'),
      upsertFailure: db.prepare(`
        INSERT OR REPLACE INTO failures (host, path, size, mtime_ms, message, extractor_version, failed_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)`),
      deleteOrphans: db.prepare('DELETE FROM contents WHERE sha256 NOT IN (SELECT sha256 FROM files)'),
      kmdfDefault: db.prepare<[string], { tier: string; section: string; rva: number; instruction: string | null }>(
        `SELECT tier, section, rva, instruction FROM evidence WHERE sha256 = ? AND source = 'kmdf-default' LIMIT 1`,
      ),
      hasEvidenceFor: db.prepare<[string, number, string], { n: number }>(
        `SELECT COUNT(*) AS n FROM evidence WHERE sha256 = ? AND tag = ? AND source = 'kmdf-default' AND field = ?`,
      ),
      nextSeq: db.prepare<[string, number], { seq: number }>(
        `SELECT COALESCE(MAX(seq) + 1, 0) AS seq FROM evidence WHERE sha256 = ? AND tag = ? AND kind = 'pool'`,
      ),
      insertFindingIfNew: db.prepare(
        `INSERT OR IGNORE INTO findings (sha256, tag, kind, tier, protected, sites, apis) VALUES (?, ?, 'pool', ?, 0, 1, '["WdfDriverCreate"]')`,
      ),
    };
  }

  knownFiles(host: string): Map<string, KnownFile> {
    const rows = this.db
      .prepare<[string], { path: string; size: number; mtime_ms: number; sha256: string; extractor_version: string }>(
        `SELECT f.path, f.size, f.mtime_ms, f.sha256, c.extractor_version
         FROM files f JOIN contents c ON c.sha256 = f.sha256 WHERE f.host = ?`,
      )
      .all(host);
    return new Map(
      rows.map((r) => [r.path, { size: r.size, mtimeMs: r.mtime_ms, sha256: r.sha256, extractorVersion: r.extractor_version }]),
    );
  }

  knownFailures(host: string): Map<string, KnownFailure> {
    const rows = this.db
      .prepare<[string], { path: string; size: number; mtime_ms: number; message: string; extractor_version: string }>(
        'SELECT path, size, mtime_ms, message, extractor_version FROM failures WHERE host = ?',
      )
      .all(host);
    return new Map(
      rows.map((r) => [r.path, { size: r.size, mtimeMs: r.mtime_ms, message: r.message, extractorVersion: r.extractor_version }]),
    );
  }

  /** Extractor version that analysed this content, if any host's file had it. */
  contentVersion(sha256: string): string | undefined {
    return this.stmt.contentVersion.get(sha256)?.extractor_version;
  }

  /** A freshly analysed file: its content, findings, evidence and the file row, all or nothing. */
  saveAnalysed(file: FileStat, sha256: string, report: DriverReport, extractorVersion: string): void {
    const s = this.stmt;
    this.db.transaction(() => {
      const v = report.version ?? {};
      s.upsertContent.run({
        sha256,
        size: file.size,
        machine: report.machine,
        company_name: v.CompanyName ?? null,
        file_version: v.FileVersion ?? null,
        file_description: v.FileDescription ?? null,
        original_filename: v.OriginalFilename ?? null,
        product_name: v.ProductName ?? null,
        product_version: v.ProductVersion ?? null,
        tag_apis: JSON.stringify(report.tagApis),
        analysed_at: new Date().toISOString(),
        extractor_version: extractorVersion,
        warnings: JSON.stringify(report.warnings),
      });
      s.deleteFindings.run(sha256);
      for (const f of report.findings) {
        const tag = f.tag >>> 0;
        s.insertFinding.run(sha256, tag, f.kind, f.tier, f.protected ? 1 : 0, f.sites, JSON.stringify(f.apis));
        f.evidence.forEach((e, seq) =>
          s.insertEvidence.run(
            sha256, tag, f.kind, seq, e.tier, e.section, e.rva, e.api ?? null, e.via ?? null,
            e.instruction ?? null, e.protected ? 1 : 0, e.source ?? null, e.field ?? null,
          ),
        );
      }
      this.putFile(file, sha256);
    })();
  }

  /**
   * A file whose content some earlier analysis already covers. KMDF's default tag depends on the service
   * name, which is inferred from the file name: the same KMDF driver under another name adds that name's tag.
   */
  saveReused(file: FileStat, sha256: string): void {
    this.db.transaction(() => {
      this.putFile(file, sha256);
      this.addKmdfDefault(file.path, sha256);
    })();
  }

  private addKmdfDefault(path: string, sha256: string): void {
    const s = this.stmt;
    const known = s.kmdfDefault.get(sha256);
    if (!known) return;
    const service = serviceNameOf(path);
    const tag = kmdfDefaultTag(service);
    if (s.hasEvidenceFor.get(sha256, tag, service)!.n > 0) return;
    s.insertFindingIfNew.run(sha256, tag, known.tier);
    s.insertEvidence.run(
      sha256, tag, 'pool', s.nextSeq.get(sha256, tag)!.seq, known.tier, known.section, known.rva, 'WdfDriverCreate', null,
      known.instruction, 0, 'kmdf-default', service,
    );
  }

  saveFailure(file: FileStat, message: string, extractorVersion: string): void {
    this.db.transaction(() => {
      this.stmt.deleteFile.run(file.host, file.path);
      this.stmt.upsertFailure.run(
        file.host, file.path, file.size, file.mtimeMs, message, extractorVersion, new Date().toISOString(),
      );
    })();
  }

  /** Forget files that vanished; returns how many file or failure rows went. */
  prune(host: string, paths: string[]): number {
    let n = 0;
    this.db.transaction(() => {
      for (const p of paths) {
        n += this.stmt.deleteFile.run(host, p).changes;
        n += this.stmt.deleteFailure.run(host, p).changes;
      }
    })();
    return n;
  }

  /** Contents no file points at any more (pruned or changed): their findings go with them. */
  dropOrphanContents(): number {
    return this.stmt.deleteOrphans.run().changes;
  }

  private putFile(file: FileStat, sha256: string): void {
    this.stmt.upsertFile.run(file.host, file.path, file.size, file.mtimeMs, sha256, new Date().toISOString());
    this.stmt.deleteFailure.run(file.host, file.path);
  }
}
