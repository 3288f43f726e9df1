// `whose-tag db …`: keep pooltag.txt entries in the database, export it, merge fleet databases, show stats.
// Loaded on every start: SQLite and the db modules are imported only inside the handlers.
import type { Argv, CommandModule } from 'yargs';
import { UserError, defaultDbPath } from './common.js';
import { dbOption as dbOptionSpec } from './options.js';
import type { Tier } from '../extract/types.js';
import type { DbStats } from '../db/stats.js';
import { printable } from '../tag.js';

interface DbArgv {
  db?: string;
}

const EXPORT_FORMATS = ['pooltag', 'localtag', 'ndjson', 'csv'] as const;

function dbOption<T>(y: Argv<T>): Argv<T & DbArgv> {
  return y.options(dbOptionSpec) as unknown as Argv<T & DbArgv>;
}

/** The query subcommands (stats, export) read the database only: it may sit in a read-only folder or share. */
async function openExisting(argv: DbArgv) {
  const path = argv.db ?? defaultDbPath();
  const { openDb } = await import('../db/schema.js');
  return { path, db: openDb(path, { readonly: true }) };
}

const importPooltag: CommandModule<DbArgv, DbArgv & { file: string; origin?: string }> = {
  command: 'import-pooltag <file>',
  describe: 'store a pooltag.txt in the database (importing the same origin again replaces it)',
  builder: (y) =>
    dbOption(y)
      .positional('file', { type: 'string', demandOption: true })
      .option('origin', { type: 'string', describe: 'name the entries are kept under (default: the absolute path)' }) as never,
  handler: async (argv) => {
    const [{ readPooltagFile }, { importPooltag: store }, { openDb }, { resolve }] = await Promise.all([
      import('../pooltag/parse.js'),
      import('../db/pooltag-store.js'),
      import('../db/schema.js'),
      import('node:path'),
    ]);
    let file;
    try {
      file = await readPooltagFile(argv.file);
    } catch (e) {
      throw new UserError((e as Error).message);
    }
    const origin = argv.origin ?? resolve(argv.file);
    const dbPath = argv.db ?? defaultDbPath();
    const db = openDb(dbPath);
    try {
      const n = store(db, { ...file, origin });
      process.stdout.write(`imported ${n} entries from ${origin} into ${dbPath}` +
        (file.warnings.length ? ` (${file.warnings.length} lines not understood, first at line ${file.warnings[0].line}: ${file.warnings[0].message})` : '') + '\n');
    } finally {
      db.close();
    }
  },
};

interface ExportArgv extends DbArgv {
  format: (typeof EXPORT_FORMATS)[number];
  out?: string;
  'min-tier'?: Tier;
  microsoft?: boolean;
}

const exportCmd: CommandModule<DbArgv, ExportArgv> = {
  command: 'export',
  describe: 'write the database as pooltag.txt, localtag.txt (poolmon /g, WinDbg), NDJSON or CSV',
  builder: (y) =>
    dbOption(y)
      .option('format', { choices: EXPORT_FORMATS, demandOption: true })
      .option('out', { type: 'string', describe: 'file to write (atomically); default stdout' })
      .option('min-tier', { choices: ['call', 'code', 'data'], describe: 'lowest tier kept (default code for pooltag/localtag, data otherwise)' })
      .option('microsoft', { type: 'boolean', describe: "pooltag/localtag: include Microsoft's drivers too" }) as never,
  handler: async (argv) => {
    const { exportDb, exportToFile } = await import('../db/export.js');
    const { path, db } = await openExisting(argv);
    try {
      const opts = { minTier: argv['min-tier'], includeMicrosoft: argv.microsoft };
      const summary = argv.out
        ? exportToFile(db, argv.format, argv.out, opts)
        : exportDb(db, argv.format, (chunk) => process.stdout.write(chunk), opts);
      const skipped = summary.skipped ? `, ${summary.skipped} skipped (not expressible in ${argv.format} grammar)` : '';
      process.stderr.write(printable(`exported ${summary.written} entries from ${path}${argv.out ? ` to ${argv.out}` : ''}${skipped}`) + '\n');
    } finally {
      db.close();
    }
  },
};

const mergeCmd: CommandModule<DbArgv, { inputs: string[]; out?: string; into?: string; json?: boolean }> = {
  command: 'merge <inputs..>',
  describe: 'merge per-host databases (files, or folders of *.db) into one fleet database (deduplicated by content hash)',
  builder: (y) =>
    y
      .positional('inputs', { type: 'string', array: true, demandOption: true })
      .option('out', { type: 'string', describe: 'fleet database to write (replaced atomically)' })
      .option('into', { type: 'string', describe: 'existing fleet database to add the inputs to, in place (one transaction per input)' })
      .conflicts('out', 'into')
      .check((a) => {
        if (a.out === undefined && a.into === undefined) throw new UserError('db merge needs --out FILE (a new database) or --into FILE (an existing one)');
        return true;
      })
      .option('json', { type: 'boolean' }) as never,
  handler: async (argv) => {
    const { mergeDatabases, mergeInto } = await import('../db/merge.js');
    const target = (argv.into ?? argv.out)!;
    const s = argv.into !== undefined ? mergeInto(argv.inputs, argv.into) : mergeDatabases(argv.inputs, target);
    process.stdout.write(
      argv.json
        ? JSON.stringify({ out: target, ...s }, null, 2) + '\n'
        : `merged ${s.inputs} database${s.inputs === 1 ? '' : 's'} into ${target}: ${s.hosts} hosts, ${s.files} files, ${s.contents} distinct contents, ${s.findings} findings\n`,
    );
  },
};

export function statsText(s: DbStats): string {
  const mb = (s.bytes / 1e6).toFixed(1);
  const by = (r: Record<string, number>) => Object.entries(r).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  const lines = [
    `${s.path}: schema ${s.schemaVersion}, ${mb} MB`,
    `  hosts ${s.hosts}, files ${s.files}, contents ${s.contents}, failures ${s.failures}`,
    `  findings ${s.findings} (${s.distinctTags} distinct tags; by tier: ${by(s.findingsByTier)}; by kind: ${by(s.findingsByKind)}), evidence rows ${s.evidence}`,
    `  pooltag entries: ${s.pooltagEntries.map((p) => `${p.entries} from ${p.origin}`).join(', ') || 'none imported'}`,
  ];
  return lines.join('\n') + '\n';
}

const statsCmd: CommandModule<DbArgv, DbArgv & { json?: boolean }> = {
  command: 'stats',
  describe: 'what the database holds',
  builder: (y) => dbOption(y).option('json', { type: 'boolean' }) as never,
  handler: async (argv) => {
    const { dbStats } = await import('../db/stats.js');
    const { path, db } = await openExisting(argv);
    try {
      const s = dbStats(db, path);
      process.stdout.write(argv.json ? JSON.stringify(s, null, 2) + '\n' : statsText(s));
    } finally {
      db.close();
    }
  },
};

export const dbCommand: CommandModule<object, DbArgv> = {
  command: 'db <command>',
  describe: 'database maintenance: import-pooltag, export, merge, stats',
  builder: (y: Argv<object>) =>
    (y as Argv<DbArgv>)
      .command(importPooltag)
      .command(exportCmd)
      .command(mergeCmd)
      .command(statsCmd)
      .demandCommand(1, 'give a db subcommand: import-pooltag, export, merge or stats'),
  handler: () => undefined,
};
