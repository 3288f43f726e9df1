// Conventions every command shares: exit codes, user-facing errors, output format choice.

export { EXIT, UserError } from '../errors.js';
export { defaultDbPath } from '../db/location.js';
export { progressEnabled } from '../render/progress.js';

export type OutputFormat = 'table' | 'json' | 'csv' | 'md';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'csv', 'md'];

/** `--json` is shorthand for `--format json`. */
export function outputFormat(argv: { json?: boolean; format?: string }): OutputFormat {
  if (argv.json) return 'json';
  return (argv.format as OutputFormat | undefined) ?? 'table';
}
