// What the tag database already knows about a file `scan` is classifying: when the file is indexed on this
// host with the same size and modification time (the test `index` uses to skip a file) and its content was
// analysed by this extractor version, its findings say whether any of its code holds the tag as an
// instruction immediate. When none does, every occurrence of the tag's bytes is data and nothing needs
// decoding. Any doubt (not indexed, changed, another extractor version) answers undefined.
import type { Db } from './schema.js';

export class IndexedTags {
  private readonly file;
  private readonly codeFinding;

  constructor(
    db: Db,
    private readonly host: string,
    private readonly extractorVersion: string,
  ) {
    this.file = db.prepare<[string, string], { size: number; mtime_ms: number; sha256: string; extractor_version: string }>(
      `SELECT f.size, f.mtime_ms, f.sha256, c.extractor_version FROM files f JOIN contents c ON c.sha256 = f.sha256
       WHERE f.host = ? AND f.path = ?`,
    );
    // The extractor files an immediate under its tag without the protected bit, as call or code tier.
    this.codeFinding = db.prepare<[string, number], number>(
      `SELECT 1 FROM findings WHERE sha256 = ? AND tag = ? AND tier IN ('call', 'code') LIMIT 1`,
    ).pluck();
  }

  /**
   * Whether the file's code holds `tag` (protected bit cleared) as an immediate; undefined when the
   * database cannot say for this file as it is now.
   */
  codeHasTag(path: string, size: number, mtimeMs: number, tag: number): boolean | undefined {
    const f = this.file.get(this.host, path);
    if (!f || f.size !== size || f.mtime_ms !== mtimeMs || f.extractor_version !== this.extractorVersion) return undefined;
    return this.codeFinding.get(f.sha256, tag) !== undefined;
  }
}
