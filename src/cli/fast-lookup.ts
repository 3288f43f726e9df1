// `whose-tag TAG` is the command people type most, so it skips yargs (about 100 ms of module loading):
// when the arguments are plainly a lookup, node's own parseArgs reads them. Anything else — a command
// name, --help, an unknown option, a bad choice — returns false and the full yargs program takes over,
// so messages and behaviour stay those of `whose-tag lookup`.
import { parseArgs } from 'node:util';
import { handleCommandError } from './errors.js';
import { LOOKUP_CHOICES, runLookup, type LookupOptions } from './lookup.js';

/** First words that mean a command, not a tag. Kept in step with main.ts by test/cli/fast-lookup.test.ts. */
export const COMMAND_NAMES = ['lookup', 'index', 'scan', 'inspect', 'top', 'enrich', 'diff', 'capture', 'db'] as const;

export function parseFastLookup(argv: string[]): LookupOptions | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        db: { type: 'string' },
        pooltag: { type: 'string' },
        multichar: { type: 'boolean' },
        kind: { type: 'string' },
        tier: { type: 'string' },
        json: { type: 'boolean' },
        format: { type: 'string' },
        hosts: { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
      },
    });
  } catch {
    return undefined;
  }
  const { values } = parsed;
  // `whose-tag lookup TAG…` is plainly a lookup too (and `lookup -- -UMD` the way to give a tag starting with -).
  const positionals = parsed.positionals[0] === 'lookup' ? parsed.positionals.slice(1) : parsed.positionals;
  if (positionals.length === 0 || (parsed.positionals[0] !== 'lookup' && (COMMAND_NAMES as readonly string[]).includes(positionals[0]))) return undefined;
  for (const key of ['kind', 'tier', 'format'] as const) {
    const v = values[key];
    if (v !== undefined && !(LOOKUP_CHOICES[key] as readonly string[]).includes(v)) return undefined;
  }
  return {
    tags: positionals,
    db: values.db,
    pooltag: values.pooltag,
    multichar: values.multichar,
    kind: (values.kind ?? 'all') as LookupOptions['kind'],
    tier: values.tier as LookupOptions['tier'],
    json: values.json,
    format: values.format ?? 'table',
    hosts: values.hosts,
    ...(values.quiet ? { quiet: true } : {}),
  };
}

/** Runs the lookup when the arguments are plainly one; false means "use the full program". */
export async function tryFastLookup(argv: string[]): Promise<boolean> {
  const opts = parseFastLookup(argv);
  if (!opts) return false;
  try {
    await runLookup(opts);
  } catch (err) {
    process.exitCode = handleCommandError(err);
  }
  return true;
}
