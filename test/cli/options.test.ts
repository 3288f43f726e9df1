import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INPUT_FORMATS } from '../../src/cli/options.js';
import { REPORT_FORMATS } from '../../src/reports/detect.js';

test('--input-format offers exactly the formats the detector knows, plus auto', () => {
  assert.deepEqual([...INPUT_FORMATS].sort(), ['auto', ...REPORT_FORMATS].sort());
});
