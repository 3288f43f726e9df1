import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evidencePlace, evidenceText, kindText } from '../../src/render/evidence.js';

test('evidenceText: place, then the API, then the wrapper, each only when known', () => {
  assert.equal(evidencePlace({ section: '.text', rva: 0x1a2b }), '.text+0x1a2b');
  assert.equal(evidenceText({ section: 'PAGE', rva: 0x10 }), 'PAGE+0x10');
  assert.equal(evidenceText({ section: '.text', rva: 0x1a2b, api: 'ExAllocatePoolWithTag' }), '.text+0x1a2b ExAllocatePoolWithTag');
  assert.equal(evidenceText({ section: '.text', rva: 0x1a2b, api: 'ExFreePoolWithTag', via: 0x1400 }), '.text+0x1a2b ExFreePoolWithTag via 0x1400');
  assert.equal(evidenceText({ section: '.text', rva: 0, via: 0 }), '.text+0x0 via 0x0');
});

test('kindText marks protected tags', () => {
  assert.equal(kindText({ kind: 'pool', protected: false }), 'pool');
  assert.equal(kindText({ kind: 'pool', protected: true }), 'pool (protected)');
  assert.equal(kindText({ kind: 'object-ref', protected: false }), 'object-ref');
});
