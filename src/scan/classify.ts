// The tier of each hit in a file already known to contain the tag's bytes, and the one line scan prints
// for it. The extractor (iced-x86 and its WebAssembly) is loaded on the first such file, never before:
// a scan that matches nothing, or a --raw scan, does not pay for it.
import type { ScanHit } from '../extract/extract.js';
import type { Tier } from '../extract/types.js';
import type { ByteSearcher } from './search.js';
import { evidenceText } from '../render/evidence.js';

/** Files larger than this are searched as bytes only (no PE analysis, bounded memory). */
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

/** Every hit of `tag` in the file at `path`, each with its tier; `shown` is the path as printed. */
export async function classifyFile(searcher: ByteSearcher, path: string, shown: string, tag: number): Promise<FileResult> {
  const bytesOnly = (): FileResult => {
    const { count, offsets } = searcher.occurrences(path, MAX_OFFSETS);
    return { path: shown, tier: 'data', count, hits: offsets.map(dataHit) };
  };
  const whole = searcher.readWhole(path, MAX_ANALYSED_BYTES);
  if (!whole) return bytesOnly();
  const { scanTagInFile } = await import('../extract/extract.js');
  let hits: ScanHit[];
  try {
    hits = scanTagInFile(whole, tag);
  } catch {
    // A damaged image the decoder cannot walk still contains the bytes: report them as data.
    const { findBytes } = await import('../extract/data.js');
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
