// Rekall `pool_tracker` through the text renderer:
//   Tag              NP Alloc   NP Bytes              P Alloc    P Bytes
//   ---- -------------------- ---------- -------------------- ----------
//    DMV                1 (0)          0                0 (0)          0
// Alloc cells read `allocs (allocs - frees)`. The tag column is exactly 4 wide and may start with a
// space (" DMV" sorts before "8042"), so the tag is the first four characters, not a token.
// Rekall's own documentation elides rows with `...` lines; those are skipped.
// Rekall versions whose table_header used the column names as titles print
// `tag nonpaged nonpaged_bytes paged paged_bytes` instead.
import { ReportParseError, type PoolCounters, type Report, type UsageRow } from './types.js';
import { counters, exactCount, exactSignedCount, headLines, reportLines, reportTag } from './report-text.js';
import { ELISION, outstandingOf } from './lines.js';

const HEADER = /^\s*(Tag\s+NP Alloc\s+NP Bytes\s+P Alloc\s+P Bytes|tag\s+nonpaged\s+nonpaged_bytes\s+paged\s+paged_bytes)\s*$/;
const DASHES = /^-{4}( -+){4}\s*$/;
const CELLS = /^ +(\d+) \((-?\d+)\) +(\d+) +(\d+) \((-?\d+)\) +(\d+)\s*$/;
// The interactive prompt the docs and pasted sessions carry (`win8.1.raw 15:29:07> pool_tracker`).
const PROMPT = /^\S+ \d\d:\d\d:\d\d> /;

export function looksLikeRekallText(text: string): number {
  const lines = headLines(text);
  const h = lines.findIndex((l) => HEADER.test(l));
  if (h < 0) return 0;
  const firstRow = lines.slice(h + 1).find((l) => l.trim() !== '' && !DASHES.test(l) && !ELISION.test(l));
  return firstRow !== undefined && CELLS.test(firstRow.slice(4)) ? 1 : 0.8;
}

export function parseRekallText(text: string, file: string): Report {
  const lines = reportLines(text);
  const h = lines.findIndex((l) => HEADER.test(l));
  if (h < 0) {
    throw new ReportParseError(file, 1, 'rekall-text: no pool_tracker header (expected "Tag  NP Alloc  NP Bytes  P Alloc  P Bytes")');
  }
  const rows: UsageRow[] = [];
  for (let i = h + 1; i < lines.length; i++) {
    const raw = lines[i];
    const n = i + 1;
    if (raw.trim() === '' || ELISION.test(raw) || (i === h + 1 && DASHES.test(raw))) continue;
    if (PROMPT.test(raw)) break;
    const m = CELLS.exec(raw.slice(4));
    if (raw.length < 5 || !m) {
      throw new ReportParseError(file, n, 'rekall-text: expected a row "TAG  allocs (outstanding)  bytes  allocs (outstanding)  bytes"');
    }
    const tagText = raw.slice(0, 4);
    rows.push({
      tag: reportTag(tagText, file, n),
      tagText,
      nonpaged: allocCounters(exactCount(m[1], file, n, 'NP allocs'), exactSignedCount(m[2], file, n, 'NP outstanding'), exactCount(m[3], file, n, 'NP bytes')),
      paged: allocCounters(exactCount(m[4], file, n, 'P allocs'), exactSignedCount(m[5], file, n, 'P outstanding'), exactCount(m[6], file, n, 'P bytes')),
      line: n,
    });
  }
  return { format: 'rekall-text', kind: 'usage', file, snapshots: [{ rows }] };
}

/**
 * Rekall prints allocs and allocs - frees (a Python int, so negative once the kernel's 32-bit Allocs
 * has wrapped and Frees not yet); frees is recovered from the two and a wrapped difference corrected.
 */
export function allocCounters(allocs: number, printedOutstanding: number, bytes: number): PoolCounters {
  const frees = allocs - printedOutstanding;
  return counters(allocs, frees, bytes, outstandingOf(allocs, frees) ?? printedOutstanding);
}
