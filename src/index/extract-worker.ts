// Entry of an extraction worker thread (see worker-pool.ts): the real extractor behind the worker protocol.
import { extractTags } from '../extract/extract.js';
import { serveExtractRequests } from './worker-protocol.js';

serveExtractRequests(extractTags);
