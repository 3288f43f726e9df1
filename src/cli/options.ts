// Options several commands share, defined once so their names, defaults and help read the same everywhere.
import { OUTPUT_FORMATS, UserError } from './common.js';
import { printable } from '../tag.js';
import type { ReportFormat } from '../reports/types.js';
import { parseTagQuery, type TagQuery } from '../tag.js';

/** Kept in step with src/reports/detect.ts by test/cli/options.test.ts (importing it here would load every parser). */
export const INPUT_FORMATS = [
  'auto',
  'rekall-text',
  'rekall-json',
  'vol2-pooltracker',
  'poolused',
  'poolmon',
  'verifier',
  'whose-tag-snapshot',
  'adhoc',
  'pool',
  'poolfind',
  'vol3-bigpools',
  'vol3-poolscanner',
  'memprocfs-pool',
  'drakvuf-poolmon',
  'verifier-query',
  'windbg-vm',
] as const satisfies readonly (ReportFormat | 'auto')[];

/** `--db` given with no value reaches yargs as '': a usage error, not "use the default database". */
export function pathValue(flag: string): (value: string) => string {
  return (value) => {
    if (value === '' || value === undefined) throw new UserError(`${flag} needs a value (a file path)`);
    // Given twice, yargs makes an array; the last one wins, as for other options.
    return Array.isArray(value) ? pathValue(flag)(value[value.length - 1]) : value;
  };
}

export const dbOption = {
  db: { type: 'string', describe: 'tag database (default: WHOSE_TAG_DB, then the user data directory)', coerce: pathValue('--db') },
} as const;

export const pooltagOption = {
  pooltag: { type: 'string', describe: 'pooltag.txt (default: WHOSE_TAG_POOLTAG, then the Debugging Tools triage folder)', coerce: pathValue('--pooltag') },
} as const;

/** --format and its --json shorthand. */
export const formatOptions = {
  format: { choices: OUTPUT_FORMATS, default: 'table', describe: 'output format' },
  json: { type: 'boolean', describe: 'same as --format json' },
} as const;

/** What formatOptions put in argv. */
export interface FormatArgv {
  format?: string;
  json?: boolean;
}

export const poolOption = {
  pool: { choices: ['nonpaged', 'paged', 'all'], default: 'all', describe: 'which pool to count' },
} as const;

export const quietOption = {
  quiet: { type: 'boolean', alias: 'q', describe: 'no notes on stderr (what was not found, where to get pooltag.txt); warnings and errors stay' },
} as const;

/** Options of every command that reads a pool-usage report and names owners. */
export const reportOptions = {
  'input-format': { choices: INPUT_FORMATS, default: 'auto', describe: 'force the report format instead of detecting it' },
  ...dbOption,
  ...pooltagOption,
  host: { type: 'string', describe: 'the machine the report came from: only drivers the database records on that host are owners' },
  ...quietOption,
} as const;

/** What reportOptions put in argv. */
export interface ReportArgv {
  inputFormat: string;
  db?: string;
  pooltag?: string;
  host?: string;
  quiet?: boolean;
}

/** `--bytes exact` (`-b`): exact byte counts in tables, as poolmon and !poolused print them. */
export const bytesOptions = {
  bytes: { choices: ['human', 'exact'], default: 'human', describe: 'byte counts in tables: human (KB, MB) or exact' },
  b: { type: 'boolean', describe: 'same as --bytes exact' },
} as const;

/** `--tag` and `--driver`: which rows a ranking keeps. */
export const filterOptions = {
  tag: { type: 'string', array: true, describe: "keep only these tags (wildcards as poolmon takes them: 'Nt*', 'Afd?')" },
  driver: { type: 'string', describe: 'keep only tags charged to this driver (tcpip or tcpip.sys; shared tags included)' },
} as const;

export interface RankArgv {
  bytes?: string;
  b?: boolean;
  tag?: string[];
  driver?: string;
}

/** Table cells in KB/MB, or exact numbers (`--bytes exact`, `-b`); CSV cells are always bare numbers. */
export function byteStyle(argv: RankArgv, format: string): 'human' | 'exact' | 'csv' {
  if (format === 'csv') return 'csv';
  return argv.b || argv.bytes === 'exact' ? 'exact' : 'human';
}

/** `--tag` values as tag queries; a malformed one is a usage error naming it. */
export function tagFilters(argv: RankArgv): TagQuery[] | undefined {
  if (!argv.tag?.length) return undefined;
  return argv.tag.map((t) => {
    try {
      return parseTagQuery(String(t));
    } catch (e) {
      throw new UserError(`--tag ${t}: ${(e as Error).message}`);
    }
  });
}

/** Notes go to stderr unless --quiet. */
export function noteWriter(argv: { quiet?: boolean }): (note: string) => void {
  return (note) => {
    if (!argv.quiet) process.stderr.write(`whose-tag: ${printable(note)}\n`);
  };
}

/**
 * A count option (`-n`, `--processes`, `--jobs`, …) must be a whole number >= min; `note` says what 0 means
 * where it matters. yargs turns `-n abc` into NaN: that is "not a number", not "NaN".
 */
export function checkWholeNumber(flag: string, value: number, note = '', min = 0): void {
  if (Number.isNaN(value)) throw new UserError(`${flag}: not a number (expected a whole number >= ${min}${note})`);
  if (!Number.isInteger(value) || value < min) throw new UserError(`${flag} ${value}: expected a whole number >= ${min}${note}`);
}
