import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMAND_NAMES, parseFastLookup } from '../../src/cli/fast-lookup.js';
import { runCli } from '../helpers/cli.js';
import { COMMAND_MODULES, commandName } from '../../src/cli/main.js';
import { thousands } from '../../src/cli/lookup.js';
import { prng } from '../helpers/prng.js';

test('the fast path knows every command name main.ts registers', () => {
  assert.deepEqual([...COMMAND_NAMES].sort(), COMMAND_MODULES.map(commandName).sort());
});

test('plain lookups take the fast path with the same defaults as yargs', () => {
  assert.deepEqual(parseFastLookup(['Proc', 'Afd?', '--db', 'x.db', '--json']), {
    tags: ['Proc', 'Afd?'],
    db: 'x.db',
    pooltag: undefined,
    multichar: undefined,
    kind: 'all',
    tier: undefined,
    json: true,
    format: 'table',
    hosts: undefined,
  });
  assert.equal(parseFastLookup(['Proc', '--tier', 'call'])?.tier, 'call');
});

test('commands, help, unknown options and bad choices go to the full program', () => {
  assert.equal(parseFastLookup(['index', 'C:/drivers']), undefined);
  assert.equal(parseFastLookup(['--help']), undefined);
  assert.equal(parseFastLookup(['Proc', '--bogus']), undefined);
  assert.equal(parseFastLookup(['Proc', '--format', 'xml']), undefined);
  assert.equal(parseFastLookup([]), undefined);
});

test('a mistyped command is named as such, a five-byte tag as a bad tag', () => {
  const typo = runCli(['inedx', 'C:/drivers'], { WHOSE_TAG_DB: join(tmpdir(), 'whose-tag-no-such.db') });
  assert.equal(typo.code, 2);
  assert.equal(typo.stderr, 'whose-tag: inedx: not a command (whose-tag --help lists them) and not a tag (invalid tag "inedx": a tag has at most 4 bytes)\n');
  const long = runCli(['Process'], { WHOSE_TAG_DB: join(tmpdir(), 'whose-tag-no-such.db') });
  assert.equal(long.code, 2);
  assert.equal(long.stderr, 'whose-tag: invalid tag "Process": a tag has at most 4 bytes\n');
});

test("host counts group digits as toLocaleString('en-US') does, without loading ICU's formats", () => {
  const rand = prng(3);
  for (let i = 0; i < 2000; i++) {
    const n = Math.floor(rand() * 10 ** Math.floor(rand() * 10));
    assert.equal(thousands(n), n.toLocaleString('en-US'), String(n));
  }
});
