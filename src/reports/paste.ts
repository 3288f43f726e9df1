// Reports as people paste them (../shared/DESIGN.md, "Reports as people paste them"): what authors and
// doc converters add around the rows, and the ledger that counts the lines a parser passed over.
// The rule every parser follows: a line that is clearly not a row is skipped and counted; a line that
// looks like a row but does not parse is an error with file:line.
import type { Report } from './types.js';

/** Markdown code fences (```text, ~~~) and Jekyll/Liquid highlight tags around a pasted block. */
const FENCE = /^\s*(?:`{3,}|~{3,})[\w-]*\s*$|^\s*\{%-?\s*(?:end)?highlight\b.*%\}\s*$/;
/** An author's own comment: a whole `//` line, or `//` after whitespace at the end of a line. */
const COMMENT = /(?:^|\s)\/\/.*$/;
/** Markdown heading marks a doc conversion put before a table header (`## Tag   Type  Allocs`). */
const HEADING = /^(\s*)#{1,6}\s+/;

/**
 * The line without the author's `//` comment and a glued closing fence; a line wrapped in one inline
 * code span (`` `…` ``) loses the backticks. Tags may contain a backtick (`` `.C. `` is a real free-block
 * tag), so only these shapes are touched.
 */
export function cleanLine(raw: string): string {
  // String methods, not end-anchored regexes: a pasted line can be a megabyte of spaces.
  let s = raw.trimEnd();
  if (s.endsWith('```')) s = s.replace(/`+$/, '').trimEnd();
  if (s.includes('//')) s = s.replace(COMMENT, '').trimEnd();
  const body = s.trimStart();
  if (body.length > 2 && body.startsWith('`') && body.endsWith('`') && !body.startsWith('``') && body.indexOf('`', 1) === body.length - 1) {
    s = s.slice(0, s.length - body.length) + body.slice(1, -1);
  }
  return s;
}

/** A report's non-blank lines from index `from` on, each cleaned (cleanLine) with its 1-based number. */
export function* pastedLines(lines: readonly string[], from = 0): Generator<{ n: number; raw: string }> {
  for (let i = from; i < lines.length; i++) {
    const raw = cleanLine(lines[i]);
    if (raw.trim() !== '') yield { n: i + 1, raw };
  }
}

export function isFence(raw: string): boolean {
  return FENCE.test(raw);
}

/** A header line without the `##` a doc conversion added; the column offsets stay where they were. */
export function withoutHeading(line: string): string {
  return line.replace(HEADING, (m, lead: string) => lead + ' '.repeat(m.length - lead.length));
}

/**
 * Which lines a parser used (rows, headers, totals, prompts it understood). Every other non-blank line
 * was passed over; the report carries how many and the first, for one note on stderr.
 */
export class LineLedger {
  private readonly used = new Set<number>();

  /** 1-based line numbers. */
  use(line: number): void {
    this.used.add(line);
  }

  skipped(lines: readonly string[]): Report['skipped'] {
    let count = 0;
    let firstLine = 0;
    lines.forEach((l, i) => {
      if (l.trim() === '' || this.used.has(i + 1)) return;
      count++;
      if (firstLine === 0) firstLine = i + 1;
    });
    return count === 0 ? undefined : { count, firstLine };
  }
}

/** The one stderr note for a report's skipped lines, or undefined when nothing was skipped. */
export function skippedNote(report: Pick<Report, 'file' | 'skipped'>): string | undefined {
  const s = report.skipped;
  if (!s) return undefined;
  const what = s.count === 1 ? 'line that is not a row' : 'lines that are not rows';
  return `${report.file}: skipped ${s.count} ${what} (first: line ${s.firstLine})`;
}

/** Thousands separators people and some tools add (`1,607,446,837`): digits in groups of three. */
export const GROUPED = /^\d{1,3}(?:,\d{3})+$/;
