// WinDbg's per-block pool listings (kdexts), counted per tag by allocations.ts:
//   !pool ADDR [flags]:   Pool page ffffe18f1d5cf710 region is Nonpaged pool
//                          ffffe18f1d5cf010 size:   30 previous size:    0  (Free)       PsIn
//                         *ffffe18f1d5cf700 size:   30 previous size:    0  (Allocated) *Drht
//                                 Owning component : Unknown (update pooltag.txt)
//   !poolfind, older:     Searching NonPaged pool (823b1000 : 82800000) for Tag: SeSd
//                         826fa130 size:   c0 previous size:   40  (Allocated) SeSd
//   !poolfind, newer:     ffffda0ff9791000 : tag amda, size    0x18f0, Nonpaged pool
// Block sizes are hex (kdexts prints them with %x, the newer !poolfind with %#x, so 0 is "0"). The
// tag may end in spaces (`Io  `), be followed by ` Process: ADDR` (quota charged) or ` (Protected)`,
// and free blocks show whatever bytes were left (`....`, `` `.C. ``). `(Free )` is a block cached on a
// lookaside list: free. A page listed twice (`!pool ADDR` then `!pool ADDR 1`) counts each block once.
import { ReportParseError, type Report } from './types.js';
import { exactHex, KD_PROMPT } from './lines.js';
import { reportLines } from './report-text.js';
import { cleanLine, LineLedger, pastedLines } from './paste.js';
import { AllocationTally, poolOfName, type BlockPool } from './allocations.js';

const ADDRESS = String.raw`[0-9a-f]{8}(?:\x60?[0-9a-f]{8})?`;
const BLOCK = new RegExp(String.raw`^\s*(\*)?(${ADDRESS})\s+size:\s*([0-9a-f]+)\s+previous size:\s*([0-9a-f]+)\s+\((Allocated|Free|Free ?)\)\s?(.*)$`, 'i');
const FIND = new RegExp(String.raw`^\s*(${ADDRESS})\s*:\s*tag\s(.{1,4}?),\s*size\s+(0x[0-9a-f]+|[0-9a-f]+),\s*(\S.*?)\s*$`, 'i');
const PAGE = /^\s*Pool page [0-9a-f`]+ region is (.*?)\s*$/i;
const SEARCHING = /^\s*Searching (.*?pool)\b.*\bfor tag/i;
const SCANNING_BIG = /^\s*Scanning large pool allocation table for tag/i;
const POOL_COMMAND = /!pool\b(?!find|used)/i;
const FIND_COMMAND = /!poolfind\b/i;
/** Anything naming block fields: a block line, or a broken one to report. */
const BLOCK_LIKE = /\bsize:.*\bprevious size:|^\s*[0-9a-f`]{8,17}\s*:\s*tag\s/i;

export function looksLikePool(text: string): number {
  return score(text, 'pool');
}

export function looksLikePoolfind(text: string): number {
  return score(text, 'poolfind');
}

function score(text: string, want: 'pool' | 'poolfind'): number {
  const lines = reportLines(text.slice(0, 256 * 1024)).map(cleanLine);
  const blocks = lines.filter((l) => BLOCK.test(l)).length;
  const finds = lines.filter((l) => FIND.test(l)).length;
  if (blocks === 0 && finds === 0) return 0;
  const isFind = finds > 0 || lines.some((l) => FIND_COMMAND.test(l) || SEARCHING.test(l) || SCANNING_BIG.test(l));
  if ((want === 'poolfind') !== isFind) return 0;
  return blocks + finds >= 2 || lines.some((l) => PAGE.test(l) || POOL_COMMAND.test(l) || FIND_COMMAND.test(l)) ? 1 : 0.7;
}

export function parsePool(text: string, file: string): Report {
  return parseBlocks(text, file, 'pool');
}

export function parsePoolfind(text: string, file: string): Report {
  return parseBlocks(text, file, 'poolfind');
}

function parseBlocks(text: string, file: string, format: 'pool' | 'poolfind'): Report {
  const lines = reportLines(text);
  const ledger = new LineLedger();
  const tally = new AllocationTally(file);
  let pool: BlockPool = 'unknownPool';
  let blocks = 0;
  for (const { n, raw } of pastedLines(lines)) {
    if (KD_PROMPT.test(raw)) {
      ledger.use(n);
      pool = 'unknownPool';
      continue;
    }
    const page = PAGE.exec(raw) ?? SEARCHING.exec(raw);
    if (page) {
      ledger.use(n);
      pool = poolOfName(page[1]);
      continue;
    }
    if (SCANNING_BIG.test(raw)) {
      // The big-allocation table holds both pools; the older layout does not say which per block.
      ledger.use(n);
      pool = 'unknownPool';
      continue;
    }
    const find = FIND.exec(raw);
    if (find) {
      ledger.use(n);
      blocks++;
      tally.add({
        tagText: find[2].padEnd(4, ' '),
        address: find[1].replace(/`/g, ''),
        bytes: exactHex(find[3], file, n, `${format}: size`),
        pool: poolOfName(find[4]),
        free: false,
        line: n,
      });
      continue;
    }
    const m = BLOCK.exec(raw);
    if (!m) {
      if (BLOCK_LIKE.test(raw)) throw new ReportParseError(file, n, `${format}: expected a block "ADDRESS size: N previous size: N (Allocated|Free) TAG"`);
      continue;
    }
    ledger.use(n);
    blocks++;
    tally.add({
      tagText: blockTag(m[6], file, n, format),
      address: m[2].replace(/`/g, ''),
      bytes: exactHex(m[3], file, n, `${format}: size`),
      pool,
      free: /^free/i.test(m[5]),
      line: n,
    });
  }
  if (blocks === 0) throw new ReportParseError(file, 1, `${format}: no pool block lines (expected "ADDRESS size: N previous size: N (Allocated) TAG" or "ADDRESS : tag TAG, size N, Nonpaged pool")`);
  const report: Report = { format, kind: 'allocations', file, snapshots: [{ rows: tally.result() }] };
  const skipped = ledger.skipped(lines);
  if (skipped) report.skipped = skipped;
  return report;
}

/**
 * After `(Allocated)`: padding, an optional `*` (the queried block), the 4 tag characters, then nothing
 * or a suffix kdexts adds (`Process: ADDR`, `(Protected)`). The tag is cut by width: it may hold spaces
 * (`Io  `); a tag cut short by the end of the line was space-padded.
 */
function blockTag(rest: string, file: string, n: number, format: string): string {
  const s = rest.replace(/^\s*\*?/, '');
  const tag = s.slice(0, 4).padEnd(4, ' ');
  const after = s.slice(4);
  if (tag.trim() === '' || (after !== '' && !/^\s/.test(after))) {
    throw new ReportParseError(file, n, `${format}: expected a 4-character tag after the block state, got '${rest.trim().slice(0, 24)}'`);
  }
  return tag;
}
