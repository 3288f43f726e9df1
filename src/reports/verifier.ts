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
// Every number is hex. One UsageRow per (driver, tag): allocations counted, lengths summed; only
// outstanding allocations are listed, so allocs = outstanding and frees = 0.
// The lists do not say which pool an allocation is in. When the driver's current allocations are all
// in one pool they go there; when both pools hold some, they are counted as nonpaged.
import { emptyCounters, ReportParseError, type PoolCounters, type Report, type Snapshot, type UsageRow } from './types.js';
import { reportLines, reportTag } from './report-text.js';
import { ELISION, exactHex, isHex, RowCursor } from './lines.js';

const FORMAT = 'verifier';
const ADDRESS = String.raw`(?:0x)?[0-9a-f\x60]{8,17}`;
const DRIVER_WIN7 = new RegExp(String.raw`^\s*${ADDRESS}\s+(?:Loaded|Unloaded|Not Loaded)\s+[0-9a-f]+\s+[0-9a-f]+\s+(\S.*)$`, 'i');
const DRIVER_MODULE = new RegExp(String.raw`^\s*MODULE:\s+${ADDRESS}\s+(\S+)`, 'i');
const DRIVER_VF = new RegExp(String.raw`^\s*nt!_VF_TARGET_DRIVER\s+${ADDRESS}:?\s+(\S+)`, 'i');
const CURRENT_WIN10 = /^\s*Current Pool Allocations:\s*\(\s*(\S+)\s*\/\s*(\S+)\s*\)\s*$/i;
const CURRENT_WIN7 = /^\s*Current Pool Allocations\s+(\S+)\s+(\S+)\s*$/i;
const LIST_HEADER = /^\s*(?:Pool)?Address\s+(?:Length|SizeInBytes)\s+Tag\s+Caller/i;
const DASHES = /^\s*-{4,}(?:\s+-{4,})*\s*$/;
const SYSTEM_CURRENT = /^\s*Current (paged|nonpaged) pool allocations\s+(\S+)\s+for\s+(\S+)\s+bytes\s*$/i;
const COMMAND = /!verifier\b/i;
// A complete allocation row (address, length, tag, caller) where no list is open: its header is damaged.
const ORPHAN_ROW = new RegExp(String.raw`^\s*${ADDRESS}\s+0x[0-9a-f]+\s+\S.{0,3}\s+${ADDRESS}(?:\s|$)`, 'i');

interface Driver {
  name?: string;
  nonpagedAllocs?: number;
  pagedAllocs?: number;
}

export function looksLikeVerifier(text: string): number {
  const lines = reportLines(text.slice(0, 256 * 1024));
  const list = lines.some((l) => LIST_HEADER.test(l));
  const context = lines.some((l) => COMMAND.test(l) || /Driver Verification List|Pool Allocation Statistics|Current Pool Allocations/i.test(l));
  if (list) return context ? 1 : 0.7;
  return context ? 0.3 : 0;
}

export function parseVerifier(text: string, file: string): Report {
  const lines = reportLines(text);
  const rows = new Map<string, UsageRow>();
  const snap: Snapshot = { rows: [] };
  let driver: Driver = {};
  let inList = false;
  let sawList = false;

  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const n = i + 1;
    if (raw.trim() === '') continue;
    if (inList) {
      if (ELISION.test(raw) || DASHES.test(raw)) continue;
      if (!startsBlock(raw) && looksLikeAllocation(raw)) {
        addAllocation(raw, driver, rows, snap, file, n);
        continue;
      }
      inList = false;
    }
    const named = DRIVER_MODULE.exec(raw) ?? DRIVER_VF.exec(raw) ?? DRIVER_WIN7.exec(raw);
    if (named) {
      driver = { name: named[1].trim() };
      continue;
    }
    const current = CURRENT_WIN10.exec(raw) ?? CURRENT_WIN7.exec(raw);
    if (current) {
      driver.nonpagedAllocs = exactHex(current[1], file, n, `${FORMAT}: Current Pool Allocations (NonPagedPool)`);
      driver.pagedAllocs = exactHex(current[2], file, n, `${FORMAT}: Current Pool Allocations (PagedPool)`);
      continue;
    }
    const system = SYSTEM_CURRENT.exec(raw);
    if (system) {
      const allocs = exactHex(system[2], file, n, `${FORMAT}: current ${system[1]} pool allocations`);
      const bytes = exactHex(system[3], file, n, `${FORMAT}: current ${system[1]} pool bytes`);
      snap.totals ??= {};
      snap.totals[system[1].toLowerCase() === 'paged' ? 'paged' : 'nonpaged'] = { outstanding: allocs, bytes };
      continue;
    }
    if (LIST_HEADER.test(raw)) {
      inList = true;
      sawList = true;
    } else if (ORPHAN_ROW.test(raw)) {
      throw new ReportParseError(file, n, `${FORMAT}: allocation row outside a list; expected an "Address  Length  Tag  Caller" header above it`);
    }
  }
  if (!sawList) {
    throw new ReportParseError(file, 1, `${FORMAT}: no outstanding-allocation list (expected "Address  Length  Tag  Caller" as printed by !verifier 3)`);
  }
  return { format: 'verifier', kind: 'allocations', file, snapshots: [snap] };
}

function startsBlock(raw: string): boolean {
  return [DRIVER_MODULE, DRIVER_VF, DRIVER_WIN7, CURRENT_WIN10, CURRENT_WIN7, SYSTEM_CURRENT, LIST_HEADER].some((re) => re.test(raw));
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

  const key = `${driver.name ?? ''}\0${tagText}`;
  let row = rows.get(key);
  if (!row) {
    row = { tag: reportTag(tagText, file, n), tagText, nonpaged: {}, paged: {}, line: n };
    if (driver.name !== undefined) row.description = driver.name;
    rows.set(key, row);
    snap.rows.push(row);
  }
  const pool = driver.nonpagedAllocs === 0 && (driver.pagedAllocs ?? 0) > 0 ? 'paged' : 'nonpaged';
  row[pool] = plusOne(row[pool], length);
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
