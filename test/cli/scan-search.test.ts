import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ByteSearcher, READ_CHUNK } from '../../src/scan/search.js';

function withFile(bytes: Buffer, fn: (path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'wt-scan-'));
  try {
    const path = join(dir, 'f.bin');
    writeFileSync(path, bytes);
    fn(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `size` zero bytes with `needle` written at each offset. */
function bytesWith(size: number, needle: string, offsets: number[]): Buffer {
  const b = Buffer.alloc(size);
  for (const o of offsets) b.write(needle, o, 'latin1');
  return b;
}

test('a match split across two reads is found, at its exact offset, and counted once', () => {
  const s = new ByteSearcher(Buffer.from('DrA1'));
  // Every way of splitting 4 bytes over a read boundary, plus one at each end of the file.
  const offsets = [0, READ_CHUNK - 3, READ_CHUNK * 2 - 2, READ_CHUNK * 3 - 1, READ_CHUNK * 4, READ_CHUNK * 5 - 4];
  withFile(bytesWith(READ_CHUNK * 5, 'DrA1', offsets), (path) => {
    assert.equal(s.contains(path), true);
    assert.deepEqual(s.occurrences(path, 100), { count: 6, offsets, bytes: READ_CHUNK * 5 });
    assert.deepEqual(s.occurrences(path, 2), { count: 6, offsets: offsets.slice(0, 2), bytes: READ_CHUNK * 5 });
  });
  withFile(bytesWith(READ_CHUNK * 2, 'DrA1', [READ_CHUNK - 2]), (path) => {
    assert.deepEqual(s.occurrences(path, 10), { count: 1, offsets: [READ_CHUNK - 2], bytes: READ_CHUNK * 2 });
  });
});

test('readHead gives the file\'s first bytes, across read sizes and past the end of short files', () => {
  const s = new ByteSearcher(Buffer.from('DrA1'));
  const bytes = Buffer.alloc(READ_CHUNK * 3);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 9)) & 0xff;
  withFile(bytes, (path) => {
    for (const n of [16, READ_CHUNK + 5, READ_CHUNK * 2 + 1]) assert.ok(s.readHead(path, n).equals(bytes.subarray(0, n)), `head of ${n}`);
  });
  withFile(Buffer.from('xxDrA1y'), (path) => assert.equal(s.readHead(path, 64).toString('latin1'), 'xxDrA1y'));
});

test('overlapping matches count like findstr; absent bytes, empty and tiny files are no match', () => {
  const s = new ByteSearcher(Buffer.from('aaaa'));
  withFile(Buffer.from('xaaaaaay'), (path) => assert.deepEqual(s.occurrences(path, 10), { count: 3, offsets: [1, 2, 3], bytes: 8 }));
  withFile(Buffer.alloc(0), (path) => assert.equal(s.contains(path), false));
  withFile(Buffer.from('aaa'), (path) => assert.equal(s.contains(path), false));
  // A near miss straddling the boundary must not match.
  withFile(bytesWith(READ_CHUNK * 2, 'aaa', [READ_CHUNK - 3]), (path) => assert.equal(s.contains(path), false));
});

test('readWhole returns the file, reusing its buffer, and refuses files over the limit', () => {
  const s = new ByteSearcher(Buffer.from('Proc'));
  const big = Buffer.from(Array.from({ length: 3000 }, (_, i) => i & 0xff));
  withFile(big, (path) => {
    assert.deepEqual(s.readWhole(path, 3000), big);
    assert.equal(s.readWhole(path, 2999), undefined);
  });
  withFile(Buffer.from('small'), (path) => assert.equal(s.readWhole(path, 100)?.toString(), 'small'));
  assert.throws(() => s.contains(join(tmpdir(), 'wt-scan-no-such-file')), /ENOENT/);
});

test('survey keeps the bytes before each match, across reads and at the start of the file, and the head', () => {
  const s = new ByteSearcher(Buffer.from('DrA1'));
  const bytes = Buffer.alloc(READ_CHUNK * 3);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 13 + (i >> 7)) & 0x7f;
  const offsets = [2, 100, READ_CHUNK - 5, READ_CHUNK - 1, READ_CHUNK + 3, READ_CHUNK * 2 - 2, READ_CHUNK * 3 - 4];
  for (const o of offsets) bytes.write('DrA1', o, 'latin1');
  // Written last: a later one may overwrite an earlier one's bytes; the survey must agree with the file.
  const expected: number[] = [];
  for (let i = bytes.indexOf('DrA1'); i >= 0; i = bytes.indexOf('DrA1', i + 1)) expected.push(i);
  withFile(bytes, (path) => {
    const found = s.survey(path, 100, 7);
    assert.deepEqual(found.offsets, expected);
    assert.equal(found.count, expected.length);
    assert.ok(found.head.equals(bytes.subarray(0, found.head.length)));
    found.offsets.forEach((o, k) => assert.ok(found.preceding(k).equals(bytes.subarray(Math.max(0, o - 7), o)), `before ${o}`));
  });
});
