// The benchmark's own parts: statistics, the corpus generator (deterministic, valid PE images, exact ground
// truth), the synthetic lookup database (real schema, counts that match SQL), and the child-process timer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { checksumOffset, distinctCopy, ensureCorpus, ensureRealCorpus, fixtureDrivers, folderStats, plannedSizes, realDrivers, type CorpusOptions } from './corpus.js';
import { prng } from '../test/helpers/prng.js';
import { ensureLookupDb } from './lookup-db.js';
import { paired, peakRssAvailable, runOnce, stats, timeSeries } from './timing.js';
import { readPe } from '../src/pe/read.js';
import { hostFiles, makeHosts } from './fleet.js';
import { buildDb } from '../test/db/helpers.js';
import { mergeDatabases } from '../src/db/merge.js';
import { mkdirSync } from 'node:fs';
import { SCHEMA_VERSION } from '../src/db/schema.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'whose-tag-bench-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('stats: median of odd and even counts, min, max', () => {
  assert.deepEqual(stats([5, 1, 3]), { median: 3, min: 1, max: 5, n: 3 });
  assert.deepEqual(stats([4, 1, 3, 10]), { median: 3.5, min: 1, max: 10, n: 4 });
  assert.throws(() => stats([]), /no samples/);
});

test('plannedSizes: deterministic, adds up to the total, has the large-file tail', () => {
  const a = plannedSizes(600, 200e6, prng(1));
  assert.deepEqual(a, plannedSizes(600, 200e6, prng(1)));
  assert.equal(a.length, 600);
  const sum = a.reduce((x, y) => x + y, 0);
  assert.ok(Math.abs(sum - 200e6) < 600, `sum ${sum}`);
  assert.equal(a.filter((s) => s >= 1.8e6).length >= 18, true);
  assert.equal(a.filter((s) => s > 10e6).length, 0);
});

function smallCorpus(dir: string, seed = 3): CorpusOptions {
  return {
    dir: join(dir, 'drivers'),
    manifestPath: join(dir, 'manifest.json'),
    sources: fixtureDrivers(ROOT),
    files: 60,
    totalBytes: 12e6,
    plantedTag: 'DrA1',
    knownTags: ['DrA1', 'Proc'],
    seed,
  };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

test('corpus: valid PE images, exact tag hits, reused when unchanged, rebuilt when the seed changes', (t) => {
  const dir = tmp(t);
  const opts = smallCorpus(dir);
  assert.equal(opts.sources.length, 54);
  const first = ensureCorpus(opts);
  assert.equal(first.reused, false);
  const m = first.manifest;
  assert.equal(m.entries.length, 60);
  assert.deepEqual(filesUnder(opts.dir), m.entries.map((e) => e.path).sort());
  assert.deepEqual(folderStats(opts.dir), { files: 60, bytes: m.totalBytes });

  const dra1: string[] = [];
  const proc: string[] = [];
  for (const e of m.entries) {
    const buf = readFileSync(join(opts.dir, e.path));
    assert.equal(buf.length, e.size);
    const pe = readPe(buf, e.path);
    assert.ok(pe.machine === 'x64' || pe.machine === 'x86', e.path);
    assert.ok(e.imageBytes < e.size, `${e.path} has an overlay`);
    if (buf.includes('DrA1')) dra1.push(e.path);
    if (buf.includes('Proc')) proc.push(e.path);
  }
  // Files 12 and 37 carry the planted tag, and no other file does.
  assert.deepEqual(m.entries.filter((e) => e.planted).map((e) => e.path.match(/_(\d{3})\./)?.[1]), ['012', '037']);
  assert.deepEqual(m.hits.DrA1, dra1.sort());
  assert.equal(m.hits.DrA1.length, 2);
  assert.deepEqual(m.hits.Proc, proc.sort());
  assert.ok(m.entries.some((e) => e.path.endsWith('.SYS')) && m.entries.some((e) => e.path.endsWith('.sys')));
  assert.ok(m.entries.some((e) => e.path.includes('/')));

  const again = ensureCorpus(opts);
  assert.equal(again.reused, true);
  assert.deepEqual(again.manifest, m);

  const other = ensureCorpus({ ...opts, seed: 4 });
  assert.equal(other.reused, false);
  assert.notDeepEqual(other.manifest.entries, m.entries);
  assert.deepEqual(filesUnder(opts.dir), other.manifest.entries.map((e) => e.path).sort());
});

test('lookup database: real schema, row counts and owner counts agree with SQL', (t) => {
  const path = join(tmp(t), 'lookup.db');
  const spec = { families: 30, versions: 3, tagsPerDriver: 7, seed: 11 };
  const { info, reused } = ensureLookupDb(path, spec);
  assert.equal(reused, false);
  assert.equal(info.rows, 30 * 3 * 7);
  assert.equal(info.drivers, 90);
  const db = new Database(path, { readonly: true });
  try {
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    const count = (sql: string, ...args: unknown[]) => (db.prepare(sql).pluck().get(...args) as number);
    assert.equal(count('SELECT COUNT(*) FROM findings'), 630);
    assert.equal(count('SELECT COUNT(*) FROM evidence'), 630);
    assert.equal(count('SELECT COUNT(*) FROM files'), 90);
    assert.equal(count('SELECT COUNT(DISTINCT tag) FROM findings'), info.distinctTags);
    const exact = Buffer.from(info.exactTag, 'latin1').readUInt32LE(0);
    assert.equal(count('SELECT COUNT(*) FROM findings WHERE tag = ?', exact), info.exactOwners);
    assert.ok(info.exactOwners >= 3);
    const prefix = Buffer.from(info.wildcard.slice(0, 2), 'latin1').readUInt16LE(0);
    assert.equal(count('SELECT COUNT(*) FROM findings WHERE (tag & 0xffff) = ?', prefix), info.wildcardOwners);
  } finally {
    db.close();
  }
  assert.equal(ensureLookupDb(path, spec).reused, true);
  assert.equal(ensureLookupDb(path, { ...spec, seed: 12 }).reused, false);
});

test('timing: runs a child N times, keeps its output, exit status and peak RSS', () => {
  const s = timeSeries(process.execPath, ['-e', 'process.stdout.write("hi"); process.exitCode = 1'], { runs: 3 });
  assert.equal(s.runs.length, 3);
  assert.ok(s.runs.every((r) => r.stdout === 'hi' && r.status === 1));
  assert.ok(s.time.min > 0 && s.time.min <= s.time.median && s.time.median <= s.time.max);
  // A child that holds ~64 MB of touched memory shows it in its peak RSS.
  const r = runOnce(process.execPath, ['-e', 'Buffer.alloc(64 * 1024 * 1024, 1)'], { measureRss: true });
  assert.equal(r.status, 0);
  if (peakRssAvailable()) assert.ok(r.peakRssKb! > 64 * 1024, `peak ${r.peakRssKb} KB`);
  else assert.equal(r.peakRssKb, undefined);
});

test('timing: baseline commands run right before each timed run, and comparisons are taken pair by pair', () => {
  const dir = mkdtempSync(join(tmpdir(), 'whose-tag-bench-baseline-'));
  try {
    const log = join(dir, 'order.txt');
    const append = (word: string): string[] => ['-e', `require('fs').appendFileSync(${JSON.stringify(log)}, '${word} ')`];
    const s = timeSeries(process.execPath, append('run'), {
      runs: 3,
      warmup: 1,
      baselines: { a: [process.execPath, append('a')], b: [process.execPath, append('b')] },
    });
    assert.equal(readFileSync(log, 'utf8'), 'run a b run a b run a b run ');
    assert.equal(s.baselineMs?.a.length, 3);
    assert.equal(s.baselineMs?.b.length, 3);
    // The median of per-pair differences, from the recorded times themselves.
    const diffs = s.runs.map((r, i) => r.ms - s.baselineMs!.a[i]).sort((x, y) => x - y);
    assert.equal(paired(s, 'a', (ms, base) => ms - base), diffs[1]);
    assert.equal(paired(s, 'missing', (ms) => ms), undefined);
    assert.equal(timeSeries(process.execPath, ['-e', '0'], { runs: 1 }).baselineMs, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('real corpus: whole images, each copy distinct by its CheckSum alone, exact tag hits, reused when unchanged', (t) => {
  const dir = tmp(t);
  const sources = realDrivers(ROOT, undefined);
  assert.ok(sources.length >= 50, `${sources.length} fixture drivers`);
  assert.ok(sources.every((s) => s.group === 'fixtures'));
  const opts = {
    dir: join(dir, 'real'),
    manifestPath: join(dir, 'real.json'),
    sources: sources.map((s) => s.path),
    totalBytes: 12e6,
    knownTags: ['DrA1', 'Proc'],
    seed: 5,
  };
  const { manifest: m, reused } = ensureRealCorpus(opts);
  assert.equal(reused, false);
  assert.ok(m.totalBytes >= 12e6 && m.totalBytes < 12e6 + 2e6, `${m.totalBytes}`);
  assert.deepEqual(filesUnder(opts.dir), m.entries.map((e) => e.path).sort());
  const hashes = new Set<string>();
  const dra1: string[] = [];
  for (const e of m.entries) {
    const buf = readFileSync(join(opts.dir, e.path));
    hashes.add(createHash('sha256').update(buf).digest('hex'));
    // The copy is its source byte for byte except the CheckSum field.
    const src = readFileSync(sources.find((s) => s.path.endsWith(e.base))!.path);
    const at = checksumOffset(src)!;
    assert.equal(buf.length, src.length);
    assert.ok(buf.subarray(0, at).equals(src.subarray(0, at)) && buf.subarray(at + 4).equals(src.subarray(at + 4)), e.path);
    assert.equal(buf.readUInt32LE(at), (src.readUInt32LE(at) + e.copy + 1) >>> 0);
    readPe(buf, e.path);
    if (buf.includes('DrA1')) dra1.push(e.path);
  }
  assert.equal(hashes.size, m.entries.length, 'every file has its own SHA-256');
  assert.deepEqual(m.hits.DrA1, dra1.sort());
  assert.ok(m.hits.DrA1.length > 0 && m.hits.Proc.length > m.hits.DrA1.length);
  assert.equal(ensureRealCorpus(opts).reused, true);
  assert.throws(() => distinctCopy(Buffer.from('not a PE image'), 0), /not a PE image/);
});

test('fleet: host databases are their host\'s share of the index, valid, and merge into one fleet', async (t) => {
  const dir = tmp(t);
  const files: Record<string, { tags: { tag: string; tier: 'call' | 'code' | 'data' }[] }> = {};
  for (let i = 0; i < 20; i++) files[`d${i}.sys`] = { tags: [{ tag: `T${String(i).padStart(3, '0')}`, tier: 'call' }] };
  const index = join(dir, 'index.db');
  (await buildDb(join(dir, 'src'), index, [{ host: 'template', files }])).close();
  const spec = { hosts: 6, share: 0.7, seed: 3 };
  const hostsDir = join(dir, 'hosts');
  mkdirSync(hostsDir);
  const written = makeHosts(index, hostsDir, spec, 0, spec.hosts);
  const ids = Array.from({ length: 20 }, (_, i) => i + 1);
  assert.equal(written, Array.from({ length: spec.hosts }, (_, h) => hostFiles(ids, spec, h).length).reduce((a, b) => a + b, 0));
  for (let h = 0; h < spec.hosts; h++) {
    const db = new Database(join(hostsDir, `host-0000${h}.db`), { readonly: true });
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      const hosts = db.prepare('SELECT DISTINCT host FROM files').pluck().all();
      assert.deepEqual(hosts, [`host-0000${h}`]);
      const n = db.prepare('SELECT COUNT(*) FROM files').pluck().get() as number;
      assert.equal(n, hostFiles(ids, spec, h).length);
      assert.equal(db.prepare('SELECT COUNT(*) FROM contents').pluck().get(), n);
      assert.equal(db.prepare('SELECT COUNT(*) FROM findings').pluck().get(), n);
      assert.equal(db.prepare('SELECT COALESCE(SUM(files), 0) FROM content_hosts').pluck().get(), n);
      assert.equal(db.prepare('SELECT COUNT(*) FROM tag_values').pluck().get(), n);
    } finally {
      db.close();
    }
  }
  const s = mergeDatabases([hostsDir], join(dir, 'fleet.db'));
  assert.equal(s.hosts, spec.hosts);
  assert.equal(s.files, written);
});
