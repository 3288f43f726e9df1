// scan's output is the product: speed-ups must not change a byte of it. test/scan/golden.txt holds what
// `whose-tag scan TAG FILES…` (labelled and --json, over the fixture drivers of golden-cases.json) printed
// before scan learnt its shortcuts (see scripts/scan-golden.mjs); this runs today's runScan in-process on the
// same cases and compares.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScan } from '../../src/scan/run.js';
import { openDb } from '../../src/db/schema.js';
import { indexPaths } from '../../src/index/pipeline.js';
import { EXTRACTOR_VERSION, extractTags } from '../../src/extract/extract.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CASES = JSON.parse(readFileSync(new URL('./golden-cases.json', import.meta.url), 'utf8')) as { tags: string[]; files: string[] };
const TAGS = CASES.tags;

/** runScan's output and exit code, with the process's working directory at the project root. */
async function scanOutput(args: { tag: string; json: boolean; db: string }): Promise<{ out: string; code: number }> {
  let out = '';
  const cwd = process.cwd();
  const exitCode = process.exitCode;
  process.chdir(ROOT);
  try {
    await runScan({ tag: args.tag, paths: CASES.files, raw: false, json: args.json, multichar: false, db: args.db, out: (t) => (out += t) });
    return { out, code: process.exitCode as number };
  } finally {
    process.chdir(cwd);
    process.exitCode = exitCode;
  }
}

async function allOutputs(db: string): Promise<string> {
  let now = '';
  for (const tag of TAGS) {
    for (const json of [false, true]) {
      const r = await scanOutput({ tag, json, db });
      now += `## scan ${tag} ${json ? '--json' : ''} (exit ${r.code})\n${r.out}`;
    }
  }
  return now;
}

/**
 * Compared section by section, so a failure names the tag. A change of the extractor's results changes
 * these lines legitimately: then regenerate the file from the previous commit's build, on purpose (see
 * scripts/scan-golden.mjs), so that it keeps recording what scan printed before.
 */
function sameAsGolden(now: string): void {
  const golden = readFileSync(new URL('./golden.txt', import.meta.url), 'utf8');
  const split = (s: string) => s.split(/^(?=## scan )/m);
  const [a, b] = [split(now), split(golden)];
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.equal(a[i], b[i]);
}

test('scan prints, byte for byte, what it printed before its shortcuts, on the fixture drivers for 79 tags', async () => {
  sameAsGolden(await allOutputs('/nonexistent/whose-tag.db'));
});

test('the same with the fixtures indexed: answers from the tag database change nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'whose-tag-golden-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const dbPath = join(dir, 'tags.db');
  const db = openDb(dbPath);
  try {
    const cwd = process.cwd();
    process.chdir(ROOT);
    try {
      // The version scan compares: a custom extractor is otherwise stored as version 1, which scan ignores.
      const s = await indexPaths(db, CASES.files, { host: hostname(), extractor: extractTags, extractorVersion: EXTRACTOR_VERSION });
      assert.equal(s.analysed, CASES.files.length);
    } finally {
      process.chdir(cwd);
    }
  } finally {
    db.close();
  }
  sameAsGolden(await allOutputs(dbPath));
});
