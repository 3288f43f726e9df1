// `whose-tag top REPORT`: who holds the pool, by tag or by driver, joined with the tag database and
// pooltag.txt. Ranking code loads inside the handler so `whose-tag TAG` starts fast.
import type { Argv, CommandModule } from 'yargs';
import { readFileSync, statSync } from 'node:fs';
import { EXIT, UserError, outputFormat } from './common.js';
import { type FormatArgv, type ReportArgv, checkWholeNumber, formatOptions, poolOption, reportOptions } from './options.js';
import { renderGrid } from '../render/grid.js';

interface TopArgv extends ReportArgv, FormatArgv {
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
      .options({ ...reportOptions, ...poolOption, ...formatOptions })
      .option('processes', { type: 'number', describe: 'process count to compare with outstanding Proc allocations' })
      .option('pslist', { type: 'string', describe: 'a pslist/tasklist output whose rows are counted (and threads, if it has Thds)' }) as unknown as Argv<TopArgv>,
  handler: async (argv) => {
    checkWholeNumber('-n', argv.n);
    if (argv.processes !== undefined) checkWholeNumber('--processes', argv.processes);
    const [{ readReportFile, reportNotes }, { loadOwnerSource }, top, views] = await Promise.all([
      import('../rank/input.js'),
      import('../rank/owner-source.js'),
      import('../rank/top.js'),
      import('../rank/views.js'),
    ]);
    const report = await readReportFile(argv.report, argv.inputFormat);
    for (const note of await reportNotes(report)) process.stderr.write(`whose-tag: ${note}\n`);
    if (report.kind === 'statement') {
      // Understood, but nothing to rank: say what it is (exit 1, as for a search that found nothing).
      if (outputFormat(argv) === 'json') {
        process.stdout.write(JSON.stringify({ format: report.format, kind: report.kind, statement: report.statement, rows: [] }, null, 2) + '\n');
      } else {
        process.stdout.write(`${argv.report}: ${report.statement}\n`);
      }
      process.exitCode = EXIT.notFound;
      return;
    }
    const snapshot = report.snapshots[report.snapshots.length - 1];
    if (report.snapshots.length > 1) {
      process.stderr.write(`whose-tag: ${argv.report} holds ${report.snapshots.length} snapshots; ranking the last (whose-tag diff ${argv.report} shows growth)\n`);
    }
    const warnings = await processWarnings(argv, snapshot.rows);
    const owners = await loadOwnerSource({ db: argv.db, pooltag: argv.pooltag });
    try {
      for (const note of owners.notes) process.stderr.write(`whose-tag: ${note}\n`);
      const opts = { pool: argv.pool as 'all', sort: argv.sort as 'bytes' };
      const tags = top.rankTags(snapshot.rows, owners.source, opts);
      const format = outputFormat(argv);
      const style = format === 'csv' ? 'exact' : 'human';
      const drivers = argv.by === 'driver' ? top.rankDrivers(tags, opts) : undefined;
      if (format === 'json') {
        const body = drivers ? views.driverJson(report, views.firstRows(drivers, argv.n)) : views.tagJson(report, views.firstRows(tags, argv.n));
        process.stdout.write(JSON.stringify(body, null, 2) + '\n');
      } else {
        const grid = views.rankGrid(tags, drivers, top.totals(tags), opts.pool, style, argv.n);
        grid.footer = [...(grid.footer ?? []), ...warnings.map((w) => `Warning: ${w}`)];
        process.stdout.write(renderGrid(grid, format));
      }
      if (format === 'json' || format === 'csv') for (const w of warnings) process.stderr.write(`whose-tag: warning: ${w}\n`);
    } finally {
      owners.close();
    }
  },
};

async function processWarnings(argv: TopArgv, rows: import('../reports/types.js').UsageRow[]): Promise<string[]> {
  if (argv.processes === undefined && argv.pslist === undefined) return [];
  const { countPslist, checkProcessCounts } = await import('../rank/processes.js');
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
  return checkProcessCounts(rows, counts);
}
