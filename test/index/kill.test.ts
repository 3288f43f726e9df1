// A killed index loses nothing it committed and leaves a consistent database that a re-index completes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDb } from '../../src/db/schema.js';
import { indexPaths } from '../../src/index/pipeline.js';
import { fakeDriver, fakeExtract } from './fake-driver.js';

const FILES = 40;
const TAGS_PER_FILE = 3;
const KILL_AFTER = 10;

for (const mode of ['in-process', 'workers'] as const) test(`SIGKILL mid-index (${mode}): integrity ok, every committed file complete, re-index finishes the job`, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'whose-tag-kill-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const corpus = join(dir, 'drivers');
  const dbPath = join(dir, 'tags.db');
  mkdirSync(corpus);
  for (let i = 0; i < FILES; i++) {
    const n = String(i).padStart(2, '0');
    writeFileSync(
      join(corpus, `d${n}.sys`),
      fakeDriver([{ tag: `A${n}`, tier: 'call', sites: 2 }, { tag: `B${n}`, tier: 'code' }, { tag: `C${n}`, tier: 'data' }]),
    );
  }

  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./kill-child.ts', import.meta.url)), dbPath, corpus, mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const outcome = await new Promise<{ committed: number; finished: boolean }>((resolve, reject) => {
    let committed = 0;
    let buffered = '';
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child made no progress in 60 s; stderr: ${stderr}`));
    }, 60_000);
    child.stdout.on('data', (d) => {
      buffered += d;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const l of lines) if (l.startsWith('committed')) committed++;
      if (committed >= KILL_AFTER && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
    child.on('exit', (_code, signal) => {
      clearTimeout(guard);
      resolve({ committed, finished: signal !== 'SIGKILL' });
    });
  });
  assert.equal(outcome.finished, false, `the child was to be killed mid-way; stderr: ${stderr}`);
  assert.ok(outcome.committed >= KILL_AFTER);

  const db = openDb(dbPath);
  t.after(() => db.close());
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  assert.deepEqual(db.pragma('foreign_key_check'), []);
  const stored = db.prepare('SELECT COUNT(*) FROM files').pluck().get() as number;
  assert.ok(stored >= KILL_AFTER && stored < FILES, `${stored} files committed before the kill`);
  // Every committed file has its whole analysis: all findings and all their evidence.
  const incomplete = db
    .prepare(
      `SELECT x.path FROM files x WHERE
         (SELECT COUNT(*) FROM findings f WHERE f.sha256 = x.sha256) != ${TAGS_PER_FILE}
         OR (SELECT COUNT(*) FROM evidence e WHERE e.sha256 = x.sha256) != ${TAGS_PER_FILE + 1}`,
    )
    .pluck()
    .all();
  assert.deepEqual(incomplete, []);

  // Resumed in-process with the version the killed run stored, so its files count as current.
  const version = db.prepare('SELECT DISTINCT extractor_version FROM contents').pluck().get() as string;
  const resumed = await indexPaths(db, [corpus], { host: 'victim', extractor: fakeExtract, extractorVersion: version });
  assert.equal(resumed.unchanged, stored);
  assert.equal(resumed.new, FILES - stored);
  assert.equal(resumed.failed.length, 0);
  assert.equal(db.prepare('SELECT COUNT(*) FROM files').pluck().get(), FILES);
  assert.equal(db.prepare('SELECT COUNT(*) FROM findings').pluck().get(), FILES * TAGS_PER_FILE);
});
