// The package.json that goes into the npm tarball. The checkout's scripts (build, test, bench, and
// "prepare", which builds dist/ on `npm ci`) all run files the package leaves out (scripts/, src/, test/),
// and npm runs a dependency's "prepare" when it is installed from a tarball: so the packed manifest has no
// scripts. npm packs package.json as it is on disk, hence the same trick as pinst: "prepack" strips it,
// "postpack" puts the original back (an earlier pack that died between the two is repaired first).
//
//   node scripts/pack-manifest.mjs strip      (prepack, after the build)
//   node scripts/pack-manifest.mjs restore    (postpack)
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MANIFEST = join(ROOT, 'package.json');
const BACKUP = join(ROOT, '.tmp', 'package.json.before-pack');

/** The published manifest: the checkout's, without the scripts that need the checkout. */
export function packedManifest(manifest) {
  const { scripts: _scripts, ...rest } = manifest;
  return rest;
}

function restore() {
  if (existsSync(BACKUP)) renameSync(BACKUP, MANIFEST);
}

function strip() {
  restore();
  const text = readFileSync(MANIFEST, 'utf8');
  mkdirSync(dirname(BACKUP), { recursive: true });
  writeFileSync(BACKUP, text);
  writeFileSync(MANIFEST, JSON.stringify(packedManifest(JSON.parse(text)), null, 2) + '\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const action = process.argv[2];
  if (action === 'strip') strip();
  else if (action === 'restore') restore();
  else {
    process.stderr.write('usage: node scripts/pack-manifest.mjs strip|restore\n');
    process.exit(2);
  }
}
