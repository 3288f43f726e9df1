import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attribute, claimKey, driverLabel, reportedDriver } from '../../src/rank/attribution.js';
import { tagFromText } from '../../src/tag.js';
import { db, fakeOwners, pt } from './helpers.js';

const T = tagFromText;

test('db owners with code evidence name the tag ahead of pooltag.txt', () => {
  const src = fakeOwners({ Abcd: [db('mine.sys', 'call'), db('other.sys', 'data'), pt('legacy.sys', 'Old driver')] });
  const a = attribute(T('Abcd'), src);
  assert.deepEqual(a.claimants, ['mine.sys']);
  assert.equal(a.basis, 'db-code');
  assert.equal(a.evidence, 'call');
  assert.equal(a.description, 'Old driver');
  assert.equal(a.owners.length, 3);
});

test('pooltag.txt names the tag when the database has only byte matches', () => {
  const src = fakeOwners({ Abcd: [db('a.sys', 'data'), db('b.sys', 'data'), pt('nt!mm', 'Mm')] });
  const a = attribute(T('Abcd'), src);
  assert.deepEqual(a.claimants, ['nt']);
  assert.equal(a.basis, 'pooltag');
});

test('byte matches alone still name the owners, as the weakest basis', () => {
  const a = attribute(T('Abcd'), fakeOwners({ Abcd: [db('a.sys', 'data'), db('B.SYS', 'data'), db('a.SYS', 'data')] }));
  assert.deepEqual(a.claimants, ['a.sys', 'B.SYS']);
  assert.equal(a.basis, 'db-data');
});

test('object-reference tags never own pool memory', () => {
  const src = fakeOwners({ Abcd: [db('ob.sys', 'call', { kind: 'object-ref' })] });
  const a = attribute(T('Abcd'), src);
  assert.deepEqual(a.claimants, []);
  assert.equal(a.basis, 'none');
  assert.equal(a.owners.length, 0);
});

test("the report's own description is used when no source knows the tag", () => {
  const none = fakeOwners({});
  assert.deepEqual(attribute(T('AcpD'), none, 'ACPI Pooltags , Binary: acpi.sys').claimants, ['acpi.sys']);
  assert.equal(attribute(T('AcpD'), none, 'ACPI Pooltags , Binary: acpi.sys').basis, 'report');
  assert.deepEqual(reportedDriver('[ntfs.sys  -  Create.c]'), ['ntfs.sys']);
  assert.deepEqual(reportedDriver('[nt!ps - Thread objects]'), ['nt']);
  assert.deepEqual(reportedDriver('Wmi Trace'), []);
  // pooltag.txt outranks the report: it is the user's current file.
  assert.deepEqual(attribute(T('AcpD'), fakeOwners({ AcpD: [pt('acpi2.sys')] }), 'Binary: acpi.sys').claimants, ['acpi2.sys']);
});

test('alternatives in a pooltag binary field make the tag shared', () => {
  const a = attribute(T('Abcd'), fakeOwners({ Abcd: [pt('b.sys/a.sys'), pt('<unknown>')] }));
  assert.deepEqual(a.claimants, ['b.sys', 'a.sys']);
  assert.equal(driverLabel(a.claimants), 'shared: a.sys, b.sys');
  assert.equal(claimKey(['B.sys', 'a.sys']), claimKey(['A.SYS', 'b.sys']));
  assert.equal(driverLabel([]), '(unknown)');
  assert.equal(driverLabel(['x.sys']), 'x.sys');
  assert.equal(driverLabel(['a', 'b', 'c', 'd', 'e', 'f']), 'shared: a, b, c, d (+2 more)');
});
