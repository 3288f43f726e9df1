// What a new user's mistakes get back: one line on stderr that names the path or the option and says what
// went wrong, with the documented exit code (2 bad usage or input; 0 with a warning when there is merely
// nothing to do). Also the inputs that must simply work: `--multichar corP`, `lookup -- -UMD`, `0X…` hex.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, type CliResult } from '../helpers/cli.js';
import { openDb } from '../../src/db/schema.js';
import { indexPaths } from '../../src/index/pipeline.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/drivers/x64/', import.meta.url));
const DEMO = fileURLToPath(new URL('../../data/examples/poolused-demo.txt', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'whose-tag-messages-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const db = join(dir, 'tags.db');
const folder = join(dir, 'folder');
mkdirSync(folder);
const file = (name: string, content: string | Uint8Array) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const emptySys = file('empty.sys', '');
const twoBytes = file('two.sys', 'MZ');
const emptyTxt = file('empty.txt', '');
const noEntries = file('no-entries.txt', 'rem nothing here\r\n\r\n// still nothing\r\n');
const pooltag = file('pooltag.txt', '-UMD - umdf.sys - a tag that starts with a dash\r\nProc - nt!ps - Process objects\r\n');

const run = (args: string[]) => runCli(args, { WHOSE_TAG_DB: join(dir, 'no-default.db'), WHOSE_TAG_POOLTAG: '' }, dir);

/**
 * The error is one line, `whose-tag: MESSAGE`, and the last on stderr. `notes`: the report commands may say
 * first what they skipped in the report; anything else on stderr is a second line of the error.
 */
function oneLine(r: CliResult, code: number, message: string | RegExp, notes = 0): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l !== '').slice(notes);
  assert.equal(lines.length, 1, r.stderr);
  if (typeof message === 'string') assert.equal(lines[0], `whose-tag: ${message}`);
  else assert.match(lines[0], message);
}

test('the database for these cases', async () => {
  const d = openDb(db);
  await indexPaths(d, [FIXTURES], { host: 'h1' });
  d.close();
});

test('a folder where a file is expected names the path and says it is a folder', () => {
  oneLine(run(['Proc', '--db', db, '--pooltag', folder]), 2, `${folder}: is a folder, not a pooltag.txt file`);
  oneLine(run(['db', 'import-pooltag', folder, '--db', db]), 2, `${folder}: is a folder, not a pooltag.txt file`);
  oneLine(run(['inspect', folder]), 2, `${folder}: is a folder; inspect reads one driver file (whose-tag index ${folder} reads a folder)`);
  for (const args of [['Proc', '--db', folder], ['db', 'stats', '--db', folder], ['top', DEMO, '--db', folder], ['index', FIXTURES, '--db', folder]]) {
    oneLine(run(args), 2, `${folder}: is a folder, not a database file (--db takes a file, e.g. ${folder}/tags.db)`, args[0] === 'top' ? 1 : 0);
  }
  oneLine(run(['db', 'export', '--format', 'csv', '--db', db, '--out', folder]), 2, `${folder}: is a folder; give a file path to write`);
});

test('--out in a folder that does not exist says so, with no temporary file name', () => {
  const out = join(dir, 'nowhere', 'tags.csv');
  oneLine(run(['db', 'export', '--format', 'csv', '--db', db, '--out', out]), 2, `${out}: the folder ${join(dir, 'nowhere')} does not exist`);
  oneLine(run(['db', 'merge', db, '--out', out]), 2, `${out}: the folder ${join(dir, 'nowhere')} does not exist`);
});

test('an empty or 2-byte driver says "empty" or "too short"; index names the failing path once', () => {
  oneLine(run(['inspect', emptySys]), 2, `${emptySys}: not a PE image: empty file`);
  oneLine(run(['inspect', twoBytes]), 2, `${twoBytes}: not a PE image: too short (2 bytes; the DOS header alone is 64)`);
  const r = run(['index', emptySys, twoBytes, '--db', join(dir, 'failures.db')]);
  assert.equal(r.code, 3, r.stderr);
  const failed = r.stdout.split('\n').filter((l) => l.startsWith('  /'));
  assert.deepEqual(failed, [`  ${emptySys}: not a PE image: empty file`, `  ${twoBytes}: not a PE image: too short (2 bytes; the DOS header alone is 64)`]);
});

test('numbers that are not numbers, bad choices and a value-less --db are one-line usage errors', () => {
  oneLine(run(['top', DEMO, '-n', 'abc']), 2, '-n: not a number (expected a whole number >= 0)');
  oneLine(run(['index', folder, '--jobs', 'abc', '--db', join(dir, 'jobs.db')]), 2, '--jobs: not a number (expected a whole number >= 1)');
  oneLine(run(['Proc', '--db', db, '--tier', 'bogus']), 2, '--tier "bogus": expected one of call, code, data');
  oneLine(run(['top', DEMO, '--by', 'foo']), 2, '--by "foo": expected one of tag, driver');
  oneLine(run(['Proc', '--db']), 2, '--db needs a value (a file path)');
  oneLine(run(['top', DEMO, '--db']), 2, '--db needs a value (a file path)');
});

test('0X636F7250 is hex, and --multichar corP needs no quote characters', () => {
  for (const args of [['0X636F7250'], ['0x636f7250'], ['--multichar', 'corP'], ['--multichar', "'corP'"]]) {
    const r = run([...args, '--db', db, '--pooltag', pooltag, '--json']);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(JSON.parse(r.stdout)[0].tag, 'Proc', args.join(' '));
  }
});

test('lookup -- -UMD takes a tag that starts with a dash, on the fast path and through yargs', () => {
  for (const args of [['lookup', '--pooltag', pooltag, '--', '-UMD'], ['--pooltag', pooltag, '--', '-UMD'], ['lookup', '--quiet', '--pooltag', pooltag, '--', '-UMD']]) {
    const r = run([...args.slice(0, -2), '--db', db, ...args.slice(-2)]);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /^-UMD \(0x444d552d\)$/m, args.join(' '));
    assert.match(r.stdout, /umdf\.sys/);
  }
});

test('a tag known only as an object-reference tag says so under --kind pool', () => {
  const r = run(['DcO1', '--db', db, '--kind', 'pool', '--pooltag', pooltag]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /^ {2}DcO1: no driver uses this as a pool tag; 1 driver uses it as an object-reference tag \(ObReferenceObjectByHandleWithTag and friends\): --kind object-ref or --kind all lists them$/m);
  const all = run(['DcO1', '--db', db, '--pooltag', pooltag]);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /object-ref/);
});

test('--pooltag and db import-pooltag on a file with no entries are errors', () => {
  oneLine(run(['Proc', '--db', db, '--pooltag', emptyTxt]), 2, `${emptyTxt}: empty file, no pooltag entries in it`);
  oneLine(run(['Proc', '--db', db, '--pooltag', noEntries]), 2, `${noEntries}: no pooltag entries in it (expected lines like "Proc - nt!ps - Process objects")`);
  oneLine(run(['top', DEMO, '--pooltag', noEntries]), 2, `${noEntries}: no pooltag entries in it (expected lines like "Proc - nt!ps - Process objects")`, 1);
  oneLine(run(['db', 'import-pooltag', noEntries, '--db', db]), 2, `${noEntries}: no pooltag entries in it (expected lines like "Proc - nt!ps - Process objects")`);
});

test('index and scan with nothing to read: a warning and exit 0 for an empty folder, exit 2 for a path that does not exist', () => {
  const empty = run(['index', folder, '--db', join(dir, 'empty.db')]);
  assert.equal(empty.code, 0, empty.stderr);
  assert.match(empty.stderr, /^whose-tag: warning: no driver files under .*folder \(looked for \*\*\/\*\.sys, .*; --include changes that\)\n$/);
  const missing = join(dir, 'no-such-dir');
  oneLine(run(['index', missing, '--db', join(dir, 'missing.db')]), 2, `${missing}: no such file or folder`);
  oneLine(run(['scan', 'Proc', folder]), 0, `warning: no files in ${folder}`);
  oneLine(run(['scan', 'Proc', folder, '--json']), 0, `warning: no files in ${folder}`);
  oneLine(run(['scan', 'Proc', missing]), 2, `${missing}: no such file or folder`);
});

test('control bytes from the command line are escaped wherever they are echoed', () => {
  const esc = run(['Pr\x1b[2Jc', '--db', db]);
  oneLine(esc, 2, 'invalid tag "Pr\\x1b[2Jc": a tag has at most 4 bytes');
  const bell = run(['\x07Pr', '--db', db, '--pooltag', pooltag]);
  assert.equal(bell.code, 1, bell.stderr);
  assert.match(bell.stdout, /^ {2}\\x07Pr: nothing known about this tag\. .*whose-tag scan \\x07Pr DIR$/m);
  assert.ok(!/[\x00-\x08\x0b-\x1f\x7f]/.test(bell.stdout + bell.stderr), 'no raw control byte reaches the terminal');
  const path = join(dir, 'nowhere\x1b]0;title\x07');
  const r = run(['index', path, '--db', join(dir, 'ctl.db')]);
  oneLine(r, 2, `${dir}/nowhere\\x1b]0;title\\x07: no such file or folder`);
});

test('control bytes in report and file names are escaped in top, enrich and scan output', () => {
  const ctl = '\x1b]0;t\x07';
  const shown = '\\x1b]0;t\\x07';
  const vm = file(`vm${ctl}.txt`, 'NonPagedPool Usage:          9217 (      36868 Kb)\r\nPagedPool Usage:            37057 (     148228 Kb)\r\n');
  const top = run(['top', vm]);
  assert.equal(top.code, 1, top.stderr);
  assert.equal(top.stdout, `${dir}/vm${shown}.txt: WinDbg !vm output: pool totals only, no tags or drivers to rank: NonPagedPool 36868 KB (9217 pages); PagedPool 148228 KB (37057 pages)\n`);
  const enrich = run(['enrich', vm]);
  assert.match(enrich.stderr, new RegExp(`^whose-tag: .*vm${shown.replace(/[\\[\]]/g, '\\$&')}\\.txt: WinDbg !vm output`, 'm'));
  const series = file(`series${ctl}.ndjson`, readFileSync(fileURLToPath(new URL('../../data/examples/capture-series.ndjson', import.meta.url))));
  const many = run(['top', series, '--db', db]);
  assert.equal(many.code, 0, many.stderr);
  assert.match(many.stderr, /series\\x1b\]0;t\\x07\.ndjson holds \d+ snapshots/);
  // A labelled scan prints the path of each file it matched.
  const scanDir = join(dir, 'scan-ctl');
  mkdirSync(scanDir);
  writeFileSync(join(scanDir, `evil${ctl}.sys`), Buffer.from('....Proc....'));
  const scan = run(['scan', 'Proc', scanDir]);
  assert.equal(scan.code, 0, scan.stderr);
  assert.equal(scan.stdout, `${scanDir}/evil${shown}.sys\tdata\t1 hit; first at offset 0x4\n`);
  const json = run(['scan', 'Proc', scanDir, '--json']);
  assert.equal(JSON.parse(json.stdout).path, `${scanDir}/evil${ctl}.sys`, 'JSON keeps the name, escaped by JSON itself');
  for (const r of [top, enrich, many, scan, json]) assert.ok(!/[\x00-\x08\x0b-\x1f\x7f]/.test(r.stdout + r.stderr), 'no raw control byte reaches the terminal');
});
