// `whose-tag diff BEFORE AFTER [MORE…]`: growth by tag and by driver; with a series of three or more
// snapshots, steady growers are flagged as leak suspects.
import type { Argv, CommandModule } from 'yargs';
import { EXIT, UserError, outputFormat } from './common.js';
import {
  type FormatArgv, type RankArgv, type ReportArgv, byteStyle, bytesOptions, checkWholeNumber, filterOptions, formatOptions, noteWriter, poolOption,
  reportOptions, tagFilters,
} from './options.js';
import { renderGrid } from '../render/grid.js';

interface DiffArgv extends ReportArgv, FormatArgv, RankArgv {
  reports: string[];
  by: 'tag' | 'driver' | 'both';
  sort: 'bytes' | 'outstanding';
  pool: string;
  n: number;
}

export const diffCommand: CommandModule<object, DiffArgv> = {
  command: 'diff <reports..>',
  describe: 'rank tags and drivers by growth between snapshots; flag steady growers across a series',
  builder: (y: Argv<object>) =>
    y
      .positional('reports', { type: 'string', array: true, demandOption: true, describe: 'BEFORE AFTER [MORE…], or one file holding several snapshots' })
      .option('by', { choices: ['tag', 'driver', 'both'], default: 'both' })
      .option('sort', { choices: ['bytes', 'outstanding'], default: 'bytes', describe: 'growth of bytes or of outstanding allocations' })
      .option('n', { type: 'number', default: 20, describe: 'rows to show per table, 0 = all' })
      .options({ ...reportOptions, ...poolOption, ...filterOptions, ...bytesOptions, ...formatOptions }) as unknown as Argv<DiffArgv>,
  handler: async (argv) => {
    checkWholeNumber('-n', argv.n);
    const tagQueries = tagFilters(argv);
    const [{ readSeries, reportNotes }, { loadOwnerSource }, { growth, isSuspect, MIN_SERIES }, views] = await Promise.all([
      import('../rank/input.js'),
      import('../rank/owner-source.js'),
      import('../rank/growth.js'),
      import('../rank/views.js'),
    ]);
    if (outputFormat(argv) === 'csv' && argv.by === 'both') throw new UserError('--format csv prints one table: add --by tag or --by driver');
    const { reports, labels } = await readSeries(argv.reports.map(String), argv.inputFormat);
    for (const r of reports) {
      (await reportNotes(r)).forEach(noteWriter(argv));
      // A statement (global statistics, a header with no rows) has no snapshot to compare.
      if (r.kind === 'statement') throw new UserError(`${r.file}: ${r.statement}`, EXIT.notFound);
    }
    const snapshots = reports.flatMap((r) => r.snapshots);
    if (snapshots.length < 2) {
      throw new UserError(`${argv.reports.join(' ')}: ${snapshots.length} snapshot; diff needs two (BEFORE AFTER) or one file with several (poolmon /n log, capture series)`);
    }
    const owners = await loadOwnerSource({ db: argv.db, pooltag: argv.pooltag, host: argv.host });
    try {
      owners.notes.forEach(noteWriter(argv));
      const result = growth(snapshots, owners.source, { pool: argv.pool as 'all', sort: argv.sort, tags: tagQueries, driver: argv.driver });
      const format = outputFormat(argv);
      if (format === 'json') {
        const body = {
          ...views.growthJson(result, labels, argv.n),
          suspects: result.tags.filter(isSuspect).map((t) => views.tagLabelOf(t)),
        };
        process.stdout.write(JSON.stringify(body, null, 2) + '\n');
        return;
      }
      const style = byteStyle(argv, format);
      const out: string[] = [];
      if (format !== 'csv') out.push(`${snapshots.length} snapshots: ${labels[0]} … ${labels[labels.length - 1]}`, '');
      if (argv.by !== 'driver') {
        const grid = views.tagGrowthGrid(views.firstRows(result.tags, argv.n), style);
        if (format !== 'csv') {
          const suspects = result.tags.filter(isSuspect);
          grid.footer =
            snapshots.length < MIN_SERIES
              ? [`Leak suspects need a series of ${MIN_SERIES} or more snapshots.`]
              : [suspects.length ? `Leak suspects (steady growth): ${suspects.map((t) => views.tagLabelOf(t)).join(', ')}` : 'No steady growers.'];
        }
        out.push(renderGrid(grid, format));
      }
      if (argv.by !== 'tag') out.push(renderGrid(views.driverGrowthGrid(views.firstRows(result.drivers, argv.n), style), format));
      process.stdout.write(out.join(format === 'csv' ? '' : '\n'));
    } finally {
      owners.close();
    }
  },
};
