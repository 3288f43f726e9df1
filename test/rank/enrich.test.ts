import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enrichText } from '../../src/rank/enrich.js';
import type { Report } from '../../src/reports/types.js';
import { c, db, fakeOwners, pt, row } from './helpers.js';

const text = [' Tag  Allocs  Bytes', ' Proc      5    640', ' Zzzz      1     16', ' AcpD      2     64 ACPI, Binary: acpi.sys', '', 'done'].join('\n');
const report: Report = {
  format: 'adhoc',
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
  const json: Report = { format: 'whose-tag-snapshot', file: 's.json', snapshots: [{ rows: [row('Proc', c(1, 0, 1), undefined, { line: 1 }), row('Qqqq', c(1, 0, 1), undefined, { line: 1 })] }] };
  assert.equal(enrichText('{"rows":[]}\n', json, owners), '{"rows":[]}  Proc=nt; Qqqq=(unknown)\n');
});
