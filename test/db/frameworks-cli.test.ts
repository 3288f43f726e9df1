// Framework evidence as a user meets it: indexed, looked up, ranked by `top` and exported. KMDF's default
// tag comes from the file name, so the same driver content under another name owns another tag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.js';
import { tempDir } from './helpers.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/frameworks/x64/', import.meta.url));

function run(args: string[]) {
  return runCli(args, { WHOSE_TAG_POOLTAG: '', CI: '1' });
}

const REPORT = `0: kd> !poolused 2
 Tag    Allocs     Used    Allocs     Used
 amda     9000  9437184         0        0	UNKNOWN pooltag 'amda', please update pooltag.txt
 KmD1       20    40960         0        0	UNKNOWN pooltag 'KmD1', please update pooltag.txt
 FcS1       10     4096         0        0	UNKNOWN pooltag 'FcS1', please update pooltag.txt
`;

test('framework tags: lookup labels them, top names a KMDF default driver as such, export keeps the labels', async (t) => {
  const dir = tempDir(t, 'whose-tag-fw-');
  const corpus = join(dir, 'drivers');
  mkdirSync(corpus);
  for (const n of ['kmdftag.sys', 'minifilter.sys', 'WdfTest.sys']) copyFileSync(join(FIXTURES, n), join(corpus, n));
  // The same content as WdfTest.sys under the name of the 2024 leak's driver: indexed as reused content.
  copyFileSync(join(FIXTURES, 'WdfTest.sys'), join(corpus, 'amdacpbus2.sys'));
  const db = join(dir, 'fw.db');
  const index = run(['index', corpus, '--db', db, '--host', 'h', '--jobs', '1']);
  assert.equal(index.code, 0, index.stderr);

  const kmd = run(['KmD1', '--db', db]);
  assert.equal(kmd.code, 0, kmd.stderr);
  assert.match(kmd.stdout, /KmD1 +call +pool +kmdftag\.sys .*framework: WdfDriverCreate DriverPoolTag/);
  const flt = run(['FcS1', '--db', db]);
  assert.match(flt.stdout, /FcS1 +call +pool +minifilter\.sys .*\.rdata\+0x[0-9a-f]+ framework: FltRegisterFilter context registration/);

  const amda = run(['amda', '--db', db]);
  assert.equal(amda.code, 0, amda.stderr);
  assert.match(amda.stdout, /amda +call \(inferred\) +pool +amdacpbus2\.sys .*KMDF default, from the file name \(service amdacpbus2\)/);
  assert.doesNotMatch(amda.stdout, /WdfTest\.sys/, 'the tag follows the file name, not the content');
  const test = run(['Test', '--db', db, '--json', '--hosts']);
  const owners = JSON.parse(test.stdout)[0].owners as { name: string; inferred?: string; paths: string[] }[];
  assert.deepEqual(owners.map((o) => [o.name, o.inferred, o.paths.length]), [['WdfTest.sys', 'kmdf-default', 1]]);

  const report = join(dir, 'poolused.txt');
  writeFileSync(report, REPORT);
  const top = run(['top', report, '--by', 'driver', '--db', db]);
  assert.equal(top.code, 0, top.stderr);
  const firstRow = top.stdout.split('\n').find((l) => /amda/.test(l))!;
  assert.match(firstRow, /^amdacpbus2\.sys \(KMDF default tag\) +call +1 /);
  assert.match(top.stdout, /^kmdftag\.sys +call +1 /m, 'a DriverPoolTag the code sets is no inference');
  const tags = run(['top', report, '--db', db]);
  assert.match(tags.stdout, /amda .*amdacpbus2\.sys \(KMDF default tag\) +call \(KMDF default\)/);

  const exported = run(['db', 'export', '--db', db, '--format', 'pooltag']);
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(exported.stdout, /^amda - amdacpbus2\.sys +- \[call\] KMDF default, from the file name \(service amdacpbus2\)/m);
  assert.match(exported.stdout, /^Test - WdfTest\.sys +- /m);
  assert.doesNotMatch(exported.stdout, /^amda - WdfTest\.sys/m);
  assert.match(exported.stdout, /^KmD1 - kmdftag\.sys +- \[call\] framework: WdfDriverCreate DriverPoolTag/m);
});
