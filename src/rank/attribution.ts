// Who a tag's memory is charged to. Evidence decides naming: a db owner whose code passes the tag
// (tier call/code) outranks pooltag.txt, pooltag.txt outranks the report's own description (the
// analyst's machine's pooltag.txt), and a mere byte match in a file (tier data) comes last.
// Object-reference tags (ObReferenceObjectByHandleWithTag) never own pool memory.
import type { Owner, OwnerSource } from '../owners.js';
import { binaryNames } from '../pooltag/parse.js';

/** Why the claimants were chosen, strongest first. */
export type Basis = 'db-code' | 'pooltag' | 'report' | 'db-data' | 'none';

export interface Attribution {
  /** Drivers charged with the tag, display spelling, in evidence order; several = shared. */
  claimants: string[];
  basis: Basis;
  /** What a person reads in the BY column: the db tier (call, code, data), pooltag, report, or ''. */
  evidence: string;
  /** Every pool owner the sources know, for JSON and the description column. */
  owners: Owner[];
  description?: string;
  /** Set when the claimants own the tag only as KMDF's default tag, inferred from their file names. */
  inferred?: 'kmdf-default';
}

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

function unique(names: string[]): string[] {
  const seen = new Map<string, string>();
  for (const n of names) if (!seen.has(n.toLowerCase())) seen.set(n.toLowerCase(), n);
  return [...seen.values()];
}

export function attribute(tag: number, source: OwnerSource, reportDescription?: string): Attribution {
  const owners = source.ownersOf(tag).filter((o) => o.kind !== 'object-ref');
  const db = owners.filter((o) => o.source === 'db');
  const pooltag = owners.filter((o) => o.source === 'pooltag');
  const description = pooltag.find((o) => o.description)?.description ?? reportDescription ?? db.find((o) => o.description)?.description;
  const pick = (claimants: string[], basis: Basis, evidence: string): Attribution => {
    const a: Attribution = { claimants: unique(claimants), basis, evidence, owners };
    if (description !== undefined) a.description = description;
    return a;
  };
  const code = db.filter((o) => o.tier === 'call' || o.tier === 'code');
  if (code.length) {
    const a = pick(code.map((o) => o.name), 'db-code', code.some((o) => o.tier === 'call') ? 'call' : 'code');
    if (code.every((o) => o.inferred === 'kmdf-default')) {
      a.inferred = 'kmdf-default';
      a.evidence += ' (KMDF default)';
    }
    return a;
  }
  const named = pooltag.flatMap((o) => binaryNames(o.name));
  if (named.length) return pick(named, 'pooltag', 'pooltag');
  const reported = reportedDriver(reportDescription);
  if (reported.length) return pick(reported, 'report', 'report');
  const data = db.filter((o) => o.tier === 'data');
  if (data.length) return pick(data.map((o) => o.name), 'db-data', 'data');
  return pick([], 'none', '');
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
