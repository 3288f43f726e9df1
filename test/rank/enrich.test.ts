import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enrichNdjson, enrichText } from '../../src/rank/enrich.js';
import { parseReport } from '../../src/reports/index.js';
import { serializeSnapshot } from '../../src/reports/snapshot.js';
import type { Report } from '../../src/reports/types.js';
import { c, db, fakeOwners, pt, row } from './helpers.js';

const text = [' Tag  Allocs  Bytes', ' Proc      5    640', ' Zzzz      1     16', ' AcpD      2     64 ACPI, Binary: acpi.sys', '', 'done'].join('\n');
const report: Report = {
  format: 'adhoc',
  kind: 'usage',
  file: 'r.txt',
  snapshots: [
    {
      rows: [
        row('Proc', c(5, 0, 640), undefined, { line: 2 }),
        row('Zzzz', c(1, 0, 16), undefined, { line: 3 }),
        row('AcpD', c(2, 0, 64), undefined, { line: 4, description: 'ACPI, Binary: acpi.sys' }),
      ],
    },
  ],
};
const owners = fakeOwners({ Proc: [pt('nt!ps', 'Process objects')], Zzzz: [db('zz.sys', 'call', { description: 'ZZ Corp driver' })] });

test('rows get owner and description columns; every other line is untouched', () => {
  const out = enrichText(text, report, owners).split('\n');
  assert.equal(out.length, 6);
  assert.equal(out[0], ' Tag  Allocs  Bytes');
  assert.equal(out[1], ' Proc      5    640                         nt        Process objects');
  assert.equal(out[2], ' Zzzz      1     16                         zz.sys    ZZ Corp driver');
  assert.equal(out[3], ' AcpD      2     64 ACPI, Binary: acpi.sys  acpi.sys');
  assert.deepEqual(out.slice(4), ['', 'done']);
});

test('a line that holds several rows (JSON reports) gets tag=owner pairs', () => {
  const json: Report = { format: 'rekall-json', kind: 'usage', file: 's.json', snapshots: [{ rows: [row('Proc', c(1, 0, 1), undefined, { line: 1 }), row('Qqqq', c(1, 0, 1), undefined, { line: 1 })] }] };
  assert.equal(enrichText('[["r",1]]\n', json, owners), '[["r",1]]  Proc=nt; Qqqq=(unknown)\n');
});

test('an NDJSON snapshot series stays NDJSON: owners become fields of its rows, and it reads back', () => {
  const lines = [0, 1].map((i) => serializeSnapshot({ time: `2026-11-23T19:0${i}:00Z`, rows: [row('Proc', c(1 + i, 0, 100)), row('Qqqq', c(1, 0, 1))] }));
  const text = lines.join('\n') + '\n';
  const report = parseReport(text, 's.ndjson');
  const out = enrichText(text, report, owners);
  const objects = out.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.equal(objects.length, 2);
  assert.deepEqual(objects[1].rows[0], { tag: 'Proc', tagHex: '0x636f7250', nonpaged: { allocs: 2, frees: 0, bytes: 100 }, paged: { allocs: 0, frees: 0, bytes: 0 }, owner: 'nt', by: 'pooltag', ownerDescription: 'Process objects' });
  assert.deepEqual([objects[0].rows[1].owner, objects[0].rows[1].by], ['(unknown)', '']);
  assert.equal(parseReport(out, 'enriched.ndjson').snapshots[1].rows[0].nonpaged.allocs, 2);
});

test('enrich --json is one object per report line', () => {
  const report: Report = { format: 'poolused', kind: 'usage', file: 'p.txt', snapshots: [{ rows: [row('Proc', c(1, 0, 1), undefined, { line: 2 })] }] };
  const out = enrichNdjson('header\n Proc 1 1\n', report, owners).split('\n');
  assert.equal(out.length, 2);
  assert.deepEqual(JSON.parse(out[1]), { line: 2, text: ' Proc 1 1', rows: [{ tag: 'Proc', tagHex: '0x636f7250', owner: 'nt', by: 'pooltag', description: 'Process objects' }] });
  assert.deepEqual(JSON.parse(out[0]).rows, []);
});
