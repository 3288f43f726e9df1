// Driver images dumped from memory (each section at its RVA, relocated, IAT bound): read as memory layout, with
// exactly the file's tags per tier; a driver whose INIT was freed says why it has no call-tier proof; a dump
// consistent in neither layout is refused in one line; mutated dumps never crash the reader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractTags } from '../../src/extract/extract.js';
import type { DriverReport } from '../../src/extract/types.js';
import { readPe } from '../../src/pe/read.js';
import { PeFormatError } from '../../src/pe/types.js';
import { openDb } from '../../src/db/schema.js';
import { indexPaths } from '../../src/index/pipeline.js';
import { classifyFile, survey } from '../../src/scan/classify.js';
import { ByteSearcher } from '../../src/scan/search.js';
import { formatTag } from '../../src/tag.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { memoryDump, type DumpOptions } from '../helpers/memory-dump.js';
import { prngWords } from '../helpers/prng.js';
import { needShared, sharedPath } from '../helpers/shared.js';
import { DUMPS, buildDump } from '../fixtures/memdump/build.js';

const FIXTURES = join(ROOT, 'test', 'fixtures');
const MEMDUMP = join(FIXTURES, 'memdump');

/** Every fixture driver built by a linker: mingw x64/x86, clang ARM64, MSVC x64/x86. */
const sources = [
  ...['drivers/x64', 'drivers/x86', 'drivers-arm64', 'frameworks/x64', 'frameworks/x86'].flatMap((d) =>
    readdirSync(join(FIXTURES, d)).filter((f) => f.endsWith('.sys')).map((f) => join(FIXTURES, d, f))),
  join(FIXTURES, 'msvc', 'WinDivert64.sys'),
  join(FIXTURES, 'msvc', 'WinDivert32.sys'),
];

/** The tag sets a user compares: per tier, each tag with its kind, in display form. */
function tagSets(r: DriverReport): Record<string, string[]> {
  const sets: Record<string, string[]> = { call: [], code: [], data: [] };
  for (const f of r.findings) sets[f.tier]!.push(`${formatTag(f.tag)}/${f.kind}`);
  for (const k of Object.keys(sets)) sets[k]!.sort();
  return sets;
}

const VARIANTS: DumpOptions[] = [{ sectionTable: 'kept' }, { sectionTable: 'rewritten' }];

test('a memory-layout dump (section table kept or rewritten) has exactly the file\'s tags in every tier', () => {
  assert.ok(sources.length >= 20, `${sources.length} source drivers`);
  let compared = 0;
  for (const path of sources) {
    const file = readFileSync(path);
    const want = tagSets(extractTags(file, { path }));
    for (const opts of VARIANTS) {
      const dump = memoryDump(file, opts);
      const pe = readPe(dump);
      assert.equal(pe.layout, 'memory', `${path} (${opts.sectionTable}): ${pe.layoutNote}`);
      const r = extractTags(dump, { path: `${path} (${opts.sectionTable})` });
      assert.deepEqual(tagSets(r), want, `${path}, section table ${opts.sectionTable}`);
      assert.ok(r.memoryLayout, 'the report says the image is in memory layout');
      assert.equal(r.importsDiscarded, undefined);
      compared++;
    }
  }
  assert.equal(compared, sources.length * 2);
});

test('the file itself is read in file layout and its report says nothing about memory', () => {
  for (const path of sources) {
    const pe = readPe(readFileSync(path));
    assert.equal(pe.layout, 'file', path);
    assert.equal(pe.layoutNote, undefined, path);
  }
});

test('the committed dumps are what test/fixtures/memdump/build.ts makes', () => {
  for (const name of Object.keys(DUMPS)) assert.ok(buildDump(name).equals(readFileSync(join(MEMDUMP, name))), name);
});

test('INIT freed: the report warns that no call-tier proof is possible, naming the section', () => {
  const path = join(MEMDUMP, 'WinDivert64.init-freed.dmp');
  const r = extractTags(readFileSync(path), { path });
  assert.match(r.importsDiscarded ?? '', /^imports discarded: the import directory \(RVA 0x19064, in INIT\) lies in a discardable section, which the kernel frees after DriverEntry \(INIT freed\), and holds no descriptors here: no call-tier proof is possible/);
  assert.ok(r.warnings.includes(r.importsDiscarded!));
  assert.deepEqual(tagSets(r).call, []);
  assert.ok(r.memoryLayout);
  // The same driver with INIT in place proves its tags by calls: the warning is the difference.
  const whole = extractTags(readFileSync(join(MEMDUMP, 'WinDivert64.kept.dmp')));
  assert.ok(tagSets(whole).call.length > 0);
  assert.equal(whole.importsDiscarded, undefined);
});

test('imports in a section that is not discardable and reads as zeros: no call tier either, said differently', () => {
  const file = readFileSync(join(FIXTURES, 'drivers', 'x64', 'direct.sys'));
  const dump = memoryDump(file, { sectionTable: 'kept' });
  const importRva = dump.readUInt32LE(dump.readUInt32LE(0x3c) + 24 + 112 + 8);
  dump.fill(0, importRva, importRva + 0x100);
  const r = extractTags(dump);
  assert.match(r.importsDiscarded ?? '', /^imports unreadable: the import directory \(RVA 0x7000, in \.idata\) holds no descriptors \(a page missing from the dump\): no call-tier proof is possible/);
  assert.deepEqual(tagSets(r).call, []);
});

test('a bound IAT with no import name table: the report says the names are gone', () => {
  const dump = Buffer.from(readFileSync(join(MEMDUMP, 'mixed-x86.kept.dmp')));
  const importRva = dump.readUInt32LE(dump.readUInt32LE(0x3c) + 24 + 96 + 8);
  for (let d = importRva; dump.readUInt32LE(d + 12) !== 0; d += 20) dump.writeUInt32LE(0, d); // OriginalFirstThunk
  const pe = readPe(dump);
  assert.equal(pe.imports.length, 0);
  assert.ok(pe.warnings.some((w) => /^imports of ntoskrnl\.exe have no names: its IAT holds resolved addresses \(the image was dumped after loading\) and it has no import name table$/.test(w)), pe.warnings.join('\n'));
});

test('a dump-sized file whose structures parse in neither layout is refused in one line naming the file', () => {
  const dump = Buffer.from(readFileSync(join(MEMDUMP, 'WinDivert64.kept.dmp')));
  // Wipe what the layouts are told apart by (import, exception, debug, resource directories), at their RVAs
  // and where the kept section table's raw offsets put them.
  const opt = dump.readUInt32LE(0x3c) + 24;
  const table = opt + dump.readUInt16LE(dump.readUInt32LE(0x3c) + 20);
  const sections = Array.from({ length: dump.readUInt16LE(dump.readUInt32LE(0x3c) + 6) }, (_, i) => ({
    rva: dump.readUInt32LE(table + 40 * i + 12), size: dump.readUInt32LE(table + 40 * i + 8), raw: dump.readUInt32LE(table + 40 * i + 20),
  }));
  const zeroed = Buffer.from(dump);
  for (const d of [1, 2, 3, 6]) {
    const rva = dump.readUInt32LE(opt + 112 + 8 * d);
    const s = sections.find((x) => rva >= x.rva && rva < x.rva + x.size)!;
    for (const at of [rva, s.raw + rva - s.rva]) {
      dump.fill(0xa5, at, at + 0x40);
      zeroed.fill(0, at, at + 0x40);
    }
  }
  // Zeros are pages missing from the dump, not a contradiction: read by RVA, with what is left.
  assert.equal(readPe(zeroed, 'zeroed.dmp').layout, 'memory');
  assert.throws(() => readPe(dump, 'bad.dmp'), (e: unknown) =>
    e instanceof PeFormatError && /^bad\.dmp: neither file nor memory layout: the file is SizeOfImage long \(as a memory dump is\), but its import, exception, debug, resource directories parse neither at the sections' raw offsets nor at their RVAs$/.test(e.message));
  const dir = mkdtempSync(join(tmpdir(), 'whose-tag-memdump-'));
  try {
    const path = join(dir, 'bad.dmp');
    writeFileSync(path, dump);
    const r = runCli(['inspect', path]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^whose-tag: .*bad\.dmp: neither file nor memory layout: [^\n]*\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('inspect says the image is in memory layout, in the table and in --json', () => {
  const path = join(MEMDUMP, 'WinDivert64.kept.dmp');
  const table = runCli(['inspect', path]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^ {2}memory layout \(dumped from memory\): the section table's raw offsets do not point at the sections' bytes, which sit at their RVAs; read by RVA$/m);
  const json = JSON.parse(runCli(['inspect', path, '--json']).stdout) as { layout: string; memoryLayout: string };
  assert.equal(json.layout, 'memory');
  assert.match(json.memoryLayout, /^memory layout/);
  const file = JSON.parse(runCli(['inspect', join(FIXTURES, 'msvc', 'WinDivert64.sys'), '--json']).stdout) as { layout: string; memoryLayout?: string };
  assert.equal(file.layout, 'file');
  assert.equal(file.memoryLayout, undefined);
  const freed = runCli(['inspect', join(MEMDUMP, 'WinDivert64.init-freed.dmp')]);
  assert.equal(freed.code, 0, freed.stderr);
  assert.match(freed.stdout, /^warning: imports discarded: .*no call-tier proof is possible/m);
});

test('index lists a driver whose imports were discarded under warnings, and stores the warning with its content', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'whose-tag-memdump-index-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = openDb(join(dir, 'tags.db'));
  try {
    const freed = join(MEMDUMP, 'WinDivert64.init-freed.dmp');
    const s = await indexPaths(db, [freed, join(MEMDUMP, 'WinDivert64.kept.dmp')], { host: hostname(), extractor: extractTags });
    assert.equal(s.analysed, 2);
    assert.equal(s.warnings.length, 1);
    assert.equal(s.warnings[0]!.path, freed);
    assert.match(s.warnings[0]!.message, /^imports discarded: .*INIT freed/);
    // The same content under another path (another host's copy) is not analysed again: its warning still is listed.
    const copy = join(dir, 'copy.dmp');
    writeFileSync(copy, readFileSync(freed));
    const again = await indexPaths(db, [copy], { host: 'other', extractor: extractTags });
    assert.equal(again.reused, 1);
    assert.deepEqual(again.warnings.map((w) => w.path), [copy]);
    const stored = db.prepare('SELECT warnings FROM contents').all() as { warnings: string }[];
    assert.ok(stored.some((row) => (JSON.parse(row.warnings) as string[]).some((w) => w.startsWith('imports discarded'))));
  } finally {
    db.close();
  }
  const cli = runCli(['index', join(MEMDUMP, 'WinDivert64.init-freed.dmp'), '--db', join(dir, 'cli.db')]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /^warnings:\n {2}.*WinDivert64\.init-freed\.dmp: imports discarded: /m);
});

test('scan places hits in a dump by RVA: the same tier and evidence as in the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'whose-tag-memdump-scan-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let checked = 0;
  for (const [i, path] of sources.entries()) {
    if (i % 3 !== 0) continue;
    const dump = join(dir, 'dump.dmp');
    writeFileSync(dump, memoryDump(readFileSync(path), VARIANTS[i % 2]!));
    for (const f of extractTags(readFileSync(path)).findings) {
      const searcher = new ByteSearcher(Buffer.from(formatTag(f.tag), 'latin1'));
      const best = async (file: string) => {
        const found = survey(searcher, file);
        if (found.count === 0) return undefined;
        const r = await classifyFile(searcher, file, file, f.tag, found);
        const hit = r.hits.find((h) => h.tier === r.tier)!;
        return { tier: r.tier, section: hit.section, rva: hit.evidence?.rva ?? hit.rva };
      };
      const inFile = await best(path);
      if (inFile === undefined) continue; // ARM64 builds tags with MOVZ/MOVK: no four bytes to find
      assert.deepEqual(await best(dump), inFile, `${path} ${formatTag(f.tag)}`);
      checked++;
    }
  }
  assert.ok(checked >= 30, `${checked} tags compared`);
});

test('fuzz: mutated dumps give a report or a located PeFormatError, never a crash', () => {
  const seeds = [
    readFileSync(join(MEMDUMP, 'WinDivert64.kept.dmp')),
    readFileSync(join(MEMDUMP, 'WinDivert64.rewritten.dmp')),
    readFileSync(join(MEMDUMP, 'mixed-x86.kept.dmp')),
    memoryDump(readFileSync(join(FIXTURES, 'drivers', 'x64', 'wrappers.sys')), { sectionTable: 'kept' }),
    memoryDump(readFileSync(join(FIXTURES, 'drivers-arm64', 'direct.sys')), { sectionTable: 'kept', discard: true }),
  ];
  const next = prngWords(0x3e3d);
  let read = 0;
  let refused = 0;
  let extracted = 0;
  for (let n = 0; n < 4000; n++) {
    const src = seeds[n % seeds.length]!;
    const buf = Buffer.from(src);
    const pe = buf.readUInt32LE(0x3c);
    const kind = next() % 5;
    const mutations = 1 + (next() % 6);
    for (let k = 0; k < mutations; k++) {
      if (kind === 0) buf[pe + 24 + (next() % 0x200)] = next() & 0xff; // optional header and section table
      else if (kind === 1) buf.writeUInt32LE(next(), pe + 24 + (next() % 0x1f0)); // whole fields
      else if (kind === 2) buf.fill(next() % 3 === 0 ? 0xff : 0, next() % buf.length, next() % buf.length); // pages zeroed
      else buf[next() % buf.length] = next() & 0xff;
    }
    const length = kind === 4 ? next() % buf.length : buf.length; // a dump cut short
    const input = buf.subarray(0, length);
    try {
      readPe(input, `case-${n}`);
      read++;
      if (n % 40 === 0) {
        extractTags(input, { path: `case-${n}` });
        extracted++;
      }
    } catch (e) {
      assert.ok(e instanceof PeFormatError, `case ${n}: ${(e as Error).stack}`);
      assert.ok(!e.message.includes('\n'), `case ${n}: one line`);
      refused++;
    }
  }
  assert.ok(read > 1000 && refused > 100, `${read} read, ${refused} refused`);
  assert.ok(extracted > 50, `${extracted} extracted`);
});

// The real drivers: System Informer's signed MSVC builds, x64 and ARM64, each dumped both ways.
test('System Informer dumps have exactly the file\'s call, code and data tags', { skip: needShared('drivers/systeminformer') }, () => {
  const dir = sharedPath('drivers/systeminformer');
  const images = readdirSync(dir).filter((f) => f.endsWith('.sys'));
  assert.equal(images.length, 10);
  for (const name of images) {
    const file = readFileSync(join(dir, name));
    const want = tagSets(extractTags(file));
    for (const opts of VARIANTS) {
      const r = extractTags(memoryDump(file, opts));
      assert.ok(r.memoryLayout, `${name} ${opts.sectionTable}`);
      assert.deepEqual(tagSets(r), want, `${name}, section table ${opts.sectionTable}`);
    }
  }
});

test('pages missing from a dump (zeros) give no tag the driver does not have', () => {
  const sourcesOfTags = [join(FIXTURES, 'msvc', 'WinDivert64.sys'), join(FIXTURES, 'drivers', 'x64', 'tables.sys'), join(FIXTURES, 'drivers', 'x86', 'wrappers.sys')];
  const next = prngWords(0x9a6e);
  let cases = 0;
  for (const path of sourcesOfTags) {
    const file = readFileSync(path);
    const known = new Set(extractTags(file).findings.map((f) => formatTag(f.tag)));
    const dump = memoryDump(file, { sectionTable: 'kept' });
    const headerPage = 0x1000;
    for (let n = 0; n < 40; n++) {
      const damaged = Buffer.from(dump);
      for (let k = 1 + (next() % 3); k > 0; k--) {
        const page = headerPage + 0x1000 * (next() % Math.max(1, (damaged.length - headerPage) / 0x1000));
        damaged.fill(0, page, page + 0x1000);
      }
      const r = extractTags(damaged);
      for (const f of r.findings) assert.ok(known.has(formatTag(f.tag)), `${path} case ${n}: ${formatTag(f.tag)} is not the driver's`);
      cases++;
    }
  }
  assert.equal(cases, 120);
});
