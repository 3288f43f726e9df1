// Runs the real program, out of process, the way a user does: bin/whose-tag.cjs, forced onto the TypeScript
// sources so a test never exercises a stale dist/ build.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = fileURLToPath(new URL('../../bin/whose-tag.cjs', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Who the program runs as (test/db/readonly.test.ts drops root's rights so that chmod binds). */
export interface RunAs {
  uid?: number;
  gid?: number;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT, as: RunAs = {}): CliResult {
  return runProgram(BIN, args, { WHOSE_TAG_FROM_SOURCE: '1', ...env }, cwd, as);
}

/** Runs a launcher as it is, compiled build and bundles included (test/cli/launcher.test.ts). */
export function runProgram(bin: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT, as: RunAs = {}): CliResult {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
    ...as,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
