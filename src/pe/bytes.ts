import { PeFormatError } from './types.js';

/**
 * Bounds-checked little-endian reads over a file's bytes. Every out-of-range read throws PeFormatError
 * naming what was being read, so hostile files fail with a located message instead of a RangeError.
 */
export class Bytes {
  private readonly view: DataView;

  /** `file`, when given, prefixes every error message so the user knows which file failed. */
  constructor(readonly buf: Uint8Array, private readonly file?: string) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  error(message: string, offset?: number): PeFormatError {
    return new PeFormatError(this.file === undefined ? message : `${this.file}: ${message}`, offset);
  }

  get length(): number {
    return this.buf.byteLength;
  }

  has(offset: number, size: number): boolean {
    return Number.isSafeInteger(offset) && offset >= 0 && size >= 0 && offset + size <= this.buf.byteLength;
  }

  check(offset: number, size: number, what: string): void {
    if (!this.has(offset, size)) {
      throw this.error(`${what}: ${size} bytes needed but the file has ${this.buf.byteLength}`, offset);
    }
  }

  u8(offset: number, what: string): number {
    this.check(offset, 1, what);
    return this.view.getUint8(offset);
  }

  u16(offset: number, what: string): number {
    this.check(offset, 2, what);
    return this.view.getUint16(offset, true);
  }

  u32(offset: number, what: string): number {
    this.check(offset, 4, what);
    return this.view.getUint32(offset, true);
  }

  u64(offset: number, what: string): bigint {
    this.check(offset, 8, what);
    return this.view.getBigUint64(offset, true);
  }

  /** A NUL-terminated single-byte string of at most `max` characters (latin1, as PE names are). */
  cstring(offset: number, max: number, what: string): string {
    this.check(offset, 1, what);
    const end = Math.min(this.buf.byteLength, offset + max + 1);
    const nul = this.buf.subarray(offset, end).indexOf(0);
    if (nul < 0) throw this.error(`${what}: no terminating NUL within ${max} bytes`, offset);
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + offset, nul).toString('latin1');
  }

  /** A fixed-width field padded with NULs, such as a section name. */
  paddedString(offset: number, width: number, what: string): string {
    this.check(offset, width, what);
    const field = this.buf.subarray(offset, offset + width);
    const nul = field.indexOf(0);
    return Buffer.from(field.buffer, field.byteOffset, nul < 0 ? width : nul).toString('latin1');
  }
}
