// The npm package as a user gets it: `npm pack` in a copy of the project (its prepack builds dist/ and strips
// the manifest's scripts, postpack restores them), the tarball unpacked into another folder's
// node_modules, and lookup, index and top run from there. The dependencies are linked from the project's
// node_modules instead of installed (no network in a test); .ci/run does the real `npm install` of the tarball.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { ROOT, runProgram } from '../helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'whose-tag-package-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** What `npm pack` needs from a checkout: the sources, the build, the files the package ships. */
const PROJECT_FILES = ['package.json', 'tsconfig.json', 'README.md', 'LICENSE', 'bin', 'data', 'scripts', 'src'];

function npm(args: string[], cwd: string) {
  // Under `npm test` npm says where its own CLI is: the same npm packs, on any platform.
  const cli = process.env.npm_execpath;
  const r = cli && cli.endsWith('.js')
    ? spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' })
    : spawnSync('npm', args, { cwd, encoding: 'utf8', shell: process.platform === 'win32' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath, d.name)).split(sep).join('/'))
    .sort();
}

const project = join(work, 'project');
const app = join(work, 'app');
const installed = join(app, 'node_modules', 'whose-tag');
const manifestBefore = readFileSync(join(ROOT, 'package.json'), 'utf8');

// One chain of steps, each a test that needs the one before: built in the first test, not a before() hook,
// because a failing hook only cancels tests and `# fail 0` would hide it.
test('npm pack builds dist/ from scratch and ships no source maps, no sources and no scripts', () => {
  mkdirSync(project);
  for (const f of PROJECT_FILES) cpSync(join(ROOT, f), join(project, f), { recursive: true });
  // A module left in dist/ by an earlier build must not reach the tarball.
  mkdirSync(join(project, 'dist', 'cli'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(project, 'dist', 'cli', 'stale-module.js'));
  symlinkSync(join(ROOT, 'node_modules'), join(project, 'node_modules'), 'junction');
  const packed = npm(['pack', '--json', '--pack-destination', work], project);
  assert.equal(packed.code, 0, packed.stderr);
  const [{ filename, files }] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  // postpack put the checkout's manifest back, scripts and all.
  assert.equal(readFileSync(join(project, 'package.json'), 'utf8'), manifestBefore);

  mkdirSync(join(app, 'node_modules'), { recursive: true });
  mkdirSync(installed);
  const untar = spawnSync('tar', ['-xzf', join(work, filename), '-C', installed, '--strip-components=1'], { encoding: 'utf8' });
  assert.equal(untar.status, 0, untar.stderr);
  const shipped = filesUnder(installed);
  assert.deepEqual(shipped, files.map((f) => f.path).sort());

  assert.deepEqual(shipped.filter((f) => f.endsWith('.map') || f.endsWith('.ts') || /^(src|scripts|test|bench)\//.test(f)), []);
  assert.ok(!shipped.includes('dist/cli/stale-module.js'), 'dist/ was built from scratch');
  for (const f of ['bin/whose-tag.cjs', 'dist/cli/main.cjs', 'dist/cli/fast-lookup.cjs', 'dist/cli/fast-scan.cjs', 'dist/index/extract-worker.cjs', 'data/tag-apis.json', 'data/tag-frameworks.json', 'data/examples/poolused-demo.txt', 'README.md', 'LICENSE']) {
    assert.ok(shipped.includes(f), f);
  }
  // Every compiled module stands for a source module (nothing stale), and no script can run on install.
  for (const f of shipped.filter((x) => x.startsWith('dist/') && x.endsWith('.js'))) {
    assert.ok(existsSync(join(ROOT, 'src', f.slice('dist/'.length).replace(/\.js$/, '.ts'))), `${f} has no source`);
  }
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(manifest.scripts, undefined);
  assert.deepEqual(manifest.bin, { 'whose-tag': 'bin/whose-tag.cjs' });
});

test('the unpacked package indexes, looks up and ranks from a folder of its own', () => {
  assert.ok(existsSync(installed), 'the package was unpacked by the test before');
  const deps = JSON.parse(manifestBefore) as { dependencies: Record<string, string>; optionalDependencies?: Record<string, string> };
  for (const name of [...Object.keys(deps.dependencies), ...Object.keys(deps.optionalDependencies ?? {})]) {
    const target = join(ROOT, 'node_modules', name);
    if (existsSync(target)) symlinkSync(target, join(app, 'node_modules', name), 'junction');
  }
  const bin = join(installed, 'bin', 'whose-tag.cjs');
  const db = join(work, 'tags.db');
  const run = (args: string[]) => runProgram(bin, args, { WHOSE_TAG_FROM_SOURCE: '0', WHOSE_TAG_DB: db, WHOSE_TAG_POOLTAG: '' }, app);

  const index = run(['index', join(ROOT, 'test', 'fixtures', 'drivers'), '--json']);
  assert.equal(index.code, 0, index.stderr);
  const { files, analysed, failed } = JSON.parse(index.stdout) as { files: number; analysed: number; failed: unknown[] };
  assert.ok(files > 0);
  assert.deepEqual([analysed, failed.length], [files, 0]);

  const lookup = run(['DrA1', '--json']);
  assert.equal(lookup.code, 0, lookup.stderr);
  const [answer] = JSON.parse(lookup.stdout) as { owners: { name: string }[] }[];
  assert.deepEqual([...new Set(answer.owners.map((o) => o.name))], ['direct.sys']);

  const top = run(['top', join(installed, 'data', 'examples', 'poolused-demo.txt'), '--by', 'driver', '--json', '-n', '1']);
  assert.equal(top.code, 0, top.stderr);
  assert.equal((JSON.parse(top.stdout) as { rows: { driver: string }[] }).rows[0].driver, 'wrappers.sys');
});

test('the README shows no path from the machine it was generated on', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const absolute = readme.match(/(?:^|[\s(`'"=])(?:\/(?:work|home|root|tmp|Users|mnt|var|opt)\/|[A-Za-z]:\\(?:Users|work)\\)\S*/gm) ?? [];
  assert.deepEqual(absolute.map((s) => s.trim()), []);
  assert.ok(!readme.includes(ROOT), ROOT);
});
