// The single entry point for pool-usage reports: read a file as Windows tools write it, detect the
// format, parse.
import { readFileSync, statSync } from 'node:fs';
import { ReportParseError, type Report, type ReportFormat } from './types.js';
import { detectFormat, FORMATS, MIN_SCORE, REPORT_FORMATS } from './detect.js';

export { detectFormat, REPORT_FORMATS } from './detect.js';
export { serializeSnapshot } from './snapshot.js';
export type { SnapshotInput, SnapshotJson, SnapshotRowJson, SnapshotCountersJson } from './snapshot.js';
export * from './types.js';

/** Reports are text tables; anything this large is not one, and reading it would only exhaust memory. */
export const MAX_REPORT_BYTES = 512 * 1024 * 1024;

export function parseReport(text: string, file: string, format: ReportFormat | 'auto' = 'auto'): Report {
  const normalized = normalizeText(text);
  if (format !== 'auto') {
    const handler = FORMATS[format];
    if (!handler) throw new ReportParseError(file, 1, `unknown report format ${JSON.stringify(format)}: expected one of ${REPORT_FORMATS.join(', ')}`);
    return handler.parse(normalized, file);
  }
  const [best] = detectFormat(normalized);
  if (best.score < MIN_SCORE) {
    throw new ReportParseError(file, 1, `unrecognised report: expected one of ${REPORT_FORMATS.join(', ')}`);
  }
  return FORMATS[best.format].parse(normalized, file);
}

export function readReport(path: string, format: ReportFormat | 'auto' = 'auto'): Report {
  const size = statSync(path).size;
  if (size > MAX_REPORT_BYTES) {
    throw new ReportParseError(path, 1, `file is ${size} bytes; a pool-usage report is expected to be under ${MAX_REPORT_BYTES}`);
  }
  return parseReport(decodeReport(readFileSync(path)), path, format);
}

/**
 * Bytes → text: a UTF-8 or UTF-16 BOM is honoured and dropped; BOM-less UTF-16LE (PowerShell's
 * `>` on some hosts) is recognised by its zero high bytes; everything else is UTF-8.
 */
export function decodeReport(buf: Buffer): string {
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) return buf.subarray(3).toString('utf8');
  if (buf[0] === 0xff && buf[1] === 0xfe) return buf.subarray(2).toString('utf16le');
  if (buf[0] === 0xfe && buf[1] === 0xff) return swapBytes(buf.subarray(2)).toString('utf16le');
  if (looksLikeUtf16le(buf)) return buf.toString('utf16le');
  return buf.toString('utf8');
}

/** CRLF and lone CR line ends become LF; a BOM that survived decoding goes. */
export function normalizeText(text: string): string {
  return text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
}

function looksLikeUtf16le(buf: Buffer): boolean {
  const n = Math.min(buf.length, 512) & ~1;
  if (n < 4) return false;
  let zeroHigh = 0;
  let zeroLow = 0;
  for (let i = 0; i < n; i += 2) {
    if (buf[i + 1] === 0) zeroHigh++;
    if (buf[i] === 0) zeroLow++;
  }
  // ASCII text in UTF-16LE has a zero high byte in nearly every unit and almost never a zero low byte.
  return zeroHigh >= (n / 2) * 0.9 && zeroLow === 0;
}

function swapBytes(buf: Buffer): Buffer {
  const out = Buffer.from(buf.subarray(0, buf.length & ~1));
  return out.swap16();
}
