// The default benchmark corpus: ~600 driver files / ~200 MB made deterministically from the fixture and wine
// drivers. Each file is a real PE image (a source driver, unchanged) followed by an overlay of bytes taken from
// other drivers, so it stays a valid image with real code and data while its size follows a real
// System32\drivers distribution. The overlay is hashed and byte-searched like any file's bytes but holds no
// section, so per MB there is less code to decode than in a real driver of that size (the manifest says how
// much of the corpus lies inside the images).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { prng } from '../test/helpers/prng.js';

/** Bump when the generator changes, so old corpora are rebuilt. */
export const CORPUS_FORMAT = 2;

export interface CorpusOptions {
  /** Folder the driver files go to; it is emptied when the corpus is rebuilt. */
  dir: string;
  /** Where the manifest is kept (outside `dir`, so searching `dir` never matches the manifest). */
  manifestPath: string;
  /** Source drivers (PE files) the corpus is made from. */
  sources: string[];
  files: number;
  totalBytes: number;
  /** Tag written into some overlays, so a rare tag has a known, moderate number of hits. */
  plantedTag: string;
  /** Tags whose exact file sets the manifest records (the ground truth for grep and scan). */
  knownTags: string[];
  seed: number;
}

export interface CorpusEntry {
  /** Path relative to the corpus folder, with `/`. */
  path: string;
  size: number;
  /** Source driver at the start of the file; bytes after `imageBytes` are overlay. */
  base: string;
  imageBytes: number;
  planted: boolean;
}

export interface CorpusManifest {
  key: CorpusKey;
  entries: CorpusEntry[];
  totalBytes: number;
  imageBytes: number;
  /** Relative paths of the files containing each known tag's 4 bytes, sorted. */
  hits: Record<string, string[]>;
}

interface CorpusKey {
  format: number;
  seed: number;
  files: number;
  totalBytes: number;
  plantedTag: string;
  knownTags: string[];
  sources: { name: string; sha256: string }[];
}

interface SourceDriver {
  name: string;
  bytes: Buffer;
}

function logUniform(rand: () => number, lo: number, hi: number): number {
  return Math.exp(Math.log(lo) + rand() * (Math.log(hi) - Math.log(lo)));
}

/**
 * File sizes shaped like a real drivers folder: a few tiny files, most between 20 KB and 500 KB, some up to
 * 2 MB, a few of 2–10 MB; then scaled so they add up to `totalBytes`.
 */
export function plannedSizes(files: number, totalBytes: number, rand: () => number): number[] {
  const tiny = Math.round(files * 0.04);
  const large = Math.round(files * 0.03);
  const big = Math.round(files * 0.07);
  const sizes: number[] = [];
  for (let i = 0; i < files; i++) {
    if (i < tiny) sizes.push(logUniform(rand, 8e3, 20e3));
    else if (i < tiny + large) sizes.push(logUniform(rand, 2e6, 10e6));
    else if (i < tiny + large + big) sizes.push(logUniform(rand, 500e3, 2e6));
    else sizes.push(logUniform(rand, 20e3, 500e3));
  }
  const scale = totalBytes / sizes.reduce((a, b) => a + b, 0);
  return sizes.map((s) => Math.max(1024, Math.round(s * scale)));
}

const MIN_OVERLAY = 512;
/** Every 25th file (i % 25 == 12) gets the planted tag: 24 of 600. */
const PLANT_EVERY = 25;
const PLANT_AT = 12;

function tagBytes(tag: string): Buffer {
  const b = Buffer.from(tag, 'latin1');
  if (b.length !== 4) throw new Error(`benchmark tag must be 4 characters, got ${JSON.stringify(tag)}`);
  return b;
}

/** A base image for a file of `target` bytes: one that fills a good part of it when one does. */
function pickBase(sources: SourceDriver[], target: number, rand: () => number): SourceDriver {
  const fits = sources.filter((s) => s.bytes.length + MIN_OVERLAY <= target);
  if (fits.length === 0) return sources.reduce((a, b) => (a.bytes.length <= b.bytes.length ? a : b));
  const filling = fits.filter((s) => s.bytes.length >= target / 3);
  const pool = filling.length ? filling : fits.slice().sort((a, b) => a.bytes.length - b.bytes.length).slice(-3);
  return pool[Math.floor(rand() * pool.length)];
}

function subfolder(stem: string, i: number, rand: () => number): string {
  const r = rand();
  if (r < 0.65) return '';
  if (r < 0.9) {
    const hash = createHash('sha1').update(`${stem}${i}`).digest('hex').slice(0, 16);
    return `DriverStore/FileRepository/${stem}.inf_amd64_${hash}/`;
  }
  return r < 0.95 ? 'wd/' : 'UMDF/';
}

interface SourcePools {
  /** Drivers whose bytes hold the planted tag (direct.sys's code uses DrA1). */
  carriers: SourceDriver[];
  clean: SourceDriver[];
}

/**
 * One corpus file: a base image, then overlay chunks from drivers without the planted tag. Only every
 * PLANT_EVERY-th file holds the tag, in its base image's real code when a carrier fits, else written into
 * its overlay, so the tag stays as rare as a real driver's own tag is.
 */
function buildFile(i: number, target: number, pools: SourcePools, planted: Buffer, rand: () => number): { entry: CorpusEntry; bytes: Buffer } {
  const plant = i % PLANT_EVERY === PLANT_AT;
  const base = pickBase(plant && pools.carriers.length ? pools.carriers : pools.clean, target, rand);
  const size = Math.max(target, base.bytes.length + MIN_OVERLAY);
  const out = Buffer.alloc(size);
  base.bytes.copy(out, 0);
  let at = base.bytes.length;
  while (at < size) {
    const src = pools.clean[Math.floor(rand() * pools.clean.length)].bytes;
    const from = Math.floor(rand() * src.length);
    const len = Math.min(size - at, src.length - from, 4096 + Math.floor(rand() * 60 * 1024));
    src.copy(out, at, from, from + len);
    at += len;
  }
  if (plant && !pools.carriers.includes(base)) {
    planted.copy(out, base.bytes.length + Math.floor(rand() * (size - base.bytes.length - 4)));
  }
  const stem = basename(base.name).replace(/\.sys$/i, '').replace(/[^A-Za-z0-9]/g, '');
  const ext = rand() < 0.25 ? 'SYS' : 'sys';
  const path = `${subfolder(stem, i, rand)}${stem}_${String(i).padStart(3, '0')}.${ext}`;
  return { entry: { path, size, base: base.name, imageBytes: base.bytes.length, planted: plant }, bytes: out };
}

function keyOf(opts: CorpusOptions, sources: SourceDriver[]): CorpusKey {
  return {
    format: CORPUS_FORMAT,
    seed: opts.seed,
    files: opts.files,
    totalBytes: opts.totalBytes,
    plantedTag: opts.plantedTag,
    knownTags: [...opts.knownTags].sort(),
    sources: sources.map((s) => ({ name: s.name, sha256: createHash('sha256').update(s.bytes).digest('hex') })),
  };
}

function readSources(paths: string[]): SourceDriver[] {
  if (paths.length === 0) throw new Error('no source drivers for the benchmark corpus');
  const common = commonDir(paths);
  return paths
    .map((p) => ({ name: relative(common, p).replace(/\\/g, '/'), bytes: readFileSync(p) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function commonDir(paths: string[]): string {
  let dir = dirname(paths[0]);
  while (!paths.every((p) => p.startsWith(dir + '/'))) dir = dirname(dir);
  return dir;
}

function readManifest(path: string): CorpusManifest | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as CorpusManifest;
  } catch {
    return undefined;
  }
}

/** The existing corpus still matches its manifest: same key and every file present with its size. */
function intact(m: CorpusManifest, key: CorpusKey, dir: string): boolean {
  if (JSON.stringify(m.key) !== JSON.stringify(key)) return false;
  return m.entries.every((e) => {
    try {
      return statSync(join(dir, e.path)).size === e.size;
    } catch {
      return false;
    }
  });
}

/** Reuse the corpus when its manifest matches these options, else rebuild it from scratch. */
export function ensureCorpus(opts: CorpusOptions): { manifest: CorpusManifest; reused: boolean } {
  const sources = readSources(opts.sources);
  const key = keyOf(opts, sources);
  const old = readManifest(opts.manifestPath);
  if (old && existsSync(opts.dir) && intact(old, key, opts.dir)) return { manifest: old, reused: true };

  const planted = tagBytes(opts.plantedTag);
  const known = opts.knownTags.map((t) => [t, tagBytes(t)] as const);
  const pools: SourcePools = {
    carriers: sources.filter((s) => s.bytes.indexOf(planted) >= 0),
    clean: sources.filter((s) => s.bytes.indexOf(planted) < 0),
  };
  if (pools.clean.length === 0) throw new Error(`every source driver holds ${opts.plantedTag}: nothing to pad with`);
  const rand = prng(opts.seed);
  const sizes = plannedSizes(opts.files, opts.totalBytes, rand);

  rmSync(opts.manifestPath, { force: true });
  rmSync(opts.dir, { recursive: true, force: true });
  const entries: CorpusEntry[] = [];
  const hits: Record<string, string[]> = Object.fromEntries(opts.knownTags.map((t) => [t, []]));
  for (let i = 0; i < sizes.length; i++) {
    const { entry, bytes } = buildFile(i, sizes[i], pools, planted, rand);
    const file = join(opts.dir, entry.path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, bytes);
    entries.push(entry);
    for (const [tag, b] of known) if (bytes.indexOf(b) >= 0) hits[tag].push(entry.path);
  }
  for (const list of Object.values(hits)) list.sort();
  const manifest: CorpusManifest = {
    key,
    entries,
    totalBytes: entries.reduce((a, e) => a + e.size, 0),
    imageBytes: entries.reduce((a, e) => a + e.imageBytes, 0),
    hits,
  };
  mkdirSync(dirname(opts.manifestPath), { recursive: true });
  writeFileSync(opts.manifestPath, JSON.stringify(manifest, null, 1));
  return { manifest, reused: false };
}

/** Files and bytes of a folder given on the command line (every file, as grep -r sees them). */
export function folderStats(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  const visit = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) visit(p);
      else if (e.isFile()) {
        files++;
        bytes += statSync(p).size;
      }
    }
  };
  visit(dir);
  return { files, bytes };
}

/** The driver files under the project's fixture folders, the padded corpus's sources. */
export function fixtureDrivers(root: string): string[] {
  const out: string[] = [];
  for (const group of ['drivers', 'wine']) {
    for (const arch of ['x64', 'x86']) {
      const dir = join(root, 'test', 'fixtures', group, arch);
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir)) if (/\.sys$/i.test(name)) out.push(join(dir, name));
    }
  }
  return out.sort();
}

// ---------------------------------------------------------------------------------------------------------
// The real-code corpus (the default): whole copies of real driver images, no overlay. Each copy has its PE
// CheckSum field changed (a field the loader ignores for drivers outside boot, and nothing we extract), so
// every file's SHA-256 differs and the index analyses each one as a fleet's distinct builds would make it.

/** Bump when the real-code generator changes, so old corpora are rebuilt. */
export const REAL_CORPUS_FORMAT = 1;

export interface RealCorpusOptions {
  dir: string;
  manifestPath: string;
  /** Real PE images (any architecture); each is copied whole, again and again, until `totalBytes`. */
  sources: string[];
  totalBytes: number;
  /** Tags whose exact file sets the manifest records. */
  knownTags: string[];
  seed: number;
}

export interface RealCorpusManifest {
  key: RealCorpusKey;
  entries: { path: string; size: number; base: string; copy: number }[];
  totalBytes: number;
  /** Bytes of each source group ("shared", "fixtures"): what the corpus is made of. */
  groups: Record<string, { sources: number; bytes: number }>;
  hits: Record<string, string[]>;
}

interface RealCorpusKey {
  format: number;
  seed: number;
  totalBytes: number;
  knownTags: string[];
  sources: { name: string; sha256: string }[];
}

/** File offset of the optional header's CheckSum, or undefined when the file is not a PE image. */
export function checksumOffset(buf: Buffer): number | undefined {
  if (buf.length < 64 || buf.readUInt16LE(0) !== 0x5a4d) return undefined;
  const pe = buf.readUInt32LE(0x3c);
  if (pe + 24 + 68 > buf.length || buf.readUInt32LE(pe) !== 0x4550) return undefined;
  return pe + 24 + 64;
}

/** Copy `copy` of `bytes`: the same image with CheckSum moved by copy + 1, so its hash is its own. */
export function distinctCopy(bytes: Buffer, copy: number): Buffer {
  const at = checksumOffset(bytes);
  if (at === undefined) throw new Error('not a PE image: no CheckSum field to make the copy distinct');
  const out = Buffer.from(bytes);
  out.writeUInt32LE((bytes.readUInt32LE(at) + copy + 1) >>> 0, at);
  return out;
}

/**
 * Real driver images for the benchmark: ../shared/drivers (when present), the project's fixture drivers
 * (mingw, ARM64, MSVC) and wine's (scripts/fetch-wine.sh). Every .sys file found, sorted, with the group
 * it came from.
 */
export function realDrivers(root: string, shared: string | undefined): { path: string; group: string }[] {
  const out: { path: string; group: string }[] = [];
  const visit = (dir: string, group: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (e.isFile() && /\.sys$/i.test(e.name)) out.push({ path: join(e.parentPath, e.name), group });
    }
  };
  if (shared) visit(join(shared, 'drivers'), 'shared');
  visit(join(root, 'test', 'fixtures'), 'fixtures');
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Build (or reuse) the real-code corpus: round after round, one distinct copy of every source, in a shuffled
 * order each round, until `totalBytes`; a third of the files in subfolders, as in a drivers folder.
 */
export function ensureRealCorpus(opts: RealCorpusOptions, groupOf: (path: string) => string = () => 'sources'): { manifest: RealCorpusManifest; reused: boolean } {
  // Identical sources (a fixture kept under two names, e.g. a KMDF driver whose tag follows its file name)
  // would give identical copies: the corpus keeps the first of each content.
  const hashes = new Map<SourceDriver, string>();
  const seen = new Set<string>();
  const sources = readSources(opts.sources).filter((s) => {
    if (checksumOffset(s.bytes) === undefined) return false;
    const hash = createHash('sha256').update(s.bytes).digest('hex');
    if (seen.has(hash)) return false;
    seen.add(hash);
    hashes.set(s, hash);
    return true;
  });
  if (sources.length === 0) throw new Error('no PE source drivers for the benchmark corpus');
  const key: RealCorpusKey = {
    format: REAL_CORPUS_FORMAT,
    seed: opts.seed,
    totalBytes: opts.totalBytes,
    knownTags: [...opts.knownTags].sort(),
    sources: sources.map((s) => ({ name: s.name, sha256: hashes.get(s)! })),
  };
  const old = readManifest(opts.manifestPath) as unknown as RealCorpusManifest | undefined;
  if (old && existsSync(opts.dir) && JSON.stringify(old.key) === JSON.stringify(key) &&
    old.entries.every((e) => {
      try {
        return statSync(join(opts.dir, e.path)).size === e.size;
      } catch {
        return false;
      }
    })) {
    return { manifest: old, reused: true };
  }
  const common = commonDir(opts.sources);
  const groups: RealCorpusManifest['groups'] = {};
  for (const s of sources) {
    const g = (groups[groupOf(join(common, s.name))] ??= { sources: 0, bytes: 0 });
    g.sources++;
    g.bytes += s.bytes.length;
  }
  const known = opts.knownTags.map((t) => [t, tagBytes(t)] as const);
  // direct.sys is built for x64, x86 and ARM64: a name shared by several sources takes its folder's name too.
  const stemOf = (name: string) => basename(name).replace(/\.sys$/i, '').replace(/[^A-Za-z0-9]/g, '');
  const stems = new Map<string, number>();
  for (const s of sources) stems.set(stemOf(s.name), (stems.get(stemOf(s.name)) ?? 0) + 1);
  const uniqueStem = (name: string) => {
    const stem = stemOf(name);
    return stems.get(stem)! > 1 ? `${basename(dirname(name)).replace(/[^A-Za-z0-9]/g, '')}${stem}` : stem;
  };
  const rand = prng(opts.seed);
  rmSync(opts.manifestPath, { force: true });
  rmSync(opts.dir, { recursive: true, force: true });
  const entries: RealCorpusManifest['entries'] = [];
  const hits: Record<string, string[]> = Object.fromEntries(opts.knownTags.map((t) => [t, []]));
  let total = 0;
  let i = 0;
  for (let copy = 0; total < opts.totalBytes; copy++) {
    const order = sources.map((s) => ({ s, r: rand() })).sort((a, b) => a.r - b.r).map((x) => x.s);
    for (const src of order) {
      if (total >= opts.totalBytes) break;
      const bytes = distinctCopy(src.bytes, copy);
      const stem = uniqueStem(src.name);
      const ext = rand() < 0.25 ? 'SYS' : 'sys';
      const path = `${subfolder(stem, i, rand)}${stem}_${String(copy).padStart(3, '0')}.${ext}`;
      const file = join(opts.dir, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, bytes);
      entries.push({ path, size: bytes.length, base: src.name, copy });
      for (const [tag, b] of known) if (bytes.indexOf(b) >= 0) hits[tag].push(path);
      total += bytes.length;
      i++;
    }
  }
  for (const list of Object.values(hits)) list.sort();
  const manifest: RealCorpusManifest = { key, entries, totalBytes: total, groups, hits };
  mkdirSync(dirname(opts.manifestPath), { recursive: true });
  writeFileSync(opts.manifestPath, JSON.stringify(manifest, null, 1));
  return { manifest, reused: false };
}
