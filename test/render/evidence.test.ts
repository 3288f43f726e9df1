import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evidencePlace, evidenceText, inferredOnly, kindText } from '../../src/render/evidence.js';

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

test('framework evidence names the framework and the field; the KMDF default says it is inferred from the file name', () => {
  assert.equal(
    evidenceText({ section: '.text', rva: 0x1101, api: 'WdfDriverCreate', source: 'framework', field: 'DriverPoolTag' }),
    '.text+0x1101 framework: WdfDriverCreate DriverPoolTag',
  );
  assert.equal(
    evidenceText({ section: '.rdata', rva: 0x2118, api: 'FltRegisterFilter', source: 'framework', field: 'context registration' }),
    '.rdata+0x2118 framework: FltRegisterFilter context registration',
  );
  assert.equal(
    evidenceText({ section: '.text', rva: 0x107a, api: 'WdfDriverCreate', source: 'kmdf-default', field: 'amdacpbus2' }),
    '.text+0x107a KMDF default, from the file name (service amdacpbus2)',
  );
  assert.equal(inferredOnly([{ tier: 'call', source: 'kmdf-default' }, { tier: 'data' }]), true);
  assert.equal(inferredOnly([{ tier: 'call', source: 'kmdf-default' }, { tier: 'call' }]), false);
  assert.equal(inferredOnly([{ tier: 'data' }]), false);
});
