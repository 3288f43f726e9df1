// Entry of an extraction worker thread (see worker-pool.ts): the real extractor behind the worker protocol.
import * as extractor from '../extract/extract.js';
import { serveExtractRequests } from './worker-protocol.js';

serveExtractRequests(extractor.extractTags, (extractor as { EXTRACTOR_VERSION?: string }).EXTRACTOR_VERSION ?? '1');
