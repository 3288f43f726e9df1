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

/**
 * `text` must be the report as the parser saw it (decoded, LF line ends) so UsageRow.line points at
 * the right line. A line that carries several rows (JSON formats) gets `TAG=owner` pairs instead.
 */
export function enrichText(text: string, report: Report, owners: OwnerSource): string {
  const lines = text.split('\n');
  const byLine = new Map<number, UsageRow[]>();
  for (const s of report.snapshots) {
    for (const r of s.rows) {
      const list = byLine.get(r.line);
      if (list) list.push(r);
      else byLine.set(r.line, [r]);
    }
  }
  const label = (r: UsageRow) => driverLabel(attribute(r.tag, owners, r.description).claimants);
  let width = 0;
  let ownerWidth = 0;
  for (const [line, rows] of byLine) {
    if (rows.length !== 1 || line < 1 || line > lines.length) continue;
    width = Math.max(width, lines[line - 1].trimEnd().length);
    ownerWidth = Math.max(ownerWidth, label(rows[0]).length);
  }
  return lines
    .map((text, i) => {
      const rows = byLine.get(i + 1);
      if (!rows) return text;
      if (rows.length > 1) return `${text}  ${rows.map((r) => `${formatTag(r.tag)}=${label(r)}`).join('; ')}`;
      const desc = ownerDescription(rows[0].tag, owners);
      return `${text.trimEnd().padEnd(width)}  ${label(rows[0]).padEnd(ownerWidth)}  ${desc}`.trimEnd();
    })
    .join('\n');
}
