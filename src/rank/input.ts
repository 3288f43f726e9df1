// Reading the reports a command was given: a missing or unreadable file is the user's error, named.
import { existsSync, statSync } from 'node:fs';
import { UserError } from '../errors.js';
import type { Report, ReportFormat } from '../reports/types.js';

export async function readReportFile(path: string, format = 'auto'): Promise<Report> {
  if (!existsSync(path)) throw new UserError(`${path}: no such file`);
  if (statSync(path).isDirectory()) throw new UserError(`${path}: is a folder; expected a pool-usage report file`);
  const { readReport } = await import('../reports/index.js');
  try {
    return readReport(path, format as ReportFormat | 'auto');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code) throw new UserError(`${path}: cannot read: ${err.message}`);
    throw e;
  }
}

/**
 * What every report command says on stderr about a report besides its result: the one note on lines
 * passed over as not rows.
 */
export async function reportNotes(report: Report): Promise<string[]> {
  const { skippedNote } = await import('../reports/paste.js');
  const note = skippedNote(report);
  return note ? [note] : [];
}

/** Snapshots in the order given: files in argument order, each file's snapshots in file order. */
export async function readSeries(paths: readonly string[], format = 'auto'): Promise<{ reports: Report[]; labels: string[] }> {
  const reports: Report[] = [];
  const labels: string[] = [];
  for (const p of paths) {
    const r = await readReportFile(p, format);
    reports.push(r);
    r.snapshots.forEach((s, i) => labels.push(r.snapshots.length > 1 ? `${p}#${i + 1}${s.time ? ` (${s.time})` : ''}` : `${p}${s.time ? ` (${s.time})` : ''}`));
  }
  return { reports, labels };
}
