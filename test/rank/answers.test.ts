// Right answers from the report commands (issue 9 item 4) and what poolmon / !poolused users expect of them
// (issue 10 items 6 and 7), end to end through the real CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.js';
import { needShared, sharedPath } from '../helpers/shared.js';
import { openDb } from '../../src/db/schema.js';
import { indexPaths } from '../../src/index/pipeline.js';
import { serializeSnapshot } from '../../src/reports/snapshot.js';
import { c, row } from './helpers.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const POOLTAG = sharedPath('pooltag/pooltag-sdk-2023.txt');
const report = (name: string) => sharedPath(`reports/${name}`);

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'whose-tag-answers-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** No default database, no pooltag.txt from the environment: only what a test passes is used. */
function run(args: string[]) {
  return runCli(args, { WHOSE_TAG_DB: join(tmpdir(), 'whose-tag-no-such.db'), WHOSE_TAG_POOLTAG: '' });
}

interface JsonRow {
  tag: string;
  driver: string;
  by: string;
  description?: string;
  owners: { name: string; source: string; wildcard?: string }[];
}

test('an exact pooltag.txt entry beats a wildcard one: NtFC is Create.c, not "Unrecognized NTFS tag"', { skip: needShared('reports') }, () => {
  const r = run(['top', report('adhoc-sysinfo22-1.txt'), '--pooltag', POOLTAG, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  const ntfc: JsonRow = j.rows.find((x: JsonRow) => x.tag === 'NtFC');
  assert.deepEqual([ntfc.driver, ntfc.by, ntfc.description], ['ntfs.sys', 'pooltag', 'Create.c']);
  assert.deepEqual(ntfc.owners, [{ name: 'ntfs.sys', source: 'pooltag', description: 'Create.c' }]);
  // A tag only a wildcard entry covers says so.
  const smcb: JsonRow = j.rows.find((x: JsonRow) => x.tag === 'smCB');
  assert.equal(smcb.by, 'wildcard');
  assert.equal(smcb.owners[0].wildcard, 'sm??');
  // This home-grown table has only byte counts: every other counter is absent, not 0.
  assert.deepEqual(j.missing, ['allocs', 'frees', 'outstanding']);
  assert.deepEqual(j.rows[0].nonpaged, { allocs: null, frees: null, outstanding: null, bytes: 22390453043 });
  const table = run(['top', report('adhoc-sysinfo22-1.txt'), '--pooltag', POOLTAG, '-q']).stdout;
  assert.match(table, /^NtFC {15}20\.9 GB {3}20\.9 GB {35}ntfs\.sys +pooltag +Create\.c$/m, 'absent counters are blank');
  assert.match(table, /\nTotal all pool: 21\.1 GB \(22653540761 bytes\) over 6 tags\.\n/);
  const sorted = run(['top', report('adhoc-sysinfo22-1.txt'), '--sort', 'outstanding']);
  assert.equal(sorted.code, 2);
  assert.match(sorted.stderr, /--sort outstanding: this adhoc report has no outstanding counts \(it gives bytes\)/);
});

test("poolmon's Mapped_Driver names owners: [ipsec][ipsec.sys - …] is one driver, localtag's [el90xbc5] is el90xbc5.sys", { skip: needShared('reports') }, () => {
  const d3 = JSON.parse(run(['top', report('poolmon-display-3.txt'), '--by', 'driver', '--json', '-q']).stdout);
  assert.deepEqual(d3.rows.map((d: { driver: string; by: string; tags: unknown[] }) => [d.driver, d.by, d.tags.length]), [['el90xbc5.sys', 'report', 3]]);
  const d4 = JSON.parse(run(['top', report('poolmon-display-4.txt'), '--by', 'driver', '--json', '-q']).stdout);
  assert.deepEqual(d4.rows.map((d: { driver: string; by: string; tags: unknown[] }) => [d.driver, d.by, d.tags.length]), [['ipsec.sys', 'report', 8]]);
  // The screen was filtered (/iIp*): its header's Pool N/P are the whole pool, and percentages are of it.
  assert.deepEqual(d4.totals.report, { allocs: null, frees: null, outstanding: null, bytes: (8372 + 13384) * 1024 });
  assert.equal(d4.totals.rowsAddUp, false);
  const table = run(['top', report('poolmon-display-4.txt'), '-q']).stdout;
  assert.match(table, /\nThe 8 tags listed hold 66\.5 KB \(68136 bytes, 0\.3%\): the rows do not add up to the report's total/);
  // !poolused's Binary: is an owner too when pooltag.txt does not know the tag.
  const pu = JSON.parse(run(['top', report('poolused-2.txt'), '--json', '-n', '0', '-q']).stdout);
  const ntxf: JsonRow = pu.rows.find((x: JsonRow) => x.tag === 'NtxF');
  assert.deepEqual([ntxf.driver, ntxf.by], ['ntfs.sys', 'report']);
  assert.deepEqual(ntxf.owners, [{ name: 'ntfs.sys', source: 'report' }]);
});

test('--pool paged leaves out tags with nothing in paged pool', { skip: needShared('reports') }, () => {
  const j = JSON.parse(run(['top', report('poolused-1.txt'), '--pool', 'paged', '--json', '-n', '0', '-q']).stdout);
  assert.ok(j.rows.length > 0);
  for (const r of j.rows) assert.ok(r.paged.bytes > 0 || r.paged.outstanding > 0, r.tag);
  assert.ok(!j.rows.some((r: JsonRow) => r.tag === '8042'), '8042 is nonpaged only');
  assert.equal(j.rows.length, 11);
});

async function fixtureDb(t: { after(fn: () => void): void }) {
  const dir = tempDir(t);
  const dbPath = join(dir, 'tags.db');
  const db = openDb(dbPath);
  await indexPaths(db, [join(FIXTURES, 'msvc'), join(FIXTURES, 'drivers', 'x64')], { host: 'ws01' });
  await indexPaths(db, [join(FIXTURES, 'drivers', 'x86')], { host: 'ws02' });
  db.close();
  const snap = join(dir, 'snap.json');
  const rows = [row('WDiv', c(9, 0, 36864)), row('DrA1', c(10, 2, 4000)), row('WrB1', c(4, 0, 40000), c(2, 0, 8192)), row('Zzzz', c(3, 0, 300))];
  writeFileSync(snap, serializeSnapshot({ rows }) + '\n');
  return { dir, dbPath, snap };
}

test('top --by driver: one row for the x86 and x64 builds of a driver, with its best evidence', async (t) => {
  const { dbPath, snap } = await fixtureDb(t);
  const r = run(['top', snap, '--db', dbPath, '--by', 'driver', '-q']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^DRIVER +BY +TAGS +OUTSTANDING +BYTES +NONPAGED +PAGED +PER ALLOC +MADE OF \(largest tags\)$/m);
  assert.match(r.stdout, /^WinDivert\.sys +call +1 +9 +36\.0 KB +36\.0 KB +0 B +4\.0 KB +WDiv 36\.0 KB$/m);
  assert.doesNotMatch(r.stdout, /shared:/);
  assert.match(r.stdout, /^\(unknown\) +1 +3 +300 B/m);
  // --driver takes either build's file name, or the driver's own name.
  for (const name of ['WinDivert32.sys', 'windivert', 'WinDivert.sys']) {
    const only = JSON.parse(run(['top', snap, '--db', dbPath, '--driver', name, '--json', '-q']).stdout);
    assert.deepEqual(only.rows.map((x: JsonRow) => x.tag), ['WDiv'], name);
  }
});

test('--host attributes only with the drivers that host has', async (t) => {
  const { dbPath, snap } = await fixtureDb(t);
  const ws01 = JSON.parse(run(['top', snap, '--db', dbPath, '--host', 'ws01', '--json', '-q']).stdout);
  const wdiv = ws01.rows.find((x: JsonRow) => x.tag === 'WDiv');
  // ws01 has both WinDivert builds (the msvc folder), and only ws01's x64 fixture drivers.
  assert.equal(wdiv.driver, 'WinDivert.sys');
  assert.deepEqual(
    ws01.rows.find((x: JsonRow) => x.tag === 'DrA1').owners.map((o: { name: string; machine: string }) => [o.name, o.machine]),
    [['direct.sys', 'x64']],
  );
  const ws02 = JSON.parse(run(['top', snap, '--db', dbPath, '--host', 'WS02', '--json', '-q']).stdout);
  assert.equal(ws02.rows.find((x: JsonRow) => x.tag === 'WDiv').driver, '(unknown)');
  assert.deepEqual(ws02.rows.find((x: JsonRow) => x.tag === 'DrA1').owners.map((o: { machine: string }) => o.machine), ['x86']);
  const bad = run(['top', snap, '--db', dbPath, '--host', 'nope']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^whose-tag: --host nope: .*tags\.db records no such host \(it has: ws01, ws02\)\n$/);
  const enriched = run(['enrich', snap, '--db', dbPath, '--host', 'ws02', '-q']);
  assert.equal(JSON.parse(enriched.stdout).rows.find((x: { tag: string }) => x.tag === 'WDiv').owner, '(unknown)');
});

test('--bytes exact / -b, PER ALLOC, --tag and --driver on top and diff', async (t) => {
  const { dir, dbPath, snap } = await fixtureDb(t);
  const exact = run(['top', snap, '--db', dbPath, '-b', '-q']).stdout;
  assert.match(exact, /^WrB1 +6 +48192 +40000 +8192 +8032 +6 +0 +wrappers\.sys +call/m);
  assert.equal(run(['top', snap, '--db', dbPath, '--bytes', 'exact', '-q']).stdout, exact);
  const tagged = JSON.parse(run(['top', snap, '--db', dbPath, '--tag', 'Wr*', '--tag', 'Zzzz', '--json', '-q']).stdout);
  assert.deepEqual(tagged.rows.map((x: JsonRow) => x.tag), ['WrB1', 'Zzzz']);
  assert.equal(tagged.rows[0].perAlloc, 8032);
  const badTag = run(['top', snap, '--tag', 'Toolong']);
  assert.equal(badTag.code, 2);
  assert.match(badTag.stderr, /^whose-tag: --tag Toolong: /);
  const later = join(dir, 'later.json');
  writeFileSync(later, serializeSnapshot({ rows: [row('WDiv', c(9, 0, 36864)), row('DrA1', c(30, 2, 12000)), row('WrB1', c(5, 0, 50000), c(2, 0, 8192))] }) + '\n');
  const diff = run(['diff', snap, later, '--db', dbPath, '--by', 'tag', '-b', '--driver', 'direct.sys', '-q']);
  assert.equal(diff.code, 0, diff.stderr);
  assert.match(diff.stdout, /^DrA1 +4000 +12000 +\+8000 +\+20 +direct\.sys$/m);
  assert.doesNotMatch(diff.stdout, /WrB1|WDiv/);
  const diffTag = JSON.parse(run(['diff', snap, later, '--db', dbPath, '--tag', 'Wr??', '--json', '-q']).stdout);
  assert.deepEqual(diffTag.tags.map((x: { tag: string; bytes: number }) => [x.tag, x.bytes]), [['WrB1', 10000]]);
});

test('imported pooltag.txt entries name owners in top, enrich and diff, and the note on where to get one is said once', async (t) => {
  const dir = tempDir(t);
  const dbPath = join(dir, 'tags.db');
  openDb(dbPath).close();
  const snap = join(dir, 's.json');
  writeFileSync(snap, serializeSnapshot({ rows: [row('Mine', c(3, 0, 300)), row('Fam1', c(1, 0, 10))] }) + '\n');
  const before = run(['top', snap, '--db', dbPath]);
  const notes = before.stderr.split('\n').filter((l) => /pooltag\.txt/.test(l));
  assert.equal(notes.length, 1);
  assert.match(notes[0], /^whose-tag: no pooltag\.txt: Microsoft's ships with the Debugging Tools for Windows .*triage\\pooltag\.txt; pass --pooltag FILE/);
  assert.equal(run(['top', snap, '--db', dbPath, '--quiet']).stderr, '');
  const file = join(dir, 'mine-pooltag.txt');
  writeFileSync(file, 'Mine - mine.sys - My buffers\r\nFam? - fam.sys - A family\r\n');
  assert.equal(run(['db', 'import-pooltag', file, '--db', dbPath]).code, 0);
  const top = run(['top', snap, '--db', dbPath, '--json']);
  assert.equal(top.code, 0, top.stderr);
  assert.doesNotMatch(top.stderr, /pooltag/);
  const rows: JsonRow[] = JSON.parse(top.stdout).rows;
  assert.deepEqual(rows.map((x) => [x.tag, x.driver, x.by]), [['Mine', 'mine.sys', 'pooltag'], ['Fam1', 'fam.sys', 'wildcard']]);
  const enrich = run(['enrich', snap, '--db', dbPath, '-q']);
  assert.deepEqual(JSON.parse(enrich.stdout).rows.map((x: { owner: string }) => x.owner), ['mine.sys', 'fam.sys']);
  const diff = JSON.parse(run(['diff', snap, snap, '--db', dbPath, '--json', '-q']).stdout);
  assert.deepEqual(diff.tags.map((x: { tag: string; owners: { name: string }[] }) => [x.tag, x.owners.map((o) => o.name)]), [['Fam1', ['fam.sys']], ['Mine', ['mine.sys']]]);
  // The same file given with --pooltag is one source, not two.
  const both = JSON.parse(run(['top', snap, '--db', dbPath, '--pooltag', file, '--json', '-q']).stdout);
  assert.equal(both.rows[0].owners.length, 1);
});

test('enrich on an NDJSON series stays NDJSON; enrich --json is one object per line', (t) => {
  const dir = tempDir(t);
  const series = join(dir, 'series.ndjson');
  const pooltag = join(dir, 'pooltag.txt');
  writeFileSync(pooltag, 'Proc - nt!ps - Process objects\n');
  writeFileSync(series, [0, 1].map((i) => serializeSnapshot({ time: `2026-11-23T19:0${i}:00Z`, rows: [row('Proc', c(5 + i, 1, 640))] })).join('\n') + '\n');
  const r = run(['enrich', series, '--pooltag', pooltag, '-q']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 2);
  for (const l of lines) assert.deepEqual(Object.keys(JSON.parse(l).rows[0]).slice(-3), ['owner', 'by', 'ownerDescription']);
  assert.equal(JSON.parse(lines[1]).rows[0].owner, 'nt');
  // The enriched series is still a report.
  const back = join(dir, 'enriched.ndjson');
  writeFileSync(back, r.stdout);
  assert.equal(run(['diff', back, '--json', '-q']).code, 0);
  const j = run(['enrich', series, '--pooltag', pooltag, '--json', '-q']).stdout.trimEnd().split('\n');
  assert.equal(j.length, 2);
  assert.deepEqual(JSON.parse(j[0]).rows.map((x: { tag: string; owner: string }) => [x.tag, x.owner]), [['Proc', 'nt']]);
});

test('inspect and lookup: allocation sites first, "(+24 more)" when evidence is capped, JSON RVAs in hex', async (t) => {
  const file = join(FIXTURES, 'msvc', 'WinDivert64.sys');
  const table = run(['inspect', file]).stdout.split('\n').filter((l) => l.startsWith('call  WDiv'));
  assert.equal(table.length, 9);
  // WDiv also names WinDivert's two NDIS pools (framework evidence): allocations too, in address order.
  assert.match(table[0], /framework: NdisAllocateNetBufferListPool/);
  assert.match(table[2], /ExAllocatePoolWithTag/);
  assert.ok(table.slice(0, 8).every((l) => !/ExFreePoolWithTag/.test(l)), 'allocations before frees');
  assert.match(table[8], /^call  WDiv  0x76694457  pool {5}32  \(\+24 more\)$/);
  const j = JSON.parse(run(['inspect', file, '--json']).stdout);
  assert.equal(j.findings[0].evidence[2].rva, '0x7779');
  assert.equal(j.findings[0].evidence[2].api, 'ExAllocatePoolWithTag');
  assert.equal(j.findings[0].moreSites, 24);
  const dir = tempDir(t);
  const dbPath = join(dir, 'tags.db');
  const db = openDb(dbPath);
  await indexPaths(db, [join(FIXTURES, 'msvc')], { host: 'h' });
  db.close();
  const lookup = run(['WDiv', '--db', dbPath, '-q']);
  assert.match(lookup.stdout, /\.text\+0x3301 framework: NdisAllocateNetBufferListPool NET_BUFFER_LIST_POOL_PARAMETERS\.PoolTag; \.text\+0x333f framework: NdisAllocateNetBufferPool NET_BUFFER_POOL_PARAMETERS\.PoolTag \(\+30 more\)/);
  const lj = JSON.parse(run(['WDiv', '--db', dbPath, '--json', '-q']).stdout);
  assert.equal(lj[0].owners[0].evidence[2].rva, '0x7779');
  assert.equal(lj[0].owners[0].moreSites, 24);
});
