// Where the tag database lives when no --db is given.
import { homedir, platform } from 'node:os';
import { join } from 'node:path';

/** Database path: --db, then WHOSE_TAG_DB, then the user's data directory. */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WHOSE_TAG_DB) return env.WHOSE_TAG_DB;
  if (platform() === 'win32') {
    return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'whose-tag', 'tags.db');
  }
  return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'whose-tag', 'tags.db');
}
