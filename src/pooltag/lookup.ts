// Which pooltag.txt entries speak about a tag: exact entries through a u32 map, wildcard entries by pattern.
import type { Owner, OwnerSource } from '../owners.js';
import { bytesFromText, formatTag, tagMatches, withoutProtectedBit, type TagQuery } from '../tag.js';
import type { PooltagEntry, PooltagFile } from './parse.js';

export class PooltagIndex {
  /** Every entry of every file, in file order (files in the order given). */
  readonly entries: readonly PooltagEntry[];
  private readonly exact = new Map<number, number[]>();
  private readonly wildcards: number[] = [];
  // A tag is tested only against patterns that start with its first byte or with a wildcard.
  private readonly wildByFirstByte = new Map<number, number[]>();
  private readonly wildAnyFirst: number[] = [];

  constructor(files: PooltagFile | readonly PooltagFile[]) {
    const list = Array.isArray(files) ? files : [files as PooltagFile];
    const entries: PooltagEntry[] = [];
    for (const f of list) for (const e of f.entries) entries.push(e);
    this.entries = entries;
    entries.forEach((e, i) => {
      const t = e.query.exact;
      if (t === undefined) {
        this.wildcards.push(i);
        const first = patternTokens(e.query.pattern)[0];
        if (first === undefined || first < 0) this.wildAnyFirst.push(i);
        else pushTo(this.wildByFirstByte, first, i);
        return;
      }
      pushTo(this.exact, withoutProtectedBit(t), i);
    });
  }

  /** Exact entries for the tag plus wildcard entries whose pattern matches it; duplicates kept, file order. */
  match(tag: number): PooltagEntry[] {
    const t = withoutProtectedBit(tag);
    const shown = formatTag(t);
    const candidates = mergeSorted(this.wildByFirstByte.get(t & 0xff) ?? [], this.wildAnyFirst);
    const wild = candidates.filter((i) => this.entries[i].query.regex.test(shown));
    return this.pick(mergeSorted(this.exact.get(t) ?? [], wild));
  }

  /**
   * The entries that name the tag's owner: the exact entries when there are any (`NtFC - ntfs.sys -
   * Create.c`, not `Nt?? - Unrecognized NTFS tag`), else the wildcard entries with the most fixed
   * characters (`CM25` before `CM??`), in file order.
   */
  best(tag: number): PooltagEntry[] {
    const all = this.match(tag);
    const exact = all.filter((e) => e.query.exact !== undefined);
    if (exact.length) return exact;
    const fixed = (e: PooltagEntry) => patternTokens(e.query.pattern).filter((t) => t >= 0).length;
    const most = Math.max(...all.map(fixed));
    return all.filter((e) => fixed(e) === most);
  }

  /** Entries a user's query names: exact tags it matches, and wildcard entries whose pattern overlaps it. */
  matchQuery(q: TagQuery): PooltagEntry[] {
    if (q.exact !== undefined) return this.match(q.exact);
    const hits: number[] = [];
    for (const [t, bucket] of this.exact) if (tagMatches(q, t)) hits.push(...bucket);
    for (const i of this.wildcards) if (patternsOverlap(q.pattern, this.entries[i].query.pattern)) hits.push(i);
    return this.pick(hits.sort((a, b) => a - b));
  }

  private pick(ordinals: number[]): PooltagEntry[] {
    return ordinals.map((i) => this.entries[i]);
  }
}

function pushTo(map: Map<number, number[]>, key: number, value: number): void {
  const bucket = map.get(key);
  if (bucket) bucket.push(value);
  else map.set(key, [value]);
}

function mergeSorted(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i] < b[j])) out.push(a[i++]);
    else out.push(b[j++]);
  }
  return out;
}

/** One position of a tag pattern: a byte, or `ANY` for `?`. */
const ANY = -1;
const STAR = -2;

/** Pattern text (display form, as in TagQuery.pattern) as bytes, ANY and STAR; consecutive stars merged. */
function patternTokens(pattern: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '?') out.push(ANY);
    else if (ch === '*') {
      if (out[out.length - 1] !== STAR) out.push(STAR);
    } else if (ch === '\\' && pattern[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(pattern.slice(i + 2, i + 4))) {
      out.push(parseInt(pattern.slice(i + 2, i + 4), 16));
      i += 3;
    } else out.push(bytesFromText(ch)[0]);
  }
  return out;
}

/**
 * Every star-free, four-position form of a pattern: tags are exactly four bytes, so each `*` stands
 * for 0..4 positions. A pattern without `*` shorter than four is space-padded, like a short tag.
 */
function fixedForms(pattern: string): number[][] {
  const tokens = patternTokens(pattern);
  const stars = tokens.filter((t) => t === STAR).length;
  const fixed = tokens.length - stars;
  if (stars === 0) {
    if (fixed > 4) return [];
    return [[...tokens, ...new Array<number>(4 - fixed).fill(0x20)]];
  }
  const spare = 4 - fixed;
  if (spare < 0) return [];
  const forms: number[][] = [];
  const expand = (at: number, left: number, starsLeft: number, acc: number[]): void => {
    if (at === tokens.length) {
      if (left === 0) forms.push(acc);
      return;
    }
    const t = tokens[at];
    if (t !== STAR) return expand(at + 1, left, starsLeft, [...acc, t]);
    const lo = starsLeft === 1 ? left : 0;
    for (let n = lo; n <= left; n++) expand(at + 1, left - n, starsLeft - 1, [...acc, ...new Array<number>(n).fill(ANY)]);
  };
  expand(0, spare, stars, []);
  return forms;
}

/** Could some four-byte tag match both patterns? */
export function patternsOverlap(a: string, b: string): boolean {
  const fb = fixedForms(b);
  return fixedForms(a).some((x) => fb.some((y) => x.every((v, i) => v === ANY || y[i] === ANY || v === y[i])));
}

/**
 * pooltag.txt as an owner source: one owner per entry that names the tag (PooltagIndex.best), named by
 * its binary field; a wildcard entry says which pattern it was.
 */
export function pooltagOwners(index: PooltagIndex): OwnerSource {
  return {
    ownersOf(tag: number): Owner[] {
      return index.best(tag).map((e) => {
        const owner: Owner = { name: e.binary === '' ? '<unknown>' : e.binary, source: 'pooltag' };
        if (e.description !== '') owner.description = e.description;
        if (e.query.exact === undefined) owner.wildcard = e.tag;
        return owner;
      });
    },
  };
}
