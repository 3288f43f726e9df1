import { test } from 'node:test';
import assert from 'node:assert/strict';
import { progressBar } from '../../src/render/progress.js';

/** A terminal stand-in: what was written, and a clock the test moves. */
function terminal(columns = 80) {
  const writes: string[] = [];
  const stream = { columns, write: (s: string) => (writes.push(s), true) } as unknown as NodeJS.WriteStream;
  let t = 0;
  return { writes, stream, clock: () => t, advance: (ms: number) => (t += ms) };
}

test('draws at most ten times a second, always the last update, with files, bytes, rate and matches', () => {
  const term = terminal();
  const bar = progressBar(term.stream, term.clock);
  bar.update({ done: 0, total: 4, matched: 0 });
  term.advance(50);
  bar.update({ done: 1, total: 4, matched: 1 }); // too soon: skipped
  term.advance(60);
  bar.update({ done: 2, total: 4, matched: 1 });
  term.advance(1);
  bar.update({ done: 4, total: 4, bytesRead: 3_000_000, matched: 2 }); // the end is always drawn
  assert.deepEqual(term.writes, [
    `\r[${' '.repeat(30)}] 0/4 files  0 matching\x1b[K`,
    `\r[${'#'.repeat(15)}${' '.repeat(15)}] 2/4 files  1 matching\x1b[K`,
    `\r[${'#'.repeat(30)}] 4/4 files  3.0 MB  27.0 MB/s  2 matching\x1b[K`,
  ]);
});

test('clear erases a drawn bar once, so a result line can take its place; done leaves nothing behind', () => {
  const term = terminal(24);
  const bar = progressBar(term.stream, term.clock);
  bar.clear(); // nothing drawn yet: nothing to erase
  bar.update({ done: 1, total: 2 });
  bar.clear();
  bar.clear();
  bar.done();
  assert.deepEqual(term.writes, [`\r${`[${'#'.repeat(15)}${' '.repeat(15)}] 1/2 files`.slice(0, 23)}\x1b[K`, '\r\x1b[K']);
});
