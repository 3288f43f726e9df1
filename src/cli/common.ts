// Conventions every command shares: exit codes, user-facing errors, output format choice.
import { homedir, platform } from 'node:os';
import { join } from 'node:path';

/**
 * Exit codes (documented in the README):
 * 0 success (lookup: at least one owner found); 1 nothing found (lookup/scan found no match);
 * 2 bad usage or bad input (unparseable report, bad tag, unreadable file); 3 partial: some files failed
 * (index kept going and stored the rest); 4 unsupported on this platform (capture off Windows);
 * 70 internal error (a bug or a broken installation: the message says which).
 */
export const EXIT = { ok: 0, notFound: 1, usage: 2, partial: 3, unsupported: 4, internal: 70 } as const;

/** An error meant for the user: printed as one line, no stack, with its exit code. */
export class UserError extends Error {
  constructor(message: string, public readonly exitCode: number = EXIT.usage) {
    super(message);
    this.name = 'UserError';
  }
}

export type OutputFormat = 'table' | 'json' | 'csv' | 'md';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'csv', 'md'];

/** `--json` is shorthand for `--format json`. */
export function outputFormat(argv: { json?: boolean; format?: string }): OutputFormat {
  if (argv.json) return 'json';
  return (argv.format as OutputFormat | undefined) ?? 'table';
}

/** Database path: --db, then WHOSE_TAG_DB, then the user's data directory. */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WHOSE_TAG_DB) return env.WHOSE_TAG_DB;
  if (platform() === 'win32') {
    return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'whose-tag', 'tags.db');
  }
  return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'whose-tag', 'tags.db');
}

/** Progress goes to stderr and only when a person is watching. */
export function progressEnabled(): boolean {
  return Boolean(process.stderr.isTTY) && !process.env.CI;
}
