// top, enrich and diff on the new kinds of report, end to end through the real program: a listing of
// allocations, a driver-level report, and a report that only states what it is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { needShared, sharedPath } from '../helpers/shared.js';

const EXAMPLES = new URL('../../data/examples/', import.meta.url).pathname;
const FIXTURES = new URL('../fixtures/reports/', import.meta.url).pathname;

function run(args: string[]) {
  return runCli(args, { WHOSE_TAG_DB: join(tmpdir(), 'whose-tag-no-such.db'), WHOSE_TAG_POOLTAG: '' });
}

test('top --json on a !poolfind paste: kind allocations, the listed blocks per tag, absent counters null; one skipped-lines note', () => {
  const r = run(['top', join(EXAMPLES, 'poolfind-amda.txt'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.format, 'poolfind');
  assert.equal(j.kind, 'allocations');
  assert.deepEqual(j.rows.map((x: { tag: string; nonpaged: unknown }) => [x.tag, x.nonpaged]), [['amda', { allocs: null, frees: null, outstanding: 31, bytes: 39072 }]]);
  assert.equal(r.stderr.match(/skipped \d+ lines? that/g)?.length, 1);
  assert.match(r.stderr, /poolfind-amda\.txt: skipped 2 lines that are not rows \(first: line 39\)/);
});

test('top --by driver on a verifier /query block ranks the drivers it gives; --by tag says it ranks drivers', () => {
  const r = run(['top', join(EXAMPLES, 'verifier-query.txt'), '--by', 'driver', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.format, 'verifier-query');
  assert.equal(j.kind, 'drivers');
  assert.deepEqual(j.rows.map((d: { driver: string; nonpaged: { bytes: number } }) => [d.driver, d.nonpaged.bytes]), [['SafeUpload.sys', 0]]);
  const t = run(['top', join(EXAMPLES, 'verifier-query.txt')]);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stderr, /holds per-driver totals and no tags: ranking drivers/);
  assert.match(t.stdout, /^SafeUpload\.sys +verifier /m);
  assert.match(t.stdout, /Peak \(as reported\): SafeUpload\.sys 40128 bytes in 33 allocations\./);
});

test('a trace is said to be one: DRAKVUF calls and bytes requested', () => {
  const r = run(['top', join(FIXTURES, 'drakvuf-poolmon.kv'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).kind, 'trace');
  const t = run(['top', join(FIXTURES, 'drakvuf-poolmon.kv'), '--sort', 'allocs']);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /traced allocation calls/);
});

test('a report with nothing to rank: top prints its one-line statement and exits 1; diff refuses it naming it', { skip: needShared('reports') }, () => {
  const vm = sharedPath('reports/vm-1.txt');
  const r = run(['top', vm]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, `${vm}: WinDbg !vm output: pool totals only, no tags or drivers to rank: NonPagedPool 36868 KB (9217 pages); PagedPool 148228 KB (37057 pages)\n`);
  const j = run(['top', sharedPath('reports/vol2-pooltracker-2.txt'), '--json']);
  assert.equal(j.code, 1);
  assert.deepEqual(JSON.parse(j.stdout), { format: 'vol2-pooltracker', kind: 'statement', statement: 'Volatility 2 pooltracker output with a header and no rows (the run failed: MemoryError)', rows: [] });
  const d = run(['diff', vm, vm]);
  assert.equal(d.code, 1);
  assert.match(d.stderr, /vm-1\.txt: WinDbg !vm output: pool totals only/);
});

test('enrich puts the owner on every line of an aggregated per-allocation row', () => {
  const r = run(['enrich', join(FIXTURES, 'memprocfs-allocations.txt'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  // One JSON object per report line.
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { line: number; rows: { tag: string }[] });
  assert.deepEqual(lines.filter((l) => l.rows.length).map((l) => [l.line, l.rows[0].tag]), [[3, 'Proc'], [4, 'Proc'], [5, 'Proc'], [6, 'CM31'], [7, 'Io  '], [8, '?..?'], [9, 'CM31']]);
});
