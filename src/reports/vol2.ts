// Volatility 2 `pooltracker`. Text output:
//   Tag    NpAllocs NpFrees  NpBytes  PgAllocs PgFrees  PgBytes  [Driver Reason]
//   ------ -------- -------- -------- -------- -------- -------- (older table_header renderer only)
//   Thre     614895   614419   606688        0        0        0
// The Tag cell is str(Key), 4 characters left-aligned, and may start with a space, so it is the first
// four characters of the line. Driver/Reason come from --tagfile and hold free text ("PS/2 keyboard
// and mouse"); they are cut at the header's column positions. `--output=json` writes a list of
// objects keyed by column name (or, in some builds, {"columns": [...], "rows": [[...]]}).
import { ReportParseError, type PoolCounters, type Report, type UsageRow } from './types.js';
import { counters, exactCount, headLines, jsonValues, lineIndex, reportLines, reportTag, safeInteger } from './report-text.js';
import { outstandingOf } from './lines.js';
import { LineLedger, pastedLines } from './paste.js';

const COUNT_COLUMNS = ['NpAllocs', 'NpFrees', 'NpBytes', 'PgAllocs', 'PgFrees', 'PgBytes'] as const;
const HEADER = /^Tag\s+NpAllocs\s+NpFrees\s+NpBytes\s+PgAllocs\s+PgFrees\s+PgBytes(\s+Driver\s+Reason)?\s*$/;
const DASHES = /^-+( -+){6,8}\s*$/;
/** Up to 4 characters of tag, then a number: a row, or a broken one to report. */
const ROW_LIKE = /^.{1,4}\s+[\d,]+(?:\s|$)/;
const CELLS = /^ +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+)(?: +(\S.*?))?\s*$/d;

export function looksLikeVol2(text: string): number {
  const lines = headLines(text);
  if (lines.some((l) => HEADER.test(l))) return 1;
  const head = lines.join('\n');
  return /^\s*[[{]/.test(head) && /"NpAllocs"/.test(head) && /"PgBytes"/.test(head) ? 1 : 0;
}

export function parseVol2(text: string, file: string): Report {
  const lines = reportLines(text);
  const first = lines.findIndex((l) => l.trim() !== '');
  if (first >= 0 && /^\s*[[{]/.test(lines[first])) return parseVol2Json(lines.join('\n'), file);
  const h = lines.findIndex((l) => HEADER.test(l));
  if (h < 0) {
    throw new ReportParseError(file, 1, 'vol2-pooltracker: no header (expected "Tag NpAllocs NpFrees NpBytes PgAllocs PgFrees PgBytes")');
  }
  const header = lines[h];
  const driverAt = header.search(/ Driver\b/) + 1;
  const reasonAt = header.search(/ Reason\b/) + 1;
  const rows: UsageRow[] = [];
  const ledger = new LineLedger();
  ledger.use(h + 1);
  let failure: string | undefined;
  for (const { n, raw } of pastedLines(lines, h + 1)) {
    // The rule under the header (line h + 2).
    if (n === h + 2 && DASHES.test(raw)) {
      ledger.use(n);
      continue;
    }
    // Volatility died part way (a Python traceback): its last line says why.
    if (/^Traceback \(most recent call last\):/.test(raw)) failure = '';
    if (failure !== undefined) {
      if (/^\w[\w.]*(?:Error|Exception)\b/.test(raw)) failure = raw.trim();
      continue;
    }
    if (!ROW_LIKE.test(raw)) continue;
    ledger.use(n);
    const m = CELLS.exec(raw.slice(4));
    if (raw.length < 5 || !m || (m[7] !== undefined && driverAt === 0)) {
      throw new ReportParseError(file, n, 'vol2-pooltracker: expected a row "TAG NpAllocs NpFrees NpBytes PgAllocs PgFrees PgBytes [Driver Reason]"');
    }
    const v = COUNT_COLUMNS.map((c, k) => exactCount(m[k + 1], file, n, c));
    const tagText = raw.slice(0, 4);
    const row: UsageRow = {
      tag: reportTag(tagText, file, n),
      tagText,
      nonpaged: trackerCounters(v[0], v[1], v[2]),
      paged: trackerCounters(v[3], v[4], v[5]),
      line: n,
    };
    const description = m[7] === undefined ? undefined : driverAndReason(raw, 4 + m.indices![7]![0], driverAt, reasonAt);
    if (description) row.description = description;
    rows.push(row);
  }
  const report: Report = { format: 'vol2-pooltracker', kind: 'usage', file, snapshots: [{ rows }] };
  const skipped = ledger.skipped(lines);
  if (skipped) report.skipped = skipped;
  if (rows.length === 0) {
    report.kind = 'statement';
    report.snapshots = [];
    report.statement = `Volatility 2 pooltracker output with a header and no rows${failure !== undefined ? ` (the run failed: ${failure || 'Python traceback'})` : ''}`;
  }
  return report;
}

/** "driver - reason" (pooltag.txt's own shape), cut at the header positions when the row lines up. */
function driverAndReason(raw: string, textAt: number, driverAt: number, reasonAt: number): string {
  const words = raw.slice(textAt).trim().split(/\s+/);
  const [driver, reason] = textAt >= driverAt
    ? [raw.slice(driverAt, reasonAt).trim(), raw.slice(reasonAt).trim()]
    : [words[0], words.slice(1).join(' ')];
  return [driver, reason].filter((s) => s !== '').join(' - ');
}

function parseVol2Json(body: string, file: string): Report {
  const lineOf = lineIndex(body);
  const rows: UsageRow[] = [];
  for (const { value, start, elementStarts } of jsonValues(body, file, lineOf, 'vol2-pooltracker')) {
    if (Array.isArray(value)) {
      value.forEach((rec, i) => rows.push(jsonRow(rec, file, lineOf(elementStarts[i] ?? start))));
    } else if (isRecord(value) && Array.isArray(value.columns) && Array.isArray(value.rows)) {
      const columns = value.columns;
      for (const cells of value.rows) {
        if (!Array.isArray(cells)) throw new ReportParseError(file, lineOf(start), 'vol2-pooltracker: expected each of "rows" to be a list of cells');
        rows.push(jsonRow(Object.fromEntries(columns.map((c, k) => [String(c), cells[k]])), file, lineOf(start)));
      }
    } else {
      throw new ReportParseError(file, lineOf(start), 'vol2-pooltracker: expected a JSON list of rows or {"columns", "rows"}');
    }
  }
  return { format: 'vol2-pooltracker', kind: 'usage', file, snapshots: [{ rows }] };
}

function jsonRow(rec: unknown, file: string, line: number): UsageRow {
  if (!isRecord(rec) || typeof rec.Tag !== 'string') {
    throw new ReportParseError(file, line, 'vol2-pooltracker: expected a row object with a string "Tag"');
  }
  const v = COUNT_COLUMNS.map((c) => {
    const x = rec[c];
    if (typeof x === 'number' && x >= 0) return safeInteger(x, x, file, line, c);
    if (typeof x === 'string') return exactCount(x, file, line, c);
    throw new ReportParseError(file, line, `vol2-pooltracker: ${c}: expected a count, got ${JSON.stringify(x)?.slice(0, 40)}`);
  });
  const row: UsageRow = {
    tag: reportTag(rec.Tag, file, line),
    tagText: rec.Tag.padEnd(4, ' '),
    nonpaged: trackerCounters(v[0], v[1], v[2]),
    paged: trackerCounters(v[3], v[4], v[5]),
    line,
  };
  const description = [rec.Driver, rec.Reason].filter((s): s is string => typeof s === 'string' && s.trim() !== '').join(' - ');
  if (description) row.description = description;
  return row;
}

/** Win7's tracker counts are 32-bit and wrap, so Frees > Allocs still means a real outstanding count. */
function trackerCounters(allocs: number, frees: number, bytes: number): PoolCounters {
  return counters(allocs, frees, bytes, outstandingOf(allocs, frees) ?? allocs - frees);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
