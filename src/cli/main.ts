// The yargs program: registers one module per command and turns errors into one line and an exit code.
// Command modules import their heavy dependencies (iced-x86, fast-glob, SQLite) lazily, so `whose-tag TAG`
// starts fast.
import { readFileSync } from 'node:fs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { CommandModule } from 'yargs';
import { EXIT, UserError } from './common.js';
import { handleCommandError } from './errors.js';
import { lookupCommand } from './lookup.js';
import { indexCommand } from './index-cmd.js';
import { dbCommand } from './db.js';
import { scanCommand } from './scan.js';
import { inspectCommand } from './inspect.js';
import { topCommand } from './top.js';
import { enrichCommand } from './enrich.js';
import { diffCommand } from './diff.js';
import { captureCommand } from './capture.js';

/**
 * whose-tag's own version. yargs' default looks for the package.json nearest the running process, which
 * for an installed command is the user's project. This module sits two folders below the package root
 * (src/cli/, dist/cli/, and the bundle dist/cli/main.cjs alike).
 */
function ownVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * yargs spreads some messages over lines ("Invalid values:\n  Argument: tier, Given: …, Choices: …"); an
 * error is one line, so a bad choice reads `--tier "bogus": expected one of call, code, data`.
 */
export function usageLine(msg: string): string {
  const choices = [...msg.matchAll(/Argument: ([\w-]+), Given: ("(?:[^"\\]|\\.)*"|\S+), Choices: (.*)/g)];
  if (choices.length) {
    return choices
      .map(([, name, given, list]) => `${name.length === 1 ? '-' : '--'}${name} ${given}: expected one of ${list.replace(/"/g, '')}`)
      .join('; ');
  }
  return msg.replace(/\s*\n\s*/g, ' ').trim();
}

/** `whose-tag Test` is `whose-tag lookup Test`. */
function asDefault(cmd: CommandModule<any, any>): CommandModule<any, any> {
  const own = Array.isArray(cmd.command) ? cmd.command : [cmd.command as string];
  const positional = own[0].replace(/^\S+/, '$0');
  return { ...cmd, command: [...own, positional] };
}

/** Every command, in help order; the first is also the default command. */
export const COMMAND_MODULES: CommandModule<any, any>[] = [
  lookupCommand,
  indexCommand,
  scanCommand,
  inspectCommand,
  topCommand,
  enrichCommand,
  diffCommand,
  captureCommand,
  dbCommand,
];

export function commandName(cmd: CommandModule<any, any>): string {
  const first = Array.isArray(cmd.command) ? cmd.command[0] : String(cmd.command);
  return first.split(' ')[0];
}

export async function main(argv: string[] = hideBin(process.argv)): Promise<void> {
  const program = yargs(argv)
    .scriptName('whose-tag')
    .usage('$0 TAG…  — which driver owns a Windows pool tag\n\n$0 <command> [options]')
    .command(COMMAND_MODULES.map((c, i) => (i === 0 ? asDefault(c) : c)))
    .strictOptions()
    .demandCommand(1, 'give a tag (whose-tag Proc) or a command; see --help')
    .recommendCommands()
    .epilogue(
      'Exit codes: 0 ok, 1 nothing found, 2 bad usage or input, 3 some files failed (the rest was stored), ' +
        '4 unsupported on this platform, 70 internal error.',
    )
    .wrap(Math.min(110, process.stdout.columns || 100))
    // Tags after `--` reach the lookup command in argv['--'] (yargs would otherwise drop them).
    .parserConfiguration({ 'populate--': true })
    .fail((msg, err) => {
      // A coerce function's error (`--db` with no value) comes wrapped in yargs' own error: bad usage.
      if (err && err.name === 'YError') throw new UserError(usageLine(err.message), EXIT.usage);
      if (err) throw err;
      throw new UserError(usageLine(msg ?? 'bad usage'), EXIT.usage);
    })
    .help()
    .alias('h', 'help')
    .version(ownVersion());
  try {
    await program.parseAsync();
  } catch (err) {
    process.exitCode = handleCommandError(err);
  }
}
