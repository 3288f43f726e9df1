import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lastAtOrBelow, normalise, rangeIndexAt } from '../../src/extract/ranges.js';

test('rangeIndexAt: the range holding x in sorted, disjoint ranges; ends are exclusive', () => {
  const ranges = [{ begin: 10, end: 20 }, { begin: 20, end: 25 }, { begin: 40, end: 41 }];
  assert.deepEqual([9, 10, 19, 20, 24, 25, 39, 40, 41].map((x) => rangeIndexAt(ranges, x)), [-1, 0, 0, 1, 1, -1, -1, 2, -1]);
  assert.equal(rangeIndexAt([], 0), -1);
});

test('lastAtOrBelow: index of the last element <= x, or -1', () => {
  const xs = [3, 5, 5, 9];
  assert.deepEqual([2, 3, 4, 5, 8, 9, 100].map((x) => lastAtOrBelow(xs, x)), [-1, 0, 0, 2, 2, 3, 3]);
  assert.equal(lastAtOrBelow([], 1), -1);
});

test('normalise keeps the extra fields of the first piece of a merged range', () => {
  const merged = normalise([{ begin: 5, end: 9, landFrom: 1 }, { begin: 0, end: 5, landFrom: 7 }, { begin: 12, end: 14 }]);
  assert.deepEqual(merged, [{ begin: 0, end: 9, landFrom: 7 }, { begin: 12, end: 14 }]);
});
