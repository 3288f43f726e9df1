// `whose-tag index PATH…`: analyse drivers and store their tags. The pipeline (fast-glob, the extractor,
// SQLite) is imported only when this command runs, so other commands start fast.
import type { Argv, CommandModule } from 'yargs';
import { hostname } from 'node:os';
import { EXIT, UserError, defaultDbPath, progressEnabled } from './common.js';
import { checkWholeNumber, dbOption } from './options.js';
import { printable } from '../tag.js';
import type { IndexSummary } from '../index/pipeline.js';

interface IndexArgv {
  paths: string[];
  db?: string;
  host?: string;
  jobs?: number;
  include?: string[];
  exclude?: string[];
  json?: boolean;
}

const MAX_FAILURES_SHOWN = 20;

export function summaryText(s: IndexSummary, dbPath: string): string {
  const lines = [
    `indexed ${s.files} files for host ${s.host} into ${dbPath} in ${s.seconds.toFixed(2)} s ` +
      `(${(s.bytesRead / 1e6).toFixed(1)} MB read, ${s.mbPerSecond.toFixed(1)} MB/s)`,
    `  ${s.new} new, ${s.changed} changed, ${s.unchanged} unchanged, ${s.reused} reused (content already known), ` +
      `${s.analysed} analysed, ${s.failed.length} failed, ${s.pruned} pruned` +
      (s.upgraded > 0 ? `, ${s.upgraded} importers upgraded (exported wrappers)` : ''),
  ];
  if (s.failed.length) {
    lines.push('failed:');
    for (const f of s.failed.slice(0, MAX_FAILURES_SHOWN)) {
      // The reader's message names the file already: the path is shown once.
      const reason = f.message.startsWith(`${f.path}: `) ? f.message.slice(f.path.length + 2) : f.message;
      lines.push(`  ${printable(f.path)}: ${printable(reason)}${f.known ? ' (unchanged since it last failed)' : ''}`);
    }
    const more = s.failed.length - MAX_FAILURES_SHOWN;
    if (more > 0) lines.push(`  … and ${more} more (--json lists them all)`);
  }
  if (s.warnings.length) {
    lines.push('warnings:');
    for (const w of s.warnings.slice(0, MAX_FAILURES_SHOWN)) lines.push(`  ${printable(w.path)}: ${printable(w.message)}`);
    const more = s.warnings.length - MAX_FAILURES_SHOWN;
    if (more > 0) lines.push(`  … and ${more} more (--json lists them all)`);
  }
  return lines.join('\n') + '\n';
}

export const indexCommand: CommandModule<object, IndexArgv> = {
  command: 'index <paths..>',
  describe: 'analyse the drivers under PATHs (folders, files, globs) and store their tags in the database',
  builder: (y: Argv<object>) =>
    y
      .positional('paths', { type: 'string', array: true, demandOption: true, describe: 'folders, files or globs' })
      .options(dbOption)
      .option('host', { type: 'string', describe: 'host the files belong to', default: hostname(), defaultDescription: 'this machine' })
      .option('jobs', { type: 'number', describe: 'extraction worker threads', defaultDescription: 'CPU count' })
      .option('include', { type: 'string', array: true, describe: 'patterns instead of *.sys and kernel images' })
      .option('exclude', { type: 'string', array: true, describe: 'patterns to skip' })
      .option('json', { type: 'boolean', describe: 'print the summary as JSON' }) as unknown as Argv<IndexArgv>,
  handler: async (argv) => {
    const { openDb } = await import('../db/schema.js');
    const { indexPaths } = await import('../index/pipeline.js');
    const { progressBar } = await import('../render/progress.js');
    if (argv.jobs !== undefined) checkWholeNumber('--jobs', argv.jobs, '', 1);
    const { missingPaths, DRIVER_PATTERNS } = await import('../walk/walk.js');
    const missing = await missingPaths(argv.paths.map(String));
    if (missing.length) {
      throw new UserError(`${missing[0]}: no such file or folder${missing.length > 1 ? ` (nor ${missing.slice(1).join(', ')})` : ''}`);
    }
    const dbPath = argv.db ?? defaultDbPath();
    const db = openDb(dbPath);
    const bar = progressEnabled() ? progressBar() : undefined;
    let summary: IndexSummary;
    try {
      summary = await indexPaths(db, argv.paths, {
        host: argv.host,
        jobs: argv.jobs,
        include: argv.include,
        exclude: argv.exclude,
        onProgress: bar ? (p) => bar.update(p) : undefined,
      });
    } finally {
      bar?.done();
      db.close();
    }
    process.stdout.write(argv.json ? JSON.stringify({ db: dbPath, ...summary }, null, 2) + '\n' : summaryText(summary, dbPath));
    if (summary.files === 0 && summary.failed.length === 0) {
      const patterns = argv.include?.join(', ') ?? DRIVER_PATTERNS.join(', ');
      process.stderr.write(`whose-tag: warning: no driver files under ${printable(argv.paths.join(', '))} (looked for ${patterns}; --include changes that)\n`);
    }
    if (summary.failed.length) process.exitCode = EXIT.partial;
  },
};
