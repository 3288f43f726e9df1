// A large tag database for timing lookups, written straight into the real schema (openDb runs the real
// migrations) without the extractor: `families` drivers, each in `versions` distinct builds (different
// content, same tags, like a fleet), `tagsPerDriver` tags each, one evidence row per finding.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { SCHEMA_VERSION, openDb } from '../src/db/schema.js';
import { formatTag, parseTagQuery, tagFromText, tagMatches } from '../src/tag.js';
import { prng } from '../test/helpers/prng.js';

export interface LookupDbSpec {
  families: number;
  versions: number;
  tagsPerDriver: number;
  seed: number;
}

export interface LookupDbInfo {
  spec: LookupDbSpec;
  schemaVersion: number;
  /** (driver, tag) rows in findings. */
  rows: number;
  drivers: number;
  distinctTags: number;
  exactTag: string;
  exactOwners: number;
  wildcard: string;
  wildcardTags: number;
  wildcardOwners: number;
  buildSeconds: number;
}

export const DEFAULT_LOOKUP_SPEC: LookupDbSpec = { families: 2000, versions: 10, tagsPerDriver: 50, seed: 7 };

const TAG_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const TIERS = ['call', 'call', 'call', 'code', 'code', 'data'] as const;
const APIS = ['ExAllocatePool2', 'ExAllocatePoolWithTag', 'ExFreePoolWithTag', 'ExInitializeLookasideListEx'];

function familyTags(rand: () => number, n: number): string[] {
  const tags = new Set<string>();
  while (tags.size < n) {
    let t = '';
    for (let k = 0; k < 4; k++) t += TAG_CHARS[Math.floor(rand() * TAG_CHARS.length)];
    tags.add(t);
  }
  return [...tags];
}

function sidecar(path: string): string {
  return `${path}.bench.json`;
}

/** Reuse the database when its sidecar says it was built from this spec with the current schema. */
export function ensureLookupDb(path: string, spec: LookupDbSpec = DEFAULT_LOOKUP_SPEC): { info: LookupDbInfo; reused: boolean } {
  if (existsSync(path) && existsSync(sidecar(path))) {
    try {
      const info = JSON.parse(readFileSync(sidecar(path), 'utf8')) as LookupDbInfo;
      if (JSON.stringify(info.spec) === JSON.stringify(spec) && info.schemaVersion === SCHEMA_VERSION) {
        return { info, reused: true };
      }
    } catch {
      // an unreadable sidecar means rebuild
    }
  }
  return { info: buildLookupDb(path, spec), reused: false };
}

export function buildLookupDb(path: string, spec: LookupDbSpec): LookupDbInfo {
  const started = performance.now();
  for (const suffix of ['', '-wal', '-shm', '.bench.json']) rmSync(path + suffix, { force: true });
  const db = openDb(path);
  // Built once and thrown away on failure: no journal, and a cache large enough for the random-order B-tree
  // inserts. The database is switched back to the WAL mode openDb chose before it is closed.
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -524288');
  const rand = prng(spec.seed);
  const insContent = db.prepare(
    `INSERT INTO contents (sha256, size, machine, company_name, file_version, file_description, original_filename,
       product_name, product_version, tag_apis, analysed_at, extractor_version, warnings)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[]')`,
  );
  const insFile = db.prepare('INSERT INTO files (host, path, size, mtime_ms, sha256, indexed_at) VALUES (?, ?, ?, ?, ?, ?)');
  const insFinding = db.prepare(
    'INSERT INTO findings (sha256, tag, kind, tier, protected, sites, apis) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const insEvidence = db.prepare(
    `INSERT INTO evidence (sha256, tag, kind, seq, tier, section, rva, api, via, instruction, protected)
     VALUES (?, ?, ?, 0, ?, ?, ?, ?, NULL, NULL, 0)`,
  );
  const now = new Date(0).toISOString();
  const owners = new Map<number, number>();
  let rows = 0;
  const families = Array.from({ length: spec.families }, () =>
    familyTags(rand, spec.tagsPerDriver).map((t) => ({
      value: tagFromText(t), tier: TIERS[Math.floor(rand() * TIERS.length)], sites: 1 + Math.floor(rand() * 20),
    })),
  );
  const exactValue = families[0][0].value;
  // Builds in sha256 order, so the findings and evidence B-trees (keyed by sha256 first) grow at their end.
  const builds = families
    .flatMap((_, f) => Array.from({ length: spec.versions }, (_, v) => ({ f, v, sha: createHash('sha256').update(`${f}:${v}`).digest('hex') })))
    .sort((a, b) => (a.sha < b.sha ? -1 : 1));
  const insertBuild = ({ f, v, sha }: { f: number; v: number; sha: string }) => {
    const name = `drv${String(f).padStart(5, '0')}.sys`;
    const size = 20_000 + ((f * 7919 + v * 104729) % 500_000);
    insContent.run(sha, size, f % 5 ? 'x64' : 'x86', `Vendor ${f % 97}`, `10.0.${v}.${f}`, `Driver ${f}`, name,
      `Product ${f % 211}`, `10.0.${v}`, JSON.stringify([APIS[f % APIS.length]]), now, 'bench');
    insFile.run(`host${String(v).padStart(3, '0')}`, `C:\\Windows\\System32\\drivers\\${name}`, size, 1.7e12 + f, sha, now);
    for (const t of families[f]) {
      const api = t.tier === 'call' ? APIS[t.value % APIS.length] : null;
      insFinding.run(sha, t.value, 'pool', t.tier, 0, t.sites, JSON.stringify(api ? [api] : []));
      insEvidence.run(sha, t.value, 'pool', t.tier, t.tier === 'data' ? '.rdata' : '.text', 0x1000 + (t.value & 0xffff), api);
      owners.set(t.value, (owners.get(t.value) ?? 0) + 1);
      rows++;
    }
  };
  const BATCH = 1000;
  for (let i = 0; i < builds.length; i += BATCH) db.transaction(() => builds.slice(i, i + BATCH).forEach(insertBuild))();
  db.pragma('journal_mode = WAL');
  db.close();

  // Query tags: family 0's first tag (owned by its `versions` builds, more if another family drew it too),
  // and a two-character prefix wildcard like `Ntf*`.
  const exact = formatTag(exactValue);
  const wildcard = `${exact.slice(0, 2)}*`;
  const q = parseTagQuery(wildcard);
  let wildcardTags = 0;
  let wildcardOwners = 0;
  for (const [tag, n] of owners) {
    if (!tagMatches(q, tag)) continue;
    wildcardTags++;
    wildcardOwners += n;
  }
  const info: LookupDbInfo = {
    spec,
    schemaVersion: SCHEMA_VERSION,
    rows,
    drivers: spec.families * spec.versions,
    distinctTags: owners.size,
    exactTag: exact,
    exactOwners: owners.get(tagFromText(exact)) ?? 0,
    wildcard,
    wildcardTags,
    wildcardOwners,
    buildSeconds: (performance.now() - started) / 1000,
  };
  writeFileSync(sidecar(path), JSON.stringify(info, null, 1));
  return info;
}

