import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { exportDb, exportRows, exportToFile } from '../../src/db/export.js';
import { parsePooltag } from '../../src/pooltag/parse.js';
import { tagFromText } from '../../src/tag.js';
import { buildDb, tempDir } from './helpers.js';

async function fixture(t: { after(fn: () => void): void }) {
  const dir = tempDir(t);
  const db = await buildDb(dir, join(dir, 'tags.db'), [
    {
      host: 'alpha',
      files: {
        'acme.sys': { tags: [{ tag: 'Acm1', tier: 'call', sites: 3 }, { tag: 'Acm2', tier: 'code' }, { tag: 'Acm3', tier: 'data' }, { tag: 'ObRf', tier: 'call', kind: 'object-ref' }] },
        'ms.sys': { tags: [{ tag: 'MsT1', tier: 'call' }], company: 'Microsoft Corporation' },
        'io.sys': { tags: [{ tag: 'Io', tier: 'call' }] },
      },
    },
    { host: 'beta', files: { 'acme.sys': { tags: [{ tag: 'Acm1', tier: 'call', sites: 3 }, { tag: 'Acm2', tier: 'code' }, { tag: 'Acm3', tier: 'data' }, { tag: 'ObRf', tier: 'call', kind: 'object-ref' }] } } },
  ]);
  t.after(() => db.close());
  return { dir, db };
}

function collect(fn: (sink: (s: string) => void) => void): string {
  let out = '';
  fn((s) => (out += s));
  return out;
}

test('pooltag export: third-party pool tags at code tier or better, round-trips through parsePooltag', async (t) => {
  const { db } = await fixture(t);
  const text = collect((sink) => exportDb(db, 'pooltag', sink));
  const back = parsePooltag(text, 'export');
  assert.deepEqual(back.warnings, []);
  assert.deepEqual(
    back.entries.map((e) => [e.query.exact, e.binary, e.description]),
    [
      [tagFromText('Acm1'), 'acme.sys', '[call] ExAllocatePoolWithTag .text+0x1000 (Acme Corp 1.0.0.0)'],
      [tagFromText('Acm2'), 'acme.sys', '[code] .text+0x1100 (Acme Corp 1.0.0.0)'],
      [tagFromText('Io'), 'io.sys', '[call] ExAllocatePoolWithTag .text+0x1000 (Acme Corp 1.0.0.0)'],
    ].sort((a, b) => (a[0] as number) - (b[0] as number)),
  );
  assert.ok(text.includes('\r\nIo   - io.sys'), 'short tags keep their padding column');
  const withMs = parsePooltag(collect((sink) => exportDb(db, 'pooltag', sink, { includeMicrosoft: true, minTier: 'data' })), 'x');
  assert.deepEqual(withMs.entries.map((e) => e.tag).sort(), ['Acm1', 'Acm2', 'Acm3', 'Io', 'MsT1']);
});

test('localtag export: TAG - driver lines poolmon reads, which our parser reads back as two-field entries', async (t) => {
  const { db } = await fixture(t);
  const text = collect((sink) => exportDb(db, 'localtag', sink, { minTier: 'call' }));
  const back = parsePooltag(text, 'localtag');
  assert.deepEqual(back.entries.map((e) => [e.tag, e.binary, e.fields]), [
    ['Acm1', 'acme.sys', 2],
    ['Io', 'io.sys', 2],
  ].sort((a, b) => tagFromText(a[0] as string) - tagFromText(b[0] as string)));
});

test('ndjson: one object per (driver file, tag) with the documented fields', async (t) => {
  const { dir, db } = await fixture(t);
  const lines = collect((sink) => exportDb(db, 'ndjson', sink)).trimEnd().split('\n').map((l) => JSON.parse(l));
  // acme.sys under two paths (two hosts' folders) × 4 tags, ms.sys 1, io.sys 1
  assert.equal(lines.length, 10);
  const first = lines.find((l) => l.path === join(dir, 'alpha', 'acme.sys') && l.tag === 'Acm1');
  assert.deepEqual(Object.keys(first).sort(), ['apis', 'companyName', 'evidence', 'fileVersion', 'hosts', 'kind', 'machine', 'path', 'protected', 'sha256', 'sites', 'tag', 'tagHex', 'tier'].sort());
  assert.deepEqual(
    [first.machine, first.tagHex, first.tier, first.kind, first.apis, first.hosts, first.sites],
    ['x64', '0x316d6341', 'call', 'pool', ['ExAllocatePoolWithTag'], ['alpha'], 3],
  );
  assert.match(first.sha256, /^[0-9a-f]{64}$/);
  assert.equal(lines.filter((l) => l.kind === 'object-ref').length, 2);
  const callOnly = collect((sink) => exportDb(db, 'ndjson', sink, { minTier: 'call' })).trimEnd().split('\n');
  assert.equal(callOnly.length, 6);
});

test('csv: a header and one row per (driver file, tag); written atomically to --out', async (t) => {
  const { dir, db } = await fixture(t);
  const out = join(dir, 'tags.csv');
  const summary = exportToFile(db, 'csv', out);
  assert.equal(summary.written, 10);
  const rows = readFileSync(out, 'utf8').trimEnd().split('\r\n');
  assert.equal(rows[0], 'path,sha256,machine,tag,tagHex,tier,kind,protected,sites,apis,hosts,companyName,fileVersion,evidence');
  assert.equal(rows.length, 11);
  assert.ok(rows.some((r) => r.includes(',"Io  ",0x20206f49,call,pool,false,1,ExAllocatePoolWithTag,alpha,Acme Corp,1.0.0.0,')));
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.tmp')), []);
  assert.equal([...exportRows(db)].length, 10);
});
