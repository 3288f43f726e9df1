// Run by kill.test.ts as its own process: index a folder with a slow extractor (in-process, or in worker
// threads when the third argument is `workers`), announcing each file as it is committed, so the test can
// SIGKILL it mid-way.
import { setTimeout as sleep } from 'node:timers/promises';
import { openDb } from '../../src/db/schema.js';
import { indexPaths, type IndexOptions } from '../../src/index/pipeline.js';
import { fakeExtract } from './fake-driver.js';

const [dbPath, dir, mode] = process.argv.slice(2);
const extraction: IndexOptions =
  mode === 'workers'
    ? { workerModule: new URL('./slow-worker.ts', import.meta.url) }
    : {
        extractor: async (buf, opts) => {
          await sleep(40);
          return fakeExtract(buf, opts);
        },
      };
const db = openDb(dbPath);
await indexPaths(db, [dir], {
  host: 'victim',
  jobs: 2,
  ...extraction,
  onProgress: (p) => {
    if (p.path) process.stdout.write(`committed ${p.done}\n`);
  },
});
process.stdout.write('finished\n');
