// The database out again: pooltag.txt / localtag.txt for poolmon and WinDbg, NDJSON and CSV for people's
// own tools. Rows are produced one at a time so a fleet database is never held in memory as text.
import type { Db } from './schema.js';
import type { EvidenceSource, TagKind, Tier } from '../extract/types.js';
import { TIER_RANK } from '../extract/types.js';
import { formatTag, tagHex } from '../tag.js';
import { exportLocaltag, exportPooltag, type ExportEntry } from '../pooltag/export.js';
import { evidenceApi, evidencePlace } from '../render/evidence.js';
import { serviceNameOf } from '../extract/frameworks/kmdf.js';
import { writeAtomically } from '../util/atomic-write.js';
import { FILES_OF_CONTENT, FINDING_COLUMNS, type FindingRow, driverName } from './findings.js';

export type ExportFormat = 'pooltag' | 'localtag' | 'ndjson' | 'csv';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['pooltag', 'localtag', 'ndjson', 'csv'];

export interface ExportOptions {
  /** Keep findings of this tier or better. Default: `code` for pooltag/localtag (a byte match is no owner), `data` otherwise. */
  minTier?: Tier;
  /** pooltag/localtag list third-party drivers only unless this is set (Microsoft's tags are in pooltag.txt). */
  includeMicrosoft?: boolean;
}

/** One (driver file, tag): a path with one content, on every host that has it. */
export interface ExportRow {
  path: string;
  sha256: string;
  machine: string;
  tag: string;
  tagHex: string;
  tier: Tier;
  kind: TagKind;
  protected: boolean;
  sites: number;
  apis: string[];
  hosts: string[];
  companyName: string | null;
  fileVersion: string | null;
  /** Best evidence as text: `call ExAllocatePoolWithTag .text+0x1a2b`. */
  evidence: string;
}

export function defaultMinTier(format: ExportFormat): Tier {
  return format === 'pooltag' || format === 'localtag' ? 'code' : 'data';
}

interface BestEvidence {
  tier: string;
  section: string;
  rva: number;
  api: string | null;
  source: EvidenceSource | null;
  field: string | null;
}

function evidenceText(e: BestEvidence | undefined): string {
  if (!e) return '';
  const where = evidencePlace(e);
  const api = evidenceApi({ api: e.api ?? undefined, source: e.source ?? undefined, field: e.field ?? undefined });
  return api ? `${e.tier} ${api} ${where}` : `${e.tier} ${where}`;
}

/** Rows ordered by path then tag; one query per content for its files, one per finding for its best evidence. */
export function* exportRows(db: Db, opts: { minTier?: Tier; includeMicrosoft?: boolean } = {}): Generator<ExportRow> {
  const maxRank = TIER_RANK[opts.minTier ?? 'data'];
  const tiers = (Object.keys(TIER_RANK) as Tier[]).filter((t) => TIER_RANK[t] <= maxRank);
  const vendor = opts.includeMicrosoft === false ? `AND (c.company_name IS NULL OR c.company_name NOT LIKE '%Microsoft%')` : '';
  const contents = db
    .prepare<[], { sha256: string }>(`SELECT c.sha256 FROM contents c WHERE 1 ${vendor} ORDER BY c.sha256`)
    .all();
  const files = db.prepare<[string], { host: string; path: string }>(FILES_OF_CONTENT);
  const findings = db.prepare<string[], FindingRow>(
    `SELECT ${FINDING_COLUMNS} FROM findings f JOIN contents c ON c.sha256 = f.sha256
     WHERE f.sha256 = ? AND f.tier IN (${tiers.map(() => '?').join(', ')}) ORDER BY f.tag, f.kind`,
  );
  const best = db.prepare<[string, number, string], BestEvidence>(
    'SELECT tier, section, rva, api, source, field FROM evidence WHERE sha256 = ? AND tag = ? AND kind = ? ORDER BY seq LIMIT 1',
  );
  // Group by path first so the output reads like a directory listing.
  const groups: { path: string; sha256: string; hosts: string[] }[] = [];
  for (const { sha256 } of contents) {
    const byPath = new Map<string, string[]>();
    for (const f of files.all(sha256)) {
      const hosts = byPath.get(f.path);
      if (hosts) hosts.push(f.host);
      else byPath.set(f.path, [f.host]);
    }
    for (const [path, hosts] of byPath) groups.push({ path, sha256, hosts });
  }
  groups.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.sha256 < b.sha256 ? -1 : 1));
  for (const g of groups) {
    for (const r of findings.all(g.sha256, ...tiers)) {
      const ev = best.get(g.sha256, r.tag, r.kind);
      // KMDF's default tag follows the file name: the same content under another name has another tag.
      if (ev?.source === 'kmdf-default' && ev.field !== serviceNameOf(g.path)) continue;
      yield {
        path: g.path,
        sha256: g.sha256,
        machine: r.machine,
        tag: formatTag(r.tag),
        tagHex: tagHex(r.tag),
        tier: r.tier,
        kind: r.kind,
        protected: r.protected !== 0,
        sites: r.sites,
        apis: JSON.parse(r.apis) as string[],
        hosts: g.hosts,
        companyName: r.company_name,
        fileVersion: r.file_version,
        evidence: evidenceText(ev),
      };
    }
  }
}

/**
 * pooltag/localtag entries: pool tags only (object-reference tags are not pool memory), one per (driver name,
 * tag), the best tier winning; the description carries tier, evidence and version so a reader can judge it.
 */
export function pooltagEntries(db: Db, opts: ExportOptions = {}): ExportEntry[] {
  const best = new Map<string, ExportRow>();
  const rows = exportRows(db, { minTier: opts.minTier ?? 'code', includeMicrosoft: opts.includeMicrosoft ?? false });
  for (const r of rows) {
    if (r.kind !== 'pool') continue;
    const key = `${driverName(r.path).toLowerCase()}\0${r.tagHex}`;
    const seen = best.get(key);
    if (!seen || TIER_RANK[r.tier] < TIER_RANK[seen.tier] || (r.tier === seen.tier && r.sites > seen.sites)) best.set(key, r);
  }
  return [...best.values()]
    .sort((a, b) => (a.tagHex < b.tagHex ? -1 : a.tagHex > b.tagHex ? 1 : driverName(a.path) < driverName(b.path) ? -1 : 1))
    .map((r) => {
      const version = [r.companyName, r.fileVersion].filter(Boolean).join(' ');
      // The evidence text starts with its own tier: said once, in brackets, when it is the finding's.
      const where = r.evidence.startsWith(`${r.tier} `) ? r.evidence.slice(r.tier.length + 1) : r.evidence;
      const description = `[${r.tier}] ${where}${version ? ` (${version})` : ''}`;
      return { tag: parseInt(r.tagHex, 16), binary: driverName(r.path), description };
    });
}

const CSV_COLUMNS: (keyof ExportRow)[] = [
  'path', 'sha256', 'machine', 'tag', 'tagHex', 'tier', 'kind', 'protected', 'sites', 'apis', 'hosts',
  'companyName', 'fileVersion', 'evidence',
];

function csvField(v: unknown): string {
  const s = Array.isArray(v) ? v.join(';') : v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

export interface ExportSummary {
  written: number;
  skipped: number;
}

/** Write the export through `sink` (called with chunks of text, in order). */
export function exportDb(db: Db, format: ExportFormat, sink: (chunk: string) => void, opts: ExportOptions = {}): ExportSummary {
  if (format === 'pooltag' || format === 'localtag') {
    const entries = pooltagEntries(db, opts);
    const out = format === 'pooltag' ? exportPooltag(entries) : exportLocaltag(entries);
    sink(out.text);
    return { written: out.written, skipped: out.skipped };
  }
  const rows = exportRows(db, { minTier: opts.minTier ?? defaultMinTier(format), includeMicrosoft: opts.includeMicrosoft ?? true });
  let written = 0;
  if (format === 'csv') sink(CSV_COLUMNS.join(',') + '\r\n');
  let buffer = '';
  for (const r of rows) {
    buffer += format === 'csv' ? CSV_COLUMNS.map((c) => csvField(r[c])).join(',') + '\r\n' : JSON.stringify(r) + '\n';
    written++;
    if (buffer.length > 1 << 16) {
      sink(buffer);
      buffer = '';
    }
  }
  if (buffer) sink(buffer);
  return { written, skipped: 0 };
}

/** Export to a file that readers never see half-written: a sibling temp file, fsync, rename. */
export function exportToFile(db: Db, format: ExportFormat, path: string, opts: ExportOptions = {}): ExportSummary {
  return writeAtomically(path, (write) => exportDb(db, format, write, opts));
}
