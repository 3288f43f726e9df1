// `enrich`: the user's own report, line for line, with owner and description appended to the rows.
import type { OwnerSource } from '../owners.js';
import type { Report, UsageRow } from '../reports/types.js';
import { formatTag } from '../tag.js';
import { attribute, driverLabel } from './attribution.js';

/** Description from the owner sources only: the report's own text is already on the line. */
function ownerDescription(tag: number, owners: OwnerSource): string {
  const list = owners.ownersOf(tag).filter((o) => o.kind !== 'object-ref');
  return (list.find((o) => o.source === 'pooltag' && o.description) ?? list.find((o) => o.description))?.description ?? '';
}

export interface EnrichedRow {
  tag: string;
  owner: string;
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
    rows: (byLine.get(i + 1) ?? []).map((r) => ({
      tag: formatTag(r.tag),
      owner: driverLabel(attribute(r.tag, owners, r.description).claimants),
      description: ownerDescription(r.tag, owners),
    })),
  }));
}

/** The report line for line; a line that carries several rows (JSON formats) gets `TAG=owner` pairs. */
export function enrichText(text: string, report: Report, owners: OwnerSource): string {
  const lines = enrichLines(text, report, owners);
  let width = 0;
  let ownerWidth = 0;
  for (const l of lines) {
    if (l.rows.length !== 1) continue;
    width = Math.max(width, l.text.trimEnd().length);
    ownerWidth = Math.max(ownerWidth, l.rows[0].owner.length);
  }
  return lines
    .map((l) => {
      if (l.rows.length === 0) return l.text;
      if (l.rows.length > 1) return `${l.text}  ${l.rows.map((r) => `${r.tag}=${r.owner}`).join('; ')}`;
      const [r] = l.rows;
      return `${l.text.trimEnd().padEnd(width)}  ${r.owner.padEnd(ownerWidth)}  ${r.description}`.trimEnd();
    })
    .join('\n');
}
