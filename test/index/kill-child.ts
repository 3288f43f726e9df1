// Run by kill.test.ts as its own process: index a folder with a slow extractor, announcing each file as it is
// committed, so the test can SIGKILL it mid-way.
import { setTimeout as sleep } from 'node:timers/promises';
import { openDb } from '../../src/db/schema.js';
import { indexPaths } from '../../src/index/pipeline.js';
import { fakeExtract } from './fake-driver.js';

const [dbPath, dir] = process.argv.slice(2);
const db = openDb(dbPath);
await indexPaths(db, [dir], {
  host: 'victim',
  jobs: 2,
  extractor: async (buf, opts) => {
    await sleep(40);
    return fakeExtract(buf, opts);
  },
  onProgress: (p) => {
    if (p.path) process.stdout.write(`committed ${p.done}\n`);
  },
});
process.stdout.write('finished\n');
