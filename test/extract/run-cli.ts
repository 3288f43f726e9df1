// Runs the inspect and scan command modules as a process, for cli.test.ts (stdout belongs to the test
// runner inside a test, so commands are run out of process). Maps UserError to its exit code like main.ts.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UserError } from '../../src/cli/common.js';
import { inspectCommand } from '../../src/cli/inspect.js';
import { scanCommand } from '../../src/cli/scan.js';

try {
  await yargs(hideBin(process.argv)).command(inspectCommand).command(scanCommand).strict().fail(false).parseAsync();
} catch (e) {
  process.stderr.write(`whose-tag: ${(e as Error).message}\n`);
  process.exitCode = e instanceof UserError ? e.exitCode : 70;
}
