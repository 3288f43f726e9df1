// The index, lookup and db commands as a user runs them: output, files written, exit codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { parsePooltag } from '../../src/pooltag/parse.js';
import { SCHEMA_VERSION } from '../../src/db/schema.js';
import { tempDir } from './helpers.js';

const fixtures = fileURLToPath(new URL('../fixtures/drivers/x64/', import.meta.url));
const present = existsSync(join(fixtures, 'direct.sys'));

function run(args: string[], env: Record<string, string> = {}) {
  return runCli(args, { WHOSE_TAG_POOLTAG: '', CI: '1', ...env });
}

test('whose-tag index / lookup / db as a user runs them', { skip: !present && 'fixture drivers absent' }, async (t) => {
  const dir = tempDir(t, 'whose-tag-cli-');
  const corpus = join(dir, 'drivers');
  mkdirSync(corpus);
  for (const n of readdirSync(fixtures)) copyFileSync(join(fixtures, n), join(corpus, n));
  writeFileSync(join(corpus, 'bogus.sys'), 'MZ but nothing else');
  const db = join(dir, 'host.db');

  const first = run(['index', corpus, '--db', db, '--host', 'hostA']);
  assert.equal(first.code, 3, first.stderr);
  const drivers = readdirSync(fixtures).length;
  assert.match(first.stdout, new RegExp(`^indexed ${drivers + 1} files for host hostA into ${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} in `));
  assert.match(first.stdout, new RegExp(`\\n  ${drivers + 1} new, 0 changed, 0 unchanged, 0 reused \\(content already known\\), ${drivers} analysed, 1 failed, 0 pruned, 1 importers upgraded \\(exported wrappers\\)\\nfailed:\\n  ${join(corpus, 'bogus.sys').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
  assert.equal(first.stderr, '', 'no progress bar without a TTY');

  const again = run(['index', corpus, '--db', db, '--host', 'hostA', '--json']);
  const summary = JSON.parse(again.stdout);
  assert.deepEqual([summary.unchanged, summary.bytesRead, summary.failed.length, summary.failed[0].known], [drivers, 0, 1, true]);

  const hit = run(['DrA1', '--db', db]);
  assert.equal(hit.code, 0, hit.stderr);
  assert.match(hit.stdout, /^DrA1 \(0x31417244\)\n  drivers in the database \(1\), best evidence first:\n/);
  assert.match(hit.stdout, /DrA1 +call +pool +direct\.sys +x64 +1 +\.text\+0x[0-9a-f]+ ExAllocatePoolWithTag +hostA/);

  const json = JSON.parse(run(['lookup', 'Dr?1', '0x31417244', '--db', db, '--json']).stdout);
  assert.deepEqual(json.map((r: { query: string }) => r.query), ['Dr?1', '0x31417244']);
  assert.deepEqual(json[1].owners.map((o: { tag: string; tier: string; name: string }) => [o.tag, o.tier, o.name]), [['DrA1', 'call', 'direct.sys']]);
  assert.ok(json[0].owners.some((o: { tag: string }) => o.tag === 'DrQ1'));

  const csv = run(['DrA1', '--db', db, '--format', 'csv']);
  assert.equal(csv.stdout.split('\r\n')[0], 'query,source,tag,tagHex,tier,kind,driver,arch,sites,evidence,hosts,company,version,description');

  const none = run(['NoNe', '--db', db]);
  assert.equal(none.code, 1);
  assert.match(none.stdout, /NoNe: nothing known about this tag\. .*whose-tag scan NoNe DIR/);

  const badTag = run(['TooLongTag', '--db', db]);
  assert.equal(badTag.code, 2);
  assert.match(badTag.stderr, /^whose-tag: invalid tag "TooLongTag": a tag has at most 4 bytes\n$/);

  // pooltag.txt: given with --pooltag, then imported into the database.
  const pooltag = join(dir, 'pooltag.txt');
  writeFileSync(pooltag, 'rem test\r\nDrA1 - direct.sys - Fixture allocation\r\nNoNe - none.sys - Only in pooltag\r\n\x1a');
  const withFile = run(['NoNe', '--db', db, '--pooltag', pooltag]);
  assert.equal(withFile.code, 0);
  assert.match(withFile.stdout, /pooltag\.txt entries \(1\):\n.*\n.*\n +NoNe +none\.sys +Only in pooltag +.*pooltag\.txt:3/);
  const imported = run(['db', 'import-pooltag', pooltag, '--db', db]);
  assert.equal(imported.stdout, `imported 2 entries from ${pooltag} into ${db}\n`);
  const fromDb = JSON.parse(run(['NoNe', '--db', db, '--json']).stdout);
  assert.deepEqual(fromDb[0].pooltag, [{ tag: 'NoNe', binary: 'none.sys', description: 'Only in pooltag', origin: pooltag, line: 3 }]);

  // Export, stats, merge.
  const out = join(dir, 'localtag.txt');
  const exp = run(['db', 'export', '--format', 'localtag', '--db', db, '--out', out, '--min-tier', 'call']);
  assert.equal(exp.code, 0, exp.stderr);
  const back = parsePooltag(readFileSync(out, 'utf8'), out);
  assert.ok(back.entries.some((e) => e.tag === 'DrA1' && e.binary === 'direct.sys'));
  const nd = run(['db', 'export', '--format', 'ndjson', '--db', db]).stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.ok(nd.every((r: { hosts: string[] }) => r.hosts.join() === 'hostA'));

  const stats = JSON.parse(run(['db', 'stats', '--db', db, '--json']).stdout);
  assert.deepEqual([stats.schemaVersion, stats.hosts, stats.files, stats.failures], [SCHEMA_VERSION, 1, drivers, 1]);

  const other = join(dir, 'other.db');
  assert.equal(run(['index', join(corpus, 'direct.sys'), '--db', other, '--host', 'hostB']).code, 0);
  const fleet = join(dir, 'fleet.db');
  const merged = run(['db', 'merge', db, other, '--out', fleet]);
  assert.equal(merged.stdout, `merged 2 databases into ${fleet}: 2 hosts, ${drivers + 1} files, ${drivers} distinct contents, ${stats.findings} findings\n`);
  const fleetHit = JSON.parse(run(['DrA1', '--db', fleet, '--json']).stdout);
  assert.equal(fleetHit[0].owners[0].hostCount, 2);
  assert.equal(fleetHit[0].owners[0].hosts, undefined, 'hosts are counted unless --hosts asks for them');
  const listed = JSON.parse(run(['DrA1', '--db', fleet, '--json', '--hosts']).stdout);
  assert.deepEqual(listed[0].owners[0].hosts, ['hostA', 'hostB']);
  // One more host merged in place: its files join the fleet and the counts follow.
  const third = join(dir, 'third.db');
  assert.equal(run(['index', join(corpus, 'direct.sys'), '--db', third, '--host', 'hostC']).code, 0);
  const into = run(['db', 'merge', third, '--into', fleet]);
  assert.equal(into.stdout, `merged 1 database into ${fleet}: 3 hosts, ${drivers + 2} files, ${drivers} distinct contents, ${stats.findings} findings\n`);
  const table = run(['DrA1', '--db', fleet]).stdout;
  assert.match(table, /hostA, hostB, hostC/);

  // A database from a newer whose-tag.
  const raw = new Database(other);
  raw.pragma(`user_version = ${SCHEMA_VERSION + 7}`);
  raw.close();
  const newer = run(['DrA1', '--db', other]);
  assert.equal(newer.code, 2);
  assert.equal(newer.stderr, `whose-tag: ${other} was written by a newer whose-tag (schema ${SCHEMA_VERSION + 7} > ${SCHEMA_VERSION}); upgrade whose-tag\n`);
});
