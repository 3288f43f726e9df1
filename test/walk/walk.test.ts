import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { walk, walkPaths, DRIVER_PATTERNS, ALL_FILES } from '../../src/walk/walk.js';

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'wt-walk-'));
  mkdirSync(join(root, 'a', 'b'), { recursive: true });
  writeFileSync(join(root, 'a', 'x.sys'), 'x');
  writeFileSync(join(root, 'a', 'b', 'UPPER.SYS'), 'y');
  writeFileSync(join(root, 'a', 'b', 'notes.txt'), 'z');
  writeFileSync(join(root, 'ntoskrnl.exe'), 'k');
  symlinkSync('../..', join(root, 'a', 'b', 'loop'));
  symlinkSync(join(root, 'a'), join(root, 'alias'));
  return root;
}

test('driver patterns match case-insensitively and include kernel images', async () => {
  const root = tree();
  try {
    const { files, problems } = await walk([root], { patterns: DRIVER_PATTERNS });
    assert.deepEqual(problems, []);
    assert.deepEqual(files.map((f) => f.path.slice(root.length + 1)).sort(), ['a/b/UPPER.SYS', 'a/x.sys', 'ntoskrnl.exe']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('symlink loops and aliases yield each real file once', async () => {
  const root = tree();
  try {
    const { files } = await walk([root, join(root, 'alias')], { patterns: ALL_FILES });
    assert.equal(files.length, 4);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('explicit files are taken whatever their name; missing paths are problems, not crashes', async () => {
  const root = tree();
  try {
    const { files, problems } = await walk([join(root, 'a', 'b', 'notes.txt'), join(root, 'missing')], { patterns: DRIVER_PATTERNS });
    assert.equal(files.length, 1);
    assert.equal(problems.length, 1);
    assert.match(problems[0].message, /no such file/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('globs and excludes', async () => {
  const root = tree();
  try {
    const { files } = await walk([join(root, 'a', '**', '*.sys')], { patterns: DRIVER_PATTERNS });
    assert.equal(files.length, 2);
    const ex = await walk([root], { patterns: DRIVER_PATTERNS, exclude: ['**/b/**'] });
    assert.deepEqual(ex.files.map((f) => f.path.slice(root.length + 1)).sort(), ['a/x.sys', 'ntoskrnl.exe']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('walkPaths finds the same files as walk, through links and loops, and leaves size and time out', async () => {
  const root = tree();
  symlinkSync(join(root, 'a', 'x.sys'), join(root, 'link-to-x.sys'));
  try {
    for (const args of [[root], [root, join(root, 'alias')], [join(root, 'a', '**', '*.sys')]]) {
      const full = await walk(args, { patterns: ALL_FILES });
      const bare = await walkPaths(args, { patterns: ALL_FILES });
      assert.deepEqual(bare.files.map((f) => f.path), full.files.map((f) => f.path));
      assert.ok(bare.files.every((f) => Object.keys(f).join() === 'path'));
      assert.ok(full.files.every((f) => f.size === 1 && f.mtimeMs > 0));
    }
    assert.equal((await walkPaths([root], { patterns: ALL_FILES })).files.length, 4);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
