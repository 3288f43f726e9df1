import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMAND_NAMES, parseFastLookup } from '../../src/cli/fast-lookup.js';
import { COMMAND_MODULES, commandName } from '../../src/cli/main.js';

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
