// Regenerates README.md from scripts/README.template.md: every {{run: ARGS}} becomes the real output of
// `whose-tag ARGS`, run in order from the project root (so later commands see the databases earlier ones
// wrote), and {{bench}} becomes bench/last-run.txt, the table of the last `npm run bench` kept in the repo.
// POOLTAG in ARGS stands for Microsoft's pooltag.txt, which the project may not ship: it is copied from
// ../shared/pooltag/ beside the clone to a scratch `pooltag.txt` in the project, so that outputs name it as
// a reader's own copy would be named. No output may show a path of the machine it ran on (test/cli/package.test.ts).
//
//   npm run build && node scripts/readme.mjs
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../dist/util/atomic-write.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHARED_POOLTAG = join(ROOT, '..', 'shared', 'pooltag', 'pooltag-sdk-2023.txt');
const POOLTAG = 'pooltag.txt';
const SCRATCH_DBS = ['demo.db', 'host-b.db', 'fleet.db'];

function removeScratch() {
  for (const db of SCRATCH_DBS) for (const suffix of ['', '-wal', '-shm']) rmSync(join(ROOT, db + suffix), { force: true });
  rmSync(join(ROOT, POOLTAG), { force: true });
}

/** The benchmark prints where its corpus was built; the README shows it relative to the project. */
const withoutMachinePaths = (text) => text.replace(/(?:\/[^\s/]+)+\/(bench\/corpus\b)/g, '$1');

/** Splits ARGS the way a POSIX shell would for the simple words the template uses (quotes, no expansion). */
function words(text) {
  const out = [];
  for (const m of text.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

const quoted = (w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w}'`);

function run(argText) {
  const args = words(argText).map((w) => (w === 'POOLTAG' ? POOLTAG : w));
  const env = { ...process.env, WHOSE_TAG_DB: join(ROOT, 'no-default.db'), COLUMNS: '110', WHOSE_TAG_FROM_SOURCE: '0' };
  delete env.WHOSE_TAG_POOLTAG;
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'whose-tag.cjs'), ...args], { cwd: ROOT, encoding: 'utf8', env });
  // Windows-format outputs (localtag.txt, pooltag.txt) end lines with CRLF; the README is LF throughout.
  const output = (r.stdout + r.stderr).replace(/\r\n/g, '\n').trimEnd();
  const shown = args.map(quoted).join(' ');
  const exit = r.status ? `\n(exit code ${r.status})` : '';
  return '```console\n$ whose-tag ' + shown + '\n' + output + exit + '\n```';
}

if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
  process.stderr.write('readme: build first (npm run build): the README shows the compiled program\n');
  process.exit(1);
}
if (!existsSync(SHARED_POOLTAG)) {
  process.stderr.write(`readme: the examples need Microsoft's pooltag.txt at ${SHARED_POOLTAG} (../shared beside the clone)\n`);
  process.exit(1);
}
removeScratch();
copyFileSync(SHARED_POOLTAG, join(ROOT, POOLTAG));
const template = readFileSync(join(ROOT, 'scripts', 'README.template.md'), 'utf8');
const bench = withoutMachinePaths(readFileSync(join(ROOT, 'bench', 'last-run.txt'), 'utf8').trimEnd());
const readme = template.replace(/\{\{run: (.*?)\}\}/g, (_, args) => run(args)).replace('{{bench}}', '```console\n' + bench + '\n```');
removeScratch();
writeFileAtomic(join(ROOT, 'README.md'), readme);
