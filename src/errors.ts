// The bottom of src/: exit codes and the user-facing error every stage may throw. Nothing here imports
// from the rest of the project, so src/db, src/rank and src/scan need not reach up into src/cli for them.

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
