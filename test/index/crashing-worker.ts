// A worker for the pool tests: the fake extractor, except that some files take the worker down the ways a
// real extraction can (an uncaught throw of a non-Error, process.exit, running out of heap).
import { serveExtractRequests } from '../../src/index/worker-protocol.js';
import { fakeExtract } from './fake-driver.js';

serveExtractRequests((buf, opts) => {
  const head = Buffer.from(buf.subarray(0, 16)).toString('latin1');
  if (head.startsWith('CRASH-THROW')) {
    // Escapes the protocol's try/catch, and lands before the worker takes its next message.
    return new Promise(() =>
      process.nextTick(() => {
        throw 'thrown string, not an Error';
      }),
    );
  }
  if (head.startsWith('CRASH-EXIT')) process.exit(3);
  if (head.startsWith('CRASH-OOM')) {
    const hoard: number[][] = [];
    for (;;) hoard.push(new Array(1e6).fill(hoard.length));
  }
  return fakeExtract(buf, opts);
}, 'fake');
