// `whose-tag scan` end to end on files made here: --raw stops reading at the first match, the labelled
// output must still count every match.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { READ_CHUNK } from '../../src/scan/search.js';
import { runCli } from '../helpers/cli.js';

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'wt-scanrun-'));
  mkdirSync(join(root, 'sub', 'deeper'), { recursive: true });
  const many = Buffer.alloc(READ_CHUNK * 3);
  for (const o of [10, READ_CHUNK - 1, READ_CHUNK * 3 - 4]) many.write('Tg01', o, 'latin1');
  writeFileSync(join(root, 'sub', 'many.bin'), many);
  writeFileSync(join(root, 'sub', 'deeper', 'one.txt'), 'xxTg01');
  writeFileSync(join(root, 'none.bin'), 'Tg0 Tg1');
  symlinkSync('..', join(root, 'sub', 'loop'));
  return root;
}

test('labelled output counts every match, past the first read; --raw lists the same files', () => {
  const root = tree();
  try {
    const labelled = runCli(['scan', 'Tg01', root]);
    assert.equal(labelled.code, 0, labelled.stderr);
    assert.equal(
      labelled.stdout,
      `${root}/sub/deeper/one.txt\tdata\t1 hit; first at offset 0x2\n` + `${root}/sub/many.bin\tdata\t3 hits; first at offset 0xa\n`,
    );
    const json = runCli(['scan', 'Tg01', join(root, 'sub', 'many.bin'), '--json']);
    assert.deepEqual(JSON.parse(json.stdout).hits.map((h: { offset: number }) => h.offset), [10, READ_CHUNK - 1, READ_CHUNK * 3 - 4]);
    const raw = runCli(['scan', '--raw', 'Tg01', root]);
    assert.deepEqual(raw, { code: 0, stdout: `${root}/sub/deeper/one.txt\n${root}/sub/many.bin\n`, stderr: '' });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('paths print under the argument as written; a missing one is reported and exits 2, as grep does', () => {
  const root = tree();
  try {
    const r = runCli(['scan', '--raw', 'Tg01', 'sub/', 'nope'], {}, root);
    assert.deepEqual(r, { code: 2, stdout: 'sub/deeper/one.txt\nsub/many.bin\n', stderr: 'whose-tag: nope: no such file or folder\n' });
    assert.deepEqual(runCli(['scan', 'Zz99', root]), { code: 1, stdout: '', stderr: '' });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('files whose size says 0 are read to their end, as grep reads them', { skip: !existsSync('/proc/version') && 'no /proc' }, () => {
  const tag = readFileSync('/proc/version', 'latin1').slice(0, 4);
  const r = runCli(['scan', tag, '/proc/version']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\/proc\/version\tdata\t\d+ hits?; first at offset 0x0\n$/);
});
