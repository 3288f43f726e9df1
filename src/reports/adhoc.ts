// Tables people paste from home-grown tools:
//   Tag    NP_MB      share
//   NtFC   21353.2    97.1%   <-- 65.5% of installed RAM
//   --- total tagged nonpaged = 21982 MB
// A whitespace table whose header has a `Tag` column and size columns named by pool and unit
// (NP_MB, Paged_KB, NonPagedBytes, P(GB)); allocation/free count columns (NP_Allocs) are read when
// present, otherwise counts are 0 (unknown). Other columns and text after the last named column are
// commentary. Units are binary (1 KB = 1024 B), as Windows tools print them. Detection scores this
// low so that every specific format wins over it.
import { ReportParseError, type CounterName, type PoolCounters, type Report, type UsageRow } from './types.js';
import { counters, headLines, reportLines, reportTag, safeInteger } from './report-text.js';

type Pool = 'nonpaged' | 'paged';

interface Column {
  index: number;
  pool: Pool;
  kind: 'bytes' | 'allocs' | 'frees';
  /** Bytes per unit for size columns. */
  scale: number;
  name: string;
}

interface Header {
  tagIndex: number;
  columns: Column[];
  /** Tokens a row needs (through the last column read). */
  width: number;
}

const UNITS: Record<string, number> = { b: 1, bytes: 1, kb: 1024, kib: 1024, mb: 1024 ** 2, mib: 1024 ** 2, gb: 1024 ** 3, gib: 1024 ** 3 };
const SIZE_COLUMN = /^(np|nonpaged|non-paged|paged|pg|p)[_\-.]?[([]?(bytes|b|kib|kb|mib|mb|gib|gb)[)\]]?$/i;
const COUNT_COLUMN = /^(np|nonpaged|non-paged|paged|pg|p)[_\-.]?(allocs?|frees?)$/i;
// Separators and summary lines inside or after the table.
const SKIP = /^\s*($|[-=#*]{2,}|#|total\b|sum\b)/i;
const NUMBER = /^\d[\d,]*(\.\d+)?$/;
const ADHOC_SCORE = 0.3;

export function looksLikeAdhoc(text: string): number {
  const lines = headLines(text);
  const h = findHeader(lines);
  if (!h) return 0;
  const first = lines.slice(h.line + 1).find((l) => !SKIP.test(l));
  return first !== undefined && cellsOf(first, h.header) ? ADHOC_SCORE : ADHOC_SCORE / 2;
}

export function parseAdhoc(text: string, file: string): Report {
  const lines = reportLines(text);
  const found = findHeader(lines);
  if (!found) {
    throw new ReportParseError(file, 1, 'adhoc: no table header with a "Tag" column and size columns such as NP_MB or Paged_KB');
  }
  const { header } = found;
  const rows: UsageRow[] = [];
  for (let i = found.line + 1; i < lines.length; i++) {
    if (SKIP.test(lines[i])) continue;
    const n = i + 1;
    const cells = cellsOf(lines[i], header);
    if (!cells) {
      const names = header.columns.map((c) => c.name).join(', ');
      throw new ReportParseError(file, n, `adhoc: expected a row with a tag and numbers under ${names}`);
    }
    const pools: Record<Pool, PoolCounters> = { nonpaged: counters(0, 0, 0), paged: counters(0, 0, 0) };
    for (const col of header.columns) {
      const value = safeInteger(Math.round(Number(cells[col.index].replace(/,/g, '')) * col.scale), cells[col.index], file, n, col.name);
      const c = pools[col.pool];
      if (col.kind === 'bytes') c.bytes = value;
      else if (col.kind === 'allocs') c.allocs = value;
      else c.frees = value;
      c.outstanding = c.allocs - c.frees;
    }
    const tagText = cells[header.tagIndex];
    rows.push({ tag: reportTag(tagText, file, n), tagText: tagText.padEnd(4, ' '), ...pools, line: n });
  }
  const kinds = new Set(header.columns.map((c) => c.kind));
  const missing: CounterName[] = [];
  if (!kinds.has('allocs')) missing.push('allocs');
  if (!kinds.has('frees')) missing.push('frees');
  if (!kinds.has('allocs') || !kinds.has('frees')) missing.push('outstanding');
  return { format: 'adhoc', file, snapshots: [missing.length ? { rows, missing } : { rows }] };
}

function findHeader(lines: string[]): { line: number; header: Header } | undefined {
  for (let i = 0; i < lines.length; i++) {
    const header = headerOf(lines[i]);
    if (header) return { line: i, header };
  }
  return undefined;
}

function headerOf(line: string): Header | undefined {
  const tokens = line.trim().split(/\s+/);
  const tagIndex = tokens.findIndex((t) => /^tag$/i.test(t));
  if (tagIndex < 0) return undefined;
  const columns: Column[] = [];
  const seen = new Set<string>();
  tokens.forEach((name, index) => {
    const size = SIZE_COLUMN.exec(name);
    const count = COUNT_COLUMN.exec(name);
    const m = size ?? count;
    if (!m) return;
    const pool: Pool = /^(np|nonpaged|non-paged)$/i.test(m[1]) ? 'nonpaged' : 'paged';
    const kind = size ? 'bytes' : /^alloc/i.test(m[2]) ? 'allocs' : 'frees';
    // A second column for the same counter (NP_MB beside NP_KB) says nothing new.
    if (seen.has(pool + kind)) return;
    seen.add(pool + kind);
    columns.push({ index, pool, kind, scale: size ? UNITS[m[2].toLowerCase()] : 1, name });
  });
  if (!columns.some((c) => c.kind === 'bytes')) return undefined;
  return { tagIndex, columns, width: Math.max(tagIndex, ...columns.map((c) => c.index)) + 1 };
}

/** The row's tokens when the tag and every read column hold what they should, else undefined. */
function cellsOf(line: string, h: Header): string[] | undefined {
  const cells = line.trim().split(/\s+/);
  if (cells.length < h.width) return undefined;
  const tag = cells[h.tagIndex];
  if (tag.replace(/\\x[0-9a-fA-F]{2}/g, '.').length > 4) return undefined;
  for (const c of h.columns) {
    if (!NUMBER.test(cells[c.index])) return undefined;
    if (c.kind !== 'bytes' && cells[c.index].includes('.')) return undefined;
  }
  return cells;
}
