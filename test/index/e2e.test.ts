// index → lookup → export → merge on the real fixture drivers (project-built and libwine's), with the real
// extractor. Skipped only when the fixture folders are absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDb, type Db } from '../../src/db/schema.js';
import { indexPaths } from '../../src/index/pipeline.js';
import { IndexStore } from '../../src/db/store.js';
import { lookup } from '../../src/db/lookup.js';
import { exportDb } from '../../src/db/export.js';
import { mergeDatabases } from '../../src/db/merge.js';
import { extractTags } from '../../src/extract/extract.js';
import { parsePooltag } from '../../src/pooltag/parse.js';
import { formatTag, parseTagQuery, tagFromText } from '../../src/tag.js';
import { tempDir } from '../db/helpers.js';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const dirs = {
  driversX64: join(fixtures, 'drivers', 'x64'),
  driversX86: join(fixtures, 'drivers', 'x86'),
  wineX64: join(fixtures, 'wine', 'x64'),
  wineX86: join(fixtures, 'wine', 'x86'),
};
const present = Object.values(dirs).every((d) => existsSync(d) && readdirSync(d).some((n) => n.endsWith('.sys')));
const truth = present ? JSON.parse(readFileSync(join(fixtures, 'drivers', 'truth.json'), 'utf8')) : undefined;

function sysFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.toLowerCase().endsWith('.sys')).map((n) => join(dir, n));
}

function stored(db: Db, path: string): string[] {
  return (
    db
      .prepare(`SELECT f.tag, f.tier, f.kind, f.sites FROM findings f JOIN files x ON x.sha256 = f.sha256 WHERE x.path = ?`)
      .all(path) as { tag: number; tier: string; kind: string; sites: number }[]
  )
    .map((r) => `${formatTag(r.tag)}|${r.tier}|${r.kind}|${r.sites}`)
    .sort();
}

test('fixtures: index → unchanged re-index → lookup → export → merge', { skip: !present && 'fixture drivers absent' }, async (t) => {
  const dir = tempDir(t, 'whose-tag-e2e-');
  const aPath = join(dir, 'a.db');
  const bPath = join(dir, 'b.db');
  const a = openDb(aPath);
  t.after(() => a.close());

  const hostAFiles = [...sysFiles(dirs.driversX64), ...sysFiles(dirs.wineX64)];
  const s1 = await indexPaths(a, [dirs.driversX64, dirs.wineX64], { host: 'hostA', jobs: 2 });
  assert.deepEqual([s1.files, s1.new, s1.failed.length], [hostAFiles.length, hostAFiles.length, 0]);
  assert.equal(s1.analysed + s1.reused, hostAFiles.length);

  let reads = 0;
  const s2 = await indexPaths(a, [dirs.driversX64, dirs.wineX64], {
    host: 'hostA',
    readFile: async (p) => (reads++, readFile(p)),
  });
  assert.deepEqual([reads, s2.unchanged, s2.bytesRead], [0, hostAFiles.length, 0]);

  // The database holds exactly what the extractor says about each file, given the exported wrappers indexed.
  const exportedWrappers = new IndexStore(a).exportedWrappers();
  assert.ok(exportedWrappers.length > 0);
  for (const path of hostAFiles) {
    const report = extractTags(readFileSync(path), { path, exportedWrappers });
    const expected = report.findings.map((f) => `${formatTag(f.tag)}|${f.tier}|${f.kind}|${f.sites}`).sort();
    assert.deepEqual(stored(a, path), expected, path);
  }

  // Every tag the ground truth proves at call tier is answered with its driver, at call tier, with evidence.
  const direct = truth.drivers.direct.x64.call as string[];
  const results = lookup(a, direct.map((tag) => parseTagQuery(tag)));
  for (const r of results) {
    const best = r.owners[0];
    assert.equal(best.name, 'direct.sys', r.query.input);
    assert.equal(best.tier, 'call', r.query.input);
    assert.ok(best.evidence.length >= 1 && best.evidence[0].api, r.query.input);
    assert.deepEqual(best.hosts, ['hostA']);
  }
  const [wild] = lookup(a, [parseTagQuery('DrA?')]);
  assert.deepEqual([...new Set(wild.owners.filter((o) => o.tier === 'call').map((o) => formatTag(o.tag)))].sort(), ['DrA1', 'DrA2', 'DrA3']);

  // Export: the fixture drivers' call-tier pool tags come back through our own pooltag parser.
  let text = '';
  exportDb(a, 'pooltag', (s) => (text += s), { minTier: 'call' });
  const back = parsePooltag(text, 'export');
  assert.deepEqual(back.warnings, []);
  const exported = new Set(back.entries.map((e) => `${e.binary}|${e.tag}`));
  for (const tag of direct) assert.ok(exported.has(`direct.sys|${tag}`), tag);
  const callRows = a
    .prepare(`SELECT COUNT(*) FROM (SELECT DISTINCT x.path, f.tag FROM findings f JOIN files x ON x.sha256 = f.sha256
              WHERE f.tier = 'call' AND f.kind = 'pool' AND (SELECT company_name FROM contents c WHERE c.sha256 = f.sha256) IS NOT 'Microsoft Corporation')`)
    .pluck()
    .get() as number;
  assert.equal(back.entries.length, callRows);

  // Host B: the x86 builds, libwine x86, and one file whose content host A already has.
  const b = openDb(bPath);
  const shared = join(dirs.driversX64, 'direct.sys');
  const sb = await indexPaths(b, [dirs.driversX86, dirs.wineX86, shared], { host: 'hostB' });
  assert.equal(sb.failed.length, 0);
  b.close();
  a.close();

  const fleetPath = join(dir, 'fleet.db');
  const m = mergeDatabases([aPath, bPath], fleetPath);
  const hostBFiles = sysFiles(dirs.driversX86).length + sysFiles(dirs.wineX86).length + 1;
  assert.deepEqual([m.hosts, m.files], [2, hostAFiles.length + hostBFiles]);
  const fleet = openDb(fleetPath, { readonly: true });
  t.after(() => fleet.close());
  const distinct = fleet.prepare('SELECT COUNT(DISTINCT sha256) FROM files').pluck().get();
  assert.equal(m.contents, distinct);
  assert.equal(fleet.prepare('SELECT COUNT(*) FROM contents').pluck().get(), distinct);
  const [dra1] = lookup(fleet, [parseTagQuery('DrA1')], undefined, { listHosts: true });
  const x64 = dra1.owners.find((o) => o.paths!.includes(shared))!;
  assert.deepEqual(x64.hosts, ['hostA', 'hostB']);
  assert.equal(x64.hostCount, 2);
  assert.ok(dra1.owners.some((o) => o.machine === 'x86' && o.name === 'direct.sys' && o.tier === 'call'));
  assert.equal(tagFromText('DrA1'), x64.tag);
});
