import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parsePoolused, looksLikePoolused } from '../../src/reports/poolused.js';
import { ReportParseError, type UsageRow } from '../../src/reports/types.js';
import { tagFromBytes, tagFromText } from '../../src/tag.js';
import { needShared } from '../helpers/shared.js';

const sample = (name: string) => (needShared('reports') ? '' : readFileSync(new URL(`../../../shared/reports/${name}`, import.meta.url), 'utf8'));
const row = (rows: UsageRow[], tagText: string) => {
  const r = rows.find((x) => x.tagText === tagText);
  assert.ok(r, `row ${tagText}`);
  return r;
};

test('poolused-1: classic layout, glued descriptions, elision, TOTAL', { skip: needShared('reports') }, () => {
  const rep = parsePoolused(sample('poolused-1.txt'), 'poolused-1.txt');
  assert.equal(rep.format, 'poolused');
  assert.equal(rep.snapshots.length, 1);
  const s = rep.snapshots[0];
  assert.equal(s.rows.length, 35);
  assert.deepEqual(row(s.rows, '8042').nonpaged, { outstanding: 4, bytes: 3944 });
  assert.equal(row(s.rows, '8042').description, 'PS/2 kb and mouse , Binary: i8042prt.sys');
  assert.equal(row(s.rows, '8042').line, 12);
  const agp = row(s.rows, 'AGP ');
  assert.equal(agp.tag, tagFromText('AGP '));
  assert.deepEqual(agp.paged, { outstanding: 2, bytes: 384 });
  assert.equal(agp.description, undefined, "kdexts' UNKNOWN pooltag placeholder is not an owner");
  // "0        01394 OHCI": Used is 0 and the description starts with digits.
  const ohci = row(s.rows, 'ohci');
  assert.deepEqual(ohci.paged, { outstanding: 0, bytes: 0 });
  assert.deepEqual(ohci.nonpaged, { outstanding: 1, bytes: 136 });
  assert.equal(ohci.description, '1394 OHCI host controller driver');
  assert.equal(row(s.rows, 'Wmit').paged.bytes, 49480);
  assert.equal(row(s.rows, 'rx..').tag, tagFromBytes(0x72, 0x78, 0x2e, 0x2e));
  assert.deepEqual(s.totals, {
    nonpaged: { outstanding: 3570214, bytes: 209120008 },
    paged: { outstanding: 38769, bytes: 13066104 },
  });
});

test('poolused-2: `!poolused 2`, kd cache noise before the table, TAB before the description', { skip: needShared('reports') }, () => {
  const s = parsePoolused(sample('poolused-2.txt'), 'poolused-2.txt').snapshots;
  assert.equal(s.length, 1);
  assert.equal(s[0].rows.length, 20);
  const etwb = row(s[0].rows, 'EtwB');
  assert.deepEqual(etwb.nonpaged, { outstanding: 148, bytes: 5206272 });
  assert.deepEqual(etwb.paged, { outstanding: 16, bytes: 442368 });
  assert.equal(etwb.description, 'Etw Buffer , Binary: nt!etw');
  assert.equal(row(s[0].rows, 'Vad ').nonpaged.bytes, 2192480);
  assert.equal(row(s[0].rows, 'smSt').description, 'ReadyBoost various store allocations , Binary: nt!store or rdyboost.sys');
  assert.equal(row(s[0].rows, 'ConT').description, undefined);
  assert.equal(s[0].rows[0].line, 21);
  assert.equal(s[0].totals, undefined);
});

test('poolused-3: verbose layout with Frees and Diff per pool; tags starting with - and .', { skip: needShared('reports') }, () => {
  const s = parsePoolused(sample('poolused-3.txt'), 'poolused-3.txt').snapshots;
  assert.equal(s.length, 1);
  assert.equal(s[0].rows.length, 4);
  const appt = row(s[0].rows, 'APpt');
  assert.deepEqual(appt.nonpaged, { allocs: 968, frees: 0, outstanding: 968, bytes: 124112 });
  assert.deepEqual(appt.paged, { allocs: 109457, frees: 107115, outstanding: 2342, bytes: 255952 });
  assert.deepEqual(row(s[0].rows, 'ALPC').nonpaged, { allocs: 4528, frees: 2111, outstanding: 2417, bytes: 1440624 });
  assert.equal(row(s[0].rows, 'ALPC').description, 'ALPC port objects , Binary: nt!alpc');
  assert.equal(row(s[0].rows, '.UMD').tag, tagFromText('.UMD'));
  assert.equal(row(s[0].rows, '-UMD').line, 5);
});

const SESSION = [
  '1: kd> !poolused 8',
  '   Sorting by  Tag',
  '',
  '  Pool Used:',
  '            NonPaged            Paged',
  ' Tag    Allocs     Used    Allocs     Used',
  ' Gh05        0        0        12     4800\tGDITAG_HMGR_SPRITE_TYPE , Binary: win32k.sys',
  ' Usqu        0        0         3      384\tUSERTAG_QMSG , Binary: win32k.sys',
  ' TOTAL            0        0        15     5184',
].join('\n');

test('session pool (!poolused 8) goes to the session counters', () => {
  const s = parsePoolused(SESSION, 's.txt').snapshots[0];
  assert.equal(s.rows.length, 2);
  assert.deepEqual(s.rows[0].session, { outstanding: 12, bytes: 4800 });
  assert.deepEqual(s.rows[0].paged, {}, 'session pool output says nothing of system pool');
  assert.equal(s.rows[1].description, 'USERTAG_QMSG , Binary: win32k.sys');
  assert.equal(s.totals?.paged?.bytes, 5184);
  // Without the command line, a "Sorting by Session ..." heading says the same.
  const headed = parsePoolused(SESSION.replace('1: kd> !poolused 8\n   Sorting by  Tag', ' Sorting by Session Tag'), 's.txt');
  assert.equal(headed.snapshots[0].rows[1].session?.bytes, 384);
});

test('`!poolused 4` heading, hex counters, 64-bit values; two outputs in one paste are one moment: one snapshot', () => {
  const text = [
    '0: kd> !poolused 4',
    'unable to get nt!MmNonPagedPoolStart',
    ' Sorting by Paged Pool Consumed',
    '',
    '               NonPaged                  Paged',
    ' Tag     Allocs         Used     Allocs         Used',
    ' MmSt         0            0      0x1f0   0x12345678\tMm section object prototype ptes , Binary: nt!mm',
    ' Big          2   8589934592          0            0\tLarge session allocations',
    '0: kd> !poolused 2 Proc',
    '               NonPaged                  Paged',
    ' Tag     Allocs         Used     Allocs         Used',
    ' Proc       120       181440          0            0\tProcess objects , Binary: nt!ps',
  ].join('\r\n');
  const rep = parsePoolused(text, 'x.txt');
  assert.equal(rep.snapshots.length, 1);
  const [a] = rep.snapshots;
  assert.equal(a.rows.length, 3);
  assert.deepEqual(a.rows[0].paged, { outstanding: 0x1f0, bytes: 0x12345678 });
  assert.equal(a.rows[0].binary, 'nt!mm');
  assert.equal(a.rows[1].tagText, 'Big ');
  assert.equal(a.rows[1].nonpaged.bytes, 8589934592);
  assert.equal(a.rows[2].line, 12);
  assert.equal(a.rows[2].nonpaged.outstanding, 120);
  assert.equal(a.rows[2].nonpaged.allocs, undefined, 'the default layout has no Allocs counter: absent, not 0');
});

test('a non-numeric count is an error naming the column and the value', () => {
  const text = ' Tag    Allocs     Used    Allocs     Used\n 8042       x1     3944         0        0PS/2\n';
  assert.throws(() => parsePoolused(text, 'bad.txt'), (e: unknown) => {
    assert.ok(e instanceof ReportParseError);
    assert.equal(e.message, "bad.txt:2: poolused: expected a number in column Allocs, got 'x1'");
    return true;
  });
});

test('counters beyond 2^53 are refused rather than rounded', () => {
  const text = ' Tag    Allocs     Used    Allocs     Used\n Huge        1 90071992547409930         0        0\n';
  assert.throws(() => parsePoolused(text, 'big.txt'), /big\.txt:2: .*2\^53/);
});

test('no header and no rows, bad column layout, and a broken row are errors; chatter is skipped and counted', () => {
  assert.throws(() => parsePoolused('0: kd> !poolused\nunable to get PoolTrackTable\n', 'n.txt'), /n\.txt:1: poolused: no table header .* and no rows/);
  assert.throws(() => parsePoolused(' Tag  Used Allocs\n', 'h.txt'), /h\.txt:1: poolused: expected the header's first column to be Allocs/);
  assert.throws(
    () => parsePoolused(' Tag    Allocs     Used    Allocs     Used\n Abcd        1       10         0        0\n Abcdef       1       1x         0        0\n', 'j.txt'),
    /j\.txt:3: poolused: /,
  );
  const chatter = parsePoolused(' Tag    Allocs     Used    Allocs     Used\n Abcd        1       10         0        0\nsomething else\n// my note\n', 'c.txt');
  assert.equal(chatter.snapshots[0].rows.length, 1);
  assert.deepEqual(chatter.skipped, { count: 2, firstLine: 3 });
  // A damaged header is passed over (and counted); the rows still read by their shape.
  const damaged = parsePoolused('0: kd> !poolused\n Tag    Allocs     Used    Allocs     Usd\n Abcd        1       10         0        0\n', 'd.txt');
  assert.deepEqual(damaged.snapshots[0].rows[0].nonpaged, { outstanding: 1, bytes: 10 });
  assert.deepEqual(damaged.skipped, { count: 1, firstLine: 2 });
});

test('detection score', { skip: needShared('reports') }, () => {
  assert.equal(looksLikePoolused(sample('poolused-1.txt')), 1);
  assert.equal(looksLikePoolused(sample('poolused-3.txt')), 1);
  assert.equal(looksLikePoolused(sample('poolmon-display-1.txt')), 0);
  assert.equal(looksLikePoolused(sample('verifier-kd-1.txt')), 0);
});
