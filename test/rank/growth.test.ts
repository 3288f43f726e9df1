import { test } from 'node:test';
import assert from 'node:assert/strict';
import { growth, isSteadyGrowth, isSuspect } from '../../src/rank/growth.js';
import { driverGrowthGrid, growthJson, tagGrowthGrid } from '../../src/rank/views.js';
import type { Snapshot } from '../../src/reports/types.js';
import { formatTag } from '../../src/tag.js';
import { c, db, fakeOwners, row } from './helpers.js';

test('steady growth: non-decreasing in at least 80% of intervals and up overall', () => {
  assert.equal(isSteadyGrowth([1, 2, 3]), true);
  assert.equal(isSteadyGrowth([5, 5, 5, 5]), false); // flat
  assert.equal(isSteadyGrowth([1, 2, 3, 4, 5, 4]), true); // 4 of 5 intervals = 80%
  assert.equal(isSteadyGrowth([1, 2, 3, 2, 3, 2]), false); // 3 of 5
  assert.equal(isSteadyGrowth([1, 9]), false); // two points are not a series
  assert.equal(isSteadyGrowth([9, 9, 10, 10, 8]), false); // ends below the start
});

const owners = fakeOwners({ Leak: [db('leaky.sys', 'call')], Grow: [db('leaky.sys', 'call')], Jump: [db('other.sys', 'call')] });
const snap = (rows: Snapshot['rows']): Snapshot => ({ rows });
const series: Snapshot[] = [
  snap([row('Leak', c(10, 0, 1000)), row('Jump', c(5, 0, 500)), row('Gone', c(4, 0, 400))]),
  snap([row('Leak', c(12, 0, 1200)), row('Jump', c(5, 0, 500)), row('Gone', c(2, 0, 200))]),
  snap([row('Leak', c(15, 0, 1500)), row('Jump', c(50, 0, 5000)), row('Grow', c(1, 0, 100))]),
  snap([row('Leak', c(15, 0, 1500)), row('Jump', c(5, 0, 500)), row('Grow', c(2, 0, 200))]),
  snap([row('Leak', c(20, 0, 2000)), row('Jump', c(6, 0, 600)), row('Grow', c(3, 0, 300))]),
];

test('a series ranks tags by growth and flags the steady growers', () => {
  const g = growth(series, owners, { pool: 'all', sort: 'bytes' });
  assert.equal(g.snapshots, 5);
  assert.deepEqual(
    g.tags.map((t) => [formatTag(t.tag), t.bytes, t.outstanding, isSuspect(t)]),
    [
      ['Leak', 1000, 10, true],
      ['Grow', 300, 3, true], // absent at first: counted from zero
      ['Jump', 100, 1, false], // a spike and back
      ['Gone', -400, -4, false],
    ],
  );
  assert.deepEqual(g.tags[0].steady, { bytes: true, outstanding: true });
  assert.deepEqual(
    g.drivers.map((d) => [d.driver, d.bytes, isSuspect(d)]),
    [
      ['leaky.sys', 1300, true],
      ['other.sys', 100, false],
      ['(unknown)', -400, false],
    ],
  );
  assert.deepEqual(g.drivers[0].series.map((s) => s.bytes), [1000, 1200, 1600, 1700, 2300]);
});

test('two snapshots rank growth without judging steadiness', () => {
  const g = growth(series.slice(0, 2), owners, { pool: 'nonpaged', sort: 'outstanding' });
  assert.deepEqual(g.tags.map((t) => [formatTag(t.tag), t.outstanding]), [['Leak', 2], ['Jump', 0], ['Gone', -2]]);
  assert.equal(g.tags[0].steady, undefined);
  assert.equal(isSuspect(g.tags[0]), false);
  assert.throws(() => growth(series.slice(0, 1), owners, { pool: 'all', sort: 'bytes' }), /at least 2 snapshots/);
});

test('growth grids and JSON', () => {
  const g = growth(series, owners, { pool: 'all', sort: 'bytes' });
  const human = tagGrowthGrid(g.tags, 'human');
  assert.deepEqual(human.rows[0], { tag: 'Leak', before: '1000 B', after: '2.0 KB', bytes: '+1000 B', outstanding: '+10', suspect: 'LEAK? (bytes+allocs)', owner: 'leaky.sys' });
  assert.deepEqual(tagGrowthGrid(g.tags, 'csv').rows[3], { tag: 'Gone', before: 400, after: 0, bytes: -400, outstanding: -4, suspect: '', owner: '(unknown)' });
  // --bytes exact: exact bytes, changes signed.
  assert.deepEqual(tagGrowthGrid(g.tags, 'exact').rows[0], { tag: 'Leak', before: 1000, after: 2000, bytes: '+1000', outstanding: '+10', suspect: 'LEAK? (bytes+allocs)', owner: 'leaky.sys' });
  assert.equal(driverGrowthGrid(g.drivers, 'human').rows[0].madeOf, 'Leak +1000 B, Grow +300 B');
  const j = growthJson(g, ['a', 'b', 'c', 'd', 'e'], 1);
  assert.deepEqual(j.snapshots, ['a', 'b', 'c', 'd', 'e']);
  assert.equal(j.tags.length, 1);
  assert.deepEqual(j.tags[0].series.map((s) => s.bytes), [1000, 1200, 1500, 1500, 2000]);
  assert.deepEqual([j.tags[0].tag, j.tags[0].suspect, j.drivers[0].driver, j.drivers[0].tags], ['Leak', true, 'leaky.sys', ['Leak', 'Grow']]);
});
