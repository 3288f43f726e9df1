#!/usr/bin/env node
// Thin launcher. Runs the compiled program (npm ci builds it through "prepare"); from a source checkout
// without a build, or with WHOSE_TAG_FROM_SOURCE=1 (the tests: they must never run a stale build), runs the
// TypeScript through tsx. `whose-tag TAG` and plain `whose-tag scan …` take a fast path that skips yargs.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// `whose-tag db export --format ndjson | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const compiled =
  process.env.WHOSE_TAG_FROM_SOURCE !== '1' && existsSync(fileURLToPath(new URL('../dist/cli/main.js', import.meta.url)));
if (!compiled) {
  const { register } = await import('tsx/esm/api');
  register();
}
const dir = compiled ? '../dist/cli/' : '../src/cli/';
const ext = compiled ? '.js' : '.ts';
const args = process.argv.slice(2);
// Each fast path is its own module so that one does not load the other's imports.
const [fastModule, fastEntry] = args[0] === 'scan' ? ['scan', 'tryFastScan'] : ['fast-lookup', 'tryFastLookup'];
const fast = await import(new URL(`${dir}${fastModule}${ext}`, import.meta.url).href);
if (!(await fast[fastEntry](args))) {
  const { main } = await import(new URL(`${dir}main${ext}`, import.meta.url).href);
  await main(args);
}
