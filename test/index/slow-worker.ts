// A worker for the kill test: the fake extractor, slowed down so the test can kill the index mid-way.
import { setTimeout as sleep } from 'node:timers/promises';
import { serveExtractRequests } from '../../src/index/worker-protocol.js';
import { fakeExtract } from './fake-driver.js';

serveExtractRequests(async (buf, opts) => {
  await sleep(40);
  return fakeExtract(buf, opts);
}, 'fake');
