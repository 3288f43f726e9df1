// The three database commands under yargs as main.ts registers them, for CLI tests that must not depend on
// every other command module being present. Prints errors the way main.ts does.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UserError } from '../../src/cli/common.js';
import { lookupCommand } from '../../src/cli/lookup.js';
import { indexCommand } from '../../src/cli/index-cmd.js';
import { dbCommand } from '../../src/cli/db.js';

const own = lookupCommand.command as string;
try {
  await yargs(hideBin(process.argv))
    .scriptName('whose-tag')
    .command({ ...lookupCommand, command: [own, own.replace(/^\S+/, '$0')] })
    .command(indexCommand)
    .command(dbCommand)
    .strictOptions()
    .fail((msg, err) => {
      if (err) throw err;
      throw new UserError(msg);
    })
    .parseAsync();
} catch (e) {
  const err = e as Error;
  process.stderr.write(`whose-tag: ${err.message}\n`);
  process.exitCode = e instanceof UserError ? e.exitCode : err.name === 'TagSyntaxError' ? 2 : 70;
}
