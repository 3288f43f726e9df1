import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parsePooltag } from '../../src/pooltag/parse.js';
import { PooltagIndex, patternsOverlap, pooltagOwners } from '../../src/pooltag/lookup.js';
import { combineOwners } from '../../src/owners.js';
import { parseTagQuery, PROTECTED_BIT, tagFromText } from '../../src/tag.js';
import { needShared, sharedPath } from '../helpers/shared.js';

// The project's own quirk file runs everywhere; Microsoft's files (../shared) only where they are.
const QUIRKS_TEXT = readFileSync(new URL('../fixtures/pooltag/quirks.txt', import.meta.url), 'latin1');
const QUIRKS = new PooltagIndex(parsePooltag(QUIRKS_TEXT, 'quirks.txt'));
const REAL = needShared('pooltag');
const realText = (name: string) => (REAL ? '' : readFileSync(sharedPath(`pooltag/${name}`), 'latin1'));
const P2003 = parsePooltag(realText('pooltag-2003.txt'), 'pooltag-2003.txt');
const P2023 = parsePooltag(realText('pooltag-sdk-2023.txt'), 'pooltag-sdk-2023.txt');
const INDEX = new PooltagIndex(P2023);

const show = (entries: { line: number; tag: string; binary: string }[]) => entries.map((e) => `${e.line}:${e.tag}:${e.binary}`);
const match = (tag: string) => show(INDEX.match(tagFromText(tag)));
const quirk = (tag: string) => show(QUIRKS.match(tagFromText(tag)));

test('quirks.txt: exact, padded short, protected bit, duplicates, wildcard headings in file order', () => {
  assert.deepEqual(quirk('Proc'), ['11:Proc:nt!ps']);
  assert.deepEqual(quirk('Io'), ['12:Io:nt!io']);
  assert.deepEqual(quirk('Io  '), ['12:Io:nt!io']);
  assert.deepEqual(quirk('G'), ['21:G:<unknown>']);
  assert.deepEqual(show(QUIRKS.match((tagFromText('Proc') | PROTECTED_BIT) >>> 0)), ['11:Proc:nt!ps']);
  assert.deepEqual(quirk('Zdup'), ['48:Zdup:nt!vf', '49:Zdup:nt!io']);
  assert.deepEqual(quirk('ZfdB'), ['52:Zfd?:zfd.sys', '54:ZfdB:zfd.sys']);
  assert.deepEqual(quirk('ZmlQ'), ['56:Zml*:<unknown>']);
  assert.deepEqual(quirk('ZcCA'), ['63:Zc??:<unknown>', '64:ZcC?:zcls.sys', '65:ZcC?:zcd.sys', '66:ZcCA:zcd.sys']);
  assert.deepEqual(quirk('Yla1'), ['58:Y???:<unknown>', '59:Yla?:ylib.sys', '60:Yla1:ylib.sys']);
  // Case-sensitive: zFDC matches only itself, not Zfd?.
  assert.deepEqual(quirk('zFDC'), ['55:zFDC:zfd.sys']);
  assert.deepEqual(quirk('Zz9!'), []);
});

test('quirks.txt: matchQuery with user wildcards, and the owners it gives', () => {
  assert.deepEqual(show(QUIRKS.matchQuery(parseTagQuery('Zfd?'))), ['52:Zfd?:zfd.sys', '53:Zfd0:zfd.sys', '54:ZfdB:zfd.sys']);
  assert.deepEqual(show(QUIRKS.matchQuery(parseTagQuery('Q?'))), ['16:Qx:qx.sys']);
  assert.deepEqual(QUIRKS.matchQuery(parseTagQuery('Zc*')).map((e) => e.tag), ['Zc??', 'ZcC?', 'ZcC?', 'ZcCA', 'ZcSB']);
  const owners = pooltagOwners(QUIRKS);
  assert.deepEqual(owners.ownersOf(tagFromText('Ztw1')), [{ name: '<unknown>', source: 'pooltag', description: 'description only, two fields' }]);
  assert.deepEqual(owners.ownersOf(tagFromText('Zb03')), [{ name: 'za.sys/zb.sys', source: 'pooltag', description: 'either of two drivers' }]);
});

test('quirks.txt: match agrees with a brute-force scan for every tag named in the file', () => {
  const tags = new Set(QUIRKS.entries.flatMap((e) => (e.query.exact === undefined ? [] : [e.query.exact])));
  assert.equal(tags.size, 37);
  for (const tag of tags) {
    const shown = QUIRKS.entries.find((e) => e.query.exact === tag)!.query.pattern;
    const expected = QUIRKS.entries.filter((e) => (e.query.exact !== undefined ? e.query.exact === tag : e.query.regex.test(shown)));
    assert.deepEqual(QUIRKS.match(tag).map((e) => e.line), expected.map((e) => e.line), shown);
  }
});

test('exact tags: one entry, padded short tags, the protected bit ignored', { skip: REAL }, () => {
  assert.deepEqual(match('Proc'), ['2460:Proc:nt!ps']);
  assert.deepEqual(match('Io'), ['1122:Io:nt!io']);
  assert.deepEqual(match('Io  '), ['1122:Io:nt!io']);
  assert.deepEqual(show(INDEX.match((tagFromText('Proc') | PROTECTED_BIT) >>> 0)), ['2460:Proc:nt!ps']);
  assert.deepEqual(match('Zz9!'), []);
});

test('wildcard entries match alongside exact ones, in file order', { skip: REAL }, () => {
  assert.deepEqual(match('AfdB'), ['57:Afd?:afd.sys', '59:AfdB:afd.sys']);
  assert.deepEqual(match('AmlH'), ['147:Aml*:<unknown>']);
  assert.deepEqual(match('ScCA'), ['3020:Sc??:<unknown>', '3027:ScC?:classpnp.sys', '3037:ScC?:cdrom.sys', '3038:ScCA:cdrom.sys']);
  assert.deepEqual(match('Gh05'), ['904:G???:<unknown>', '4406:Gh?5:win32k.sys', '4415:Gh??:win32k.sys']);
  // Tags are case-sensitive: the free-list form of an http.sys tag matches neither Ul?? nor Uc??.
  assert.deepEqual(match('uLab'), []);
});

test('duplicates are kept', { skip: REAL }, () => {
  assert.deepEqual(match('Irps'), ['1168:Irps:nt!vf', '1172:Irps:nt!io']);
});

test('an index over several files keeps file order across files', { skip: REAL }, () => {
  const both = new PooltagIndex([P2003, P2023]);
  assert.equal(both.entries.length, P2003.entries.length + P2023.entries.length);
  assert.deepEqual(both.match(tagFromText('Proc')).map((e) => e.binary), ['<unknown>', 'nt!ps']);
});

test('match agrees with a brute-force scan for every tag named in the file', { skip: REAL }, () => {
  const tags = new Set(INDEX.entries.flatMap((e) => (e.query.exact === undefined ? [] : [e.query.exact])));
  // 4512 exact entries, 54 of their tags written twice.
  assert.equal(tags.size, 4458);
  for (const tag of tags) {
    const shown = INDEX.entries.find((e) => e.query.exact === tag)!.query.pattern;
    const expected = INDEX.entries.filter((e) => (e.query.exact !== undefined ? e.query.exact === tag : e.query.regex.test(shown)));
    assert.deepEqual(INDEX.match(tag).map((e) => e.line), expected.map((e) => e.line), shown);
  }
});

test('matchQuery: a user wildcard finds the tags it covers and the patterns it overlaps', { skip: REAL }, () => {
  const afd = INDEX.matchQuery(parseTagQuery('Afd?'));
  const afdLines = realText('pooltag-sdk-2023.txt').split('\n').filter((l) => /^Afd. - /.test(l));
  assert.equal(afd.length, afdLines.length);
  assert.equal(afd.length, 28);
  assert.deepEqual(afd.filter((e) => e.query.exact === undefined).map((e) => e.tag), ['Afd?']);
  const short = INDEX.matchQuery(parseTagQuery('I?'));
  // `I?` is `I?` plus padding: Io, and every pattern that can produce `I` + one byte + two spaces.
  assert.deepEqual(show(short), ['1122:Io:nt!io', '1175:II??:<unknown>', '1185:Im*:<unknown>', '1196:Ip??:ipsec.sys', '1259:IU??:<unknown>']);
  assert.deepEqual(show(INDEX.matchQuery(parseTagQuery('Proc'))), ['2460:Proc:nt!ps']);
  assert.deepEqual(INDEX.matchQuery(parseTagQuery('Sc*')).filter((e) => e.query.exact === undefined).map((e) => e.tag), [
    'Sc??', 'ScB?', 'ScC?', 'ScC?', 'ScD?', 'ScL?', 'ScP?', 'ScR?', 'ScV?',
  ]);
});

test('patternsOverlap over four-byte tags', () => {
  assert.equal(patternsOverlap('Afd?', 'Af??'), true);
  assert.equal(patternsOverlap('Afd?', 'Afe?'), false);
  assert.equal(patternsOverlap('Ntf*', 'NtF?'), false);
  assert.equal(patternsOverlap('G???', 'Gla?'), true);
  assert.equal(patternsOverlap('I?', 'Io'), true);
  assert.equal(patternsOverlap('I?', 'I??x'), false);
  assert.equal(patternsOverlap('A*B', 'AxyB'), true);
  assert.equal(patternsOverlap('A*B', 'AxyC'), false);
  assert.equal(patternsOverlap('A**', 'A'), true);
  assert.equal(patternsOverlap('Toolong*', 'T*'), false);
  assert.equal(patternsOverlap('\\x00B?', '\\x00BC'), true);
});

test('best(): an exact entry beats every wildcard; without one, the most specific pattern wins', { skip: REAL }, () => {
  const best = (tag: string) => show(INDEX.best(tagFromText(tag)));
  assert.deepEqual(best('NtFC'), ['2196:NtFC:ntfs.sys'], 'Create.c, not "Unrecognized NTFS tag" (Nt??)');
  assert.deepEqual(best('ScCA'), ['3038:ScCA:cdrom.sys']);
  assert.deepEqual(best('ScCZ'), ['3027:ScC?:classpnp.sys', '3037:ScC?:cdrom.sys'], 'ScC? before Sc??');
  assert.deepEqual(best('Gh05'), ['4406:Gh?5:win32k.sys']);
  assert.deepEqual(best('Zz9!'), []);
});

test('pooltagOwners is an OwnerSource: binary as name, description, "<unknown>" for a missing binary', { skip: REAL }, () => {
  const owners = pooltagOwners(INDEX);
  assert.deepEqual(owners.ownersOf(tagFromText('AfdB')), [{ name: 'afd.sys', source: 'pooltag', description: 'Afd data buffer' }]);
  assert.deepEqual(owners.ownersOf(tagFromText('AfdZ')), [{ name: 'afd.sys', source: 'pooltag', description: 'AFD objects', wildcard: 'Afd?' }]);
  assert.deepEqual(owners.ownersOf(tagFromText('ATmp')), [{ name: '<unknown>', source: 'pooltag', description: 'AppTag mount point' }]);
  assert.deepEqual(owners.ownersOf(tagFromText('Zz9!')), []);
  const combined = combineOwners([owners, pooltagOwners(new PooltagIndex(P2003))]);
  assert.deepEqual(combined.ownersOf(tagFromText('Proc')).map((o) => o.name), ['nt!ps', '<unknown>']);
});
