import { PeFormatError, type VersionInfo } from './types.js';

const MAX_BLOCKS = 1024;
const MAX_KEY = 64;
const MAX_VALUE = 1024;

interface Block {
  key: string;
  /** Offset of the value; for String blocks the value is UTF-16 text. */
  value: number;
  children: number;
  end: number;
}

/**
 * The StringFileInfo strings of a VS_VERSIONINFO resource. Every block's wLength is checked against its
 * parent, and the block count is capped, so a hostile resource ends in a PeFormatError, never a hang.
 */
export function parseVersionInfo(data: Uint8Array): VersionInfo {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let blocks = 0;

  function u16(offset: number): number {
    if (offset + 2 > data.byteLength) throw new PeFormatError('version resource truncated', offset);
    return view.getUint16(offset, true);
  }

  /** UTF-16 text up to a NUL, the limit, or `end`, whichever comes first. */
  function text(offset: number, end: number, max: number): { value: string; next: number } {
    let value = '';
    let p = offset;
    while (p + 2 <= end && value.length < max) {
      const c = u16(p);
      p += 2;
      if (c === 0) return { value, next: p };
      value += String.fromCharCode(c);
    }
    return { value, next: p };
  }

  function block(offset: number, parentEnd: number): Block {
    if (++blocks > MAX_BLOCKS) throw new PeFormatError(`version resource has more than ${MAX_BLOCKS} blocks`, offset);
    const length = u16(offset);
    const end = offset + length;
    if (length < 6 || end > parentEnd) {
      throw new PeFormatError(`version block length ${length} does not fit its parent`, offset);
    }
    const valueLength = u16(offset + 2);
    const isText = u16(offset + 4) === 1;
    const key = text(offset + 6, end, MAX_KEY);
    const value = Math.min(align4(key.next), end);
    return { key: key.value, value, children: Math.min(align4(value + (isText ? valueLength * 2 : valueLength)), end), end };
  }

  function* children(parent: Block): Generator<Block> {
    for (let p = parent.children; p + 6 <= parent.end; ) {
      const child = block(p, parent.end);
      yield child;
      p = align4(child.end);
    }
  }

  const root = block(0, data.byteLength);
  if (root.key !== 'VS_VERSION_INFO') throw new PeFormatError(`version resource key is "${root.key}", not VS_VERSION_INFO`, 6);
  const strings = new Map<string, string>();
  for (const fileInfo of children(root)) {
    if (fileInfo.key !== 'StringFileInfo') continue;
    for (const table of children(fileInfo)) {
      for (const entry of children(table)) {
        // Producers disagree on whether wValueLength counts bytes or characters: read up to the NUL instead.
        if (!strings.has(entry.key)) strings.set(entry.key, text(entry.value, entry.end, MAX_VALUE).value);
      }
    }
  }
  // fromEntries defines own properties, so keys such as "__proto__" stay plain data.
  return Object.fromEntries(strings);
}

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}
