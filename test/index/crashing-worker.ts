// A worker for the pool tests: the fake extractor, except that some files take the worker down the ways a
// real extraction can (an uncaught throw of a non-Error, process.exit).
import { serveExtractRequests } from '../../src/index/worker-protocol.js';
import { fakeExtract } from './fake-driver.js';

serveExtractRequests((buf, opts) => {
  const head = Buffer.from(buf.subarray(0, 16)).toString('latin1');
  if (head.startsWith('CRASH-THROW')) {
    return new Promise(() =>
      setImmediate(() => {
        throw 'thrown string, not an Error';
      }),
    );
  }
  if (head.startsWith('CRASH-EXIT')) process.exit(3);
  return fakeExtract(buf, opts);
});
