// The fast path reads `scan` arguments with parseArgs; yargs reads them everywhere else. These tests keep
// the two readings identical, and check that anything the fast path is unsure of goes to yargs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import yargs, { type Argv } from 'yargs';
import { FAST_SCAN_OPTIONS, parseFastScan, scanCommand, toScanOptions, type ScanArgv } from '../../src/cli/scan.js';
import type { ScanOptions } from '../../src/scan/run.js';
import { runCli } from '../helpers/cli.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/drivers/', import.meta.url));

/** What the yargs command hands to runScan for these arguments. */
async function viaYargs(args: string[]): Promise<ScanOptions> {
  let got: ScanOptions | undefined;
  await yargs(args)
    .command({ ...scanCommand, handler: (a: ScanArgv) => void (got = toScanOptions(a)) })
    .strictOptions()
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    })
    .parseAsync();
  assert.ok(got, `yargs ran no scan for ${args.join(' ')}`);
  return got;
}

test('the fast path knows exactly the options of the yargs builder, with the same kinds', () => {
  // getOptions() is yargs' own (not in @types/yargs 17): the option table the builder declared.
  type WithOptions = Argv<object> & { getOptions(): { key: Record<string, unknown>; boolean: string[]; array: string[] } };
  const o = ((scanCommand.builder as (y: Argv<object>) => Argv<object>)(yargs([])) as WithOptions).getOptions();
  const own = Object.keys(o.key).filter((k) => !['help', 'version', 'tag', 'paths'].includes(k));
  assert.deepEqual(own.sort(), Object.keys(FAST_SCAN_OPTIONS).sort());
  for (const [name, spec] of Object.entries(FAST_SCAN_OPTIONS)) {
    assert.equal(o.boolean.includes(name), spec.type === 'boolean', name);
    assert.equal(o.array.includes(name), 'multiple' in spec && spec.multiple, name);
  }
});

test('plain scan arguments read the same through parseArgs and yargs', async () => {
  const cases = [
    ['scan', 'Proc', 'C:/drivers'],
    ['scan', '--raw', 'DrA1', 'a', 'b/c', './d'],
    ['scan', 'corP', 'x', '--multichar', '--json'],
    ['scan', '0x636f7250', 'x', '--include', '*.sys', '--exclude=wd', '--exclude', 'UMDF', '--raw'],
    ['scan', 'Proc', 'x', '--include', '*.sys', '--include', '*.dll'],
    ['scan', 'Proc', 'x', '--db', 'tags.db'],
  ];
  for (const args of cases) {
    const fast = parseFastScan(args);
    assert.ok(fast, `fast path refused ${args.join(' ')}`);
    assert.deepEqual(fast, await viaYargs(args), args.join(' '));
  }
  assert.deepEqual(parseFastScan(['scan', 'Proc', 'dir']), {
    tag: 'Proc', paths: ['dir'], include: undefined, exclude: undefined, raw: false, json: false, multichar: false, db: undefined,
  });
});

test('help, odd spellings and bad values go to yargs', () => {
  for (const args of [
    ['scan', '--help'],
    ['scan', 'Proc'],
    ['scan'],
    ['lookup', 'Proc', 'dir'],
    ['scan', 'Proc', 'dir', '--bogus'],
    ['scan', 'Proc', 'dir', '--no-raw'],
    ['scan', 'Proc', 'dir', '--raw=false'],
    ['scan', 'Proc', 'dir', '--jobs', '2'],
    ['scan', 'Proc', 'dir', '--', '--raw'],
    // yargs reads `b` as a second include pattern, parseArgs as a path: the fast path must not guess.
    ['scan', 'Proc', 'a', '--include', '*.sys', 'b'],
    ['scan', '-r', 'Proc', 'dir'],
  ]) {
    assert.equal(parseFastScan(args), undefined, args.join(' '));
  }
});

test('the launcher runs scan through the fast path and the full program alike', { skip: !grepWorks() && 'no grep' }, () => {
  const want = execFileSync('grep', ['-rlF', '-a', 'DrA1', FIXTURES], { encoding: 'utf8' }).replace(/\/\//g, '/');
  const fast = runCli(['scan', '--raw', 'DrA1', FIXTURES]);
  assert.deepEqual({ code: fast.code, stderr: fast.stderr }, { code: 0, stderr: '' });
  assert.deepEqual(fast.stdout.split('\n').sort(), want.split('\n').sort());
  // `--raw=true` is not plain for parseArgs, so yargs reads it: same answer.
  assert.equal(runCli(['scan', '--raw=true', 'DrA1', FIXTURES]).stdout, fast.stdout);
  const bad = runCli(['scan', 'Proc', FIXTURES, '--jobs', '2']);
  assert.deepEqual(bad, { code: 2, stdout: '', stderr: 'whose-tag: Unknown argument: jobs\n' });
});

function grepWorks(): boolean {
  try {
    execFileSync('grep', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
