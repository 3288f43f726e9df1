// The `inspect` and `scan` commands as a user runs them, with stdout captured.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { runCli } from '../helpers/cli.js';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const FIXTURES = fileURLToPath(new URL('../fixtures/drivers/', import.meta.url));
const missing = existsSync(`${FIXTURES}x64/direct.sys`) ? false : `fixture drivers absent from ${FIXTURES}`;

function run(args: string[]): { out: string; err: string; code: number | null } {
  const r = runCli(args);
  return { out: r.stdout, err: r.stderr, code: r.code };
}

function grepAvailable(): boolean {
  try {
    execFileSync('grep', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('scan --raw prints exactly the files grep -rlF -a prints', { skip: missing || (!grepAvailable() && 'no grep') }, () => {
  for (const tag of ['DrA1', 'With', 'Look', 'DcW1']) {
    let want: string[];
    try {
      want = execFileSync('grep', ['-rlF', '-a', tag, FIXTURES], { encoding: 'utf8' }).split('\n').filter(Boolean);
    } catch {
      want = [];
    }
    const { out, code } = run(['scan', tag, FIXTURES, '--raw']);
    assert.deepEqual(out.split('\n').filter(Boolean).sort(), want.map((p) => p.replace(/\/\//g, '/')).sort(), tag);
    assert.equal(code, want.length > 0 ? 0 : 1, tag);
  }
});

test('scan labels each matching file with its best tier and evidence', { skip: missing }, () => {
  const { out, code } = run(['scan', 'DcA1', `${FIXTURES}x64`, `${FIXTURES}x86`]);
  assert.equal(code, 0);
  assert.deepEqual(out.trimEnd().split('\n'), [
    `${FIXTURES}x64/decoys.sys\tcall\t1 hit; .text+0x10fa ExAllocatePoolWithTag: mov r8d,31416344h`,
    `${FIXTURES}x86/decoys.sys\tcall\t1 hit; .text+0x1106 ExAllocatePoolWithTag: push 31416344h`,
  ]);
  const json = run(['scan', 'DcH1', `${FIXTURES}x64`, '--json']).out.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.equal(json.length, 1);
  assert.equal(json[0].tag, 'DcH1');
  assert.equal(json[0].tier, 'code');
  assert.equal(json[0].hits[0].evidence.instruction, 'mov dword ptr [rcx],31486344h');
});

test('scan: no match exits 1; a wildcard tag is refused', { skip: missing }, () => {
  assert.deepEqual(run(['scan', 'Zq9x', FIXTURES]), { out: '', err: '', code: 1 });
  const wild = run(['scan', 'Dr*', FIXTURES]);
  assert.equal(wild.code, 2);
  assert.equal(wild.err, 'whose-tag: scan needs an exact tag, not the pattern "Dr*"\n');
});

test('inspect: table, csv and json views of one driver', { skip: missing }, () => {
  const table = run(['inspect', `${FIXTURES}x64/wrappers.sys`]).out;
  assert.match(table, /^\S+wrappers\.sys: x64, \d+ bytes, sha256 [0-9a-f]{64}\n\nTIER +TAG +VALUE +KIND/);
  assert.match(table, /call +WrC1 +0x31437257 +pool .* ExAllocatePool2 +0x10b0 +mov ecx,31437257h/);
  assert.match(table, /8 tags \(8 call, 0 code, 0 data\), \d+ wrapper functions/);
  const csv = run(['inspect', `${FIXTURES}x64/direct.sys`, '--format', 'csv']).out.split('\r\n');
  assert.equal(csv[0], 'tier,tag,value,kind,sites,seen,section,rva,api,via,from,instruction');
  const free = csv.filter((l) => l.startsWith('call,DrF1,'));
  assert.equal(free.length, 1);
  assert.match(free[0], /^call,DrF1,0x31467244,pool,1,call,PAGE,0x[0-9a-f]+,ExFreePoolWithTag,,,"mov edx,31467244h"$/);
  // A tag read from a table in .rdata names it.
  const held = run(['inspect', `${FIXTURES}x64/tables.sys`, '--format', 'csv']).out.split('\r\n');
  assert.ok(held.some((l) => /^call,TbT1,.*,ExAllocatePoolWithTag,,table \.rdata\+0x3000,"mov r8d,\[rax\+rcx\*4\]"$/.test(l)), held.join('\n'));
  const json = JSON.parse(run(['inspect', `${FIXTURES}x86/decoys.sys`, '--json']).out);
  assert.equal(json.machine, 'x86');
  // DcN1 goes only to the driver's own Checksum, which forwards it nowhere: a decoy, not code evidence.
  assert.deepEqual(
    json.findings.filter((f: { tier: string }) => f.tier !== 'data').map((f: { tag: string; kind: string; tier: string }) => `${f.tag} ${f.kind} ${f.tier}`),
    ['DcO1 object-ref call', 'DcA1 pool call', 'DcH1 pool code'],
  );
  const nope = run(['inspect', `${FIXTURES}nope.sys`]);
  assert.equal(nope.code, 2);
  assert.equal(nope.err, `whose-tag: ${FIXTURES}nope.sys: cannot read: no such file\n`);
});
