// scan's labelled mode places most hits from a file's headers alone (classify.ts). That shortcut must give
// exactly what the full analysis gives: the same hits, sections, RVAs, tiers and counts, on every fixture
// image (mingw x64/x86 with COFF symbols, clang ARM64, libwine, MSVC) and on tags drawn from their bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { scanTagInFile } from '../../src/extract/extract.js';
import { classifyFile, dataHitsFromHead, survey } from '../../src/scan/classify.js';
import { ByteSearcher } from '../../src/scan/search.js';
import { findBytes } from '../../src/extract/data.js';
import { readPe } from '../../src/pe/read.js';
import { Bytes } from '../../src/pe/bytes.js';
import { readHeaders } from '../../src/pe/headers.js';
import { mayBeMemoryLayout } from '../../src/pe/memory-layout.js';
import { locateOffset } from '../../src/pe/locate.js';
import { tagBytes } from '../../src/tag.js';
import { ROOT } from '../helpers/cli.js';
import { prngWords } from '../helpers/prng.js';

const images = readdirSync(join(ROOT, 'test', 'fixtures'), { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile() && /\.(sys|dll)$/i.test(e.name))
  .map((e) => join(e.parentPath, e.name))
  .sort();

/** Tags worth asking of one image: a few common ones, and windows of its own bytes at seeded offsets. */
function tagsFor(buf: Buffer, seed: number): number[] {
  const next = prngWords(seed);
  const tags = ['Proc', 'Io  ', 'Mm  ', 'WDiv', 'DrA1', 'RSDS'].map((t) => Buffer.from(t, 'latin1').readUInt32LE(0));
  for (let i = 0; i < 40; i++) tags.push(buf.readUInt32LE(next() % (buf.length - 3)));
  return [...new Set(tags)];
}

test('the fixtures give the shortcut real work: dozens of images, thousands of tags', () => {
  assert.ok(images.length >= 50, `${images.length} images`);
});

test('hits placed from the headers are exactly the full analysis\'s; only hits in code need the full analysis', () => {
  let fromHead = 0;
  let viaStringTable = 0;
  let full = 0;
  let pairs = 0;
  for (const [i, path] of images.entries()) {
    const buf = readFileSync(path);
    for (const tag of tagsFor(buf, i + 1)) {
      const offsets = findBytes(buf, tagBytes(tag));
      if (offsets.length === 0 || offsets.length > 1000) continue;
      pairs++;
      const reference = scanTagInFile(buf, tag);
      const quick = dataHitsFromHead(buf.subarray(0, 64 * 1024), offsets, (at, n) => buf.subarray(at, at + n), buf.length);
      if (quick === undefined) {
        // Every fixture's headers and long section names resolve from the head and the string table, so
        // the only reasons left to decline are a hit in code and a file as long as a memory dump would be.
        const pe = readPe(buf);
        const dumpSized = mayBeMemoryLayout(readHeaders(new Bytes(buf)), buf.length);
        assert.ok(dumpSized || offsets.some((o) => locateOffset(pe, o).executable), `${path} ${tag.toString(16)}: shortcut refused`);
        full++;
        continue;
      }
      fromHead++;
      if (quick.some((h) => h.section?.startsWith('.debug'))) viaStringTable++;
      assert.deepEqual(quick, reference, `${path} ${tag.toString(16)}`);
    }
  }
  assert.ok(pairs > 1000, `${pairs} pairs`);
  assert.ok(fromHead > 200 && full > 200, `${fromHead} from the headers, ${full} fully analysed`);
  // mingw's long section names, resolved from the COFF string table read on its own.
  assert.ok(viaStringTable > 20, `${viaStringTable} hits in .debug* sections`);
});

test('classifyFile, shortcut or not, reports what the full analysis reports', async () => {
  for (const [i, path] of images.entries()) {
    if (i % 3 !== 0) continue; // a third of the images: each classification reads the file from disk
    const buf = readFileSync(path);
    for (const tag of tagsFor(buf, 1000 + i).slice(0, 12)) {
      const searcher = new ByteSearcher(Buffer.from(tagBytes(tag)));
      const offsets = findBytes(buf, tagBytes(tag));
      if (offsets.length === 0 || offsets.length > 1000) continue;
      const reference = scanTagInFile(buf, tag);
      const r = await classifyFile(searcher, path, 'shown', tag, survey(searcher, path));
      assert.deepEqual(r.hits, reference, `${path} ${tag.toString(16)}`);
      assert.equal(r.count, reference.length);
      assert.equal(r.tier, ['call', 'code', 'data'].find((t) => reference.some((h) => h.tier === t)));
    }
  }
});

test('fuzz: mutated headers and string tables never throw; each answer is a data hit per offset or a refusal', () => {
  const next = prngWords(0x5ca7);
  const seeds = images.filter((_, i) => i % 9 === 0).map((p) => readFileSync(p));
  let answered = 0;
  for (let n = 0; n < 3000; n++) {
    const src = seeds[n % seeds.length];
    const head = Buffer.from(src.subarray(0, Math.min(src.length, 1 + (next() % (64 * 1024)))));
    // Mutate the headers' bytes: DOS header, e_lfanew, file header, section table.
    for (let k = 1 + (next() % 8); k > 0; k--) head[next() % Math.min(head.length, 1024)] = next() & 0xff;
    const tail = Buffer.alloc(next() % 300, next() & 0xff);
    const offsets = Array.from({ length: 1 + (next() % 20) }, () => next() % (src.length * 2));
    const hits = dataHitsFromHead(head, offsets, () => tail, src.length);
    if (hits === undefined) continue;
    answered++;
    assert.equal(hits.length, offsets.length);
    assert.ok(hits.every((h, i) => h.offset === offsets[i] && h.tier === 'data'), `case ${n}`);
  }
  assert.ok(answered > 300, `${answered} of 3000 mutated heads answered`);
});
