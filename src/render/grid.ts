// Commands produce a grid of typed rows; renderers print it. Like Volatility 3's TreeGrid:
// the command knows nothing of the output format.

import { printable } from '../tag.js';

export type Cell = string | number | boolean | null | undefined;

export interface Column {
  key: string;
  title: string;
  /** Numbers right-aligned by default. */
  align?: 'left' | 'right';
}

export interface Grid {
  columns: Column[];
  rows: Record<string, Cell>[];
  /** Lines printed after the table (totals, notes); in csv/md they are omitted/appended as text. */
  footer?: string[];
}

export type TextFormat = 'table' | 'csv' | 'md';

function cellText(v: Cell): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(2);
  return String(v);
}

/**
 * Cells and notes as a terminal shows them: names from reports and paths may hold control bytes, escaped as
 * \xNN (CSV keeps the bytes, quoted, for the programs that read it).
 */
const shownText = (v: Cell) => printable(cellText(v));

function isNumeric(grid: Grid, key: string): boolean {
  return grid.rows.length > 0 && grid.rows.every((r) => r[key] === null || r[key] === undefined || typeof r[key] === 'number');
}

export function renderTable(grid: Grid): string {
  const widths = grid.columns.map((c) => Math.max(c.title.length, ...grid.rows.map((r) => shownText(r[c.key]).length)));
  const right = grid.columns.map((c) => (c.align ? c.align === 'right' : isNumeric(grid, c.key)));
  const line = (cells: string[]) =>
    cells.map((s, i) => (right[i] ? s.padStart(widths[i]) : s.padEnd(widths[i]))).join('  ').trimEnd();
  const out = [line(grid.columns.map((c) => c.title)), line(widths.map((w) => '-'.repeat(w)))];
  for (const r of grid.rows) out.push(line(grid.columns.map((c) => shownText(r[c.key]))));
  if (grid.footer) out.push(...grid.footer.map(printable));
  return out.join('\n') + '\n';
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

export function renderCsv(grid: Grid): string {
  const out = [grid.columns.map((c) => csvField(c.key)).join(',')];
  for (const r of grid.rows) out.push(grid.columns.map((c) => csvField(cellText(r[c.key]))).join(','));
  return out.join('\r\n') + '\r\n';
}

function mdField(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/`/g, '\\`');
}

export function renderMarkdown(grid: Grid): string {
  const right = grid.columns.map((c) => (c.align ? c.align === 'right' : isNumeric(grid, c.key)));
  const out = [
    '| ' + grid.columns.map((c) => mdField(c.title)).join(' | ') + ' |',
    '|' + right.map((r) => (r ? ' ---: ' : ' --- ')).join('|') + '|',
  ];
  for (const r of grid.rows) out.push('| ' + grid.columns.map((c) => mdField(shownText(r[c.key]))).join(' | ') + ' |');
  if (grid.footer) out.push('', ...grid.footer.map(printable));
  return out.join('\n') + '\n';
}

export function renderGrid(grid: Grid, format: TextFormat): string {
  switch (format) {
    case 'csv':
      return renderCsv(grid);
    case 'md':
      return renderMarkdown(grid);
    default:
      return renderTable(grid);
  }
}
