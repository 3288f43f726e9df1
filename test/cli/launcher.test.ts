// The program as npm ci leaves it: compiled dist/, the CommonJS launcher and the single-file bundles of the
// lookup and scan fast paths (scripts/build.mjs). Every other test runs the TypeScript sources; this one
// builds a private copy and checks that the built program answers exactly as the sources do.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runCli, runProgram, type CliResult } from '../helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'whose-tag-launcher-'));
const copy = join(work, 'build');
const builtBin = join(copy, 'bin', 'whose-tag.cjs');
const db = join(work, 'tags.db');
const pooltag = join(work, 'pooltag.txt');
const drivers = join(ROOT, 'test', 'fixtures', 'drivers');
const env = { WHOSE_TAG_DB: db, WHOSE_TAG_POOLTAG: pooltag, NO_COLOR: '1' };

const built = (args: string[]): CliResult => runProgram(builtBin, args, { ...env, WHOSE_TAG_FROM_SOURCE: '0' });
const source = (args: string[]): CliResult => runCli(args, env);

after(() => rmSync(work, { recursive: true, force: true }));

// Built in the first test, not a before() hook: a failing hook only cancels tests, and `# fail 0` would hide it.
test('the build leaves the bundles beside the modules they stand for, and a launcher that uses them', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--into', copy], { encoding: 'utf8' });
  assert.equal(r.status, 0, `build failed: ${r.stderr}`);
  writeFileSync(pooltag, 'DrA1 - direct.sys     - the fixture driver that allocates directly\r\nProc - nt!ps         - Process objects\r\n');
  // The bundled full program indexes through worker threads that run the compiled extractor: the same
  // database content as the sources give.
  const index = built(['index', drivers, '--db', db, '--host', 'lab1', '--json']);
  assert.equal(index.code, 0, index.stderr);
  const fromSource = source(['index', drivers, '--db', join(work, 'source.db'), '--host', 'lab1', '--json']);
  const counts = (r: CliResult) => {
    const { files, new: added, analysed, failed } = JSON.parse(r.stdout) as Record<string, unknown>;
    return { files, added, analysed, failed };
  };
  assert.deepEqual(counts(index), counts(fromSource));
  assert.equal(counts(index).analysed, 20);
  const exported = (path: string) => runCli(['db', 'export', '--format', 'ndjson', '--db', path]).stdout;
  assert.equal(exported(db), exported(join(work, 'source.db')));
  for (const f of ['main.js', 'main.cjs', 'fast-lookup.cjs', 'fast-scan.cjs']) assert.ok(existsSync(join(copy, 'dist', 'cli', f)), f);
  // Loaded on its own, each bundle needs nothing of dist/ for a lookup: proof that it is self-contained.
  const probe = spawnSync(
    process.execPath,
    ['-e', `require(${JSON.stringify(join(copy, 'dist', 'cli', 'fast-lookup.cjs'))}).tryFastLookup(['DrA1', '--json']).then((ok) => console.log('handled', ok))`],
    { encoding: 'utf8', env: { ...process.env, ...env } },
  );
  assert.equal(probe.status, 0, probe.stderr);
  const lines = probe.stdout.trim().split('\n');
  assert.equal(lines.pop(), 'handled true');
  const json = lines.join('\n');
  const answer = JSON.parse(json) as { tag: string; owners: { name: string }[]; pooltag: { binary: string }[] }[];
  assert.equal(answer[0].tag, 'DrA1');
  assert.ok(answer[0].owners.length > 0);
  assert.equal(answer[0].pooltag[0].binary, 'direct.sys');
});

const SAME_AS_SOURCE: [string, string[]][] = [
  ['an exact lookup', ['DrA1']],
  ['a lookup as JSON', ['DrA1', 'Proc', '--json']],
  ['a wildcard lookup as CSV', ['Dr*', '--format', 'csv']],
  ['a lookup of a tag nobody owns (exit 1)', ['Zq9!']],
  ['a bad tag (exit 2)', ['Process']],
  ['a lookup with a bad option value, handed to yargs', ['DrA1', '--format', 'xml']],
  ['a labelled scan, whose extractor the bundle loads from dist/', ['scan', 'DrA1', drivers]],
  ['a raw scan', ['scan', '--raw', 'DrA1', drivers]],
  ['a scan as JSON lines', ['scan', 'DrA1', drivers, '--json']],
  ['a scan with a missing folder (exit 2)', ['scan', 'DrA1', drivers, join(work, 'missing')]],
  ['a command that is no fast path', ['db', 'stats', '--json']],
  ['yargs help, from the bundled full program', ['--help']],
  ['a yargs usage error (exit 2)', ['index', '--bogus']],
  ['a report ranked by driver', ['top', join(ROOT, 'data', 'examples', 'poolused-demo.txt'), '--by', 'driver']],
  ['a report enriched with owners', ['enrich', join(ROOT, 'data', 'examples', 'poolused-demo.txt')]],
  ['inspect, which loads the extractor inside the bundle', ['inspect', join(drivers, 'x64', 'wrappers.sys')]],
];

const exitCodes = new Set<number | null>();
for (const [what, args] of SAME_AS_SOURCE) {
  test(`built and source programs agree: ${what}`, () => {
    const b = built(args);
    exitCodes.add(b.code);
    const s = source(args);
    assert.equal(b.stdout, s.stdout);
    assert.equal(b.stderr, s.stderr);
    assert.equal(b.code, s.code);
  });
}

// Exit 3 (a file that cannot be read mid-scan) needs a file the test's user cannot read: not under root.
test('the cases above cover every exit a fast path gives', () => {
  assert.deepEqual([...exitCodes].sort(), [0, 1, 2]);
});

test('--version is whose-tag\'s own, whatever package.json the working folder has', () => {
  const project = join(work, 'someone-elses-project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', version: '9.9.9' }));
  const ours = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const r = runProgram(builtBin, ['--version'], { ...env, WHOSE_TAG_FROM_SOURCE: '0' }, project);
  assert.equal(r.stdout, `${ours}\n`);
  assert.equal(runCli(['--version'], env, project).stdout, `${ours}\n`);
});

// Last: it plants a bundle of its own in the private copy.
test('a bundle older than the compiled modules (tsc run alone) is passed over; a fresh one is used', () => {
  const bundle = join(copy, 'dist', 'cli', 'fast-lookup.cjs');
  const mainJs = join(copy, 'dist', 'cli', 'main.js');
  writeFileSync(bundle, "exports.tryFastLookup = async () => { process.stdout.write('from the bundle\\n'); return true; };\n");
  const built = statSync(mainJs).mtime;
  utimesSync(bundle, new Date(built.getTime() - 60_000), new Date(built.getTime() - 60_000));
  const stale = runProgram(builtBin, ['DrA1', '--json'], { ...env, WHOSE_TAG_FROM_SOURCE: '0' });
  assert.equal(stale.code, 0, stale.stderr);
  assert.equal((JSON.parse(stale.stdout) as { tag: string }[])[0].tag, 'DrA1');
  utimesSync(bundle, new Date(built.getTime() + 60_000), new Date(built.getTime() + 60_000));
  assert.equal(runProgram(builtBin, ['DrA1'], { ...env, WHOSE_TAG_FROM_SOURCE: '0' }).stdout, 'from the bundle\n');
});
