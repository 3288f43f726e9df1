// `enrich`: the user's own report, line for line, with owner and description appended to the rows.
import type { OwnerSource } from '../owners.js';
import type { Report, UsageRow } from '../reports/types.js';
import { formatTag, tagHex } from '../tag.js';
import { attribute, driverLabel, type EvidenceText } from './attribution.js';

/** Description from the owner sources only: the report's own text is already on the line. */
function ownerDescription(tag: number, owners: OwnerSource): string {
  const list = owners.ownersOf(tag).filter((o) => o.kind !== 'object-ref');
  return (list.find((o) => o.source === 'pooltag' && o.description) ?? list.find((o) => o.description))?.description ?? '';
}

export interface EnrichedRow {
  tag: string;
  tagHex: string;
  owner: string;
  /** How the owner was found (call, code, pooltag, report, wildcard, data; '' for none). */
  by: EvidenceText;
  description: string;
}

export interface EnrichedLine {
  /** 1-based, as in the report. */
  line: number;
  text: string;
  /** The report rows this line carries (none for headers and chatter). */
  rows: EnrichedRow[];
}

/**
 * `text` must be the report as the parser saw it (decoded, LF line ends) so UsageRow.line points at
 * the right line.
 */
export function enrichLines(text: string, report: Report, owners: OwnerSource): EnrichedLine[] {
  const byLine = new Map<number, UsageRow[]>();
  for (const s of report.snapshots) {
    for (const r of s.rows) {
      // A per-allocation row gathers many lines: each of them gets the tag's owner.
      for (const line of new Set(r.lines ?? [r.line])) {
        const list = byLine.get(line);
        if (list) list.push(r);
        else byLine.set(line, [r]);
      }
    }
  }
  return text.split('\n').map((lineText, i) => ({
    line: i + 1,
    text: lineText,
    rows: (byLine.get(i + 1) ?? []).map((r) => {
      const a = attribute(r.tag, owners, r);
      return { tag: formatTag(r.tag), tagHex: tagHex(r.tag), owner: driverLabel(a.claimants), by: a.evidence, description: ownerDescription(r.tag, owners) };
    }),
  }));
}

/**
 * A whose-tag snapshot line (NDJSON) with owner, by and ownerDescription added to each of its rows, so an
 * enriched series stays one valid JSON object per line; undefined when the line is not one snapshot.
 */
function enrichSnapshotLine(l: EnrichedLine): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(l.text);
  } catch {
    return undefined;
  }
  const rows = (value as { rows?: unknown }).rows;
  if (!Array.isArray(rows)) return undefined;
  const byHex = new Map(l.rows.map((r) => [r.tagHex, r]));
  for (const row of rows as Record<string, unknown>[]) {
    const e = byHex.get(String(row.tagHex));
    if (!e) continue;
    row.owner = e.owner;
    row.by = e.by;
    if (e.description) row.ownerDescription = e.description;
  }
  return JSON.stringify(value);
}

/**
 * The report line for line. A text row gets owner and description columns; a JSON snapshot line gets
 * them as fields of its rows; any other line carrying several rows gets `TAG=owner` pairs.
 */
export function enrichText(text: string, report: Report, owners: OwnerSource): string {
  const lines = enrichLines(text, report, owners);
  let width = 0;
  let ownerWidth = 0;
  for (const l of lines) {
    if (l.rows.length !== 1) continue;
    width = Math.max(width, l.text.trimEnd().length);
    ownerWidth = Math.max(ownerWidth, l.rows[0].owner.length);
  }
  const json = report.format === 'whose-tag-snapshot';
  return lines
    .map((l) => {
      if (l.rows.length === 0) return l.text;
      const asJson = json ? enrichSnapshotLine(l) : undefined;
      if (asJson !== undefined) return asJson;
      if (l.rows.length > 1) return `${l.text}  ${l.rows.map((r) => `${r.tag}=${r.owner}`).join('; ')}`;
      const [r] = l.rows;
      return `${l.text.trimEnd().padEnd(width)}  ${r.owner.padEnd(ownerWidth)}  ${r.description}`.trimEnd();
    })
    .join('\n');
}

/** `enrich --json`: one JSON object per report line (NDJSON), as documented. */
export function enrichNdjson(text: string, report: Report, owners: OwnerSource): string {
  const lines = enrichLines(text, report, owners);
  // The newline that ends the last line does not start another.
  if (text.endsWith('\n')) lines.pop();
  return lines.map((l) => JSON.stringify(l)).join('\n');
}
