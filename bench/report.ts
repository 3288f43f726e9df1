// The benchmark's result rows, their targets, and the two ways of printing them (a table, JSON).
import { renderTable } from '../src/render/grid.js';
import type { Stats } from './timing.js';

export type Verdict = 'PASS' | 'MISS';

export interface Row {
  group: 'node' | 'scan' | 'index' | 'lookup' | 'fleet';
  measurement: string;
  /** Milliseconds, or megabytes for the memory row (see `unit`). */
  stats?: Stats;
  unit: 'ms' | 'MB';
  /** Ratio to grep, throughput, or owners found: the number the target is about, as text. */
  figure?: string;
  target?: string;
  verdict?: Verdict;
  /** `ok`, or what was wrong with the command's output; a row whose check failed is not a valid time. */
  check: string;
  /** Machine-readable numbers behind `figure` (ratio, mbPerSecond, ...). */
  numbers?: Record<string, number>;
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms.toFixed(ms < 10 ? 1 : 0)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function formatValue(v: number, unit: Row['unit']): string {
  return unit === 'ms' ? formatMs(v) : `${v.toFixed(0)} MB`;
}

export function verdict(ok: boolean): Verdict {
  return ok ? 'PASS' : 'MISS';
}

export function renderRows(rows: Row[], header: string[]): string {
  const table = renderTable({
    columns: [
      { key: 'measurement', title: 'MEASUREMENT' },
      { key: 'median', title: 'MEDIAN', align: 'right' },
      { key: 'min', title: 'MIN', align: 'right' },
      { key: 'max', title: 'MAX', align: 'right' },
      { key: 'figure', title: 'RATIO / THROUGHPUT' },
      { key: 'target', title: 'TARGET' },
      { key: 'verdict', title: 'RESULT' },
      { key: 'check', title: 'CHECK' },
    ],
    rows: rows.map((r) => ({
      measurement: r.measurement,
      median: r.stats ? formatValue(r.stats.median, r.unit) : '-',
      min: r.stats ? formatValue(r.stats.min, r.unit) : '-',
      max: r.stats ? formatValue(r.stats.max, r.unit) : '-',
      figure: r.figure ?? '',
      target: r.target ?? '',
      verdict: r.verdict ?? '',
      check: r.check,
    })),
  });
  return [...header, '', table].join('\n');
}

export function rowsJson(rows: Row[], context: Record<string, unknown>): string {
  return JSON.stringify({ ...context, rows }, null, 2) + '\n';
}
