// `whose-tag enrich REPORT`: the report as it was, each row with its owner and description appended.
import type { Argv, CommandModule } from 'yargs';
import { readFileSync } from 'node:fs';
import { type ReportArgv, noteWriter, reportOptions } from './options.js';
import { printable } from '../tag.js';

interface EnrichArgv extends ReportArgv {
  report: string;
  json?: boolean;
}

export const enrichCommand: CommandModule<object, EnrichArgv> = {
  command: 'enrich <report>',
  describe: 'print a pool-usage report line for line with owner and description columns added to its rows',
  builder: (y: Argv<object>) =>
    y
      .positional('report', { type: 'string', demandOption: true })
      .options({ ...reportOptions, json: { type: 'boolean', describe: 'one JSON object per report line: text and the rows it carries, with owners' } }) as unknown as Argv<EnrichArgv>,
  handler: async (argv) => {
    const [{ readReportFile, reportNotes }, { loadOwnerSource }, { enrichNdjson, enrichText }, { decodeReport, normalizeText }] = await Promise.all([
      import('../rank/input.js'),
      import('../rank/owner-source.js'),
      import('../rank/enrich.js'),
      import('../reports/index.js'),
    ]);
    const report = await readReportFile(argv.report, argv.inputFormat);
    (await reportNotes(report)).forEach(noteWriter(argv));
    if (report.statement) process.stderr.write(`whose-tag: ${printable(`${argv.report}: ${report.statement}`)}\n`);
    // The same decoding the parser used, so row line numbers point at the same lines.
    const text = normalizeText(decodeReport(readFileSync(argv.report)));
    const owners = await loadOwnerSource({ db: argv.db, pooltag: argv.pooltag, host: argv.host });
    try {
      owners.notes.forEach(noteWriter(argv));
      if (argv.json) {
        process.stdout.write(enrichNdjson(text, report, owners.source) + '\n');
        return;
      }
      const out = enrichText(text, report, owners.source);
      process.stdout.write(out.endsWith('\n') ? out : out + '\n');
    } finally {
      owners.close();
    }
  },
};
