#!/usr/bin/env node
// Thin launcher, CommonJS because node starts a CommonJS entry sooner than an ES module one. Runs the
// compiled program (npm ci builds it through "prepare"); from a source checkout without a build, or with
// WHOSE_TAG_FROM_SOURCE=1 (the tests: they must never run a stale build), runs the TypeScript through tsx.
// `whose-tag TAG` and plain `whose-tag scan …` take a fast path that skips yargs; every path runs from a
// single-file bundle (scripts/build.mjs) when the build made one.
'use strict';
const { statSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

// `whose-tag db export --format ndjson | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const args = process.argv.slice(2);
const dist = join(__dirname, '..', 'dist', 'cli');
const modifiedAt = (file) => statSync(file, { throwIfNoEntry: false })?.mtimeMs;
// tsc writes main.js on every build; scripts/build.mjs bundles after it. A bundle older than main.js is
// left from an earlier build (someone ran tsc alone): the fresh ES modules are used instead.
const builtAt = process.env.WHOSE_TAG_FROM_SOURCE === '1' ? undefined : modifiedAt(join(dist, 'main.js'));
const compiled = builtAt !== undefined;
const bundled = (name) => compiled && (modifiedAt(join(dist, name)) ?? -Infinity) >= builtAt;
const dir = compiled ? dist : join(__dirname, '..', 'src', 'cli');
const ext = compiled ? '.js' : '.ts';
const esm = (name) => import(pathToFileURL(join(dir, name + ext)).href);

// Each fast path is its own module so that one does not load the other's imports.
const [fastModule, bundle, fastEntry] =
  args[0] === 'scan' ? ['scan', 'fast-scan.cjs', 'tryFastScan'] : ['fast-lookup', 'fast-lookup.cjs', 'tryFastLookup'];

async function run() {
  let fast;
  if (bundled(bundle)) fast = require(join(dist, bundle));
  else {
    if (!compiled) (await import('tsx/esm/api')).register();
    fast = await esm(fastModule);
  }
  if (await fast[fastEntry](args)) return;
  const { main } = bundled('main.cjs') ? require(join(dist, 'main.cjs')) : await esm('main');
  await main(args);
}

run().catch((err) => {
  process.stderr.write(`whose-tag: internal error: ${err && err.stack ? err.stack : err}\n`);
  process.exitCode = 70;
});
