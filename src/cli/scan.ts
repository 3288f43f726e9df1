// `whose-tag scan TAG PATH…`: findstr /m /l over files and folders, with each hit labelled by what the
// decoder proves about it (call / code / data). `--raw` prints exactly the paths `grep -rlF -a TAG` prints.
// The work is in ../scan/; this module only reads arguments, through yargs or, for plain invocations, through
// node's parseArgs (parseFastScan), which starts ~150 ms sooner.
import type { Argv, CommandModule } from 'yargs';
import { parseArgs } from 'node:util';
import type { ScanOptions } from '../scan/run.js';

export interface ScanArgv {
  tag: string;
  paths: string[];
  include?: string[];
  exclude?: string[];
  raw?: boolean;
  json?: boolean;
  multichar?: boolean;
  db?: string;
}

/** The options of the yargs builder, for parseArgs; test/cli/scan-args.test.ts keeps the two in step. */
export const FAST_SCAN_OPTIONS = {
  include: { type: 'string', multiple: true },
  exclude: { type: 'string', multiple: true },
  raw: { type: 'boolean' },
  json: { type: 'boolean' },
  multichar: { type: 'boolean' },
  db: { type: 'string' },
} as const;

/** yargs' (or parseArgs') view of the arguments as runScan takes them. */
export function toScanOptions(a: ScanArgv): ScanOptions {
  return {
    tag: a.tag,
    paths: a.paths,
    include: a.include,
    exclude: a.exclude,
    raw: Boolean(a.raw),
    json: Boolean(a.json),
    multichar: Boolean(a.multichar),
    db: a.db,
  };
}

/**
 * `scan` arguments when they are plainly well-formed, else undefined: the full yargs program then takes
 * over, so help, errors and odd spellings (`--no-raw`, `--raw=true`, `--`) behave exactly as documented.
 */
export function parseFastScan(argv: string[]): ScanOptions | undefined {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, tokens: true, options: FAST_SCAN_OPTIONS });
  } catch {
    return undefined;
  }
  const { values, positionals, tokens } = parsed;
  if (positionals[0] !== 'scan' || positionals.length < 3) return undefined;
  for (const [i, t] of tokens.entries()) {
    if (t.kind === 'option-terminator') return undefined;
    // yargs lets an array option swallow the words after it (`--include *.sys dir`): leave that to yargs.
    if (t.kind === 'option' && (t.name === 'include' || t.name === 'exclude') && tokens[i + 1]?.kind === 'positional') return undefined;
  }
  return toScanOptions({
    tag: positionals[1],
    paths: positionals.slice(2),
    include: values.include,
    exclude: values.exclude,
    raw: values.raw,
    json: values.json,
    multichar: values.multichar,
    db: values.db,
  });
}

export const scanCommand: CommandModule<object, ScanArgv> = {
  command: 'scan <tag> <paths..>',
  describe: 'find the files containing a tag\'s bytes (like findstr /m /l) and say whether code proves it is a tag',
  builder: (y: Argv<object>) =>
    y
      .positional('tag', { type: 'string', demandOption: true, describe: "an exact tag: Proc, 0x636f7250, or 'corP' with --multichar" })
      .positional('paths', { type: 'string', array: true, demandOption: true, describe: 'files, folders or globs' })
      .option('include', { type: 'string', array: true, describe: 'patterns searched inside folders (default: every file)' })
      .option('exclude', { type: 'string', array: true, describe: 'patterns to skip' })
      .option('raw', { type: 'boolean', describe: 'print only the paths, exactly as grep -rlF -a does' })
      .option('json', { type: 'boolean', describe: 'one JSON object per matching file (NDJSON)' })
      .option('multichar', { type: 'boolean', describe: "read 'corP' as the C constant, reversed" })
      .option('db', { type: 'string', describe: 'tag database whose analyses of indexed, unchanged files spare decoding (default: as for lookups; never changes the output)' }) as unknown as Argv<ScanArgv>,
  handler: async (argv) => {
    const { runScan } = await import('../scan/run.js');
    await runScan(toScanOptions(argv));
  },
};

/** Runs the scan when the arguments are plainly one; false means "use the full program". */
export async function tryFastScan(argv: string[]): Promise<boolean> {
  const opts = parseFastScan(argv);
  if (!opts) return false;
  const [{ runScan }, { handleCommandError }] = await Promise.all([import('../scan/run.js'), import('./errors.js')]);
  try {
    await runScan(opts);
  } catch (err) {
    process.exitCode = handleCommandError(err);
  }
  return true;
}
