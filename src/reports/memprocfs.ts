// MemProcFS `sys/pool/all/allocations.txt` (and `big/`, and `by-tag/TAG-xxxxxxxx/allocations.txt`), counted
// per tag by allocations.ts. Fixed-width lines, from vmm/modules/m_sys_pool.c (MSYSPOOL_LINEHEADER and
// the "%8x %s %c %16llx %8x %s  %s" line format):
//          #  Tag A         Address      Size Type Pool
//          0 Proc A ffffd48ca040f340      b70 Lfh  NonPaged
// index (hex), the tag (non-printable bytes shown as '?'), A = allocated or - = free, address and size
// in hex, the allocator (Unk, Std, Big, Lrg, Vs, Lfh) and the pool (NonPaged, NonPagedNx, Paged,
// Unknown). The file pads lines to a fixed width with spaces.
import { ReportParseError, type Report } from './types.js';
import { exactHex } from './lines.js';
import { headLines, reportLines } from './report-text.js';
import { LineLedger, pastedLines } from './paste.js';
import { AllocationTally, poolOfName } from './allocations.js';

const HEADER = /^\s*#\s+Tag\s+A\s+Address\s+Size\s+Type\s+Pool\s*$/;
const ROW = /^\s*([0-9a-f]+) (.{4}) ([A-]) +([0-9a-f]+) +([0-9a-f]+) (Unk|Std|Big|Lrg|Vs |Vs|Lfh) +(\S+)\s*$/i;
/** An index, a tag and an A/- flag: a row, or a broken one to report. */
const ROW_LIKE = /^\s*[0-9a-f]+ .{4} [A-] /i;

export function looksLikeMemprocfsPool(text: string): number {
  const lines = headLines(text);
  if (lines.some((l) => HEADER.test(l))) return 1;
  return lines.filter((l) => ROW.test(l)).length >= 2 ? 0.7 : 0;
}

export function parseMemprocfsPool(text: string, file: string): Report {
  const lines = reportLines(text);
  const ledger = new LineLedger();
  const tally = new AllocationTally(file);
  let rows = 0;
  for (const { n, raw } of pastedLines(lines)) {
    if (HEADER.test(raw)) {
      ledger.use(n);
      continue;
    }
    const m = ROW.exec(raw);
    if (!m) {
      if (ROW_LIKE.test(raw)) throw new ReportParseError(file, n, 'memprocfs-pool: expected "INDEX TAG A|- ADDRESS SIZE TYPE POOL"');
      continue;
    }
    ledger.use(n);
    rows++;
    tally.add({
      tagText: m[2],
      address: m[4],
      bytes: exactHex(m[5], file, n, 'memprocfs-pool: Size'),
      pool: poolOfName(m[7]),
      free: m[3] === '-',
      line: n,
    });
  }
  if (rows === 0) throw new ReportParseError(file, 1, 'memprocfs-pool: no allocation lines (expected "#  Tag A  Address  Size Type Pool" rows)');
  const report: Report = { format: 'memprocfs-pool', kind: 'allocations', file, snapshots: [{ rows: tally.result() }] };
  const skipped = ledger.skipped(lines);
  if (skipped) report.skipped = skipped;
  return report;
}
