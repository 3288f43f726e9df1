// Reading report text the same way in every parser of this folder: numbered lines, our samples'
// `# SOURCE:` line, exact counters and tags as the report printed them.
import { bytesFromText, tagFromBytes, TagSyntaxError } from '../tag.js';
import { ReportParseError, type PoolCounters } from './types.js';

/**
 * The report's lines; index i is line i+1. The `# SOURCE:` provenance line our samples start with is
 * blanked rather than removed, so every later line keeps its real number.
 */
export function reportLines(text: string): string[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines[0].startsWith('# SOURCE:')) lines[0] = '';
  return lines;
}

/** The first `max` lines only: detectors look at the head of a report, never the whole of a huge one. */
export function headLines(text: string, max = 200): string[] {
  const head = text.slice(0, 64 * 1024);
  return reportLines(head).slice(0, max);
}

/**
 * A non-negative decimal counter, exactly. Counters are 64-bit in the kernel; a JS number holds
 * integers exactly only up to 2^53-1, so a larger one is refused rather than rounded.
 */
export function exactCount(digits: string, file: string, line: number, what: string): number {
  const s = digits.replace(/,/g, '');
  if (!/^\d+$/.test(s)) throw new ReportParseError(file, line, `${what}: expected a whole number, got ${JSON.stringify(digits)}`);
  return safeInteger(Number(s), digits, file, line, what);
}

/** As exactCount, but a leading minus is allowed (Rekall prints allocs-frees, which races can make negative). */
export function exactSignedCount(digits: string, file: string, line: number, what: string): number {
  if (digits.startsWith('-')) return -exactCount(digits.slice(1), file, line, what);
  return exactCount(digits, file, line, what);
}

export function safeInteger(v: number, shown: unknown, file: string, line: number, what: string): number {
  if (!Number.isSafeInteger(v)) {
    throw new ReportParseError(file, line, `${what}: ${String(shown)} is not a whole number below 2^53 (it cannot be held exactly)`);
  }
  return v;
}

/** Counters from what a report gives; outstanding defaults to allocs - frees. */
export function counters(allocs: number, frees: number, bytes: number, outstanding = allocs - frees): PoolCounters {
  return { allocs, frees, outstanding, bytes };
}

/**
 * A tag as printed in a report (4 characters, padding kept; `\xNN` escapes honoured; shorter tags
 * space-padded) to its u32.
 */
export function reportTag(text: string, file: string, line: number): number {
  try {
    const b = bytesFromText(text);
    return tagFromBytes(b[0], b[1], b[2], b[3]);
  } catch (e) {
    if (e instanceof TagSyntaxError) throw new ReportParseError(file, line, e.message);
    throw e;
  }
}

/** Character offset → 1-based line number, for formats parsed as a whole (JSON). */
export function lineIndex(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset: number) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

const MAX_JSON_DEPTH = 64;

export interface JsonValueAt {
  value: unknown;
  start: number;
  /** Offsets of the elements of a top-level array (to give each message its line). */
  elementStarts: number[];
}

/** Splits concatenated JSON arrays/objects (a streaming writer's flushes), tracking where each top-level element starts. */
export function* jsonValues(body: string, file: string, lineOf: (o: number) => number, label: string): Generator<JsonValueAt> {
  let i = 0;
  while (i < body.length) {
    const c = body[i];
    if (c === ' ' || c === '\n' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c !== '[' && c !== '{') throw new ReportParseError(file, lineOf(i), `${label}: expected "[" or "{" to start a JSON value, found ${JSON.stringify(c)}`);
    const start = i;
    const elementStarts: number[] = [];
    let depth = 0;
    let inString = false;
    for (; i < body.length; i++) {
      const ch = body[i];
      if (inString) {
        if (ch === '\\') i++;
        else if (ch === '"') inString = false;
        continue;
      }
      if (ch === '"') inString = true;
      else if (ch === '[' || ch === '{') {
        if (depth === 1) elementStarts.push(i);
        if (++depth > MAX_JSON_DEPTH) throw new ReportParseError(file, lineOf(i), `${label}: nested deeper than ${MAX_JSON_DEPTH} levels`);
      } else if (ch === ']' || ch === '}') {
        if (--depth === 0) break;
      }
    }
    if (depth !== 0) throw new ReportParseError(file, lineOf(start), `${label}: unterminated JSON value (truncated?)`);
    i++;
    let value: unknown;
    try {
      value = JSON.parse(body.slice(start, i));
    } catch (e) {
      const at = /position (\d+)/.exec((e as Error).message);
      const line = lineOf(start + (at ? Number(at[1]) : 0));
      throw new ReportParseError(file, line, `${label}: invalid JSON: ${(e as Error).message}`);
    }
    yield { value, start, elementStarts };
  }
}

