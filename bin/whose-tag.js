#!/usr/bin/env node
// Thin launcher: the compiled program (npm ci builds it via "prepare"); from a source checkout without a
// build, fall back to running the TypeScript through tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(fileURLToPath(compiled))) {
  const { main } = await import(compiled.href);
  await main();
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import(new URL('../src/cli/main.ts', import.meta.url).href);
  await main();
}
