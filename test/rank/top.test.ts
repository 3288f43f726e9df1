import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rankDrivers, rankTags, totals } from '../../src/rank/top.js';
import { driverGrid, driverJson, tagGrid, tagJson, totalsLines } from '../../src/rank/views.js';
import { formatTag, tagFromText } from '../../src/tag.js';
import { c, db, fakeOwners, pt, row, ZERO } from './helpers.js';

const rows = [
  row('Aaaa', c(10, 4, 6000), c(2, 0, 1000)), // mine.sys
  row('Bbbb', c(5, 0, 3000)), //                 mine.sys
  row('Shrd', c(7, 1, 9000)), //                 claimed by a.sys and b.sys
  row('Unkn', c(3, 1, 500), c(1, 0, 4096)), //   nobody
  row('Objr', c(1, 0, 64)), //                   object-ref only: nobody
  row('Ptag', ZERO, c(100, 1, 20000)), //        pooltag: nt!mm
];
const owners = fakeOwners({
  Aaaa: [db('mine.sys', 'call')],
  Bbbb: [db('MINE.sys', 'code'), pt('old.sys')],
  Shrd: [db('a.sys', 'call'), db('b.sys', 'call')],
  Objr: [db('ob.sys', 'call', { kind: 'object-ref' })],
  Ptag: [pt('nt!mm', 'Mm general')],
});

test('tags rank by the chosen pool and key', () => {
  const all = rankTags(rows, owners, { pool: 'all', sort: 'bytes' });
  assert.deepEqual(all.map((t) => formatTag(t.tag)), ['Ptag', 'Shrd', 'Aaaa', 'Unkn', 'Bbbb', 'Objr']);
  assert.deepEqual(all[2].counters, { allocs: 12, frees: 4, outstanding: 8, bytes: 7000 });
  const np = rankTags(rows, owners, { pool: 'nonpaged', sort: 'outstanding' });
  // --pool nonpaged leaves out Ptag: it has nothing in nonpaged pool.
  assert.deepEqual(np.map((t) => formatTag(t.tag)), ['Aaaa', 'Shrd', 'Bbbb', 'Unkn', 'Objr']);
  const paged = rankTags(rows, owners, { pool: 'paged', sort: 'bytes' });
  assert.deepEqual(paged.map((t) => formatTag(t.tag)), ['Ptag', 'Unkn', 'Aaaa']);
  const byTag = rankTags(rows, owners, { pool: 'all', sort: 'tag' });
  assert.deepEqual(byTag.map((t) => formatTag(t.tag)), ['Aaaa', 'Bbbb', 'Objr', 'Ptag', 'Shrd', 'Unkn']);
  const diff = rankTags(rows, owners, { pool: 'paged', sort: 'diff' });
  assert.equal(formatTag(diff[0].tag), 'Ptag');
  assert.equal(diff[0].counters.outstanding, 99);
});

test('drivers: each tag counted once, shared tags in their own row, unknown rolled up', () => {
  const tags = rankTags(rows, owners, { pool: 'all', sort: 'bytes' });
  const drivers = rankDrivers(tags, { pool: 'all', sort: 'bytes' });
  assert.deepEqual(
    drivers.map((d) => [d.driver, d.counters.bytes, d.tags.map((t) => formatTag(t.tag))]),
    [
      ['nt', 20000, ['Ptag']],
      ['mine.sys', 10000, ['Aaaa', 'Bbbb']],
      ['shared: a.sys, b.sys', 9000, ['Shrd']],
      ['(unknown)', 4660, ['Unkn', 'Objr']],
    ],
  );
  const sum = drivers.reduce((s, d) => s + (d.counters.bytes ?? 0), 0);
  assert.equal(sum, totals(tags).counters.bytes);
  assert.equal(sum, 43660);
  assert.deepEqual(drivers[1].nonpaged, { allocs: 15, frees: 4, outstanding: 11, bytes: 9000 });
  assert.deepEqual(drivers[1].paged, { allocs: 2, frees: 0, outstanding: 2, bytes: 1000 });
});

test('totals say how much of the pool has an owner', () => {
  const t = totals(rankTags(rows, owners, { pool: 'all', sort: 'bytes' }));
  assert.equal(t.tags, 6);
  assert.equal(t.attributedTags, 4);
  assert.deepEqual(t.counters, { allocs: 129, frees: 7, outstanding: 122, bytes: 43660 });
  assert.equal(t.attributed.bytes, 39000);
  assert.deepEqual(totalsLines(t, 'all', { rows: 6, of: 6, what: 'tags' }), [
    'Total all pool: 42.6 KB (43660 bytes) in 122 outstanding allocations over 6 tags.',
    'Attributed to a driver: 38.1 KB (89.3%) in 4 tags, 118 outstanding allocations (96.7%).',
  ]);
  assert.equal(totalsLines(t, 'all', { rows: 2, of: 6, what: 'tags' })[2], 'Showing 2 of 6 tags; -n 0 shows all.');
});

const ctx = (format: string, tags: ReturnType<typeof rankTags>) => ({ format, kind: 'usage', pool: 'all' as const, totals: totals(tags) });

test('JSON for --by tag: format, missing, rows (counters, owner, how it was found, every owner), totals', () => {
  const tags = rankTags(rows, owners, { pool: 'all', sort: 'bytes' });
  const j = tagJson(ctx('poolmon', tags), tags.slice(0, 2));
  assert.deepEqual(Object.keys(j), ['format', 'kind', 'missing', 'rows', 'totals']);
  assert.deepEqual(j.rows[1], {
    tag: 'Shrd',
    tagHex: '0x64726853',
    nonpaged: { allocs: 7, frees: 1, outstanding: 6, bytes: 9000 },
    paged: { allocs: 0, frees: 0, outstanding: 0, bytes: 0 },
    perAlloc: 1500,
    driver: 'shared: a.sys, b.sys',
    claimants: ['a.sys', 'b.sys'],
    by: 'call',
    owners: [db('a.sys', 'call'), db('b.sys', 'call')],
  });
  assert.deepEqual(j.totals, {
    pool: 'all',
    tags: 6,
    rows: { allocs: 129, frees: 7, outstanding: 122, bytes: 43660 },
    attributed: { tags: 4, allocs: 124, frees: 6, outstanding: 118, bytes: 39000 },
    report: null,
    rowsAddUp: true,
  });
  const objr = tagJson(ctx('poolmon', tags), tags).rows.find((r) => r.tag === 'Objr');
  assert.deepEqual(objr?.owners, []);
});

test('JSON for --by driver lists each driver with its tags and claimants', () => {
  const tags = rankTags(rows, owners, { pool: 'all', sort: 'bytes' });
  const j = driverJson(ctx('poolused', tags), rankDrivers(tags, { pool: 'all', sort: 'bytes' }));
  assert.equal(j.format, 'poolused');
  assert.deepEqual(j.rows[2], {
    driver: 'shared: a.sys, b.sys',
    by: 'call',
    tags: [{ tag: 'Shrd', by: 'call', outstanding: 6, bytes: 9000 }],
    nonpaged: { allocs: 7, frees: 1, outstanding: 6, bytes: 9000 },
    paged: { allocs: 0, frees: 0, outstanding: 0, bytes: 0 },
    owners: ['a.sys', 'b.sys'],
  });
});

test('tables are human-readable, CSV cells exact', () => {
  const tags = rankTags(rows, owners, { pool: 'all', sort: 'bytes' });
  const human = tagGrid(tags, 'all', 'human');
  assert.deepEqual(human.columns.map((c) => c.key), ['tag', 'outstanding', 'bytes', 'nonpaged', 'paged', 'perAlloc', 'allocs', 'frees', 'owner', 'basis', 'description']);
  assert.deepEqual(human.rows[0], { tag: 'Ptag', outstanding: 99, bytes: '19.5 KB', nonpaged: '0 B', paged: '19.5 KB', perAlloc: '202 B', allocs: 100, frees: 1, owner: 'nt', basis: 'pooltag', description: 'Mm general' });
  const np = rankTags(rows, owners, { pool: 'nonpaged', sort: 'bytes' });
  const exact = tagGrid(np, 'nonpaged', 'exact');
  assert.deepEqual([exact.rows[0].tag, exact.rows[0].bytes], ['Shrd', 9000]);
  assert.equal(exact.columns.length, 9);
  assert.equal(exact.rows[0].perAlloc, 1500);
  const drivers = rankDrivers(tags, { pool: 'all', sort: 'bytes' });
  assert.equal(driverGrid(drivers, 'all', 'human').rows[1].madeOf, 'Aaaa 6.8 KB, Bbbb 2.9 KB');
  assert.equal(driverGrid(drivers, 'all', 'csv').rows[1].madeOf, 'Aaaa:7000 Bbbb:3000');
  assert.equal(driverGrid(drivers, 'all', 'exact').rows[1].madeOf, 'Aaaa 7000, Bbbb 3000');
  assert.equal(driverGrid(drivers, 'all', 'exact').rows[1].bytes, 10000);
});

test('a driver row names its three largest tags and counts the rest', () => {
  const many = ['Aa01', 'Aa02', 'Aa03', 'Aa04', 'Aa05'].map((t, i) => row(t, c(1, 0, (i + 1) * 2048)));
  const src = fakeOwners(Object.fromEntries(many.map((r) => [formatTag(r.tag), [db('big.sys', 'call')]])));
  const drivers = rankDrivers(rankTags(many, src, { pool: 'all', sort: 'bytes' }), { pool: 'all', sort: 'bytes' });
  assert.equal(drivers.length, 1);
  assert.equal(driverGrid(drivers, 'all', 'human').rows[0].madeOf, 'Aa05 10.0 KB, Aa04 8.0 KB, Aa03 6.0 KB (+2 more)');
});

test('a tag listed twice in one snapshot is summed, not shown twice', () => {
  const dup = [row('Dupe', c(2, 0, 100)), row('Dupe', ZERO, c(3, 1, 50))];
  const ranked = rankTags(dup, fakeOwners({}), { pool: 'all', sort: 'bytes' });
  assert.equal(ranked.length, 1);
  assert.deepEqual(ranked[0].counters, { allocs: 5, frees: 1, outstanding: 4, bytes: 150 });
  assert.equal(ranked[0].tag, tagFromText('Dupe'));
});
