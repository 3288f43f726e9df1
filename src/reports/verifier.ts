// Driver Verifier's outstanding-allocation lists, from kd `!verifier 3 [driver]` / `!verifier 0xf`.
// Per verified driver a block, in one of three layouts:
//   Win7:   fffffa8003b6f670 Loaded   000000a0   00000854   videoprt.sys   (under "Entry State ... Module")
//           Current Pool Allocations  00000002    00000013
//           PoolAddress  SizeInBytes    Tag       CallersAddress
//           fffff9800157efc0     0x0000003c     Vprt      fffff88002c62963
//   Win10:  MODULE: 0x84226b28 MyDriver.sys (Loaded)
//           Current Pool Allocations: ( 0x00000003 / 0x00000000 )
//           Address     Length      Tag   Caller
//           0x982a8fe0  0x00000020  VMdl  0x9a3bf6ac  MyDriver!DeviceControlDispatch
//   Win11:  nt!_VF_TARGET_DRIVER 0xffffcb8438730e10: ebpfcore.sys (Loaded and Unloaded), then as Win10.
//   verifier /query (the command-line tool, no tags, decimal):
//           MODULE: SafeUpload.sys (load: 1 / unload: 0)
//               Current Pool Allocations:  (      0 /      0 )
// kd's numbers are hex. Each driver's Current/Peak Pool Allocations and Bytes become a DriverRow (the
// report's own per-driver totals, what `top --by driver` ranks). Each listed allocation belongs to the
// block's driver (row.driver: an owner the report gives, never re-attributed by tag) and to the
// module in its Caller column when one is printed. One UsageRow per (driver, tag): listed allocations
// are outstanding, lengths summed; the lists have no Allocs or Frees counters.
// The lists do not say which pool an allocation is in. When the driver's current allocations are all
// in one pool they go there; otherwise the pool is unknown. Global statistics or settings alone are a
// one-line statement with their numbers.
import { ReportParseError, type DriverRow, type PoolCounters, type Report, type Snapshot, type UsageRow } from './types.js';
import { exactCount, reportLines, reportTag } from './report-text.js';
import { ELISION, exactHex, isHex, KD_PROMPT, RowCursor } from './lines.js';
import { cleanLine, LineLedger, pastedLines } from './paste.js';

const FORMAT = 'verifier';
const ADDRESS = String.raw`(?:0x)?[0-9a-f\x60]{8,17}`;
const DRIVER_WIN7 = new RegExp(String.raw`^\s*${ADDRESS}\s+(?:Loaded|Unloaded|Not Loaded)\s+[0-9a-f]+\s+[0-9a-f]+\s+(\S.*)$`, 'i');
const DRIVER_MODULE = new RegExp(String.raw`^\s*MODULE:\s+${ADDRESS}\s+(\S+)`, 'i');
const DRIVER_VF = new RegExp(String.raw`^\s*nt!_VF_TARGET_DRIVER\s+${ADDRESS}:?\s+(\S+)`, 'i');
const DRIVER_QUERY = /^\s*MODULE:\s+(\S+)\s+\(load:\s*\d+\s*\/\s*unload:\s*\d+\s*\)/i;
/** Per-driver statistics: `Current Pool Allocations: ( 0x3 / 0x0 )` (Win10+), `Current Pool Bytes  000000a0  00000854` (Win7). */
const STAT = /^\s*(Current|Peak) Pool (Allocations|Bytes)(?::\s*\(\s*(\S+)\s*\/\s*(\S+)\s*\)|\s+(\S+)\s+(\S+))\s*$/i;
const LIST_HEADER = /^\s*(?:Pool)?Address\s+(?:Length|SizeInBytes)\s+Tag\s+Caller/i;
const DASHES = /^\s*-{4,}(?:\s+-{4,})*\s*$/;
const SYSTEM_CURRENT = /^\s*Current (paged|nonpaged) pool allocations\s+(\S+)\s+for\s+(\S+)\s+bytes\s*$/i;
const COMMAND = /!verifier\b/i;
// A complete allocation row (address, length, tag, caller) where no list is open: its header is damaged.
const ORPHAN_ROW = new RegExp(String.raw`^\s*${ADDRESS}\s+0x[0-9a-f]+\s+\S.{0,3}\s+${ADDRESS}(?:\s|$)`, 'i');

interface Driver {
  name?: string;
  /** verifier /query prints decimal; kd prints hex. */
  decimal: boolean;
  row?: DriverRow;
  nonpagedAllocs?: number;
  pagedAllocs?: number;
}

export function looksLikeVerifier(text: string): number {
  const lines = reportLines(text.slice(0, 256 * 1024)).map(cleanLine);
  const list = lines.some((l) => LIST_HEADER.test(l));
  const context = lines.some((l) => COMMAND.test(l) || /Driver Verification List|Pool Allocation Statistics|Current Pool Allocations|Verifier Statistics/i.test(l));
  if (list) return context ? 1 : 0.7;
  if (lines.some((l) => DRIVER_QUERY.test(l))) return 0;
  if (lines.some((l) => DRIVER_MODULE.test(l) || DRIVER_VF.test(l)) && lines.some((l) => STAT.test(l))) return 0.9;
  return context ? 0.6 : 0;
}

/** `verifier /query` (the command-line tool): MODULE blocks with decimal pairs, no tags. */
export function looksLikeVerifierQuery(text: string): number {
  const lines = reportLines(text.slice(0, 256 * 1024)).map(cleanLine);
  return lines.some((l) => DRIVER_QUERY.test(l)) && lines.some((l) => STAT.test(l)) ? 1 : 0;
}

export function parseVerifierQuery(text: string, file: string): Report {
  const r = parseVerifier(text, file);
  return { ...r, format: 'verifier-query' };
}

export function parseVerifier(text: string, file: string): Report {
  const lines = reportLines(text);
  const ledger = new LineLedger();
  const rows = new Map<string, UsageRow>();
  const snap: Snapshot = { rows: [] };
  const drivers = new Map<string, DriverRow>();
  const settings: string[] = [];
  let driver: Driver = { decimal: false };
  let inList = false;

  for (const { n, raw } of pastedLines(lines)) {
    if (inList) {
      if (ELISION.test(raw)) continue;
      if (DASHES.test(raw)) {
        ledger.use(n);
        continue;
      }
      if (!startsBlock(raw) && looksLikeAllocation(raw)) {
        ledger.use(n);
        addAllocation(raw, driver, rows, snap, file, n);
        continue;
      }
      inList = false;
    }
    if (KD_PROMPT.test(raw)) {
      ledger.use(n);
      continue;
    }
    const query = DRIVER_QUERY.exec(raw);
    const named = query ?? DRIVER_MODULE.exec(raw) ?? DRIVER_VF.exec(raw) ?? DRIVER_WIN7.exec(raw);
    if (named) {
      ledger.use(n);
      driver = { name: named[1].trim(), decimal: query !== null };
      driver.row = drivers.get(driver.name!.toLowerCase());
      if (!driver.row) {
        driver.row = { driver: driver.name!, nonpaged: {}, paged: {}, line: n };
        drivers.set(driver.name!.toLowerCase(), driver.row);
      }
      continue;
    }
    const stat = STAT.exec(raw);
    if (stat && driver.row) {
      ledger.use(n);
      const [np, p] = [stat[3] ?? stat[5], stat[4] ?? stat[6]].map((v, k) => statNumber(v, driver.decimal, file, n, `${FORMAT}: ${stat[1]} Pool ${stat[2]} (${k === 0 ? 'NonPagedPool' : 'PagedPool'})`));
      const key = /alloc/i.test(stat[2]) ? 'outstanding' : 'bytes';
      const target = /peak/i.test(stat[1]) ? (driver.row.peak ??= { nonpaged: {}, paged: {} }) : driver.row;
      target.nonpaged[key] = np;
      target.paged[key] = p;
      if (key === 'outstanding' && !/peak/i.test(stat[1])) {
        driver.nonpagedAllocs = np;
        driver.pagedAllocs = p;
      }
      continue;
    }
    const system = SYSTEM_CURRENT.exec(raw);
    if (system) {
      ledger.use(n);
      const allocs = exactHex(system[2], file, n, `${FORMAT}: current ${system[1]} pool allocations`);
      const bytes = exactHex(system[3], file, n, `${FORMAT}: current ${system[1]} pool bytes`);
      snap.totals ??= {};
      snap.totals[system[1].toLowerCase() === 'paged' ? 'paged' : 'nonpaged'] = { outstanding: allocs, bytes };
      continue;
    }
    const flags = /^\s*Verify (?:Flags )?Level\s+(\S+)/i.exec(raw);
    if (flags) settings.push(flags[1]);
    if (LIST_HEADER.test(raw)) {
      ledger.use(n);
      inList = true;
    } else if (ORPHAN_ROW.test(raw)) {
      throw new ReportParseError(file, n, `${FORMAT}: allocation row outside a list; expected an "Address  Length  Tag  Caller" header above it`);
    }
  }
  const report: Report = { format: 'verifier', kind: 'allocations', file, snapshots: [snap] };
  if (drivers.size) snap.drivers = [...drivers.values()];
  const skipped = ledger.skipped(lines);
  if (skipped) report.skipped = skipped;
  if (snap.rows.length === 0) {
    if (drivers.size) report.kind = 'drivers';
    else {
      report.kind = 'statement';
      report.snapshots = [];
      report.statement = globalStatement(snap.totals, settings);
      if (!snap.totals && !settings.length) {
        throw new ReportParseError(file, 1, `${FORMAT}: no driver block, allocation list or statistics (expected "MODULE: X.sys", "Address  Length  Tag  Caller" or "Current paged pool allocations")`);
      }
    }
  }
  return report;
}

/** A report with the system-wide counts or the settings only: said in one line, with its numbers. */
function globalStatement(totals: Snapshot['totals'], settings: string[]): string {
  const pools = (['nonpaged', 'paged'] as const)
    .filter((p) => totals?.[p])
    .map((p) => `current ${p} pool ${totals![p]!.outstanding} allocations, ${totals![p]!.bytes} bytes`);
  if (pools.length) return `Driver Verifier global statistics with no per-driver or per-tag data: ${pools.join('; ')}`;
  return `Driver Verifier settings (level ${settings[0]}) with no pool data`;
}

/** kd prints the per-driver statistics in hex (with or without 0x); verifier /query in decimal. */
function statNumber(text: string, decimal: boolean, file: string, n: number, what: string): number {
  if (decimal && /^\d+$/.test(text)) return exactCount(text, file, n, what);
  return exactHex(text, file, n, what);
}

function startsBlock(raw: string): boolean {
  return [DRIVER_QUERY, DRIVER_MODULE, DRIVER_VF, DRIVER_WIN7, STAT, SYSTEM_CURRENT, LIST_HEADER].some((re) => re.test(raw));
}

/** Something in an address's place, then another cell: a list row, or a broken one to report. */
function looksLikeAllocation(raw: string): boolean {
  const t = raw.trim().split(/\s+/, 2);
  return t.length === 2 && t[0].length >= 8 && (isHex(t[0].slice(0, 4)) || /^0x/i.test(t[1]));
}

function addAllocation(raw: string, driver: Driver, rows: Map<string, UsageRow>, snap: Snapshot, file: string, n: number): void {
  const cur = new RowCursor(raw, file, n, FORMAT);
  const address = cur.token();
  if (!isHex(address)) cur.fail(`expected a hex address in column Address, got '${address.slice(0, 24)}'`);
  const length = exactHex(cur.token(), file, n, `${FORMAT}: column Length`);
  const tagText = readTag(cur);
  const caller = cur.token();
  if (!isHex(caller)) cur.fail(`expected a hex address in column Caller, got '${caller.slice(0, 24) || 'end of line'}'`);

  const symbol = cur.rest();
  const key = `${driver.name ?? ''}\0${tagText}`;
  let row = rows.get(key);
  if (!row) {
    row = { tag: reportTag(tagText, file, n), tagText, nonpaged: {}, paged: {}, line: n, lines: [] };
    if (driver.name !== undefined) {
      row.description = driver.name;
      row.driver = driver.name;
    }
    rows.set(key, row);
    snap.rows.push(row);
  }
  row.lines!.push(n);
  // `MyDriver!DeviceControlDispatch`, `ebpfcore!ebpf_allocate+0x21`: the module that made the call.
  const module = symbol && /^([\w.-]+)!/.exec(symbol)?.[1];
  if (module && !(row.callers ??= []).includes(module)) row.callers.push(module);
  const np = driver.nonpagedAllocs;
  const p = driver.pagedAllocs;
  const pool = np === 0 && (p ?? 0) > 0 ? 'paged' : p === 0 && (np ?? 0) > 0 ? 'nonpaged' : 'unknownPool';
  if (pool === 'unknownPool') row.unknownPool = plusOne(row.unknownPool ?? {}, length);
  else row[pool] = plusOne(row[pool], length);
}

/**
 * The tag cell is 4 characters and may end in spaces (`Io  `), so it is cut by width, not as a token;
 * a cell that runs into the caller (a tag shortened by a NUL byte) falls back to the token, padded.
 */
function readTag(cur: RowCursor): string {
  cur.skipSpace();
  const start = cur.pos;
  const four = cur.text.slice(start, start + 4);
  const next = cur.text[start + 4];
  if (four.length === 4 && (next === undefined || /\s/.test(next))) {
    cur.pos = start + 4;
    return four;
  }
  const tok = cur.token();
  if (tok === '' || tok.length > 4) cur.fail(`expected a 4-character tag in column Tag, got '${tok.slice(0, 24) || 'end of line'}'`);
  return tok.padEnd(4, ' ');
}

/** A listed allocation is outstanding; the list has no Allocs or Frees counters. */
function plusOne(c: PoolCounters, bytes: number): PoolCounters {
  return { outstanding: (c.outstanding ?? 0) + 1, bytes: (c.bytes ?? 0) + bytes };
}
