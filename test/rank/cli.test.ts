// The report commands end to end: the real CLI on the shared sample reports, the fixture drivers
// indexed into a database, and capture snapshot series.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDb } from '../../src/db/schema.js';
import { indexPaths } from '../../src/index/pipeline.js';
import { decodeReport, normalizeText, readReport } from '../../src/reports/index.js';
import { serializeSnapshot } from '../../src/reports/snapshot.js';
import { formatTag } from '../../src/tag.js';
import { c, row } from './helpers.js';
import { needShared, sharedPath } from '../helpers/shared.js';

const REPORTS = sharedPath('reports/');
const POOLTAG = sharedPath('pooltag/pooltag-sdk-2023.txt');
// The tests on real reports and Microsoft's pooltag.txt need ../shared (absent from a fresh clone).
const REAL = needShared('reports') || needShared('pooltag');
const FIXTURES = fileURLToPath(new URL('../fixtures/drivers/x64/', import.meta.url));

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'whose-tag-rank-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs the program with no default database, so only what a test passes is used. */
function run(args: string[]) {
  return runCli(args, { WHOSE_TAG_DB: join(tmpdir(), 'whose-tag-no-such.db'), WHOSE_TAG_POOLTAG: '' });
}

test('top --json on a !poolused sample: every row, exact counters, pooltag owners', { skip: REAL }, () => {
  const r = run(['top', join(REPORTS, 'poolused-1.txt'), '--pooltag', POOLTAG, '--json', '-n', '0']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.format, 'poolused');
  assert.equal(j.rows.length, 35);
  const acpd = j.rows.find((x: { tag: string }) => x.tag === 'AcpD');
  // The classic layout has no allocation or free counts: null, never 0.
  assert.deepEqual(j.missing, ['allocs', 'frees']);
  assert.deepEqual(acpd.nonpaged, { allocs: null, frees: null, outstanding: 40, bytes: 13280 });
  assert.deepEqual(acpd.paged, { allocs: null, frees: null, outstanding: 0, bytes: 0 });
  // Owners from pooltag.txt and from the report's own "Binary:" both appear.
  assert.deepEqual(acpd.owners.map((o: { name: string; source: string }) => [o.name, o.source]), [['acpi.sys', 'pooltag'], ['acpi.sys', 'report']]);
  assert.equal(acpd.driver, 'acpi.sys');
  assert.equal(acpd.by, 'pooltag');
  assert.equal(j.rows[0].tag, 'usbp'); // largest first
  // The report's TOTAL line is the total; its rows (after a "..." elision) hold far less.
  assert.deepEqual(j.totals.report, { allocs: null, frees: null, outstanding: 3570214 + 38769, bytes: 209120008 + 13066104 });
  assert.deepEqual(j.totals.rows, { allocs: null, frees: null, outstanding: 563, bytes: 309536 });
  assert.equal(j.totals.rowsAddUp, false);
  const sorted = run(['top', join(REPORTS, 'poolused-1.txt'), '--sort', 'allocs']);
  assert.equal(sorted.code, 2);
  assert.match(sorted.stderr, /--sort allocs: this poolused report has no allocs counts \(it gives outstanding, bytes\)/);
});

test('top --by driver sums each driver once and explains it with its tags', { skip: REAL }, () => {
  const file = join(REPORTS, 'poolused-1.txt');
  const r = run(['top', file, '--pooltag', POOLTAG, '--by', 'driver', '--json', '-n', '0']);
  assert.equal(r.code, 0, r.stderr);
  const rows: { driver: string; tags: { tag: string; bytes: number }[]; nonpaged: { bytes: number }; paged: { bytes: number } }[] = JSON.parse(r.stdout).rows;
  const parsed = readReport(file).snapshots[0].rows;
  const acpiTags = parsed.filter((x) => formatTag(x.tag).startsWith('Acp'));
  const acpi = rows.find((x) => x.driver === 'acpi.sys');
  assert.deepEqual(acpi?.tags.map((x) => x.tag).sort(), acpiTags.map((x) => formatTag(x.tag)).sort());
  assert.equal(acpi!.nonpaged.bytes + acpi!.paged.bytes, acpiTags.reduce((s, x) => s + (x.nonpaged.bytes ?? 0) + (x.paged.bytes ?? 0), 0));
  // Every tag appears in exactly one driver row.
  const all = rows.flatMap((x) => x.tags.map((t) => t.tag));
  assert.equal(all.length, parsed.length);
  assert.equal(new Set(all).size, parsed.length);
  const table = run(['top', file, '--pooltag', POOLTAG, '--by', 'driver', '-n', '2']);
  const lines = table.stdout.split('\n');
  assert.match(lines[0], /^DRIVER\s+BY\s+TAGS\s+OUTSTANDING\s+BYTES\s+NONPAGED\s+PAGED\s+PER ALLOC\s+MADE OF \(largest tags\)$/);
  assert.match(lines[2], /^\(unknown\)\s+\d+\s+\d+\s+2\d\d KB\s+/);
  assert.match(lines[3], /^acpi\.sys\s+pooltag\s+6\s+59\s+14\.8 KB\s+13\.6 KB\s+1\.2 KB\s+256 B\s+AcpD 13\.0 KB, AcpA 696 B, AcpB 576 B \(\+3 more\)$/);
  assert.match(table.stdout, /\nTotal all pool by the report's own total: 212 MB \(222186112 bytes\) in 3608983 outstanding allocations\.\n/);
  assert.match(table.stdout, /\nThe 35 tags listed hold 302 KB \(309536 bytes, 0\.1%\): the rows do not add up to the report's total/);
  assert.match(table.stdout, /\nShowing 2 of \d drivers; -n 0 shows all\.\n/);
});

test('top --by driver with the fixture database: code evidence names owners ahead of pooltag.txt, object-ref tags own nothing', async (t) => {
  const dir = tempDir(t);
  const dbPath = join(dir, 'tags.db');
  const db = openDb(dbPath);
  await indexPaths(db, [FIXTURES], { host: 'fixture' });
  db.close();
  const snap = join(dir, 'snap.json');
  const rows = [
    row('DrA1', c(10, 0, 4000)), // direct.sys, call tier (pooltag.txt below says legacy.sys: evidence wins)
    row('DrA2', c(5, 1, 1000)), //  direct.sys
    row('WrA1', c(3, 0, 3000)), //  wrappers.sys, only through its own wrapper
    row('TbS1', c(2, 0, 2500)), //  tables.sys, read from a global no code writes
    row('DcH1', c(1, 0, 600)), //   decoys.sys, code tier
    row('DcO1', c(1, 0, 700)), //   object-reference tag in decoys.sys: not pool evidence
    row('Zzzz', c(9, 0, 9000)), //  pooltag.txt: either of two drivers
  ];
  writeFileSync(snap, serializeSnapshot({ host: 'WS01', time: '2026-11-23T19:00:00Z', rows }) + '\n');
  const pooltag = join(dir, 'pooltag.txt');
  writeFileSync(pooltag, 'DrA1 - legacy.sys - Old allocations\r\nZzzz - b.sys/a.sys - Shared buffers\r\n');
  const r = run(['top', snap, '--db', dbPath, '--pooltag', pooltag, '--by', 'driver', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const got = JSON.parse(r.stdout).rows.map((x: { driver: string; tags: { tag: string }[]; nonpaged: { bytes: number } }) => [x.driver, x.tags.map((y) => y.tag), x.nonpaged.bytes]);
  assert.deepEqual(got, [
    ['shared: a.sys, b.sys', ['Zzzz'], 9000],
    ['direct.sys', ['DrA1', 'DrA2'], 5000],
    ['wrappers.sys', ['WrA1'], 3000],
    ['tables.sys', ['TbS1'], 2500],
    ['(unknown)', ['DcO1'], 700],
    ['decoys.sys', ['DcH1'], 600],
  ]);
  const table = run(['top', snap, '--db', dbPath, '--pooltag', pooltag]).stdout;
  assert.match(table, /^DrA1\s+10\s+3\.9 KB\s+3\.9 KB\s+0 B\s+400 B\s+10\s+0\s+direct\.sys\s+call\s+Old allocations$/m);
  assert.match(table, /^TbS1\s+2\s+2\.4 KB\s+.*tables\.sys\s+call\s*$/m);
  assert.match(table, /\nTotal all pool: 20\.3 KB \(20800 bytes\) in 30 outstanding allocations over 7 tags\.\nAttributed to a driver: 19\.6 KB \(96\.6%\) in 6 tags/);
});

test('enrich: the report line for line, owners appended to row lines only', { skip: REAL }, () => {
  const file = join(REPORTS, 'poolmon-display-1.txt');
  const r = run(['enrich', file, '--pooltag', POOLTAG]);
  assert.equal(r.code, 0, r.stderr);
  const original = normalizeText(decodeReport(readFileSync(file))).split('\n');
  const out = r.stdout.split('\n');
  assert.equal(out.length, original.length);
  const rowLines = new Set(readReport(file).snapshots.flatMap((s) => s.rows.map((x) => x.line)));
  assert.equal(rowLines.size, 13);
  for (let i = 0; i < original.length; i++) {
    if (rowLines.has(i + 1)) assert.ok(out[i].startsWith(original[i].trimEnd()) && out[i].length > original[i].trimEnd().length, `line ${i + 1}`);
    else assert.equal(out[i], original[i], `line ${i + 1}`);
  }
  assert.match(out[6], /\[ntfs\.sys {2}- {2}AttrSup\.c\] {3}ntfs\.sys {2}/);
});

test('diff of a capture series ranks growth and names the steady grower', (t) => {
  const dir = tempDir(t);
  const series = join(dir, 'series.ndjson');
  const lines = [0, 1, 2, 3].map((i) =>
    serializeSnapshot({ time: `2026-11-23T19:0${i}:00Z`, rows: [row('Leak', c(10 + i * 5, 0, 1000 + i * 500)), row('Flat', c(4, 0, 400)), row('Drop', c(9 - i, 0, 900 - i * 100))] }),
  );
  writeFileSync(series, lines.join('\n') + '\n');
  const j = run(['diff', series, '--json']);
  assert.equal(j.code, 0, j.stderr);
  const body = JSON.parse(j.stdout);
  assert.equal(body.snapshots.length, 4);
  assert.deepEqual(body.tags.map((x: { tag: string; bytes: number; outstanding: number }) => [x.tag, x.bytes, x.outstanding]), [['Leak', 1500, 15], ['Flat', 0, 0], ['Drop', -300, -3]]);
  assert.deepEqual(body.suspects, ['Leak ((unknown))']);
  const table = run(['diff', series, '--by', 'tag']);
  assert.match(table.stdout, /^Leak\s+1000 B\s+2\.4 KB\s+\+1\.5 KB\s+\+15\s+LEAK\? \(bytes\+allocs\)\s+\(unknown\)$/m);
  assert.match(table.stdout, /\nLeak suspects \(steady growth\): Leak \(\(unknown\)\)\n/);
  // BEFORE AFTER as two files.
  const a = join(dir, 'a.json');
  const b = join(dir, 'b.json');
  writeFileSync(a, lines[0]);
  writeFileSync(b, lines[3]);
  const two = JSON.parse(run(['diff', a, b, '--json', '--sort', 'outstanding']).stdout);
  assert.deepEqual(two.tags[0], { tag: 'Leak', bytes: 1500, outstanding: 15, series: [{ bytes: 1000, outstanding: 10 }, { bytes: 2500, outstanding: 25 }], owners: [] });
  const one = run(['diff', a]);
  assert.equal(one.code, 2);
  assert.match(one.stderr, /^whose-tag: .*a\.json: 1 snapshot; diff needs two/);
});

test('--pslist compares outstanding Proc allocations with the listed processes', (t) => {
  const dir = tempDir(t);
  const snap = join(dir, 's.json');
  writeFileSync(snap, serializeSnapshot({ rows: [row('Proc', c(40, 35, 5000))] }));
  const pslist = join(dir, 'pslist.txt');
  writeFileSync(pslist, 'Offset(V) Name PID PPID Thds\n0x81 System 4 0 90\n0x82 smss.exe 256 4 2\n0x83 csrss.exe 336 328 9\n');
  const r = run(['top', snap, '--pslist', pslist, '--pooltag', '/dev/null']);
  assert.equal(r.code, 0, r.stderr);
  // Table mode: the findings are warnings on stderr, not rows of the table.
  assert.doesNotMatch(r.stdout, /Warning|warning/);
  assert.match(r.stderr, /\nwhose-tag: warning: 5 outstanding Proc allocations but 3 listed processes: 2 processes may be hidden/);
  assert.match(r.stderr, /\nwhose-tag: warning: the report has no Thre row: cannot compare with the 101 listed threads\n/);
  // JSON and CSV carry them.
  const j = JSON.parse(run(['top', snap, '--pslist', pslist, '--pooltag', '/dev/null', '--json']).stdout);
  assert.deepEqual(j.warnings.map((w: { tag: string }) => w.tag), ['Proc', 'Thre']);
  assert.match(j.warnings[0].message, /^5 outstanding Proc allocations but 3 listed processes/);
  const csv = run(['top', snap, '--pslist', pslist, '--pooltag', '/dev/null', '--format', 'csv']).stdout.split('\r\n');
  assert.match(csv[0], /,warning$/);
  assert.match(csv[1], /^Proc,.*,5 outstanding Proc allocations but 3 listed processes: 2 processes may be hidden/);
  assert.equal(run(['top', snap, '--processes', '5', '--pooltag', '/dev/null', '--quiet']).stderr, '', '--quiet: no notes, and nothing to warn about');
});

test('bad input: one line naming the file, exit 2; capture off Windows: exit 4', (t) => {
  const dir = tempDir(t);
  const missing = run(['top', join(dir, 'nope.txt')]);
  assert.equal(missing.code, 2);
  assert.equal(missing.stderr, `whose-tag: ${join(dir, 'nope.txt')}: no such file\n`);
  const junk = join(dir, 'junk.txt');
  writeFileSync(junk, 'hello\nworld\n');
  const bad = run(['top', junk]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, new RegExp(`^whose-tag: ${junk.replace(/[.]/g, '\\.')}:1: unrecognised report`));
  assert.equal(bad.stderr.split('\n').length, 2);
  if (process.platform !== 'win32') {
    const cap = run(['capture', '--count', '3']);
    assert.equal(cap.code, 4);
    assert.match(cap.stderr, /^whose-tag: capture reads live pool counters with NtQuerySystemInformation and runs on Windows only \(this is \w+\); rank a saved report instead: whose-tag top FILE\n$/);
  }
});
