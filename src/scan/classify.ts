// The tier of each hit in a file already known to contain the tag's bytes, and the one line scan prints
// for it. Only a hit inside an executable section can be an instruction's immediate, and the section
// table is in the file's first bytes: a file whose hits all lie elsewhere (strings, data, an overlay —
// most hits of a common tag) is classified from its headers. Only files with a hit in code are decoded,
// and the extractor (iced-x86 and its WebAssembly) is loaded on the first of them, never before.
import type { Tier, ScanHit, ScanSite } from '../extract/types.js';
import { Bytes } from '../pe/bytes.js';
import { coffStringTableOffset, ntLayout, readHeaders } from '../pe/headers.js';
import { mayBeMemoryLayout } from '../pe/memory-layout.js';
import { dataHitAt, findBytes } from '../extract/data.js';
import { locateOffset } from '../pe/locate.js';
import type { FileLocation } from '../pe/locate.js';
import type { PeImage } from '../pe/types.js';
import { printable, withoutProtectedBit } from '../tag.js';
import type { ByteSearcher, Survey } from './search.js';
import { siteHit } from '../extract/scan-sites.js';
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

/** Where each hit lies, from the file's first bytes; `machineCode` from the file header. */
interface Placed {
  machineCode: number;
  locs: FileLocation[];
}

/**
 * The hits placed in their sections from the file's first bytes (and, for long section names, the COFF
 * string table read through `readAt`); 'bytes' for a file no reader takes for a PE image; undefined when
 * the headers do not parse from the head alone, a section name stays unresolved, or the file (`fileSize`
 * bytes) may be an image dumped from memory, whose section table only a full read can confirm.
 */
function placeFromHead(
  head: Buffer, offsets: number[], readAt: (offset: number, length: number) => Buffer, fileSize: number,
): Placed | 'bytes' | undefined {
  // Without "MZ" no reader takes the file for a PE image: its hits are bytes, as the full path says too.
  if (head.length < 2 || head[0] !== 0x4d || head[1] !== 0x5a) return 'bytes';
  let headers;
  try {
    const b = new Bytes(head);
    const table = coffStringTableOffset(ntLayout(b));
    const strings = table === undefined || table < head.length ? undefined : new Bytes(readAt(table, STRING_TABLE_BYTES));
    headers = readHeaders(b, strings);
  } catch {
    return undefined;
  }
  if (mayBeMemoryLayout(headers, fileSize)) return undefined;
  const locs: FileLocation[] = [];
  for (const offset of offsets) {
    const loc = locateOffset(headers, offset);
    // A name still "/N" would print unlike the full path's.
    if (loc.section?.startsWith('/')) return undefined;
    locs.push(loc);
  }
  return { machineCode: headers.machineCode, locs };
}

/**
 * Data hits placed in their sections from the file's first bytes; undefined when that is not enough: a hit
 * in code, headers that do not parse from the head alone, or a section name that stays unresolved.
 */
export function dataHitsFromHead(
  head: Buffer, offsets: number[], readAt: (offset: number, length: number) => Buffer, fileSize: number,
): ScanHit[] | undefined {
  const placed = placeFromHead(head, offsets, readAt, fileSize);
  if (placed === 'bytes') return offsets.map(dataHit);
  // In code only the decoder can tell the tier.
  if (!placed || placed.locs.some((l) => l.executable)) return undefined;
  return placed.locs.map(dataHitAt);
}

const X86_MACHINES = new Set([0x14c, 0x8664]);
const ARM64 = 0xaa64;

/** Bytes before a hit that the immediate test looks at: the longest `C7 ModRM SIB disp32` before an imm32. */
const BEFORE_IMMEDIATE = 7;

/**
 * Could the four bytes at a hit be the immediate of an instruction the x86/x64 decoder notes as a tag
 * (`push imm32`, `mov reg, imm32/imm64`, `mov r/m, imm32`: see SectionWalker.noteImmediate)? Those
 * immediates directly follow their opcode (68, B8–BF) or a C7 opcode's ModRM, SIB and displacement, so a
 * hit with no such byte in the seven before it is never one. `before` ends at the hit. A superset: true
 * means "decode to know".
 */
export function mayBeImmediate(before: Uint8Array): boolean {
  const n = before.length;
  if (n === 0) return false;
  const op = before[n - 1];
  if (op === 0x68 || (op >= 0xb8 && op <= 0xbf)) return true;
  for (let k = 2; k <= BEFORE_IMMEDIATE && k <= n; k++) if (before[n - k] === 0xc7) return true;
  return false;
}

/**
 * What the tag database knows about a file's code, when it can say: its scan sites at the RVAs asked
 * (an empty map when none of them holds an immediate), 'no-code-tag' when its findings show no immediate
 * of the tag at all, undefined when the database cannot say for the file as it is now.
 */
export type CodeKnowledge = (path: string, tag: number, rvas: number[]) => Promise<Map<number, ScanSite> | 'no-code-tag' | undefined>;

/** The one pass over a file that classifyFile() starts from: every occurrence (up to MAX_OFFSETS kept). */
export function survey(searcher: ByteSearcher, path: string): Survey {
  return searcher.survey(path, MAX_OFFSETS, BEFORE_IMMEDIATE);
}

/**
 * Every hit of `tag` in the file at `path`, each with its tier, from `found` = survey(path) (count > 0);
 * `shown` is the path as printed. Hits outside code are placed from the headers; hits in code are data too
 * when no byte before them can start an immediate (x86/x64) or when the tag database says the file's code
 * holds no such immediate (`known`), and in a file indexed unchanged the index's sites say what each hit is
 * (`known` again). Only what is left is decoded, from the whole file (`onDecode` is told).
 */
export async function classifyFile(
  searcher: ByteSearcher, path: string, shown: string, tag: number, found: Survey, known?: CodeKnowledge,
  onDecode?: (path: string) => void,
): Promise<FileResult> {
  const bytesOnly = (): FileResult => ({ path: shown, tier: 'data', count: found.count, hits: found.offsets.map(dataHit) });
  let placed: Placed | undefined;
  if (found.count <= MAX_OFFSETS) {
    const p = placeFromHead(headOf(searcher, path, found), found.offsets, (at, n) => searcher.readAt(path, at, n), found.bytes);
    if (p === 'bytes') return { path: shown, tier: 'data', count: found.offsets.length, hits: found.offsets.map(dataHit) };
    placed = p;
  }
  let code: FileLocation[] = [];
  const dataOnly = (p: Placed): FileResult => {
    const hits = p.locs.map(dataHitAt);
    return { path: shown, tier: 'data', count: hits.length, hits };
  };
  // A file the full path would not read (too large) reports bare bytes: keep to that.
  if (placed && found.bytes <= MAX_ANALYSED_BYTES) {
    const machine = placed.machineCode;
    if (X86_MACHINES.has(machine)) {
      code = placed.locs.filter((l, k) => l.executable && mayBeImmediate(found.preceding(k)));
    } else if (machine === ARM64) {
      // An A64 constant is noted at the address of an instruction that builds it: a word boundary.
      code = placed.locs.filter((l) => l.executable && (l.rva! & 3) === 0);
    } else {
      code = placed.locs.filter((l) => l.executable);
    }
    if (code.length === 0) return dataOnly(placed);
    const answer = await known?.(path, withoutProtectedBit(tag), code.map((l) => l.rva!));
    if (answer === 'no-code-tag') return dataOnly(placed);
    if (answer) {
      // The index's own decoding of this very content: each hit is what scanTagInFile would make of it.
      const hits = placed.locs.map((l) => siteHit(l, l.executable && l.rva !== undefined ? answer.get(l.rva) : undefined));
      return { path: shown, tier: bestTier(hits), count: hits.length, hits };
    }
  }
  const whole = searcher.readWhole(path, MAX_ANALYSED_BYTES);
  if (!whole) return bytesOnly();
  let pe: PeImage | undefined;
  if (placed && code.length > 0) {
    // The decoders never look inside PE metadata (MSVC keeps the import names in the executable INIT
    // section): hits there are data, and a file whose every code hit is there needs no decoding.
    const [{ readPe }, { metadataRanges }, { rangeIndexAt }] = await Promise.all([
      import('../pe/read.js'), import('../extract/metadata.js'), import('../extract/ranges.js'),
    ]);
    try {
      pe = readPe(whole);
      const meta = metadataRanges(whole, pe).rvas;
      if (code.every((l) => rangeIndexAt(meta, l.rva!) >= 0)) return dataOnly(placed);
    } catch {
      pe = undefined; // the full analysis decides, as before
    }
  }
  const { scanTagInFile } = await import('../extract/extract.js');
  onDecode?.(path);
  let hits: ScanHit[];
  try {
    hits = scanTagInFile(whole, tag, pe);
  } catch {
    // A damaged image the decoder cannot walk still contains the bytes: report them as data.
    hits = findBytes(whole, searcher.needle).map(dataHit);
  }
  // The file's size said less than a read gives (a file being written, or one like those in /proc).
  if (hits.length === 0) return bytesOnly();
  return { path: shown, tier: bestTier(hits), count: hits.length, hits };
}

function bestTier(hits: ScanHit[]): Tier {
  return TIER_ORDER.find((t) => hits.some((h) => h.tier === t)) ?? 'data';
}

/** The file's first HEAD_BYTES, from the survey's first read when it holds them (it does, but for odd reads). */
function headOf(searcher: ByteSearcher, path: string, found: Survey): Buffer {
  if (found.head.length >= HEAD_BYTES) return found.head.subarray(0, HEAD_BYTES);
  if (found.head.length === found.bytes) return found.head;
  return searcher.readHead(path, HEAD_BYTES);
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
  // A file name may hold control bytes: escaped, as everywhere a path is echoed (--json escapes them too).
  return `${printable(r.path)}\t${r.tier}\t${detail}`;
}
