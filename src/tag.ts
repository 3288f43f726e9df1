// A pool tag is the four bytes as they sit in memory, held as a little-endian u32.
// `ExAllocatePoolWithTag(t, n, 'corP')` stores the bytes "Proc", so the value is 0x636f7250.

/** Bit 31: the pre-Win8 PROTECTED_POOL flag. Same tag, flagged. */
export const PROTECTED_BIT = 0x80000000;

/**
 * Text from the command line or a file as it may be echoed to a terminal: control characters (C0, DEL,
 * C1) as \xNN, like the bytes of a tag, so an argument cannot move the cursor or clear the screen.
 */
export function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

export class TagSyntaxError extends Error {
  constructor(input: string, why: string) {
    super(`invalid tag "${printable(input)}": ${why}`);
    this.name = 'TagSyntaxError';
  }
}

/** u32 of four bytes b0..b3 in memory order. */
export function tagFromBytes(b0: number, b1: number, b2: number, b3: number): number {
  return (b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)) >>> 0;
}

export function tagBytes(tag: number): [number, number, number, number] {
  return [tag & 0xff, (tag >>> 8) & 0xff, (tag >>> 16) & 0xff, (tag >>> 24) & 0xff];
}

export function isProtected(tag: number): boolean {
  return (tag & PROTECTED_BIT) !== 0;
}

export function withoutProtectedBit(tag: number): number {
  return (tag & ~PROTECTED_BIT) >>> 0;
}

/** Display form: the four characters, non-printable bytes as \xNN, trailing spaces kept. */
export function formatTag(tag: number): string {
  let s = '';
  for (const b of tagBytes(tag)) {
    if (b >= 0x20 && b < 0x7f && b !== 0x5c) s += String.fromCharCode(b);
    else s += '\\x' + b.toString(16).padStart(2, '0');
  }
  return s;
}

export function tagHex(tag: number): string {
  return '0x' + (tag >>> 0).toString(16).padStart(8, '0');
}

/**
 * Four bytes from a display string: `\xNN` escapes allowed, short tags space-padded
 * (poolmon and pooltag.txt both write `Cc` for `Cc  `).
 */
export function bytesFromText(text: string, input = text): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (text[i] === '\\' && text[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      out.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (c > 0xff) {
      throw new TagSyntaxError(input, `character ${JSON.stringify(text[i])} is not a single byte`);
    } else {
      out.push(c);
    }
  }
  if (out.length > 4) throw new TagSyntaxError(input, 'a tag has at most 4 bytes');
  while (out.length < 4) out.push(0x20);
  return out;
}

export function tagFromText(text: string): number {
  const b = bytesFromText(text);
  return tagFromBytes(b[0], b[1], b[2], b[3]);
}

/** A tag the user typed: exact value, or a poolmon-style wildcard pattern. */
export interface TagQuery {
  /** What the user typed, for messages. */
  input: string;
  /** Set when the query has no wildcard. */
  exact?: number;
  /** Pattern in display form, `?` = any one byte, `*` = any rest. */
  pattern: string;
  /** Anchored regex over the display form of a tag (see formatTag). */
  regex: RegExp;
}

export interface TagQueryOptions {
  /** Accept the C multichar form as written in source ('corP' means Proc). */
  multichar?: boolean;
}

function escapeRegex(s: string): string {
  return s.replace(/[.+^${}()|[\]\\]/g, '\\$&');
}

/**
 * Parse what the user typed: `Proc`, `0x636f7250`, `Io` (padded), `Afd?`, `Ntf*`,
 * and with {multichar:true} `'corP'`.
 */
export function parseTagQuery(input: string, opts: TagQueryOptions = {}): TagQuery {
  if (input.length === 0) throw new TagSyntaxError(input, 'empty tag');
  let text = input;
  const quoted = /^'(.{1,4})'$/.exec(input);
  if (quoted && !opts.multichar) {
    throw new TagSyntaxError(input, "looks like a C multichar constant; pass --multichar to read it reversed, as the compiler does");
  }
  const hex = !quoted && /^0[xX][0-9a-fA-F]{1,8}$/.test(input);
  // With --multichar the constant may come without its quotes (a shell ate them, or none were typed):
  // `--multichar corP` is 'corP'. Hex values and wildcard patterns are read as they are.
  const constant = quoted ? quoted[1] : opts.multichar && !hex && !/[?*]/.test(input) ? input : undefined;
  if (constant !== undefined) {
    // A C constant shorter than 4 characters has its padding in the high bytes, i.e. at the end.
    text = [...constant].reverse().join('');
  }
  if (hex) {
    const v = parseInt(input.slice(2), 16) >>> 0;
    return exactQuery(input, v);
  }
  if (/[?*]/.test(text)) {
    // Validate the literal parts as bytes; wildcards stand for whole bytes.
    const literal = text.replace(/[?*]/g, '');
    bytesFromText(literal, input);
    let body = '';
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (ch === '?') body += '(?:\\\\x[0-9a-f]{2}|[^\\\\])';
      else if (ch === '*') body += '.*';
      else if (ch === '\\' && text[i + 1] === 'x') {
        body += escapeRegex(text.slice(i, i + 4).toLowerCase());
        i += 3;
      } else body += escapeRegex(ch);
    }
    // A pattern shorter than four bytes without '*' is padded with spaces, like a short tag.
    const width = text.replace(/\\x[0-9a-fA-F]{2}/g, '.').length;
    if (!text.includes('*') && width < 4) body += ' '.repeat(4 - width);
    return { input, pattern: text, regex: new RegExp('^' + body + '$', 's') };
  }
  return exactQuery(input, tagFromText(text));
}

function exactQuery(input: string, v: number): TagQuery {
  const shown = formatTag(v);
  return { input, exact: v, pattern: shown, regex: new RegExp('^' + escapeRegex(shown) + '$', 's') };
}

/** The bytes a query fixes before its first wildcard (all four for an exact tag). */
export function literalPrefix(q: TagQuery): number[] {
  if (q.exact !== undefined) return tagBytes(q.exact);
  const stop = q.pattern.search(/[?*]/);
  return rawBytes(stop < 0 ? q.pattern : q.pattern.slice(0, stop));
}

/** Bytes of a display string without padding (see bytesFromText, which pads to four). */
function rawBytes(text: string): number[] {
  const padded = bytesFromText(text);
  const width = text.replace(/\\x[0-9a-fA-F]{2}/g, '.').length;
  return padded.slice(0, Math.min(width, 4));
}

/** A tag from its four bytes read as a big-endian number (first byte most significant). */
export function bigEndianToTag(be: number): number {
  return tagFromBytes((be >>> 24) & 0xff, (be >>> 16) & 0xff, (be >>> 8) & 0xff, be & 0xff);
}

/** Does `tag` match the query? The PROTECTED_POOL bit is ignored: same tag, flagged. */
export function tagMatches(q: TagQuery, tag: number): boolean {
  const t = withoutProtectedBit(tag);
  if (q.exact !== undefined) return withoutProtectedBit(q.exact) === t;
  return q.regex.test(formatTag(t));
}

/**
 * Heuristic: could this u32 be a pool tag a programmer chose? Used for the `code` tier, where an
 * immediate is not proven to reach an API. Tags are printable ASCII, usually letters first.
 */
export function looksLikeTag(tag: number): boolean {
  const b = tagBytes(withoutProtectedBit(tag));
  // First byte must be a letter or digit; the rest printable; no byte 0.
  const first = b[0];
  const alnum = (x: number) => (x >= 0x30 && x <= 0x39) || (x >= 0x41 && x <= 0x5a) || (x >= 0x61 && x <= 0x7a);
  if (!alnum(first)) return false;
  let letters = 0;
  for (let i = 0; i < 4; i++) {
    const x = b[i];
    if (x < 0x20 || x >= 0x7f) return false;
    if ((x >= 0x41 && x <= 0x5a) || (x >= 0x61 && x <= 0x7a)) letters++;
  }
  // Trailing spaces only after real characters ("Io  "), never inside.
  const s = String.fromCharCode(...b);
  if (/ [^ ]/.test(s)) return false;
  return letters >= 2;
}
