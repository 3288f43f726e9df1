// Column reading shared by the debugger/poolmon table parsers (poolused, poolmon, verifier): a cursor
// over one table row that names the column it expected when a cell is wrong, kd's hex numbers, the
// fixed-width tag cell, and outstanding counts from counters that may have wrapped.
import { ReportParseError } from './types.js';
import { exactCount, safeInteger } from './report-text.js';
import { GROUPED } from './paste.js';

/** kd/WinDbg prompts: `kd> `, `0: kd> `, `lkd> `, `1: kd:x86> `. A prompt ends the table before it. */
export const KD_PROMPT = /^\s*(?:\d+:\s*)?l?kd(?::\w+)?>/;

/** Rows elided by whoever pasted the report (`...`, `. . .`, `…`). */
export const ELISION = /^\s*(?:(?:\.\s*){3,}|…)\s*$/;

const HEX = /^(?:0x)?[0-9a-f`]+$/i;

/** A hex number as kd prints it (`0x1a`, `00000950`, `fffff980`0157efc0`), exactly or not at all. */
export function exactHex(text: string, file: string, line: number, what: string): number {
  if (!HEX.test(text) || /^0x$/i.test(text)) {
    throw new ReportParseError(file, line, `${what}: expected a hex number, got '${text}'`);
  }
  const digits = text.replace(/^0x/i, '').replace(/`/g, '');
  // 13 hex digits stay below 2^53; longer ones go through BigInt so nothing is rounded on the way.
  const v = digits.length <= 13 ? parseInt(digits, 16) : BigInt('0x' + digits);
  if (typeof v === 'bigint' && v > BigInt(Number.MAX_SAFE_INTEGER)) return safeInteger(Infinity, text, file, line, what);
  return Number(v);
}

export function isHex(text: string): boolean {
  return HEX.test(text) && !/^0x$/i.test(text);
}

/**
 * Outstanding allocations. The Diff column wins where the report prints one; otherwise allocs - frees.
 * The kernel keeps per-tag Allocs/Frees as 32-bit ULONGs even on x64, so on a busy machine Allocs
 * wraps past 2^32 before Frees does and a report shows Frees > Allocs: then the true count is
 * (allocs - frees) mod 2^32. x86 poolmon prints that Diff signed, so a negative Diff means the same.
 */
export function outstandingOf(allocs: number, frees: number, diff?: number): number | undefined {
  if (diff !== undefined && diff >= 0) return diff;
  if (allocs >= frees) return allocs - frees;
  if (allocs < 2 ** 32 && frees < 2 ** 32) return allocs - frees + 2 ** 32;
  return undefined;
}

/**
 * The 4-character tag cell of a row. Rows normally start where the header's `Tag` starts; pasted
 * reports sometimes lose or gain the leading space, so the row's own indentation is the fallback.
 * The tag must be followed by whitespace: tags may contain spaces (`Io  `), never run into a number.
 */
export function cutTag(text: string, tagCol: number): { tagText: string; end: number } | undefined {
  const lead = text.length - text.trimStart().length;
  for (const start of [tagCol, lead]) {
    if (start > lead) continue;
    const end = start + 4;
    if (text.length < end) continue;
    if (end < text.length && !/\s/.test(text[end])) continue;
    return { tagText: text.slice(start, end), end };
  }
  return undefined;
}

/** Reads one row left to right; every failure names the format, the column and what it found. */
export class RowCursor {
  pos: number;

  constructor(
    readonly text: string,
    readonly file: string,
    readonly line: number,
    readonly format: string,
    start = 0,
  ) {
    this.pos = start;
  }

  fail(what: string): never {
    throw new ReportParseError(this.file, this.line, `${this.format}: ${what}`);
  }

  skipSpace(): void {
    while (this.pos < this.text.length && (this.text[this.pos] === ' ' || this.text[this.pos] === '\t')) this.pos++;
  }

  atEnd(): boolean {
    this.skipSpace();
    return this.pos >= this.text.length;
  }

  /** The next cell: up to whitespace or a parenthesis (poolmon glues `(` to nothing, but be safe). */
  token(): string {
    this.skipSpace();
    const start = this.pos;
    while (this.pos < this.text.length && !/[\s()]/.test(this.text[this.pos])) this.pos++;
    return this.text.slice(start, this.pos);
  }

  private shown(tok: string): string {
    return tok === '' ? 'end of line' : `'${tok.length > 24 ? tok.slice(0, 24) + '…' : tok}'`;
  }

  /** A counter in decimal, or hex when written with 0x. */
  count(column: string): number {
    const tok = this.token();
    return this.number(tok, column, false);
  }

  signed(column: string): number {
    const tok = this.token();
    return this.number(tok, column, true);
  }

  number(tok: string, column: string, signed: boolean): number {
    const what = `column ${column}`;
    if (/^0x[0-9a-f]+$/i.test(tok)) return exactHex(tok, this.file, this.line, `${this.format}: ${what}`);
    const neg = signed && tok.startsWith('-');
    const digits = neg ? tok.slice(1) : tok;
    if (!/^\d+$/.test(digits) && !GROUPED.test(digits)) this.fail(`expected a number in ${what}, got ${this.shown(tok)}`);
    const v = exactCount(digits, this.file, this.line, `${this.format}: ${what}`);
    return neg ? -v : v;
  }

  /** poolmon's `( n)` change-since-last-screen cell, when the row carries one. */
  delta(column: string): number | undefined {
    this.skipSpace();
    if (this.text[this.pos] !== '(') return undefined;
    this.pos++;
    const v = this.signed(`(${column} change)`);
    this.skipSpace();
    if (this.text[this.pos] !== ')') this.fail(`expected ')' closing the ${column} change`);
    this.pos++;
    return v;
  }

  /** Whatever follows the last cell, trimmed; undefined when nothing does. */
  rest(): string | undefined {
    const r = this.text.slice(this.pos).trim();
    return r === '' ? undefined : r;
  }
}
