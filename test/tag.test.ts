import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bigEndianToTag, formatTag, literalPrefix, parseTagQuery, tagFromText, tagMatches, looksLikeTag, TagSyntaxError, tagHex, PROTECTED_BIT } from '../src/tag.js';

test('a tag is its memory bytes as a little-endian u32', () => {
  assert.equal(tagFromText('Proc'), 0x636f7250);
  assert.equal(tagHex(tagFromText('Proc')), '0x636f7250');
  assert.equal(formatTag(0x636f7250), 'Proc');
});

test('short tags are space-padded and trailing spaces kept in display', () => {
  assert.equal(tagFromText('Io'), tagFromText('Io  '));
  assert.equal(formatTag(tagFromText('Io')), 'Io  ');
});

test('non-printable bytes display as \\xNN and parse back', () => {
  const v = 0x00414243;
  assert.equal(formatTag(v), 'CBA\\x00');
  assert.equal(tagFromText('CBA\\x00'), v);
});

test('hex input and the C multichar form (only with the flag)', () => {
  assert.equal(parseTagQuery('0x636f7250').exact, tagFromText('Proc'));
  assert.throws(() => parseTagQuery("'corP'"), TagSyntaxError);
  assert.equal(parseTagQuery("'corP'", { multichar: true }).exact, tagFromText('Proc'));
});

test('wildcards match like poolmon: ? one byte, * the rest', () => {
  const q = parseTagQuery('Afd?');
  assert.ok(tagMatches(q, tagFromText('AfdB')));
  assert.ok(!tagMatches(q, tagFromText('Afx1')));
  const star = parseTagQuery('Ntf*');
  assert.ok(tagMatches(star, tagFromText('NtfF')));
  assert.ok(tagMatches(star, tagFromText('Ntf ')));
  assert.ok(!tagMatches(star, tagFromText('NtFs')));
  const short = parseTagQuery('I?');
  assert.ok(tagMatches(short, tagFromText('Io  ')));
  assert.ok(!tagMatches(short, tagFromText('Ioxx')));
});

test('the protected bit is the same tag, flagged', () => {
  const q = parseTagQuery('Proc');
  assert.ok(tagMatches(q, (tagFromText('Proc') | PROTECTED_BIT) >>> 0));
});

test('too long or non-byte input is a clear error', () => {
  assert.throws(() => parseTagQuery('Process'), /at most 4 bytes/);
  assert.throws(() => parseTagQuery('Pr€c'), /not a single byte/);
  assert.throws(() => parseTagQuery(''), /empty/);
});

test('looksLikeTag accepts tag-like immediates and rejects numbers', () => {
  assert.ok(looksLikeTag(tagFromText('Proc')));
  assert.ok(looksLikeTag(tagFromText('Io  ')));
  assert.ok(!looksLikeTag(0x00001000));
  assert.ok(!looksLikeTag(0xffffffff));
  assert.ok(!looksLikeTag(tagFromText('a b ')));
});

test('literalPrefix: the bytes a wildcard fixes, for range lookups', () => {
  assert.deepEqual(literalPrefix(parseTagQuery('Afd?')), [0x41, 0x66, 0x64]);
  assert.deepEqual(literalPrefix(parseTagQuery('Nt*')), [0x4e, 0x74]);
  assert.deepEqual(literalPrefix(parseTagQuery('?fd1')), []);
  assert.deepEqual(literalPrefix(parseTagQuery('\\x01A*')), [0x01, 0x41]);
  assert.deepEqual(literalPrefix(parseTagQuery('Proc')), [0x50, 0x72, 0x6f, 0x63]);
  assert.equal(bigEndianToTag(0x50726f63), tagFromText('Proc'));
});
