// Entry of an extraction worker thread (see worker-pool.ts): the real extractor behind the worker protocol.
import { EXTRACTOR_VERSION, extractTags } from '../extract/extract.js';
import { serveExtractRequests } from './worker-protocol.js';

serveExtractRequests(extractTags, EXTRACTOR_VERSION);
