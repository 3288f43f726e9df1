// Options several commands share, defined once so their names, defaults and help read the same everywhere.
import { OUTPUT_FORMATS, UserError } from './common.js';
import type { ReportFormat } from '../reports/types.js';

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
] as const satisfies readonly (ReportFormat | 'auto')[];

export const dbOption = {
  db: { type: 'string', describe: 'tag database (default: WHOSE_TAG_DB, then the user data directory)' },
} as const;

export const pooltagOption = {
  pooltag: { type: 'string', describe: 'pooltag.txt (default: WHOSE_TAG_POOLTAG, then the Debugging Tools triage folder)' },
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

/** Options of every command that reads a pool-usage report and names owners. */
export const reportOptions = {
  'input-format': { choices: INPUT_FORMATS, default: 'auto', describe: 'force the report format instead of detecting it' },
  ...dbOption,
  ...pooltagOption,
} as const;

/** What reportOptions put in argv. */
export interface ReportArgv {
  inputFormat: string;
  db?: string;
  pooltag?: string;
}

/** A count option (`-n`, `--processes`, …) must be a whole number >= 0; `note` says what 0 means where it matters. */
export function checkWholeNumber(flag: string, value: number, note = ''): void {
  if (!Number.isInteger(value) || value < 0) throw new UserError(`${flag} ${value}: expected a whole number >= 0${note}`);
}
