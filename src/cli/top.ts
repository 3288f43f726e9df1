// `whose-tag top REPORT`: who holds the pool, by tag or by driver, joined with the tag database and
// pooltag.txt. Ranking code loads inside the handler so `whose-tag TAG` starts fast.
import type { Argv, CommandModule } from 'yargs';
import { readFileSync, statSync } from 'node:fs';
import { EXIT, UserError, outputFormat } from './common.js';
import {
  type FormatArgv, type RankArgv, type ReportArgv, byteStyle, bytesOptions, checkWholeNumber, filterOptions, formatOptions, noteWriter, poolOption,
  reportOptions, tagFilters,
} from './options.js';
import { renderGrid, type Grid } from '../render/grid.js';
import { printable } from '../tag.js';
import type { ProcessFinding } from '../rank/processes.js';
import type { SortKey } from '../rank/top.js';
import type { UsageRow } from '../reports/types.js';

interface TopArgv extends ReportArgv, FormatArgv, RankArgv {
  report: string;
  by: 'tag' | 'driver';
  sort: string;
  pool: string;
  n: number;
  processes?: number;
  pslist?: string;
}

export const DEFAULT_ROWS = 20;
/** A process list is a few hundred lines; anything near this size is the wrong file. */
const MAX_PSLIST_BYTES = 64 * 1024 * 1024;

export const topCommand: CommandModule<object, TopArgv> = {
  command: 'top <report>',
  describe: 'rank the tags (or drivers) that hold the most pool in a pool-usage report or snapshot',
  builder: (y: Argv<object>) =>
    y
      .positional('report', { type: 'string', demandOption: true, describe: 'poolmon, !poolused, Rekall/Volatility, !verifier 3, or a capture snapshot' })
      .option('by', { choices: ['tag', 'driver'], default: 'tag', describe: 'one row per tag, or per owning driver (shared tags get their own row)' })
      .option('sort', { choices: ['bytes', 'outstanding', 'allocs', 'frees', 'diff', 'tag'], default: 'bytes', describe: 'diff = allocs - frees, as poolmon' })
      .option('n', { type: 'number', default: DEFAULT_ROWS, describe: 'rows to show, 0 = all' })
      .options({ ...reportOptions, ...poolOption, ...filterOptions, ...bytesOptions, ...formatOptions })
      .option('processes', { type: 'number', describe: 'process count to compare with outstanding Proc allocations' })
      .option('pslist', { type: 'string', describe: 'a pslist/tasklist output whose rows are counted (and threads, if it has Thds)' }) as unknown as Argv<TopArgv>,
  handler: async (argv) => {
    checkWholeNumber('-n', argv.n);
    if (argv.processes !== undefined) checkWholeNumber('--processes', argv.processes);
    const tagQueries = tagFilters(argv);
    const note = noteWriter(argv);
    const [{ readReportFile, reportNotes }, { loadOwnerSource }, top, views] = await Promise.all([
      import('../rank/input.js'),
      import('../rank/owner-source.js'),
      import('../rank/top.js'),
      import('../rank/views.js'),
    ]);
    const report = await readReportFile(argv.report, argv.inputFormat);
    (await reportNotes(report)).forEach(note);
    if (report.kind === 'statement') {
      // Understood, but nothing to rank: say what it is (exit 1, as for a search that found nothing).
      if (outputFormat(argv) === 'json') {
        process.stdout.write(JSON.stringify({ format: report.format, kind: report.kind, statement: report.statement, rows: [] }, null, 2) + '\n');
      } else {
        process.stdout.write(`${printable(`${argv.report}: ${report.statement}`)}\n`);
      }
      process.exitCode = EXIT.notFound;
      return;
    }
    const snapshot = report.snapshots[report.snapshots.length - 1];
    if (report.snapshots.length > 1) {
      note(`${argv.report} holds ${report.snapshots.length} snapshots; ranking the last (whose-tag diff ${argv.report} shows growth)`);
    }
    const sort = argv.sort as SortKey;
    // A driver-level report ranks its drivers' own totals (verifier /query, !verifier statistics).
    const byReportedDriver = Boolean(snapshot.drivers?.length) && (argv.by === 'driver' || report.kind === 'drivers');
    if (report.kind === 'drivers' && argv.by !== 'driver') note(`${argv.report} holds per-driver totals and no tags: ranking drivers`);
    const cannot = byReportedDriver ? undefined : top.unsortable(top.absentCounters(snapshot.rows, argv.pool as 'all'), sort, report.format);
    if (cannot) throw new UserError(cannot);
    const findings = await processFindings(argv, snapshot.rows);
    const owners = await loadOwnerSource({ db: argv.db, pooltag: argv.pooltag, host: argv.host });
    try {
      owners.notes.forEach(note);
      const opts = { pool: argv.pool as 'all', sort, tags: tagQueries, driver: argv.driver };
      const tags = top.rankTags(snapshot.rows, owners.source, opts);
      const format = outputFormat(argv);
      const style = byteStyle(argv, format);
      const reported = byReportedDriver ? await import('../rank/drivers.js') : undefined;
      const drivers = reported ? reported.rankReportedDrivers(snapshot.drivers!, tags, opts) : argv.by === 'driver' ? top.rankDrivers(tags, opts) : undefined;
      const totals = reported ? reported.reportedDriverTotals(drivers!) : top.totals(tags, snapshot, opts.pool, Boolean(tagQueries || argv.driver));
      if (format === 'json') {
        const ctx = { format: report.format, kind: report.kind ?? 'usage', pool: opts.pool, totals, ...(findings ? { warnings: findings } : {}) };
        const body = drivers ? views.driverJson(ctx, views.firstRows(drivers, argv.n)) : views.tagJson(ctx, views.firstRows(tags, argv.n));
        process.stdout.write(JSON.stringify(body, null, 2) + '\n');
        return;
      }
      const grid = views.rankGrid(tags, drivers, totals, opts.pool, style, argv.n);
      grid.footer = [...(grid.footer ?? []), ...(reported ? reported.reportedDriverNotes(snapshot.drivers!) : kindNote(report.kind))];
      if (format === 'csv' && findings?.length) addWarningColumn(grid, findings, Boolean(drivers));
      process.stdout.write(renderGrid(grid, format));
      // A finding is a warning about the machine, not part of the table: stderr, as other warnings.
      for (const f of findings ?? []) process.stderr.write(`whose-tag: warning: ${printable(f.message)}\n`);
    } finally {
      owners.close();
    }
  },
};

/** Listings and traces are not the pool's totals: the table says what its numbers are. */
function kindNote(kind: string | undefined): string[] {
  if (kind === 'allocations') return ['Counted from the allocations the report lists (each block once): what the listing shows, not the pool\'s totals.'];
  if (kind === 'trace') return ['Counted from traced allocation calls: calls and bytes requested, not what is held.'];
  return [];
}

/** CSV carries each finding on the row of the tag it concerns (its driver's row with --by driver). */
function addWarningColumn(grid: Grid, findings: ProcessFinding[], byDriver: boolean): void {
  grid.columns.push({ key: 'warning', title: 'WARNING' });
  for (const r of grid.rows) {
    const mine = findings.filter((f) => (byDriver ? String(r.madeOf ?? '').split(' ').some((x) => x.startsWith(`${f.tag}:`)) : r.tag === f.tag));
    r.warning = mine.map((f) => f.message).join('; ');
  }
}

async function processFindings(argv: TopArgv, rows: UsageRow[]): Promise<ProcessFinding[] | undefined> {
  if (argv.processes === undefined && argv.pslist === undefined) return undefined;
  const { countPslist, processFindings: check } = await import('../rank/processes.js');
  let counts: { processes: number; threads?: number } = { processes: argv.processes ?? 0 };
  if (argv.pslist !== undefined) {
    let text: string;
    try {
      const size = statSync(argv.pslist).size;
      if (size > MAX_PSLIST_BYTES) throw new Error(`${size} bytes is not a process list (expected under ${MAX_PSLIST_BYTES})`);
      text = readFileSync(argv.pslist, 'utf8');
    } catch (e) {
      throw new UserError(`${argv.pslist}: cannot read: ${(e as Error).message}`);
    }
    counts = countPslist(text);
    if (counts.processes === 0) throw new UserError(`${argv.pslist}: no line looks like a process row (expected pslist/tasklist output: name, PID, …)`);
    if (argv.processes !== undefined) counts = { ...counts, processes: argv.processes };
  }
  return check(rows, counts);
}
