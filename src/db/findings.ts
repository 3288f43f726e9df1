// A finding as the query modules read it (with its content's version columns), and the files that hold a
// content: the shapes lookup and export share.
import { basename } from 'node:path';
import type { TagKind, Tier } from '../extract/types.js';

export interface FindingRow {
  sha256: string;
  tag: number;
  kind: TagKind;
  tier: Tier;
  protected: number;
  sites: number;
  /** JSON array of API names. */
  apis: string;
  machine: string;
  company_name: string | null;
  file_version: string | null;
  file_description: string | null;
  product_name: string | null;
  original_filename: string | null;
}

/** The columns of a FindingRow, from `findings f JOIN contents c ON c.sha256 = f.sha256`. */
export const FINDING_COLUMNS = `f.sha256, f.tag, f.kind, f.tier, f.protected, f.sites, f.apis, c.machine, c.company_name,
  c.file_version, c.file_description, c.product_name, c.original_filename`;

/** Host and path of every file with one content (by sha256), ordered by path then host. */
export const FILES_OF_CONTENT = 'SELECT host, path FROM files WHERE sha256 = ? ORDER BY path, host';

/** The file name of a stored path, whether the host wrote it with backslashes or slashes. */
export function driverName(path: string): string {
  return basename(path.replace(/\\/g, '/'));
}
