// Who owns a tag, from the database: owners ranked by tier of evidence, then by how many sites use the tag,
// with their evidence, hosts and version info; plus the pooltag.txt entries (file or imported) that name it.
import type { Statement } from 'better-sqlite3';
import type { Db } from './schema.js';
import type { Evidence, EvidenceSource, TagKind, Tier } from '../extract/types.js';
import { TIER_RANK } from '../extract/types.js';
import type { Owner, OwnerSource } from '../owners.js';
import { bigEndianToTag, literalPrefix, tagMatches, withoutProtectedBit, type TagQuery } from '../tag.js';
import type { PooltagIndex } from '../pooltag/lookup.js';
import type { PooltagEntry } from '../pooltag/parse.js';
import { storedPooltagIndex } from './pooltag-store.js';
import { FILES_OF_CONTENT, FINDING_COLUMNS, type FindingRow, driverName } from './findings.js';
import { inferredOnly } from '../render/evidence.js';
import { serviceNameOf } from '../extract/frameworks/kmdf.js';

export interface VersionSummary {
  CompanyName?: string;
  FileVersion?: string;
  FileDescription?: string;
  ProductName?: string;
  OriginalFilename?: string;
}

export interface DbOwnerHit {
  tag: number;
  /** Driver file name of one file with this content. */
  name: string;
  sha256: string;
  machine: string;
  kind: TagKind;
  tier: Tier;
  protected: boolean;
  sites: number;
  apis: string[];
  evidence: Evidence[];
  /** How many hosts have a file with this content. */
  hostCount: number;
  /** How many files (host, path) have this content. */
  fileCount: number;
  /** The first path (in sorted order) of a file with this content: `name` is its file name. */
  path: string;
  /**
   * Hosts that have a file with this content, sorted: every one with `listHosts`, else only when there are
   * at most FEW_HOSTS of them (a fleet database has thousands per driver).
   */
  hosts?: string[];
  /** Distinct paths of files with this content, sorted; only with `listHosts`. */
  paths?: string[];
  version: VersionSummary;
  /** Set when the only proof is KMDF's default tag, inferred from the file name. */
  inferred?: 'kmdf-default';
}

/** Owners on this many hosts or fewer have their hosts named even without `listHosts`. */
export const FEW_HOSTS = 3;

export interface PooltagHit {
  tag: string;
  binary: string;
  description: string;
  origin: string;
  line: number;
  heading?: string;
  /** A wildcard entry (`Afd?`): it names a family of tags, not this one. */
  wildcard?: true;
}

export interface LookupResult {
  query: TagQuery;
  owners: DbOwnerHit[];
  pooltag: PooltagHit[];
}

export interface LookupOptions {
  kind?: TagKind | 'all';
  /** Keep owners whose best tier is this one or better (call < code < data). */
  minTier?: Tier;
  /** Only drivers this host has (lower case). */
  host?: string;
  /** Where `pooltag` was read from (absolute): entries imported into the database from it are not listed twice. */
  pooltagOrigin?: string;
  /** Every host and path of each owner (`--hosts`), not just their counts. */
  listHosts?: boolean;
  /** The path shown with its entries, as the user gave it (default: the origin). */
  pooltagShownAs?: string;
}

interface EvidenceRow {
  tier: Tier;
  section: string;
  rva: number;
  api: string | null;
  via: number | null;
  instruction: string | null;
  protected: number;
  via_export: string | null;
  source: EvidenceSource | null;
  field: string | null;
  held_in: string | null;
}

/** Prepared statements for one database, reused across tags. */
class OwnerQueries {
  private readonly byTag;
  private readonly evidence;
  private readonly files;
  private readonly fewHosts;
  private readonly tagRange: Statement<[number, number], number>;

  constructor(db: Db) {
    this.byTag = db.prepare<[number], FindingRow & { host_count: number | null; file_count: number; first_path: string }>(
      `SELECT ${FINDING_COLUMNS}, h.hosts AS host_count, h.files AS file_count, h.first_path
       FROM findings f JOIN contents c ON c.sha256 = f.sha256 LEFT JOIN content_hosts h ON h.sha256 = f.sha256
       WHERE f.tag = ?`,
    );
    this.fewHosts = db.prepare<[string, number], string>('SELECT DISTINCT host FROM files WHERE sha256 = ? ORDER BY host LIMIT ?').pluck();
    this.evidence = db.prepare<[string, number, string], EvidenceRow>(
      `SELECT tier, section, rva, api, via, instruction, protected, via_export, source, field, held_in FROM evidence
       WHERE sha256 = ? AND tag = ? AND kind = ? ORDER BY seq`,
    );
    this.tagRange = db.prepare<[number, number], number>('SELECT be FROM tag_values WHERE be BETWEEN ? AND ?').pluck();
    this.files = db.prepare<[string], { host: string; path: string }>(FILES_OF_CONTENT);
  }

  /** Tags in the database a query names: exact → itself; wildcard → the key range of its literal prefix. */
  tagsFor(q: TagQuery): number[] {
    if (q.exact !== undefined) return [withoutProtectedBit(q.exact)];
    const prefix = literalPrefix(q);
    let lo = 0;
    for (let i = 0; i < 4; i++) lo = lo * 256 + (prefix[i] ?? 0);
    const hi = lo + 256 ** (4 - prefix.length) - 1;
    return this.tagRange
      .all(lo, hi)
      .map((be) => bigEndianToTag(be))
      .filter((t) => tagMatches(q, t));
  }

  owners(tag: number, opts: LookupOptions): DbOwnerHit[] {
    const kind = opts.kind ?? 'all';
    const maxRank = opts.minTier ? TIER_RANK[opts.minTier] : TIER_RANK.data;
    const hits: DbOwnerHit[] = [];
    for (const r of this.byTag.all(tag)) {
      if (kind !== 'all' && r.kind !== kind) continue;
      if (TIER_RANK[r.tier] > maxRank) continue;
      if (!r.host_count) continue; // content whose last file is being pruned
      const evidence = this.evidence.all(r.sha256, r.tag, r.kind).map(toEvidence);
      const inferred = inferredOnly(evidence);
      let path = r.first_path;
      let listed: { hosts: string[]; paths: string[] } | undefined;
      if (opts.host !== undefined || opts.listHosts || inferred) {
        const all = this.files.all(r.sha256);
        // With a host, that host's own files name the driver.
        let files = opts.host === undefined ? all : all.filter((f) => f.host.toLowerCase() === opts.host);
        if (files.length === 0) continue; // not on the host
        if (inferred) {
          // KMDF's default tag follows the file name: only the files whose name gives this tag own it.
          const services = new Set(evidence.map((e) => e.field));
          const named = files.filter((f) => services.has(serviceNameOf(f.path)));
          if (named.length > 0) files = named;
        }
        const paths = [...new Set(files.map((f) => f.path))].sort();
        path = paths[0];
        if (opts.host !== undefined || opts.listHosts) listed = { hosts: [...new Set(all.map((f) => f.host))].sort(), paths };
      }
      const hit: DbOwnerHit = {
        tag: r.tag,
        name: driverName(path),
        sha256: r.sha256,
        machine: r.machine,
        kind: r.kind,
        tier: r.tier,
        protected: r.protected !== 0,
        sites: r.sites,
        apis: JSON.parse(r.apis) as string[],
        evidence,
        hostCount: r.host_count,
        fileCount: r.file_count,
        path,
        version: versionOf(r),
      };
      if (inferred) hit.inferred = 'kmdf-default';
      if (listed) {
        hit.hosts = listed.hosts;
        hit.paths = listed.paths;
      } else if (r.host_count <= FEW_HOSTS) {
        hit.hosts = this.fewHosts.all(r.sha256, FEW_HOSTS);
      }
      hits.push(hit);
    }
    return hits;
  }
}

function toEvidence(r: EvidenceRow): Evidence {
  const e: Evidence = { tier: r.tier, section: r.section, rva: r.rva };
  if (r.api !== null) e.api = r.api;
  if (r.via !== null) e.via = r.via;
  if (r.via_export !== null) e.viaExport = r.via_export;
  if (r.held_in !== null) e.heldIn = r.held_in;
  if (r.instruction !== null) e.instruction = r.instruction;
  if (r.protected) e.protected = true;
  if (r.source !== null) e.source = r.source;
  if (r.field !== null) e.field = r.field;
  return e;
}

function versionOf(r: FindingRow): VersionSummary {
  const v: VersionSummary = {};
  if (r.company_name) v.CompanyName = r.company_name;
  if (r.file_version) v.FileVersion = r.file_version;
  if (r.file_description) v.FileDescription = r.file_description;
  if (r.product_name) v.ProductName = r.product_name;
  if (r.original_filename) v.OriginalFilename = r.original_filename;
  return v;
}

/** Best tier first, then the owner that uses the tag at more sites, then by name for a stable order. */
export function rankOwners(a: DbOwnerHit, b: DbOwnerHit): number {
  return (
    TIER_RANK[a.tier] - TIER_RANK[b.tier] ||
    b.sites - a.sites ||
    a.tag - b.tag ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) ||
    (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0)
  );
}

function toPooltagHit(e: PooltagEntry, origin: string): PooltagHit {
  const hit: PooltagHit = { tag: e.tag, binary: e.binary, description: e.description, origin, line: e.line };
  if (e.heading) hit.heading = e.heading;
  if (e.query.exact === undefined) hit.wildcard = true;
  return hit;
}

/**
 * Owners of each query. `db` may be absent (no database yet): pooltag entries still answer. `pooltag` is the
 * user's pooltag.txt; entries imported into the database answer too (an imported file is not listed twice).
 */
export function lookup(
  db: Db | undefined,
  queries: TagQuery[],
  pooltag?: PooltagIndex,
  opts: LookupOptions = {},
): LookupResult[] {
  const owners = db ? new OwnerQueries(db) : undefined;
  const fileOrigin = opts.pooltagOrigin ?? '';
  return queries.map((query) => {
    const hits = owners ? owners.tagsFor(query).flatMap((t) => owners.owners(t, opts)) : [];
    hits.sort(rankOwners);
    const stored = db ? storedPooltagIndex(db, query) : undefined;
    const imported = new Set(stored?.origins ?? []);
    const fromFile = pooltag
      ? pooltag
          .matchQuery(query)
          .filter(() => !imported.has(fileOrigin))
          .map((e) => toPooltagHit(e, opts.pooltagShownAs ?? fileOrigin))
      : [];
    const fromDb = stored ? stored.index.matchQuery(query).map((e) => toPooltagHit(e, stored.originOf(e))) : [];
    // An exact entry names the tag; a wildcard entry (`Nt??`) only its family: for a tag, exact ones first.
    const entries = [...fromFile, ...fromDb];
    if (query.exact !== undefined) entries.sort((a, b) => Number(a.wildcard ?? false) - Number(b.wildcard ?? false));
    return { query, owners: hits, pooltag: entries };
  });
}

/**
 * The database as an owner source for the report commands; each tag is looked up once. With `host`, only
 * drivers that host has are owners (the report came from that machine), named as that host names them.
 */
export function dbOwners(db: Db, opts: { host?: string } = {}): OwnerSource {
  const queries = new OwnerQueries(db);
  const cache = new Map<number, Owner[]>();
  const host = opts.host?.toLowerCase();
  return {
    ownersOf(tag: number): Owner[] {
      const t = withoutProtectedBit(tag);
      let owners = cache.get(t);
      if (!owners) {
        owners = queries
          .owners(t, host === undefined ? { listHosts: true } : { host, listHosts: true })
          .sort(rankOwners)
          .map((h) => {
            const o: Owner = { name: h.name, source: 'db', tier: h.tier, kind: h.kind, hosts: h.hosts, path: h.path, sha256: h.sha256, machine: h.machine };
            if (h.version.OriginalFilename) o.originalName = h.version.OriginalFilename;
            if (h.inferred) o.inferred = h.inferred;
            const description = h.version.FileDescription ?? h.version.CompanyName;
            if (description) o.description = description;
            return o;
          });
        cache.set(t, owners);
      }
      return owners;
    },
  };
}
