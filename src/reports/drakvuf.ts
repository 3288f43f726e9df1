// DRAKVUF's poolmon plugin: one line per ExAllocatePoolWithTag call it trapped (no addresses, no frees),
// counted per tag as calls and bytes requested (kind `trace`: what was asked for, not what is held).
// Line formats, from src/plugins/poolmon/poolmon.cpp:
//   default:  [POOLMON] TIME:1600000000.123456 VCPU:0 CR3:0x1aa000,"System" SessionID:0 Proc (type: NonPagedPool, size: 1024)[: source,description]
//   -o csv:   poolmon,1600000000.123456,0,0x1aa000,"System",0,Proc,NonPagedPool,1024[,source,description]
//   -o kv:    poolmon Time=1600000000.123456,PID=4,PPID=0,ProcessName="System",Tag=Proc,Type=NonPagedPool,Size=1024[,Source=…,Description=…]
//   -o json:  {"Plugin" : "poolmon", …, "Tag": "Proc","PoolType": "NonPagedPool","Size": 1024}
// The tag is printed with %s from the 4 bytes, so it may hold spaces or be cut short by a NUL byte.
import { ReportParseError, type Report } from './types.js';
import { exactCount, headLines, reportLines, safeInteger } from './report-text.js';
import { LineLedger } from './paste.js';
import { AllocationTally, poolOfName } from './allocations.js';

const DEFAULT = /^\[POOLMON\] TIME:\S+ VCPU:\d+ CR3:0x[0-9a-f]+,".*" \w+:-?\d+ (.{0,4}) \(type: (\w+), size: (\d+)\)(?:: .*)?$/i;
const CSV = /^poolmon,\d+\.\d+,\d+,0x[0-9a-f]+,".*",-?\d+,(.{0,4}),(\w+),(\d+)(?:,.*)?$/i;
const KV = /^poolmon Time=\S+?,PID=-?\d+,PPID=-?\d+,ProcessName=".*",Tag=(.{0,4}),Type=(\w+),Size=(\d+)(?:,.*)?$/;
const JSON_LINE = /^\s*\{.*"Plugin"\s*:\s*"poolmon".*\}\s*$/;
/** Anything that announces itself as a poolmon event: a row, or a broken one to report. */
const ROW_LIKE = /^(?:\[POOLMON\]|poolmon[ ,])|"Plugin"\s*:\s*"poolmon"/;

export function looksLikeDrakvuf(text: string): number {
  const lines = headLines(text);
  const rows = lines.filter((l) => DEFAULT.test(l) || CSV.test(l) || KV.test(l) || JSON_LINE.test(l)).length;
  return rows >= 1 ? 1 : 0;
}

export function parseDrakvuf(text: string, file: string): Report {
  const lines = reportLines(text);
  const ledger = new LineLedger();
  const tally = new AllocationTally(file, 'calls');
  let rows = 0;
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const raw = lines[i].replace(/\r$/, '');
    if (raw.trim() === '') continue;
    const event = eventOf(raw, file, n);
    if (!event) {
      if (ROW_LIKE.test(raw)) throw new ReportParseError(file, n, 'drakvuf-poolmon: expected a poolmon event with a tag, a pool type and a size');
      continue;
    }
    ledger.use(n);
    rows++;
    tally.add({ tagText: event.tag.padEnd(4, ' '), bytes: event.size, pool: poolOfName(event.type), free: false, line: n });
  }
  if (rows === 0) throw new ReportParseError(file, 1, 'drakvuf-poolmon: no poolmon events (expected "[POOLMON] …", "poolmon,…" or "poolmon Time=…" lines)');
  const report: Report = { format: 'drakvuf-poolmon', kind: 'trace', file, snapshots: [{ rows: tally.result() }] };
  const skipped = ledger.skipped(lines);
  if (skipped) report.skipped = skipped;
  return report;
}

function eventOf(raw: string, file: string, n: number): { tag: string; type: string; size: number } | undefined {
  const m = DEFAULT.exec(raw) ?? CSV.exec(raw) ?? KV.exec(raw);
  if (m) {
    if (m[1] === '') throw new ReportParseError(file, n, 'drakvuf-poolmon: empty tag');
    return { tag: m[1], type: m[2], size: exactCount(m[3], file, n, 'drakvuf-poolmon: size') };
  }
  if (!JSON_LINE.test(raw)) return undefined;
  let o: unknown;
  try {
    o = JSON.parse(raw);
  } catch (e) {
    throw new ReportParseError(file, n, `drakvuf-poolmon: invalid JSON: ${(e as Error).message}`);
  }
  const r = o as Record<string, unknown>;
  if (typeof r.Tag !== 'string' || r.Tag === '' || r.Tag.length > 4 || typeof r.PoolType !== 'string' || typeof r.Size !== 'number' || r.Size < 0) {
    throw new ReportParseError(file, n, 'drakvuf-poolmon: expected "Tag" (up to 4 characters), "PoolType" and a whole "Size"');
  }
  return { tag: r.Tag, type: r.PoolType, size: safeInteger(r.Size, r.Size, file, n, 'drakvuf-poolmon: Size') };
}
