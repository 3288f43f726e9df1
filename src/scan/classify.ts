// The tier of each hit in a file already known to contain the tag's bytes, and the one line scan prints
// for it. Only a hit inside an executable section can be an instruction's immediate, and the section
// table is in the file's first bytes: a file whose hits all lie elsewhere (strings, data, an overlay —
// most hits of a common tag) is classified from its headers. Only files with a hit in code are decoded,
// and the extractor (iced-x86 and its WebAssembly) is loaded on the first of them, never before.
import type { Tier, ScanHit } from '../extract/types.js';
import { Bytes } from '../pe/bytes.js';
import { coffStringTableOffset, ntLayout, readHeaders } from '../pe/headers.js';
import { dataHitAt, findBytes } from '../extract/data.js';
import { locateOffset } from '../pe/locate.js';
import type { Section } from '../pe/types.js';
import type { ByteSearcher, Occurrences } from './search.js';
import { evidenceText } from '../render/evidence.js';

/** Files larger than this are never read whole (bounded memory): hits the headers cannot place stay bytes. */
const MAX_ANALYSED_BYTES = 256 * 1024 * 1024;
/** Offsets kept per file beyond that size; the count stays exact. */
const MAX_OFFSETS = 1000;

export interface FileResult {
  path: string;
  /** Best tier among the hits. */
  tier: Tier;
  count: number;
  hits: ScanHit[];
}

const TIER_ORDER: Tier[] = ['call', 'code', 'data'];

const dataHit = (offset: number): ScanHit => ({ offset, tier: 'data' });

/** Enough for the DOS stub, NT headers and a 96-section table of any image seen in the wild. */
const HEAD_BYTES = 64 * 1024;

/** Bytes of the COFF string table read on their own: mingw's long section names (".debug_str") live there. */
const STRING_TABLE_BYTES = 64 * 1024;

/**
 * Data hits placed in their sections from the file's first bytes (and, for long section names, the COFF
 * string table read through `readAt`); undefined when that is not enough: a hit in code, headers that do
 * not parse from the head alone, or a section name that stays unresolved.
 */
export function dataHitsFromHead(head: Buffer, offsets: number[], readAt: (offset: number, length: number) => Buffer): ScanHit[] | undefined {
  // Without "MZ" no reader takes the file for a PE image: its hits are bytes, as the full path says too.
  if (head.length < 2 || head[0] !== 0x4d || head[1] !== 0x5a) return offsets.map(dataHit);
  let sections: Section[];
  try {
    const b = new Bytes(head);
    const table = coffStringTableOffset(ntLayout(b));
    const strings = table === undefined || table < head.length ? undefined : new Bytes(readAt(table, STRING_TABLE_BYTES));
    sections = readHeaders(b, strings).sections;
  } catch {
    return undefined;
  }
  const hits: ScanHit[] = [];
  for (const offset of offsets) {
    const loc = locateOffset({ sections }, offset);
    // In code only the decoder can tell the tier; a name still "/N" would print unlike the full path's.
    if (loc.executable || loc.section?.startsWith('/')) return undefined;
    hits.push(dataHitAt(loc));
  }
  return hits;
}

/** The one pass over a file that classifyFile() starts from: every occurrence (up to MAX_OFFSETS kept). */
export function survey(searcher: ByteSearcher, path: string): Occurrences {
  return searcher.occurrences(path, MAX_OFFSETS);
}

/**
 * Every hit of `tag` in the file at `path`, each with its tier, from `found` = survey(path) (count > 0);
 * `shown` is the path as printed. Only a file with a hit in code is read whole a second time.
 */
export async function classifyFile(searcher: ByteSearcher, path: string, shown: string, tag: number, found: Occurrences): Promise<FileResult> {
  const bytesOnly = (): FileResult => ({ path: shown, tier: 'data', count: found.count, hits: found.offsets.map(dataHit) });
  if (found.count <= MAX_OFFSETS) {
    const hits = dataHitsFromHead(searcher.readHead(path, HEAD_BYTES), found.offsets, (at, n) => searcher.readAt(path, at, n));
    if (hits) return { path: shown, tier: 'data', count: hits.length, hits };
  }
  const whole = searcher.readWhole(path, MAX_ANALYSED_BYTES);
  if (!whole) return bytesOnly();
  const { scanTagInFile } = await import('../extract/extract.js');
  let hits: ScanHit[];
  try {
    hits = scanTagInFile(whole, tag);
  } catch {
    // A damaged image the decoder cannot walk still contains the bytes: report them as data.
    hits = findBytes(whole, searcher.needle).map(dataHit);
  }
  // The file's size said less than a read gives (a file being written, or one like those in /proc).
  if (hits.length === 0) return bytesOnly();
  const tier = TIER_ORDER.find((t) => hits.some((h) => h.tier === t)) ?? 'data';
  return { path: shown, tier, count: hits.length, hits };
}

/** `path<TAB>tier<TAB>summary`: the path first, so the output reads like findstr /m. */
export function resultLine(r: FileResult): string {
  const best = r.hits.find((h) => h.tier === r.tier);
  let detail = `${r.count} hit${r.count === 1 ? '' : 's'}`;
  if (best?.evidence) {
    const e = best.evidence;
    detail += `; ${evidenceText(e)}`;
    if (e.instruction) detail += `: ${e.instruction}`;
  } else if (best) {
    detail += `; first at offset 0x${best.offset.toString(16)}` + (best.section ? ` (${best.section})` : '');
  }
  return `${r.path}\t${r.tier}\t${detail}`;
}
