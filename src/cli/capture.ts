// `whose-tag capture`: live pool counters on Windows, written as whose-tag snapshots that top, enrich
// and diff read. koffi and the query code load only on win32.
import type { Argv, CommandModule } from 'yargs';
import { EXIT, UserError } from './common.js';
import { checkWholeNumber, dbOption, pooltagOption } from './options.js';
import { printable } from '../tag.js';

interface CaptureArgv {
  out?: string;
  interval: number;
  count: number;
  top?: number;
  session?: boolean;
  by: 'tag' | 'driver';
  db?: string;
  pooltag?: string;
}

/** Bounds that keep a typo from running for days. */
const MAX_COUNT = 100_000;
const MAX_INTERVAL = 86_400;

export function checkCaptureArgs(argv: Pick<CaptureArgv, 'count' | 'interval' | 'top'>): void {
  if (!Number.isInteger(argv.count) || argv.count < 1 || argv.count > MAX_COUNT) throw new UserError(`--count ${argv.count}: expected a whole number from 1 to ${MAX_COUNT}`);
  if (!(argv.interval > 0 && argv.interval <= MAX_INTERVAL)) throw new UserError(`--interval ${argv.interval}: expected seconds, more than 0 and at most ${MAX_INTERVAL}`);
  if (argv.top !== undefined) checkWholeNumber('--top', argv.top, ' (0 = all)');
}

export function unsupportedPlatform(platform: string): UserError {
  return new UserError(
    `capture reads live pool counters with NtQuerySystemInformation and runs on Windows only (this is ${platform}); ` +
      'rank a saved report instead: whose-tag top FILE',
    EXIT.unsupported,
  );
}

export const captureCommand: CommandModule<object, CaptureArgv> = {
  command: 'capture',
  describe: 'Windows: snapshot the live pool tag counters (a series with --interval/--count, a live ranking with --top)',
  builder: (y: Argv<object>) =>
    y
      .option('out', { type: 'string', describe: 'write the snapshot (or NDJSON series) to FILE, atomically; default: stdout' })
      .option('interval', { type: 'number', default: 5, describe: 'seconds between snapshots' })
      .option('count', { type: 'number', default: 1, describe: 'number of snapshots' })
      .option('top', { type: 'number', describe: 'print a live ranking of N tags with owners after each snapshot (0 = all)' })
      .option('by', { choices: ['tag', 'driver'], default: 'tag', describe: 'rows of the --top ranking' })
      .option('session', { type: 'boolean', describe: 'add session pool counters (class 67)' })
      .options({ ...dbOption, ...pooltagOption }) as unknown as Argv<CaptureArgv>,
  handler: async (argv) => {
    if (process.platform !== 'win32') throw unsupportedPlatform(process.platform);
    checkCaptureArgs(argv);
    const [{ captureLive }, { runCapture }, { CaptureDecodeError }, { NtQueryError }] = await Promise.all([
      import('../capture/windows.js'),
      import('../capture/run.js'),
      import('../capture/decode.js'),
      import('../capture/query.js'),
    ]);
    const ranking = argv.top !== undefined ? await liveRanking(argv) : undefined;
    let interrupted = false;
    let wake: (() => void) | undefined;
    const onSigint = () => {
      interrupted = true;
      wake?.();
    };
    process.on('SIGINT', onSigint);
    try {
      const taken = await runCapture(
        { count: argv.count, interval: argv.interval, out: argv.out, top: argv.top },
        {
          take: () => captureLive({ session: Boolean(argv.session) }),
          sleep: (ms) =>
            new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, ms);
              wake = () => {
                clearTimeout(timer);
                resolve();
              };
            }),
          stdout: (text) => process.stdout.write(text),
          ranking: ranking?.render,
          stopped: () => interrupted,
        },
      );
      if (argv.out) process.stderr.write(`whose-tag: wrote ${taken} snapshot${taken === 1 ? '' : 's'} to ${printable(argv.out)}\n`);
    } catch (e) {
      if (e instanceof CaptureDecodeError || e instanceof NtQueryError) throw new UserError(e.message);
      throw e;
    } finally {
      process.off('SIGINT', onSigint);
      ranking?.close();
    }
  },
};

/** poolmon-like screen: the top N with owners, redrawn in place when a person is watching. */
async function liveRanking(argv: CaptureArgv) {
  const [{ loadOwnerSource }, top, views, { renderGrid }] = await Promise.all([
    import('../rank/owner-source.js'),
    import('../rank/top.js'),
    import('../rank/views.js'),
    import('../render/grid.js'),
  ]);
  const owners = await loadOwnerSource({ db: argv.db, pooltag: argv.pooltag });
  for (const note of owners.notes) process.stderr.write(`whose-tag: ${printable(note)}\n`);
  const n = argv.top ?? 0;
  const opts = { pool: 'all' as const, sort: 'bytes' as const };
  return {
    render(snapshot: import('../reports/snapshot.js').SnapshotInput, index: number): string {
      const tags = top.rankTags(snapshot.rows, owners.source, opts);
      const drivers = argv.by === 'driver' ? top.rankDrivers(tags, opts) : undefined;
      const grid = views.rankGrid(tags, drivers, top.totals(tags), opts.pool, 'human', n);
      const clear = process.stdout.isTTY ? '\x1b[2J\x1b[H' : '';
      return `${clear}${snapshot.host ?? ''} ${snapshot.time ?? ''} (snapshot ${index} of ${argv.count})\n${renderGrid(grid, 'table')}\n`;
    },
    close: () => owners.close(),
  };
}
