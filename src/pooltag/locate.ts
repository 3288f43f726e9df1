// Where the user's pooltag.txt is: an explicit path, the environment, then the Debugging Tools install.
import { existsSync } from 'node:fs';
import { win32 } from 'node:path';

export interface LocateOptions {
  /** `--pooltag PATH`: used as given, even if missing, so the read reports the user's own path. */
  explicit?: string;
  env?: NodeJS.ProcessEnv;
  platform?: string;
  exists?: (path: string) => boolean;
}

export const POOLTAG_ENV = 'WHOSE_TAG_POOLTAG';

/** Said once per run when no pooltag.txt answers: where Microsoft's file comes from, and how to use it. */
export const POOLTAG_NOTE =
  "no pooltag.txt: Microsoft's ships with the Debugging Tools for Windows (Windows SDK/WDK), in " +
  'Debuggers\\x64\\triage\\pooltag.txt; pass --pooltag FILE, set WHOSE_TAG_POOLTAG, or keep it in the database ' +
  'with whose-tag db import-pooltag FILE (--quiet silences notes)';

const KIT_ARCHES = ['x64', 'x86', 'arm64'];

/** Windows environment names are case-insensitive; an injected env object is not. */
function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  if (env[name] !== undefined) return env[name];
  const key = Object.keys(env).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : env[key];
}

/** The Debugging Tools' triage folders, most likely first. */
export function windowsCandidates(env: NodeJS.ProcessEnv): string[] {
  const pf86 = envValue(env, 'ProgramFiles(x86)') ?? 'C:\\Program Files (x86)';
  const pf = envValue(env, 'ProgramW6432') ?? envValue(env, 'ProgramFiles') ?? 'C:\\Program Files';
  const roots = [...new Set([pf86, pf])];
  const out: string[] = [];
  const kits = (version: string) => {
    for (const root of roots) {
      for (const arch of KIT_ARCHES) {
        out.push(win32.join(root, 'Windows Kits', version, 'Debuggers', arch, 'triage', 'pooltag.txt'));
      }
    }
  };
  kits('10');
  // The standalone pre-Windows-8 package, then the 8.1 kit: both still found on build machines.
  for (const root of roots) {
    for (const pkg of ['Debugging Tools for Windows (x64)', 'Debugging Tools for Windows (x86)']) {
      out.push(win32.join(root, pkg, 'triage', 'pooltag.txt'));
    }
  }
  kits('8.1');
  return out;
}

export function locatePooltag(opts: LocateOptions = {}): string | undefined {
  if (opts.explicit) return opts.explicit;
  const env = opts.env ?? process.env;
  const fromEnv = env[POOLTAG_ENV];
  if (fromEnv) return fromEnv;
  if ((opts.platform ?? process.platform) !== 'win32') return undefined;
  const exists = opts.exists ?? existsSync;
  return windowsCandidates(env).find((p) => exists(p));
}
