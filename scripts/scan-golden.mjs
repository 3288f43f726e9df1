// Writes test/scan/golden.txt: `whose-tag scan TAG FILES…` (labelled and --json) for every tag and the
// fixture drivers listed in test/scan/golden-cases.json, run by the built program. test/scan/golden.test.ts compares today's scan with
// it byte for byte, so a speed-up of scan that changes any output line fails. Regenerate only on purpose:
// `npm run build && node scripts/scan-golden.mjs`.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { tags, files } = JSON.parse(readFileSync(new URL('../test/scan/golden-cases.json', import.meta.url), 'utf8'));
let out = '';
for (const tag of tags) {
  for (const mode of [[], ['--json']]) {
    const r = spawnSync(process.execPath, ['bin/whose-tag.cjs', 'scan', tag, ...files, ...mode], {
      cwd: root, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', WHOSE_TAG_DB: '/nonexistent/whose-tag.db' },
    });
    out += `## scan ${tag} ${mode.join(' ')} (exit ${r.status})\n${r.stdout}`;
  }
}
writeFileSync(new URL('../test/scan/golden.txt', import.meta.url), out);
