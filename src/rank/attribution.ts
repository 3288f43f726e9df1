// Who a tag's memory is charged to. Evidence decides naming, strongest first:
//   1. the report says which driver made the allocations (Driver Verifier's per-driver lists: UsageRow.driver);
//   2. a db owner whose code passes the tag (tier call/code);
//   3. an exact pooltag.txt entry;
//   4. the binary the report itself names (poolmon Mapped_Driver, !poolused `Binary:`: the tag files of
//      the machine the report came from, often with a localtag.txt for its third-party drivers);
//   5. a pooltag.txt wildcard entry (`Nt??`), the most specific pattern only;
//   6. a mere byte match in a file (tier data).
// Object-reference tags (ObReferenceObjectByHandleWithTag) never own pool memory.
import type { Owner, OwnerSource } from '../owners.js';
import type { UsageRow } from '../reports/types.js';
import { binaryNames } from '../pooltag/parse.js';

/** Why the claimants were chosen, strongest first. */
export type Basis = 'report-allocated' | 'db-code' | 'pooltag' | 'report' | 'pooltag-wildcard' | 'db-data' | 'none';

/** What a person reads in the BY column, strongest first ('' = no owner). */
export const EVIDENCE_ORDER = ['verifier', 'call', 'code', 'pooltag', 'report', 'wildcard', 'data', ''] as const;
export type EvidenceText = (typeof EVIDENCE_ORDER)[number];

export interface Attribution {
  /** Drivers charged with the tag, display spelling, in evidence order; several = shared. */
  claimants: string[];
  basis: Basis;
  /** What a person reads in the BY column. */
  evidence: EvidenceText;
  /** Every pool owner the sources know (db, pooltag.txt, the report), for JSON and the description column. */
  owners: Owner[];
  description?: string;
  /** Set when the claimants own the tag only as KMDF's default tag, inferred from their file names. */
  inferred?: 'kmdf-default';
}

/** What attribution reads from a report row: its own description and the owners it names. */
export type RowOwnerText = Pick<UsageRow, 'description' | 'mappedDriver' | 'binary' | 'driver' | 'callers'>;

export const UNKNOWN_DRIVER = '(unknown)';
export const SHARED_PREFIX = 'shared: ';

/** The binary a report's own description names: poolused `…, Binary: acpi.sys`, poolmon `[ntfs.sys - Create.c]`. */
export function reportedDriver(description: string | undefined): string[] {
  if (!description) return [];
  const binary = /\bBinary\s*:\s*(\S+(?:\s*\/\s*\S+)*)/i.exec(description);
  if (binary) return binaryNames(binary[1]);
  const mapped = /^\s*\[\s*([^\s\]]+)\s+-/.exec(description);
  if (mapped) return binaryNames(mapped[1]);
  return [];
}

/**
 * poolmon's Mapped_Driver is one bracket per tag file entry that matched, localtag.txt's first: `[ipsec]`
 * (poolmon /c names a driver by its base name) and `[ipsec.sys - event queue]` (pooltag.txt's binary and
 * description); `Unknown Driver` names none. The drivers, each once: `ipsec.sys`.
 */
export function mappedDrivers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\[([^\]]*)\]/g)) {
    const inner = m[1].trim();
    const dash = inner.search(/\s+-\s*/);
    const binary = (dash >= 0 ? inner.slice(0, dash) : inner).trim();
    if (binary === '' || /\s/.test(binary) || /^unknown\b/i.test(binary)) continue;
    for (const name of binaryNames(binary)) out.push(dash < 0 && !/[.!]/.test(name) ? name + '.sys' : name);
  }
  return unique(out);
}

/** The owners a report row names itself: the driver it charges, else Mapped_Driver or Binary:, else its description. */
function reportNames(row: RowOwnerText | undefined): string[] {
  if (!row) return [];
  if (row.driver) return binaryNames(row.driver);
  if (row.mappedDriver) return mappedDrivers(row.mappedDriver);
  if (row.binary) return binaryNames(row.binary);
  if (row.callers?.length) return unique(row.callers);
  return reportedDriver(row.description);
}

function reportOwners(row: RowOwnerText | undefined): Owner[] {
  return unique(reportNames(row)).map((name) => ({ name, source: 'report' as const }));
}

function unique(names: string[]): string[] {
  const seen = new Map<string, string>();
  for (const n of names) if (!seen.has(n.toLowerCase())) seen.set(n.toLowerCase(), n);
  return [...seen.values()];
}

/**
 * One name per driver: builds of one driver for several CPUs (WinDivert32.sys and WinDivert64.sys, both
 * OriginalFilename WinDivert.sys) are one claimant, named by their original file name.
 */
function driverNames(db: Owner[]): string[] {
  const byOriginal = new Map<string, Set<string>>();
  for (const o of db) {
    const key = (o.originalName ?? o.name).toLowerCase();
    const names = byOriginal.get(key) ?? new Set<string>();
    names.add(o.name.toLowerCase());
    byOriginal.set(key, names);
  }
  return db.map((o) => {
    if (!o.originalName) return o.name;
    const names = byOriginal.get(o.originalName.toLowerCase())!;
    return names.size > 1 ? o.originalName : o.name;
  });
}

export function attribute(tag: number, source: OwnerSource, row?: RowOwnerText | string): Attribution {
  const rowText: RowOwnerText | undefined = typeof row === 'string' ? { description: row } : row;
  const known = source.ownersOf(tag).filter((o) => o.kind !== 'object-ref');
  const reported = reportOwners(rowText);
  const owners = [...known, ...reported];
  const db = known.filter((o) => o.source === 'db');
  const pooltag = known.filter((o) => o.source === 'pooltag');
  const description = pooltag.find((o) => o.description)?.description ?? rowText?.description ?? db.find((o) => o.description)?.description;
  const pick = (claimants: string[], basis: Basis, evidence: EvidenceText): Attribution => {
    const a: Attribution = { claimants: unique(claimants), basis, evidence, owners };
    if (description !== undefined) a.description = description;
    return a;
  };
  // Driver Verifier charged these allocations to a driver: that is who made them, whatever the tag.
  if (rowText?.driver && reported.length) return pick(reported.map((o) => o.name), 'report-allocated', 'verifier');
  const code = db.filter((o) => o.tier === 'call' || o.tier === 'code');
  if (code.length) {
    const a = pick(driverNames(code), 'db-code', code.some((o) => o.tier === 'call') ? 'call' : 'code');
    // Every owner holds the tag only as KMDF's default tag, inferred from its file name.
    if (code.every((o) => o.inferred === 'kmdf-default')) a.inferred = 'kmdf-default';
    return a;
  }
  const exact = pooltag.filter((o) => o.wildcard === undefined).flatMap((o) => binaryNames(o.name));
  if (exact.length) return pick(exact, 'pooltag', 'pooltag');
  if (reported.length) return pick(reported.map((o) => o.name), 'report', 'report');
  const wild = pooltag.filter((o) => o.wildcard !== undefined).flatMap((o) => binaryNames(o.name));
  if (wild.length) return pick(wild, 'pooltag-wildcard', 'wildcard');
  const data = db.filter((o) => o.tier === 'data');
  if (data.length) return pick(driverNames(data), 'db-data', 'data');
  return pick([], 'none', '');
}

/** The stronger of two BY values (EVIDENCE_ORDER). */
export function strongerEvidence(a: EvidenceText, b: EvidenceText): EvidenceText {
  return EVIDENCE_ORDER.indexOf(a) <= EVIDENCE_ORDER.indexOf(b) ? a : b;
}

/** Grouping key: drivers are case-insensitive file names; a shared set is keyed by all its members. */
export function claimKey(claimants: readonly string[]): string {
  return claimants.map((c) => c.toLowerCase()).sort().join('\u0000');
}

/** A tag found as bytes in 300 files would make an unreadable label: name a few, count the rest. */
const MAX_NAMED_CLAIMANTS = 4;

/** What `top` adds to a driver charged with a tag only as KMDF's default tag (inferred from its file name). */
export const KMDF_DEFAULT_NOTE = ' (KMDF default tag)';

export function driverLabel(claimants: readonly string[]): string {
  if (claimants.length === 0) return UNKNOWN_DRIVER;
  if (claimants.length === 1) return claimants[0];
  const sorted = [...claimants].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
  const shown = sorted.slice(0, MAX_NAMED_CLAIMANTS).join(', ');
  const more = sorted.length - MAX_NAMED_CLAIMANTS;
  return SHARED_PREFIX + shown + (more > 0 ? ` (+${more} more)` : '');
}

/** Does a `--driver NAME` filter name this claimant set? `tcpip` and `tcpip.sys` both name tcpip.sys. */
export function claimsDriver(a: Pick<Attribution, 'claimants' | 'owners'>, name: string): boolean {
  const want = name.toLowerCase();
  const names = [...a.claimants, ...a.owners.filter((o) => o.source === 'db' && a.claimants.includes(o.originalName ?? '')).map((o) => o.name)];
  return names.some((c) => {
    const n = c.toLowerCase();
    return n === want || n.replace(/\.(sys|dll|exe)$/, '') === want;
  });
}
