import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { binaryNames, decodePooltagBytes, isCommentOrBlank, parsePooltag, readPooltagFile, type PooltagFile } from '../../src/pooltag/parse.js';
import { formatTag, tagFromText } from '../../src/tag.js';
import { prng } from '../helpers/prng.js';
import { needShared, sharedPath } from '../helpers/shared.js';

// The project's own quirk file (invented tags, every oddity of the grammar) runs everywhere; Microsoft's
// files are read from ../shared, never copied into the project, and their tests skip when it is absent.
const QUIRKS_PATH = new URL('../fixtures/pooltag/quirks.txt', import.meta.url);
const QUIRKS_TEXT = readFileSync(QUIRKS_PATH, 'latin1');
const QUIRKS = parsePooltag(QUIRKS_TEXT, 'quirks.txt');
const REAL = needShared('pooltag');
const realText = (name: string) => (REAL ? '' : readFileSync(sharedPath(`pooltag/${name}`), 'latin1'));
const TEXT_2003 = realText('pooltag-2003.txt');
const TEXT_2023 = realText('pooltag-sdk-2023.txt');
const P2003 = parsePooltag(TEXT_2003, 'pooltag-2003.txt');
const P2023 = parsePooltag(TEXT_2023, 'pooltag-sdk-2023.txt');

function counts(p: PooltagFile) {
  const key = (e: PooltagFile['entries'][number]) => (e.query.exact !== undefined ? `=${e.query.exact}` : `~${e.query.pattern}`);
  const groups = new Map<string, number>();
  for (const e of p.entries) groups.set(key(e), (groups.get(key(e)) ?? 0) + 1);
  const dup = [...groups.values()].filter((n) => n > 1);
  return {
    entries: p.entries.length,
    warnings: p.warnings.map((w) => w.line),
    wildcards: p.entries.filter((e) => e.query.exact === undefined).length,
    subEntries: p.entries.filter((e) => e.heading !== undefined).length,
    twoField: p.entries.filter((e) => e.fields === 2).length,
    duplicateTags: dup.length,
    duplicateEntries: dup.reduce((a, n) => a + n, 0),
    descriptionsWithDash: p.entries.filter((e) => e.description.includes(' - ')).length,
  };
}

/** Every line of a file is a comment, blank, an entry or a warning: nothing dropped silently. */
function assertEveryLineAccounted(text: string, p: PooltagFile) {
  const lines = text.replace(/\x1a$/, '').split(/\r?\n/);
  const quiet = lines.filter((l) => isCommentOrBlank(l)).length;
  assert.equal(p.entries.length + p.warnings.length + quiet, lines.length, p.origin);
}

const find = (p: PooltagFile, tag: string) => p.entries.filter((e) => e.tag === tag).map(({ query, ...rest }) => ({ ...rest, shown: formatTag(query.exact!) }));
const pick = (p: PooltagFile, tag: string) => p.entries.find((e) => e.tag === tag)!;

test('quirks.txt: the project\'s own file is CRLF with a trailing Ctrl-Z, as DOS-era tools wrote it', () => {
  assert.ok(QUIRKS_TEXT.endsWith('\r\n\x1a'));
  assert.ok(!/[^\r]\n/.test(QUIRKS_TEXT), 'every line ends in CRLF');
  assert.deepEqual(counts(QUIRKS), {
    entries: 45,
    warnings: [70, 71, 72],
    wildcards: 7,
    subEntries: 10,
    twoField: 2,
    duplicateTags: 2,
    duplicateEntries: 4,
    descriptionsWithDash: 1,
  });
  assertEveryLineAccounted(QUIRKS_TEXT, QUIRKS);
});

test('quirks.txt: comments (rem, REM, //), blank and whitespace-only lines are skipped; an entry may start with "rem"', () => {
  const lines = QUIRKS_TEXT.split('\r\n');
  for (const n of [1, 2, 6, 7, 8, 9, 10, 14, 15]) assert.ok(isCommentOrBlank(lines[n - 1]), `line ${n}: ${JSON.stringify(lines[n - 1])}`);
  assert.equal(lines[13], '   \t');
  assert.deepEqual(find(QUIRKS, 'Remz'), [{ tag: 'Remz', binary: 'remz.sys', description: 'starts with "rem" but is an entry', line: 29, fields: 3, shown: 'Remz' }]);
});

test('quirks.txt: short tags padded, unpadded, over-padded, one character; tags with spaces and punctuation', () => {
  assert.deepEqual(find(QUIRKS, 'Io'), [{ tag: 'Io', binary: 'nt!io', description: 'general IO allocations', line: 12, fields: 3, shown: 'Io  ' }]);
  assert.deepEqual(find(QUIRKS, 'Qy1')[0], { tag: 'Qy1', binary: 'qy.sys', description: 'unpadded short tag', line: 17, fields: 3, shown: 'Qy1 ' });
  assert.equal(find(QUIRKS, 'Qz2')[0].shown, 'Qz2 ');
  assert.deepEqual([find(QUIRKS, 'Qwvv')[0].binary, find(QUIRKS, 'Qwvv')[0].description], ['qw.sys', 'four characters with an extra space']);
  assert.equal(find(QUIRKS, 'Qv9')[0].binary, 'qv.sys');
  assert.equal(find(QUIRKS, 'G')[0].shown, 'G   ');
  assert.equal(find(QUIRKS, 'Zh 0')[0].shown, 'Zh 0');
  assert.equal(find(QUIRKS, '@Zp')[0].shown, '@Zp ');
  assert.equal(find(QUIRKS, '_Zl_')[0].binary, 'zl.sys');
  assert.equal(find(QUIRKS, 'Z-q1')[0].shown, 'Z-q1');
  assert.equal(pick(QUIRKS, '0x1f').query.exact, tagFromText('0x1f'));
});

test('quirks.txt: separators: " - " inside a description, a tight dash, two-field lines, tabs', () => {
  assert.deepEqual([pick(QUIRKS, 'Zsep').binary, pick(QUIRKS, 'Zsep').description], ['zsep.sys', 'a description - with dashes - inside it']);
  assert.deepEqual([pick(QUIRKS, 'Ztig').binary, pick(QUIRKS, 'Ztig').description], ['nt!zt', 'tight dash before the description']);
  assert.deepEqual([pick(QUIRKS, 'Ztw1').binary, pick(QUIRKS, 'Ztw1').description, pick(QUIRKS, 'Ztw1').fields], ['', 'description only, two fields', 2]);
  assert.deepEqual([pick(QUIRKS, 'Ztw2').binary, pick(QUIRKS, 'Ztw2').description, pick(QUIRKS, 'Ztw2').fields], ['ztw2.sys', '', 2]);
  assert.deepEqual([pick(QUIRKS, 'Ztab').binary, pick(QUIRKS, 'Ztab').description, pick(QUIRKS, 'Ztab').fields], ['ztab.sys', 'tab separated', 3]);
});

test('quirks.txt: binary fields as written, and the module names they give', () => {
  const names = ['Zb01', 'Zb02', 'Zb03', 'Zb04', 'Zb05', 'Zb06', 'Zb07'].map((t) => [pick(QUIRKS, t).binary, binaryNames(pick(QUIRKS, t).binary)]);
  assert.deepEqual(names, [
    ['nt!mm', ['nt']],
    ['<unknown>', []],
    ['za.sys/zb.sys', ['za.sys', 'zb.sys']],
    ['nt!store or zboost.sys', ['nt', 'zboost.sys']],
    ['zk!CZObject::operator new', ['zk']],
    ['<zvid.sys>', ['zvid.sys']],
    ['<multiple>', []],
  ]);
});

test('quirks.txt: duplicate tags with different owners are all kept, in file order', () => {
  assert.deepEqual(QUIRKS.entries.filter((e) => e.tag === 'Zdup').map((e) => [e.line, e.binary]), [[48, 'nt!vf'], [49, 'nt!io']]);
  assert.deepEqual(QUIRKS.entries.filter((e) => e.tag === 'ZcC?').map((e) => [e.line, e.binary]), [[64, 'zcls.sys'], [65, 'zcd.sys']]);
});

test('quirks.txt: wildcard headings, indented sub-entries, nesting, case, the nearest heading', () => {
  const headed = QUIRKS.entries.filter((e) => e.heading !== undefined).map((e) => `${e.tag}<${e.heading}`);
  assert.deepEqual(headed, ['Zfd0<Zfd?', 'ZfdB<Zfd?', 'ZmlH<Zml*', 'Yla?<Y???', 'Yla1<Yla?', 'Y<Y???', 'ZcC?<Zc??', 'ZcC?<ZcC?', 'ZcCA<ZcC?', 'ZcSB<Zc??']);
  // Case matters: zFDC is indented under Zfd? but is not one of its tags; Yxyz is not indented.
  assert.equal(pick(QUIRKS, 'zFDC').heading, undefined);
  assert.equal(pick(QUIRKS, 'Yxyz').heading, undefined);
  assert.equal(pick(QUIRKS, 'Zfd?').description, 'Zfd objects');
  const zml = pick(QUIRKS, 'Zml*');
  assert.ok(zml.query.regex.test('ZmlH') && !zml.query.regex.test('ZMlH'));
});

test('quirks.txt: lines that fit no rule are line-numbered warnings', () => {
  assert.deepEqual(QUIRKS.warnings, [
    { line: 70, message: 'expected "TAG - binary - description", found "       <unknown>"' },
    { line: 71, message: 'expected "TAG - binary - description", found "Zq tags are Zq00 through ZqFF"' },
    { line: 72, message: 'bad tag "Toolongtag": invalid tag "Toolongtag": a tag has at most 4 bytes' },
  ]);
});

test('quirks.txt: LF, CRLF, with and without Ctrl-Z, and UTF-16LE parse identically; read from disk the same', async () => {
  const lf = QUIRKS_TEXT.replace(/\r\n/g, '\n').replace(/\x1a$/, '');
  for (const variant of [lf, lf + '\x1a', lf.replace(/\n/g, '\r\n')]) {
    const v = parsePooltag(variant, QUIRKS.origin);
    assert.deepEqual(v.entries, QUIRKS.entries);
    assert.deepEqual(v.warnings, QUIRKS.warnings);
  }
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(QUIRKS_TEXT, 'utf16le')]);
  assert.deepEqual(parsePooltag(decodePooltagBytes(utf16), QUIRKS.origin).entries, QUIRKS.entries);
  const fromDisk = await readPooltagFile(QUIRKS_PATH.pathname);
  assert.deepEqual(fromDisk.entries, QUIRKS.entries);
});

test('pooltag-2003.txt: exact counts', { skip: REAL }, () => {

  assert.deepEqual(counts(P2003), {
    entries: 1754,
    warnings: [349],
    wildcards: 66,
    subEntries: 515,
    twoField: 0,
    duplicateTags: 11,
    duplicateEntries: 22,
    descriptionsWithDash: 40,
  });
});

test('pooltag-sdk-2023.txt: exact counts', { skip: REAL }, () => {
  assert.deepEqual(counts(P2023), {
    entries: 4613,
    warnings: [876, 2661],
    wildcards: 101,
    subEntries: 702,
    twoField: 8,
    duplicateTags: 56,
    duplicateEntries: 112,
    descriptionsWithDash: 60,
  });
});

test('every line is a comment, blank, an entry or a warning: nothing dropped silently', { skip: REAL }, () => {
  for (const [text, p] of [[TEXT_2003, P2003], [TEXT_2023, P2023]] as const) {
    const lines = text.replace(/\x1a$/, '').split('\n');
    const quiet = lines.filter((l) => /^\s*$/.test(l) || /^(rem|REM)(\s|$)/.test(l) || l.startsWith('//')).length;
    assert.equal(p.entries.length + p.warnings.length + quiet, lines.length);
  }
});

test('warnings name the line and what was expected', { skip: REAL }, () => {
  assert.deepEqual(P2023.warnings[1], {
    line: 2661,
    message: 'expected "TAG - binary - description", found "QUIC Allocation tags are Qc00 through QcFF"',
  });
  assert.match(P2003.warnings[0].message, /expected "TAG - binary - description", found " +<unknown>"/);
});

test('CRLF and a trailing Ctrl-Z parse identically', { skip: REAL }, () => {
  const plain2023 = TEXT_2023.replace(/\x1a$/, '');
  assert.notEqual(plain2023, TEXT_2023);
  for (const [text, p] of [[TEXT_2003, P2003], [plain2023, P2023]] as const) {
    for (const variant of [text.replace(/\n/g, '\r\n') + '\x1a', text + '\x1a', text.replace(/\n/g, '\r\n')]) {
      const v = parsePooltag(variant, p.origin);
      assert.deepEqual(v.entries, p.entries);
      assert.deepEqual(v.warnings, p.warnings);
    }
  }
});

test('text after Ctrl-Z is ignored with a warning; a BOM is ignored', () => {
  const p = parsePooltag('\ufeffProc - nt!ps - Process objects\r\n\x1aJUNK - x - y\r\n', 't');
  assert.deepEqual(p.entries.map((e) => e.tag), ['Proc']);
  assert.deepEqual(p.warnings, [{ line: 2, message: 'text after the Ctrl-Z end-of-file marker ignored' }]);
});

test('exact entries: Proc, Io (short, space-padded), tags with spaces and punctuation', { skip: REAL }, () => {
  const find = (p: PooltagFile, tag: string) => p.entries.filter((e) => e.tag === tag).map(({ query, ...rest }) => ({ ...rest, shown: formatTag(query.exact!) }));
  assert.deepEqual(find(P2023, 'Proc'), [
    { tag: 'Proc', binary: 'nt!ps', description: 'Process objects', line: 2460, fields: 3, shown: 'Proc' },
  ]);
  assert.deepEqual(find(P2003, 'Proc'), [
    { tag: 'Proc', binary: '<unknown>', description: 'Process objects', line: 1070, fields: 3, shown: 'Proc' },
  ]);
  assert.deepEqual(find(P2023, 'Io'), [
    { tag: 'Io', binary: 'nt!io', description: 'general IO allocations', line: 1122, fields: 3, shown: 'Io  ' },
  ]);
  assert.equal(P2023.entries.find((e) => e.tag === 'Io')!.query.exact, tagFromText('Io  '));
  assert.deepEqual(find(P2023, 'Dh 0')[0].shown, 'Dh 0');
  assert.deepEqual(find(P2023, '@MP')[0].shown, '@MP ');
  assert.deepEqual(find(P2023, '_LCD')[0].binary, 'monitor.sys');
  // Short tags written unpadded (`PX1 - …`, `I4e -  tcpip.sys`) and over-padded (`Mmpv  - …`).
  assert.deepEqual(find(P2023, 'I4e')[0], { tag: 'I4e', binary: 'tcpip.sys', description: 'IPv4 Echo data', line: 1100, fields: 3, shown: 'I4e ' });
  assert.deepEqual(find(P2023, 'PX1').map((e) => e.binary), ['<unknown>', 'ndproxy.sys']);
  assert.deepEqual(find(P2023, 'Mmpv')[0].description, 'Physical view VAD info');
  // `ReMo` starts with "rem" but is an entry, not a comment.
  assert.deepEqual(find(P2023, 'ReMo')[0].description, 'Mount.c');
});

test('wildcard headings and their indented sub-entries', { skip: REAL }, () => {
  const afd = P2023.entries.filter((e) => e.tag === 'Afd?');
  assert.equal(afd.length, 1);
  assert.deepEqual(afd[0].query.exact, undefined);
  assert.deepEqual([afd[0].binary, afd[0].description, afd[0].line, afd[0].heading], ['afd.sys', 'AFD objects', 57, undefined]);
  const afdB = P2023.entries.find((e) => e.tag === 'AfdB')!;
  assert.deepEqual([afdB.description, afdB.heading, afdB.line], ['Afd data buffer', 'Afd?', 59]);
  // Case matters: aFDC is indented under Afd? but is not one of its tags.
  assert.equal(P2023.entries.find((e) => e.tag === 'aFDC')!.heading, undefined);
  // Nested: Gla? sits under G???, and Gla1.. under Gla? when indented.
  assert.equal(P2003.entries.find((e) => e.tag === 'Gla?')!.heading, 'G???');
  assert.equal(P2003.entries.find((e) => e.tag === 'G')!.heading, 'G???');
  // The nearest matching heading wins: ScCA under the cdrom ScC?, ScSB falls back to Sc??.
  assert.equal(P2023.entries.find((e) => e.tag === 'ScCA')!.heading, 'ScC?');
  assert.equal(P2023.entries.find((e) => e.tag === 'ScSB')!.heading, 'Sc??');
  const aml = P2023.entries.find((e) => e.tag === 'Aml*')!;
  assert.ok(aml.query.regex.test('AmlH') && !aml.query.regex.test('AmLH'));
  // A non-indented entry after a heading is not a sub-entry (Gfcb - EXIFS Grow FCB).
  assert.equal(P2023.entries.find((e) => e.tag === 'Gfcb')!.heading, undefined);
});

test('separator quirks: descriptions with " - ", a dash with no space, two-field lines', { skip: REAL }, () => {
  const p3d = P2023.entries.find((e) => e.tag === 'P3D?')!;
  assert.deepEqual([p3d.binary, p3d.description], ['perm3dd.dll', 'Permedia3 display driver - DirectDraw/3D']);
  const cmal = P2003.entries.find((e) => e.tag === 'CMAl')!;
  assert.deepEqual([cmal.binary, cmal.description], ['nt!cm', 'internal registry memory allocator pool tag']);
  const atmp = P2023.entries.find((e) => e.tag === 'ATmp')!;
  assert.deepEqual([atmp.binary, atmp.description, atmp.fields], ['', 'AppTag mount point', 2]);
  const oneWord = parsePooltag('Xyz1 - xyz.sys\n', 't').entries[0];
  assert.deepEqual([oneWord.binary, oneWord.description, oneWord.fields], ['xyz.sys', '', 2]);
  const op = P2023.entries.find((e) => e.binary === 'dxgkrnl!CFlipWaitedConsumerReturn::operator new')!;
  assert.equal(op.description, 'FLIPCONTENT_WAITEDCONSUMERRETURN');
});

test('duplicate tags with different owners are all kept, in file order', { skip: REAL }, () => {
  assert.deepEqual(P2023.entries.filter((e) => e.tag === 'Irps').map((e) => [e.line, e.binary]), [[1168, 'nt!vf'], [1172, 'nt!io']]);
  assert.deepEqual(P2023.entries.filter((e) => e.tag === 'ScC?').map((e) => e.binary), ['classpnp.sys', 'cdrom.sys']);
});

test('bad tags are warnings with line numbers, not entries', () => {
  const p = parsePooltag('Toolong - a.sys - x\n   - a.sys - x\nPr\u20acc - a.sys - x\n// Proc - nt - x\nrem Proc - nt - x\n', 'bad.txt');
  assert.deepEqual(p.entries, []);
  assert.deepEqual(p.warnings.map((w) => w.line), [1, 2, 3]);
  assert.match(p.warnings[0].message, /at most 4 bytes/);
  assert.match(p.warnings[1].message, /expected "TAG - binary - description"|empty tag/);
  assert.match(p.warnings[2].message, /not a single byte/);
});

test('a tag like 0x1f is four characters, not a number', () => {
  assert.equal(parsePooltag('0x1f - a.sys - hex-looking tag\n', 't').entries[0].query.exact, tagFromText('0x1f'));
});

test('comment and blank detection', () => {
  assert.ok(isCommentOrBlank('rem'));
  assert.ok(isCommentOrBlank('REM NTFS Specific allocation tags'));
  assert.ok(isCommentOrBlank('//    Copyright'));
  assert.ok(isCommentOrBlank('   \t'));
  assert.ok(!isCommentOrBlank('ReMo - refs.sys     -     Mount.c'));
});

test('binaryNames splits the binary field into module names', () => {
  assert.deepEqual(binaryNames('afd.sys'), ['afd.sys']);
  assert.deepEqual(binaryNames('netvsc50.sys/netvsc60.sys'), ['netvsc50.sys', 'netvsc60.sys']);
  assert.deepEqual(binaryNames('nt!mm'), ['nt']);
  assert.deepEqual(binaryNames('nt!store or rdyboost.sys'), ['nt', 'rdyboost.sys']);
  assert.deepEqual(binaryNames('win32kbase!CAsyncKeyEventMonitor::operator new'), ['win32kbase']);
  assert.deepEqual(binaryNames('<unknown>'), []);
  assert.deepEqual(binaryNames('<multiple>'), []);
  assert.deepEqual(binaryNames('<nvlddmkm.sys>'), ['nvlddmkm.sys']);
  assert.deepEqual(binaryNames(''), []);
  assert.deepEqual(binaryNames('FsLib'), ['FsLib']);
});

test('every binary field in both real files yields names or is a placeholder', { skip: REAL }, () => {
  const placeholders = new Set(['<unknown>', '<multiple>']);
  for (const p of [P2003, P2023]) {
    for (const e of p.entries) {
      if (e.binary === '' || placeholders.has(e.binary)) assert.deepEqual(binaryNames(e.binary), []);
      else assert.ok(binaryNames(e.binary).length >= 1, `line ${e.line}: ${e.binary}`);
    }
  }
});

test('decoding: UTF-8, Latin-1 fallback, UTF-16LE with BOM', () => {
  assert.equal(decodePooltagBytes(Buffer.from('Proc - nt - Prozess\u00e9\n', 'utf8')), 'Proc - nt - Prozess\u00e9\n');
  assert.equal(decodePooltagBytes(Buffer.from([0x41, 0xe9, 0x0a])), 'A\u00e9\n');
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Proc - nt!ps - x\r\n', 'utf16le')]);
  assert.deepEqual(parsePooltag(decodePooltagBytes(utf16), 'u16').entries.map((e) => e.binary), ['nt!ps']);
});

test('fuzz: mutated real lines never throw; one entry or warning per content line; warnings carry line numbers', () => {
  // The quirk file always; Microsoft's two files too when ../shared is there.
  const source = (QUIRKS_TEXT + TEXT_2003 + TEXT_2023).split(/\r?\n/);
  const alphabet = [' ', ' ', '-', ' - ', '?', '*', '\t', '\x1a', '\r', '\\', '\\x4', 'x', '!', '<', '>', '/', 'rem ', '//', '\u20ac', '\u0000', 'A', '\ufeff'];
  const random = prng(0x5eed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  for (let c = 0; c < 3000; c++) {
    const lines: string[] = [];
    const n = 1 + Math.floor(random() * 12);
    for (let i = 0; i < n; i++) {
      let line = pick(source);
      const edits = Math.floor(random() * 4);
      for (let k = 0; k < edits; k++) {
        const at = Math.floor(random() * (line.length + 1));
        const op = random();
        if (op < 0.4) line = line.slice(0, at) + pick(alphabet) + line.slice(at);
        else if (op < 0.7) line = line.slice(0, at) + line.slice(at + 1 + Math.floor(random() * 6));
        else line = line.slice(0, at) + pick(alphabet) + line.slice(at + 1);
      }
      lines.push(line);
    }
    const text = lines.join(random() < 0.5 ? '\n' : '\r\n');
    const p = parsePooltag(text, `fuzz#${c}`);
    const physical = text.split(/\r\n|\r|\n/).length;
    for (const w of p.warnings) {
      assert.ok(Number.isInteger(w.line) && w.line >= 1 && w.line <= physical, `case ${c}: warning line ${w.line}`);
      assert.ok(w.message.length > 0);
    }
    for (const e of p.entries) {
      assert.ok(e.line >= 1 && e.line <= physical, `case ${c}: entry line ${e.line}`);
      assert.ok(e.tag.length > 0);
      if (e.query.exact !== undefined) assert.equal(e.query.exact, e.query.exact >>> 0);
    }
    // Up to a Ctrl-Z, each non-comment, non-blank line gives exactly one entry or one warning.
    const beforeEof = text.split('\x1a')[0].split(/\r\n|\r|\n/);
    const content = beforeEof.filter((l) => !isCommentOrBlank(l)).length;
    const eofWarnings = p.warnings.filter((w) => w.message === 'text after the Ctrl-Z end-of-file marker ignored').length;
    assert.equal(p.entries.length + p.warnings.length - eofWarnings, content, `case ${c}`);
  }
});

test('hostile lines: long runs of spaces and dashes are read in one pass', () => {
  const spaces = ' '.repeat(200_000);
  const p = parsePooltag(`a${spaces}b\nProc - x${spaces}y\nAbcd ${'- '.repeat(100_000)}\n${'-'.repeat(200_000)}\n`, 'hostile');
  assert.deepEqual(p.warnings.map((w) => w.line), [1, 4]);
  assert.deepEqual(p.entries.map((e) => [e.line, e.tag, e.fields]), [[2, 'Proc', 2], [3, 'Abcd', 3]]);
  assert.equal(p.entries[0].description, `x${spaces}y`);
});

test('hostile tag fields: long blank runs and long wildcard runs are refused cheaply', () => {
  const p = parsePooltag(`a${' '.repeat(200_000)}b - x.sys - y\n${'?'.repeat(200_000)} - x.sys - y\n`, 'hostile');
  assert.deepEqual(p.entries, []);
  assert.deepEqual(p.warnings.map((w) => w.line), [1, 2]);
  assert.ok(p.warnings.every((w) => /is longer than a tag/.test(w.message) && w.message.length < 120));
});
