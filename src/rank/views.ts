// Grids and JSON for the report commands. Tables and Markdown show KB/MB; CSV and JSON keep exact numbers.
import type { Owner } from '../owners.js';
import type { PoolCounters } from '../reports/types.js';
import type { Cell, Grid } from '../render/grid.js';
import { formatTag, tagHex } from '../tag.js';
import { KMDF_DEFAULT_NOTE, driverLabel } from './attribution.js';
import type { DriverGrowth, GrowthReport, TagGrowth } from './growth.js';
import { isSuspect } from './growth.js';
import type { PoolChoice } from './pool.js';
import { partialOf, type CounterName, type DriverRank, type TagRank, type Totals } from './top.js';
import { humanBytes, percent, signed, signedBytes } from './units.js';

/** human: KB/MB; exact: exact bytes in a table (`--bytes exact`), changes signed; csv: bare numbers. */
export type Style = 'human' | 'exact' | 'csv';

/** How many tags a driver row names in its MADE OF cell. */
export const TAGS_EXPLAINED = 3;

/** The first `n` rows; 0 means all, as `-n 0` does. */
export function firstRows<T>(xs: readonly T[], n: number): readonly T[] {
  return n > 0 ? xs.slice(0, n) : xs;
}

/** An absent counter is a blank cell, never 0. */
function bytesCell(n: number | undefined, style: Style): Cell {
  return n === undefined ? null : style === 'human' ? humanBytes(n) : n;
}

const right = 'right' as const;

/** A counter the report does not have is a blank cell (null in JSON), never 0. */
function countCell(c: PoolCounters, name: CounterName): Cell {
  return c[name] ?? null;
}

/** poolmon's Per Alloc: bytes per outstanding allocation, whole bytes; blank when nothing is outstanding. */
export function perAlloc(c: PoolCounters): number | null {
  if (c.outstanding === undefined || c.bytes === undefined || c.outstanding <= 0) return null;
  return Math.round(c.bytes / c.outstanding);
}

/** OUTSTANDING, BYTES and PER ALLOC of the chosen pool, then each pool's bytes when both are shown. */
function sizeColumns(pool: PoolChoice) {
  return [
    { key: 'outstanding', title: 'OUTSTANDING', align: right },
    { key: 'bytes', title: 'BYTES', align: right },
    ...(pool === 'all'
      ? [
          { key: 'nonpaged', title: 'NONPAGED', align: right },
          { key: 'paged', title: 'PAGED', align: right },
        ]
      : []),
    { key: 'perAlloc', title: 'PER ALLOC', align: right },
  ];
}

function sizeCells(chosen: PoolCounters, nonpaged: PoolCounters, paged: PoolCounters, style: Style) {
  const each = perAlloc(chosen);
  return {
    outstanding: countCell(chosen, 'outstanding'),
    bytes: bytesCell(chosen.bytes, style),
    nonpaged: bytesCell(nonpaged.bytes, style),
    paged: bytesCell(paged.bytes, style),
    perAlloc: each === null ? null : bytesCell(each, style),
  };
}

export function tagGrid(ranks: readonly TagRank[], pool: PoolChoice, style: Style): Grid {
  const columns = [
    { key: 'tag', title: 'TAG' },
    ...sizeColumns(pool),
    { key: 'allocs', title: 'ALLOCS', align: right },
    { key: 'frees', title: 'FREES', align: right },
    { key: 'owner', title: 'OWNER' },
    { key: 'basis', title: 'BY' },
    { key: 'description', title: 'DESCRIPTION' },
  ];
  const rows = ranks.map((t) => ({
    tag: formatTag(t.tag),
    ...sizeCells(t.counters, t.row.nonpaged, t.row.paged, style),
    allocs: countCell(t.counters, 'allocs'),
    frees: countCell(t.counters, 'frees'),
    owner: driverLabel(t.attribution.claimants) + (t.attribution.inferred ? KMDF_DEFAULT_NOTE : ''),
    basis: t.attribution.evidence + (t.attribution.inferred ? ' (KMDF default)' : ''),
    description: t.attribution.description ?? '',
  }));
  return { columns, rows };
}

/** In a list of "tag size" pairs a padded tag (`Io  `) would read as a gap: show it unpadded there. */
function shortTag(tag: number): string {
  return formatTag(tag).trimEnd();
}

function madeOf(d: DriverRank, style: Style): string {
  if (style === 'csv') return d.tags.map((t) => `${formatTag(t.tag)}:${t.counters.bytes ?? ''}`).join(' ');
  const size = (n: number | undefined) => (n === undefined ? '' : ' ' + (style === 'human' ? humanBytes(n) : String(n)));
  const shown = d.tags.slice(0, TAGS_EXPLAINED).map((t) => `${shortTag(t.tag)}${size(t.counters.bytes)}`);
  const more = d.tags.length - shown.length;
  return shown.join(', ') + (more > 0 ? ` (+${more} more)` : '');
}

export function driverGrid(ranks: readonly DriverRank[], pool: PoolChoice, style: Style): Grid {
  const columns = [
    { key: 'driver', title: 'DRIVER' },
    { key: 'best', title: 'BY' },
    { key: 'tags', title: 'TAGS', align: right },
    ...sizeColumns(pool),
    { key: 'madeOf', title: style === 'csv' ? 'MADE OF (tag:bytes)' : 'MADE OF (largest tags)' },
  ];
  const rows = ranks.map((d) => ({
    // The biggest tag of the row is only KMDF's default tag: say the driver is named by inference.
    driver: d.driver + (d.tags[0]?.attribution.inferred ? KMDF_DEFAULT_NOTE : ''),
    best: d.best,
    tags: d.tags.length,
    ...sizeCells(d.counters, d.nonpaged, d.paged, style),
    madeOf: madeOf(d, style),
  }));
  return { columns, rows };
}

/** The ranking table: the first `n` tags, or drivers when given, with the totals of all the tags under it. */
export function rankGrid(
  tags: readonly TagRank[], drivers: readonly DriverRank[] | undefined, totals: Totals, pool: PoolChoice, style: Style, n: number,
): Grid {
  const grid = drivers ? driverGrid(firstRows(drivers, n), pool, style) : tagGrid(firstRows(tags, n), pool, style);
  const shown = { rows: grid.rows.length, of: drivers ? drivers.length : tags.length, what: drivers ? 'drivers' : 'tags' };
  grid.footer = totalsLines(totals, pool, shown);
  return grid;
}

/** "1.2 MB (1234 bytes) in 5 outstanding allocations", leaving out what the report does not give. */
function amount(c: PoolCounters): string {
  const parts = [c.bytes !== undefined ? `${humanBytes(c.bytes)} (${c.bytes} bytes)` : '', c.outstanding !== undefined ? `${c.outstanding} outstanding allocations` : ''];
  return parts.filter(Boolean).join(' in ') || 'no counters';
}

/** `part` as a share of `whole`, or '' when either is not known. */
function share(part: number | undefined, whole: number | undefined): string {
  return part === undefined || whole === undefined ? '' : percent(part, whole);
}

/**
 * Like poolmon's totals: everything in the chosen pool, and how much of it has an owner. When the report
 * prints its own total and the rows do not add up to it (a fragment, a filtered screen), that total is
 * the whole and every percentage is of it. A counter the report does not have is left out.
 */
export function totalsLines(t: Totals, pool: PoolChoice, shown: { rows: number; of: number; what: string }): string[] {
  const c = t.counters;
  const a = t.attributed;
  const whole = partialOf(t);
  const lines: string[] = [];
  if (whole) {
    lines.push(`Total ${pool} pool by the report's own total: ${amount(whole)}.`);
    lines.push(
      `The ${t.tags} tags ${t.filtered ? 'kept by --tag/--driver' : 'listed'} hold ` +
        `${c.bytes === undefined ? 'bytes not given' : `${humanBytes(c.bytes)} (${c.bytes} bytes${whole.bytes !== undefined ? `, ${share(c.bytes, whole.bytes)}` : ''})`}` +
        (t.filtered ? "; percentages are of the report's total." : ": the rows do not add up to the report's total, so percentages are of that total."),
    );
  } else {
    lines.push(`Total ${pool} pool: ${amount(c)} over ${t.tags} tags.`);
  }
  const base = whole ?? c;
  const held = [
    a.bytes !== undefined && base.bytes !== undefined ? `${humanBytes(a.bytes)} (${share(a.bytes, base.bytes)}) in ${t.attributedTags} tags` : `${t.attributedTags} tags`,
    a.outstanding !== undefined && base.outstanding !== undefined ? `${a.outstanding} outstanding allocations (${share(a.outstanding, base.outstanding)})` : '',
  ];
  lines.push(`Attributed to a driver: ${held.filter(Boolean).join(', ')}.`);
  if (shown.rows < shown.of) lines.push(`Showing ${shown.rows} of ${shown.of} ${shown.what}; -n 0 shows all.`);
  return lines;
}

/** Counters as JSON: a counter the report does not have is null, never 0. */
export function countersJson(c: PoolCounters) {
  return { allocs: c.allocs ?? null, frees: c.frees ?? null, outstanding: c.outstanding ?? null, bytes: c.bytes ?? null };
}

/** What `top --json` says about the sums: the rows', the attributed part's, and the report's own total line. */
export function totalsJson(t: Totals, pool: PoolChoice) {
  return {
    pool,
    tags: t.tags,
    rows: countersJson(t.counters),
    attributed: { tags: t.attributedTags, ...countersJson(t.attributed) },
    report: t.reported ? countersJson(t.reported) : null,
    rowsAddUp: !partialOf(t),
  };
}

/** Report-level context every `top --json` body carries. */
export interface TopJsonContext {
  format: string;
  /** usage counters, allocations seen one by one, or per-driver totals (src/reports/types.ts ReportKind). */
  kind: string;
  pool: PoolChoice;
  totals: Totals;
  /** `--processes`/`--pslist` findings, by tag they concern (Proc, Thre). */
  warnings?: { tag: string; message: string }[];
}

function warningsJson(ctx: TopJsonContext) {
  return ctx.warnings ? { warnings: ctx.warnings } : {};
}

export function tagJson(ctx: TopJsonContext, ranks: readonly TagRank[]) {
  return {
    format: ctx.format,
    kind: ctx.kind,
    missing: ctx.totals.missing,
    rows: ranks.map((t) => ({
      tag: formatTag(t.tag),
      tagHex: tagHex(t.tag),
      nonpaged: countersJson(t.row.nonpaged),
      paged: countersJson(t.row.paged),
      ...(t.row.session ? { session: countersJson(t.row.session) } : {}),
      ...(t.row.unknownPool ? { unknownPool: countersJson(t.row.unknownPool) } : {}),
      ...(t.row.free ? { free: t.row.free } : {}),
      perAlloc: perAlloc(t.counters),
      driver: driverLabel(t.attribution.claimants),
      claimants: t.attribution.claimants,
      by: t.attribution.evidence,
      ...(t.attribution.description !== undefined ? { description: t.attribution.description } : {}),
      owners: t.attribution.owners as Owner[],
    })),
    totals: totalsJson(ctx.totals, ctx.pool),
    ...warningsJson(ctx),
  };
}

export function driverJson(ctx: TopJsonContext, ranks: readonly DriverRank[]) {
  const missing = ctx.totals.missing;
  return {
    format: ctx.format,
    kind: ctx.kind,
    missing,
    rows: ranks.map((d) => ({
      driver: d.driver,
      by: d.best,
      tags: d.tags.map((t) => ({
        tag: formatTag(t.tag),
        by: t.attribution.evidence,
        ...(t.attribution.inferred ? { inferred: t.attribution.inferred } : {}),
        outstanding: t.counters.outstanding ?? null,
        bytes: t.counters.bytes ?? null,
      })),
      nonpaged: countersJson(d.nonpaged),
      paged: countersJson(d.paged),
      owners: d.claimants,
    })),
    totals: totalsJson(ctx.totals, ctx.pool),
    ...warningsJson(ctx),
  };
}

function suspectCell(g: TagGrowth | DriverGrowth): string {
  if (!isSuspect(g)) return '';
  const what = [g.steady?.bytes ? 'bytes' : '', g.steady?.outstanding ? 'allocs' : ''].filter(Boolean).join('+');
  return `LEAK? (${what})`;
}

function growthRow(g: TagGrowth | DriverGrowth, style: Style): Record<string, Cell> {
  const first = g.series[0];
  const last = g.series[g.series.length - 1];
  return {
    before: bytesCell(first.bytes, style),
    after: bytesCell(last.bytes, style),
    bytes: style === 'human' ? signedBytes(g.bytes) : style === 'exact' ? signed(g.bytes) : g.bytes,
    outstanding: style === 'csv' ? g.outstanding : signed(g.outstanding),
    suspect: suspectCell(g),
  };
}

const GROWTH_COLUMNS = [
  { key: 'before', title: 'BYTES BEFORE', align: right },
  { key: 'after', title: 'BYTES AFTER', align: right },
  { key: 'bytes', title: 'GROWTH', align: right },
  { key: 'outstanding', title: 'OUTSTANDING +/-', align: right },
  { key: 'suspect', title: 'STEADY' },
];

export function tagGrowthGrid(tags: readonly TagGrowth[], style: Style): Grid {
  return {
    columns: [{ key: 'tag', title: 'TAG' }, ...GROWTH_COLUMNS, { key: 'owner', title: 'OWNER' }],
    rows: tags.map((t) => ({ tag: formatTag(t.tag), ...growthRow(t, style), owner: driverLabel(t.attribution.claimants) })),
  };
}

export function driverGrowthGrid(drivers: readonly DriverGrowth[], style: Style): Grid {
  return {
    columns: [{ key: 'driver', title: 'DRIVER' }, ...GROWTH_COLUMNS, { key: 'madeOf', title: 'GROWING TAGS' }],
    rows: drivers.map((d) => ({
      driver: d.driver,
      ...growthRow(d, style),
      madeOf: d.tags
        .filter((t) => t.bytes > 0)
        .slice(0, TAGS_EXPLAINED)
        .map((t) => (style === 'human' ? `${shortTag(t.tag)} ${signedBytes(t.bytes)}` : style === 'exact' ? `${shortTag(t.tag)} ${signed(t.bytes)}` : `${formatTag(t.tag)} ${t.bytes}`))
        .join(', '),
    })),
  };
}

function growthJsonOf(g: TagGrowth | DriverGrowth) {
  return {
    bytes: g.bytes,
    outstanding: g.outstanding,
    series: g.series.map((c) => ({ bytes: c.bytes, outstanding: c.outstanding })),
    ...(g.steady ? { steady: g.steady, suspect: isSuspect(g) } : {}),
  };
}

export function growthJson(report: GrowthReport, labels: readonly string[], limit: number) {
  return {
    format: 'diff',
    snapshots: labels,
    tags: firstRows(report.tags, limit).map((t) => ({ tag: formatTag(t.tag), ...growthJsonOf(t), owners: t.attribution.owners })),
    drivers: firstRows(report.drivers, limit).map((d) => ({ driver: d.driver, owners: d.claimants, tags: d.tags.map((t) => formatTag(t.tag)), ...growthJsonOf(d) })),
  };
}

/** `Proc (nt)`: a suspect named with its owner. */
export function tagLabelOf(t: TagGrowth): string {
  return `${formatTag(t.tag)} (${driverLabel(t.attribution.claimants)})`;
}
