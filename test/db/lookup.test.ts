import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { dbOwners, lookup } from '../../src/db/lookup.js';
import { importPooltag } from '../../src/db/pooltag-store.js';
import { PooltagIndex } from '../../src/pooltag/lookup.js';
import { parsePooltag } from '../../src/pooltag/parse.js';
import { parseTagQuery, tagFromText } from '../../src/tag.js';
import { buildDb, tempDir } from './helpers.js';

const POOLTAG = [
  'rem A pooltag.txt in miniature',
  'Proc - nt!ps - Process objects',
  'Proc - other.sys - A second owner of the same tag',
  'Afd? - afd.sys - AFD objects',
  'AfdB - afd.sys -     Afd buffer',
  'Wide - wide.sys - Wide tag',
].join('\r\n');

async function fixture(t: { after(fn: () => void): void }) {
  const dir = tempDir(t);
  const db = await buildDb(dir, join(dir, 'tags.db'), [
    {
      host: 'alpha',
      files: {
        'acme.sys': { tags: [{ tag: 'Proc', tier: 'code', sites: 9 }, { tag: 'AfdX', tier: 'call' }, { tag: 'ObRf', tier: 'call', kind: 'object-ref', api: 'ObReferenceObjectByHandleWithTag' }] },
        'zeta.sys': { tags: [{ tag: 'Proc', tier: 'call', sites: 2 }], company: 'Zeta_Inc' },
        'many.sys': { tags: [{ tag: 'Proc', tier: 'call', sites: 5 }, { tag: 'Ntfa', tier: 'data' }] },
      },
    },
    { host: 'beta', files: { 'zeta.sys': { tags: [{ tag: 'Proc', tier: 'call', sites: 2 }], company: 'Zeta_Inc' } } },
  ]);
  t.after(() => db.close());
  return { dir, db, pooltag: new PooltagIndex(parsePooltag(POOLTAG, 'mini.txt')) };
}

test('exact tag: owners ranked by tier then sites, with evidence, hosts, version; then every pooltag entry', async (t) => {
  const { dir, db, pooltag } = await fixture(t);
  const [r] = lookup(db, [parseTagQuery('Proc')], pooltag, { pooltagOrigin: 'mini.txt', listHosts: true });
  assert.deepEqual(
    r.owners.map((o) => [o.name, o.tier, o.sites, o.hosts]),
    [
      ['many.sys', 'call', 5, ['alpha']],
      ['zeta.sys', 'call', 2, ['alpha', 'beta']],
      ['acme.sys', 'code', 9, ['alpha']],
    ],
  );
  const zeta = r.owners[1];
  assert.deepEqual(zeta.paths, [join(dir, 'alpha', 'zeta.sys'), join(dir, 'beta', 'zeta.sys')]);
  assert.deepEqual(zeta.version, { CompanyName: 'Zeta Inc', FileVersion: '1.0.0.0' });
  assert.deepEqual(zeta.apis, ['ExAllocatePoolWithTag']);
  assert.equal(zeta.evidence.length, 2);
  assert.deepEqual(zeta.evidence[0], { tier: 'call', section: '.text', rva: 0x1000, api: 'ExAllocatePoolWithTag', instruction: 'mov r8d,636F7250h' });
  assert.equal(r.owners[2].evidence.length, 8, 'evidence capped as the extractor caps it');
  assert.deepEqual(
    r.pooltag.map((p) => [p.binary, p.description, p.origin, p.line]),
    [
      ['nt!ps', 'Process objects', 'mini.txt', 2],
      ['other.sys', 'A second owner of the same tag', 'mini.txt', 3],
    ],
  );
});

test('hex, wildcard and several tags at once; wildcard entries of pooltag.txt included', async (t) => {
  const { db, pooltag } = await fixture(t);
  const results = lookup(db, ['0x636f7250', 'Afd?', 'Ntf*', 'None'].map((q) => parseTagQuery(q)), pooltag);
  assert.deepEqual(results.map((r) => r.owners.length), [3, 1, 1, 0]);
  assert.equal(results[1].owners[0].tag, tagFromText('AfdX'));
  assert.deepEqual(results[1].pooltag.map((p) => p.tag), ['Afd?', 'AfdB']);
  assert.equal(results[2].owners[0].tag, tagFromText('Ntfa'));
  assert.deepEqual(results[3], { query: results[3].query, owners: [], pooltag: [] });
  // An exact tag covered only by a wildcard heading still gets that entry.
  const [afdx] = lookup(db, [parseTagQuery('AfdX')], pooltag);
  assert.deepEqual(afdx.pooltag.map((p) => p.tag), ['Afd?']);
});

test('kind and minimum tier filter the owners', async (t) => {
  const { db } = await fixture(t);
  const [all] = lookup(db, [parseTagQuery('ObRf')]);
  assert.deepEqual(all.owners.map((o) => [o.name, o.kind]), [['acme.sys', 'object-ref']]);
  const [pool] = lookup(db, [parseTagQuery('ObRf')], undefined, { kind: 'pool' });
  assert.equal(pool.owners.length, 0);
  const [calls] = lookup(db, [parseTagQuery('Proc')], undefined, { minTier: 'call' });
  assert.deepEqual(calls.owners.map((o) => o.name), ['many.sys', 'zeta.sys']);
});

test('imported pooltag entries answer from the database, and a re-import replaces its origin', async (t) => {
  const { db, pooltag } = await fixture(t);
  assert.equal(importPooltag(db, parsePooltag(POOLTAG, '/x/mini.txt')), 5);
  assert.equal(importPooltag(db, parsePooltag(POOLTAG, '/x/mini.txt')), 5);
  assert.equal(db.prepare('SELECT COUNT(*) FROM pooltag_entries').pluck().get(), 5);
  const [proc, afd] = lookup(db, [parseTagQuery('Proc'), parseTagQuery('AfdB')]);
  assert.deepEqual(proc.pooltag.map((p) => [p.binary, p.origin, p.line]), [['nt!ps', '/x/mini.txt', 2], ['other.sys', '/x/mini.txt', 3]]);
  // The exact entry first, then the wildcard heading that also covers it.
  assert.deepEqual(afd.pooltag.map((p) => [p.tag, p.heading, p.wildcard]), [['AfdB', 'Afd?', undefined], ['Afd?', undefined, true]]);
  // The same file given with --pooltag is not listed twice.
  const [again] = lookup(db, [parseTagQuery('Proc')], pooltag, { pooltagOrigin: '/x/mini.txt' });
  assert.equal(again.pooltag.length, 2);
  importPooltag(db, parsePooltag('Proc - replaced.sys - Only one now', '/x/mini.txt'));
  const [replaced] = lookup(db, [parseTagQuery('Proc')]);
  assert.deepEqual(replaced.pooltag.map((p) => p.binary), ['replaced.sys']);
});

test('without a database, pooltag.txt still answers', () => {
  const [r] = lookup(undefined, [parseTagQuery('Wide')], new PooltagIndex(parsePooltag(POOLTAG, 'mini.txt')), { pooltagOrigin: 'mini.txt' });
  assert.deepEqual([r.owners.length, r.pooltag.map((p) => p.binary)], [0, ['wide.sys']]);
});

test('dbOwners: the database as an owner source, best owner first, cached per tag', async (t) => {
  const { db } = await fixture(t);
  const source = dbOwners(db);
  const owners = source.ownersOf(tagFromText('Proc'));
  assert.deepEqual(owners.map((o) => [o.name, o.source, o.tier, o.kind, o.description, o.hosts]), [
    ['many.sys', 'db', 'call', 'pool', 'Acme Corp', ['alpha']],
    ['zeta.sys', 'db', 'call', 'pool', 'Zeta Inc', ['alpha', 'beta']],
    ['acme.sys', 'db', 'code', 'pool', 'Acme Corp', ['alpha']],
  ]);
  assert.equal(source.ownersOf(tagFromText('Proc') | 0x80000000), owners, 'protected bit ignored, same cached answer');
  assert.deepEqual(source.ownersOf(tagFromText('Nope')), []);
});
