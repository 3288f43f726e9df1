// pooltag.txt as Microsoft ships it: `TAG - binary - description`, with a decade of hand edits.
// Lines that fit no rule become line-numbered warnings; nothing is dropped silently and nothing is fatal.
import { readFile, stat } from 'node:fs/promises';
import { devNull } from 'node:os';
import { formatTag, parseTagQuery, tagFromText, tagHex, type TagQuery } from '../tag.js';

export interface PooltagEntry {
  /** The tag as written, padding removed: `Proc`, `Io`, `Afd?`, `Aml*`, `Dh 0`. */
  tag: string;
  /** Exact for plain tags; a pattern for wildcard entries. */
  query: TagQuery;
  /** As written: `afd.sys`, `nt!mm`, `<unknown>`, `a.sys/b.sys`; '' when the line had no binary field. */
  binary: string;
  description: string;
  /** 1-based line number in the file. */
  line: number;
  /** 3 for `TAG - binary - description`, 2 for `TAG - description` (or `TAG - binary`). */
  fields: 2 | 3;
  /** The wildcard heading (e.g. `Afd?`) an indented sub-entry sits under. */
  heading?: string;
}

export interface PooltagWarning {
  line: number;
  message: string;
}

export interface PooltagFile {
  origin: string;
  entries: PooltagEntry[];
  warnings: PooltagWarning[];
}

/** One line's reading: skip it, warn about it, or an entry (before heading assignment). */
export type PooltagLine =
  | { kind: 'skip' }
  | { kind: 'warning'; message: string }
  | { kind: 'entry'; entry: Omit<PooltagEntry, 'line' | 'heading'>; indented: boolean };

// Both real files are < 300 KB; anything far larger is not a pooltag file.
const MAX_FILE_BYTES = 64 * 1024 * 1024;
// Sub-entries sit a few lines under their heading; a bounded look-back keeps hostile input linear.
const HEADING_LOOKBACK = 32;
const CTRL_Z = '\x1a';
const MAX_TAG_TEXT = 16;

export function isCommentOrBlank(line: string): boolean {
  return /^\s*$/.test(line) || /^\s*rem(\s|$)/i.test(line) || /^\s*\/\//.test(line);
}

const isBlankChar = (c: string | undefined) => c === ' ' || c === '\t';

interface Separator {
  /** Where the whitespace before the dash starts. */
  start: number;
  /** Just past the dash and at most one whitespace character after it. */
  end: number;
}

/**
 * The first ` - ` at or after `from`: whitespace, a dash, then whitespace or the end of the line.
 * With `tight`, the dash after a column of two or more spaces and directly before text instead
 * (`CMAl - nt!cm        -internal registry ...`). Scans with indexOf, so it stays linear on hostile lines.
 */
function findSeparator(s: string, from: number, tight = false): Separator | undefined {
  for (let i = s.indexOf('-', from); i >= 0; i = s.indexOf('-', i + 1)) {
    if (i <= from || !isBlankChar(s[i - 1])) continue;
    const next = s[i + 1];
    let start = i - 1;
    while (start > from && isBlankChar(s[start - 1])) start--;
    if (!tight && (next === undefined || isBlankChar(next))) return { start, end: next === undefined ? i + 1 : i + 2 };
    if (tight && next !== undefined && !isBlankChar(next) && i - start >= 2) return { start, end: i + 1 };
  }
  return undefined;
}

/**
 * Tag field: the first four characters when a separator follows them (this keeps tags with inner
 * spaces or dashes, `Dh 0`); otherwise the text before the first ` - ` (short tags written
 * unpadded, `PX1 - ndproxy.sys`).
 */
function tagSeparator(line: string): Separator | undefined {
  let j = 4;
  while (isBlankChar(line[j])) j++;
  if (j > 4 && line[j] === '-' && (j + 1 === line.length || isBlankChar(line[j + 1]))) {
    return { start: 4, end: j + 1 === line.length ? j + 1 : j + 2 };
  }
  return findSeparator(line, 0);
}

export function parsePooltagLine(line: string): PooltagLine {
  if (isCommentOrBlank(line)) return { kind: 'skip' };
  const head = tagSeparator(line);
  if (!head) return { kind: 'warning', message: `expected "TAG - binary - description", found ${snippet(line)}` };
  let tagEnd = head.start;
  while (tagEnd > 0 && isBlankChar(line[tagEnd - 1])) tagEnd--;
  const tagText = line.slice(0, tagEnd);
  if (tagText === '') return { kind: 'warning', message: `empty tag before " - " in ${snippet(line)}` };
  // Four `\xNN` escapes is the longest a tag can be written; longer text is not worth a pattern compile.
  if (tagText.length > MAX_TAG_TEXT) return { kind: 'warning', message: `tag field ${snippet(tagText)} is longer than a tag` };

  let query: TagQuery;
  try {
    query = /[?*]/.test(tagText) ? parseTagQuery(tagText) : exactQuery(tagText);
  } catch (e) {
    return { kind: 'warning', message: `bad tag ${JSON.stringify(tagText)}: ${(e as Error).message}` };
  }

  const rest = line.slice(head.end);
  const sep = findSeparator(rest, 0) ?? findSeparator(rest, 0, true);
  let binary: string;
  let descRaw: string;
  let fields: 2 | 3;
  if (sep) {
    binary = rest.slice(0, sep.start).trim();
    descRaw = rest.slice(sep.end);
    fields = 3;
  } else {
    // Two fields. In both real files the lone field is a multi-word description
    // (`ATmp - AppTag mount point`); a single word is far likelier a binary name.
    const field = rest.trim();
    const oneWord = field !== '' && !/\s/.test(field);
    binary = oneWord ? field : '';
    descRaw = oneWord ? '' : rest;
    fields = 2;
  }
  return {
    kind: 'entry',
    entry: { tag: tagText, query, binary, description: descRaw.trim(), fields },
    indented: /^[ \t]/.test(descRaw),
  };
}

function exactQuery(tagText: string): TagQuery {
  // Via the hex form so a tag like `0x1f` is read as four characters, not as a number.
  const q = parseTagQuery(tagHex(tagFromText(tagText)));
  return { input: tagText, exact: q.exact, pattern: q.pattern, regex: q.regex };
}

function snippet(line: string): string {
  const s = line.length > 60 ? line.slice(0, 60) + '…' : line;
  return JSON.stringify(s);
}

/** Display text a heading's pattern is tested against: a wildcard child is covered if its text matches. */
function coverageText(q: TagQuery): string {
  if (q.exact !== undefined) return formatTag(q.exact);
  return q.pattern.includes('*') ? q.pattern : q.pattern.padEnd(4, ' ');
}

export function parsePooltag(text: string, origin: string): PooltagFile {
  const entries: PooltagEntry[] = [];
  const warnings: PooltagWarning[] = [];
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  const lines = text.split(/\r\n|\r|\n/);
  const headings: PooltagEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    const lineNo = i + 1;
    const eof = line.indexOf(CTRL_Z);
    if (eof >= 0) {
      // DOS end-of-file marker: nothing after it is part of the file.
      const after = line.slice(eof + 1) + lines.slice(i + 1).join('\n');
      if (after.trim() !== '') {
        warnings.push({ line: lineNo, message: 'text after the Ctrl-Z end-of-file marker ignored' });
      }
      line = line.slice(0, eof);
      lines.length = i + 1;
    }
    const parsed = parsePooltagLine(line);
    if (parsed.kind === 'skip') continue;
    if (parsed.kind === 'warning') {
      warnings.push({ line: lineNo, message: parsed.message });
      continue;
    }
    const { tag, query, binary, description, fields } = parsed.entry;
    const entry: PooltagEntry = { tag, query, binary, description, line: lineNo, fields };
    if (parsed.indented) {
      const probe = coverageText(entry.query);
      for (let h = headings.length - 1; h >= Math.max(0, headings.length - HEADING_LOOKBACK); h--) {
        if (headings[h].query.regex.test(probe)) {
          entry.heading = headings[h].tag;
          break;
        }
      }
    }
    if (entry.query.exact === undefined) headings.push(entry);
    entries.push(entry);
  }
  return { origin, entries, warnings };
}

/** Text of a pooltag file's bytes: UTF-16 with a BOM, UTF-8 when valid, else one char per byte. */
export function decodePooltagBytes(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  }
}

/** A pooltag.txt the user named: a file with at least one entry (anything else is the wrong file). */
export async function readPooltagFile(path: string): Promise<PooltagFile> {
  let info;
  try {
    info = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${path}: cannot read pooltag file: ${code === 'ENOENT' ? 'no such file' : (code ?? (e as Error).message)}`);
  }
  if (info.isDirectory()) throw new Error(`${path}: is a folder, not a pooltag.txt file`);
  // `--pooltag /dev/null` is the Unix way to say "none": not the wrong file.
  if (path === devNull) return { origin: path, entries: [], warnings: [] };
  if (info.size > MAX_FILE_BYTES) {
    throw new Error(`${path}: ${info.size} bytes is too large for a pooltag file (limit ${MAX_FILE_BYTES})`);
  }
  if (info.size === 0) throw new Error(`${path}: empty file, no pooltag entries in it`);
  const file = parsePooltag(decodePooltagBytes(await readFile(path)), path);
  if (file.entries.length === 0) {
    const first = file.warnings[0];
    throw new Error(
      `${path}: no pooltag entries in it (expected lines like "Proc - nt!ps - Process objects")` +
        (first ? `; line ${first.line}: ${first.message}` : ''),
    );
  }
  return file;
}

// `<unknown>` and `<multiple>` name no driver.
const PLACEHOLDERS = new Set(['unknown', 'multiple']);

/**
 * Driver/module names in a binary field: `a.sys/b.sys` → both, `nt!mm` → `nt` (the module of a
 * `module!component` or `module!Symbol` reference), `nt!store or rdyboost.sys` → `nt`, `rdyboost.sys`,
 * `<nvlddmkm.sys>` → `nvlddmkm.sys`, `<unknown>` → none. Names keep their case as written.
 */
export function binaryNames(binary: string): string[] {
  const out: string[] = [];
  for (const raw of binary.split(/\s+or\s+|\//)) {
    let part = raw.trim();
    const bracketed = /^<(.*)>$/.exec(part);
    if (bracketed) {
      if (PLACEHOLDERS.has(bracketed[1].trim().toLowerCase())) continue;
      part = bracketed[1].trim();
    }
    const bang = part.indexOf('!');
    if (bang > 0) part = part.slice(0, bang);
    if (part !== '' && !out.includes(part)) out.push(part);
  }
  return out;
}
