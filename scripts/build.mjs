// Builds the program: tsc compiles src/ to dist/, then esbuild packs the CLI into single CommonJS files:
// the full program (yargs and every command) and the two commands people type most, `whose-tag TAG` and
// `whose-tag scan`, which skip yargs. node loads one CommonJS file 35–100 ms sooner than the dozens of ES
// modules it stands for (each resolved, read and linked on its own), and the launcher is CommonJS for the
// same reason; on this project's 2-core machines node itself takes ~80-130 ms to start. The worker
// threads of `index` start from their own bundle.
//
//   node scripts/build.mjs              dist/ in the project (npm run build, npm ci through "prepare")
//   node scripts/build.mjs --into DIR   a runnable copy in DIR (dist/, bin/, data/, package.json, a link
//                                       to node_modules), for the benchmark and the launcher tests, so that
//                                       neither measures nor tests a dist/ that someone may be rebuilding
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');

/** Bundles: source module → output, relative to dist/. Each lives beside the module it replaces. */
const BUNDLES = [
  { entry: 'cli/fast-lookup.ts', out: 'cli/fast-lookup.cjs' },
  { entry: 'cli/scan.ts', out: 'cli/fast-scan.cjs' },
  { entry: 'cli/main.ts', out: 'cli/main.cjs' },
  { entry: 'index/extract-worker.ts', out: 'index/extract-worker.cjs' },
];

/** Native and WebAssembly packages load their binaries relative to themselves: never bundled. */
const NATIVE = ['better-sqlite3', 'iced-x86', 'koffi'];

/**
 * CommonJS has no import.meta: the bundles get the URL of their own file instead. Modules use it to find
 * packages (createRequire) and data/ (two folders up); each bundle sits two folders below the project
 * root like the modules it contains, so both resolve as they do unbundled.
 */
const OWN_URL = {
  define: { 'import.meta.url': '__bundleUrl', 'import.meta.resolve': '__bundleResolve' },
  banner: {
    js: [
      "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;",
      "const __bundleResolve = (s) => require('node:url').pathToFileURL(require.resolve(s)).href;",
    ].join('\n'),
  },
};

async function bundle(distDir) {
  const esbuild = await import('esbuild');
  for (const b of BUNDLES) {
    const result = await esbuild.build({
      entryPoints: [join(SRC, b.entry)],
      outfile: join(distDir, b.out),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: NATIVE,
      ...OWN_URL,
      logLevel: 'silent',
      legalComments: 'none',
    });
    // A warning here is a bundle that would misbehave at run time (an import.meta that became empty, say).
    if (result.warnings.length > 0) {
      const text = await esbuild.formatMessages(result.warnings, { kind: 'warning' });
      throw new Error(`bundling ${b.entry}:\n${text.join('')}`);
    }
  }
}

function tsc(outDir) {
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json'), '--outDir', outDir], {
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error(`tsc exited with ${r.status ?? r.signal}`);
}

async function build(into) {
  if (!into) {
    // From scratch: a module left from an earlier layout (a file since moved or deleted) would be packed.
    rmSync(join(ROOT, 'dist'), { recursive: true, force: true });
    tsc(join(ROOT, 'dist'));
    await bundle(join(ROOT, 'dist'));
    return;
  }
  const dir = resolve(into);
  if (dir === ROOT || ROOT.startsWith(dir + sep)) throw new Error(`--into ${into}: must not be the project or a folder above it`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  tsc(join(dir, 'dist'));
  await bundle(join(dir, 'dist'));
  cpSync(join(ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'data'), join(dir, 'data'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  // A copy outside the project still finds the project's packages.
  if (!existsSync(join(dir, 'node_modules'))) symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'junction');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { into: { type: 'string' } } });
  try {
    await build(values.into);
  } catch (e) {
    process.stderr.write(`build: ${e.message}\n`);
    process.exit(1);
  }
}
