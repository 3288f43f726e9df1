// Grids and JSON for the report commands. Tables and Markdown show KB/MB; CSV and JSON keep exact numbers.
import type { Owner } from '../owners.js';
import type { PoolCounters, Report } from '../reports/types.js';
import type { Cell, Grid } from '../render/grid.js';
import { formatTag } from '../tag.js';
import { KMDF_DEFAULT_NOTE, driverLabel } from './attribution.js';
import type { DriverGrowth, GrowthReport, TagGrowth } from './growth.js';
import { isSuspect } from './growth.js';
import type { PoolChoice } from './pool.js';
import type { DriverRank, TagRank, Totals } from './top.js';
import { humanBytes, percent, signed, signedBytes } from './units.js';

export type Style = 'human' | 'exact';

/** How many tags a driver row names in its MADE OF cell. */
export const TAGS_EXPLAINED = 3;

/** The first `n` rows; 0 means all, as `-n 0` does. */
export function firstRows<T>(xs: readonly T[], n: number): readonly T[] {
  return n > 0 ? xs.slice(0, n) : xs;
}

/** An absent counter is a blank cell, never 0. */
function bytesCell(n: number | undefined, style: Style): Cell {
  return n === undefined ? '' : style === 'human' ? humanBytes(n) : n;
}

const right = 'right' as const;

/** OUTSTANDING and BYTES of the chosen pool, then each pool's bytes when both are shown. */
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
  ];
}

function sizeCells(chosen: PoolCounters, nonpaged: PoolCounters, paged: PoolCounters, style: Style) {
  return {
    outstanding: chosen.outstanding,
    bytes: bytesCell(chosen.bytes, style),
    nonpaged: bytesCell(nonpaged.bytes, style),
    paged: bytesCell(paged.bytes, style),
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
    allocs: t.counters.allocs,
    frees: t.counters.frees,
    owner: driverLabel(t.attribution.claimants) + (t.attribution.inferred ? KMDF_DEFAULT_NOTE : ''),
    basis: t.attribution.evidence,
    description: t.attribution.description ?? '',
  }));
  return { columns, rows };
}

/** In a list of "tag size" pairs a padded tag (`Io  `) would read as a gap: show it unpadded there. */
function shortTag(tag: number): string {
  return formatTag(tag).trimEnd();
}

function madeOf(d: DriverRank, style: Style): string {
  if (style === 'exact') return d.tags.map((t) => `${formatTag(t.tag)}:${t.counters.bytes ?? ''}`).join(' ');
  const shown = d.tags.slice(0, TAGS_EXPLAINED).map((t) => (t.counters.bytes === undefined ? shortTag(t.tag) : `${shortTag(t.tag)} ${humanBytes(t.counters.bytes)}`));
  const more = d.tags.length - shown.length;
  return shown.join(', ') + (more > 0 ? ` (+${more} more)` : '');
}

export function driverGrid(ranks: readonly DriverRank[], pool: PoolChoice, style: Style): Grid {
  const columns = [
    { key: 'driver', title: 'DRIVER' },
    { key: 'tags', title: 'TAGS', align: right },
    ...sizeColumns(pool),
    { key: 'madeOf', title: style === 'human' ? 'MADE OF (largest tags)' : 'MADE OF (tag:bytes)' },
  ];
  const rows = ranks.map((d) => ({
    // The biggest tag of the row is only KMDF's default tag: say the driver is named by inference.
    driver: d.driver + (d.tags[0]?.attribution.inferred ? KMDF_DEFAULT_NOTE : ''),
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

/** Like poolmon's totals: everything the report holds in the chosen pool, and how much of it has an owner. */
export function totalsLines(t: Totals, pool: PoolChoice, shown: { rows: number; of: number; what: string }): string[] {
  const c = t.counters;
  const a = t.attributed;
  // A counter the report does not have is left out of the sentence rather than shown as 0.
  const held = [c.bytes !== undefined ? `${humanBytes(c.bytes)} (${c.bytes} bytes)` : '', c.outstanding !== undefined ? `${c.outstanding} outstanding allocations` : '']
    .filter(Boolean).join(' in ');
  const owned = [
    c.bytes !== undefined ? `${humanBytes(a.bytes ?? 0)} (${percent(a.bytes ?? 0, c.bytes)}) in ${t.attributedTags} tags` : `${t.attributedTags} tags`,
    c.outstanding !== undefined ? `${a.outstanding ?? 0} outstanding allocations (${percent(a.outstanding ?? 0, c.outstanding)})` : '',
  ].filter(Boolean).join(', ');
  const lines = [`Total ${pool} pool: ${held || 'no counters'} over ${t.tags} tags; attributed to a driver: ${owned}.`];
  if (shown.rows < shown.of) lines.push(`Showing ${shown.rows} of ${shown.of} ${shown.what}; -n 0 shows all.`);
  return lines;
}

/** An absent counter is null, never 0. */
function countersJson(c: PoolCounters) {
  return { allocs: c.allocs ?? null, frees: c.frees ?? null, outstanding: c.outstanding ?? null, bytes: c.bytes ?? null };
}

/** A report, or just its format name (its numbers are then the kernel's usage counters). */
type ReportKindOf = Pick<Report, 'format' | 'kind'> | string;

function kindOf(r: ReportKindOf): { format: string; kind: Report['kind'] } {
  return typeof r === 'string' ? { format: r, kind: 'usage' } : { format: r.format, kind: r.kind ?? 'usage' };
}

/** `kind` says what the numbers are: the kernel's usage counters, or allocations a tool saw one by one. */
export function tagJson(report: ReportKindOf, ranks: readonly TagRank[]) {
  const { format, kind } = kindOf(report);
  return {
    format,
    kind,
    rows: ranks.map((t) => ({
      tag: formatTag(t.tag),
      nonpaged: countersJson(t.row.nonpaged),
      paged: countersJson(t.row.paged),
      ...(t.row.session ? { session: countersJson(t.row.session) } : {}),
      owners: t.attribution.owners as Owner[],
    })),
  };
}

export function driverJson(report: ReportKindOf, ranks: readonly DriverRank[]) {
  const { format, kind } = kindOf(report);
  return {
    format,
    kind,
    rows: ranks.map((d) => ({
      driver: d.driver,
      tags: d.tags.map((t) => ({
        tag: formatTag(t.tag),
        outstanding: t.counters.outstanding,
        bytes: t.counters.bytes,
        ...(t.attribution.inferred ? { inferred: t.attribution.inferred } : {}),
      })),
      nonpaged: countersJson(d.nonpaged),
      paged: countersJson(d.paged),
      owners: d.claimants,
    })),
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
    bytes: style === 'human' ? signedBytes(g.bytes) : g.bytes,
    outstanding: style === 'human' ? signed(g.outstanding) : g.outstanding,
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
        .map((t) => (style === 'human' ? `${shortTag(t.tag)} ${signedBytes(t.bytes)}` : `${formatTag(t.tag)} ${t.bytes}`))
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
