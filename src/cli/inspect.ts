// `whose-tag inspect FILE`: every tag of one driver, grouped by tier, with the evidence for each.
// The extractor (iced-x86) is imported only when this command runs.
import type { Argv, CommandModule } from 'yargs';
import { readFile } from 'node:fs/promises';
import { UserError, outputFormat } from './common.js';
import { type FormatArgv, formatOptions } from './options.js';
import { allocationsFirst, evidenceApi, evidenceJson, kindText, moreText } from '../render/evidence.js';
import { renderGrid, type Grid } from '../render/grid.js';
import { formatTag, printable, tagHex } from '../tag.js';
import type { DriverReport, ExportedWrapper } from '../extract/types.js';
import { existsSync } from 'node:fs';

interface InspectArgv extends FormatArgv {
  file: string;
  db?: string;
}

const hex = (n: number | undefined) => (n === undefined ? '' : '0x' + n.toString(16));

/** One row per evidence item (the extractor keeps at most MAX_EVIDENCE per tag), best tier first. */
export function inspectGrid(r: DriverReport): Grid {
  const rows: Grid['rows'] = [];
  for (const f of r.findings) {
    const evidence = allocationsFirst(f.evidence);
    for (const e of evidence) {
      rows.push({
        tier: f.tier,
        tag: formatTag(f.tag),
        value: tagHex(f.tag),
        kind: kindText(f),
        sites: f.sites,
        seen: e.tier,
        section: e.section,
        rva: hex(e.rva),
        api: evidenceApi(e),
        via: [hex(e.via), e.viaExport ?? ''].filter(Boolean).join(', '),
        from: e.heldIn ?? '',
        instruction: e.instruction ?? '',
      });
    }
    // The extractor keeps MAX_EVIDENCE sites per tag: say how many more there are.
    const more = moreText(evidence.length, f.sites);
    if (more) rows.push({ tier: f.tier, tag: formatTag(f.tag), value: tagHex(f.tag), kind: kindText(f), sites: f.sites, seen: more });
  }
  const count = (tier: string) => r.findings.filter((f) => f.tier === tier).length;
  const footer = [
    `${printable(r.path ?? 'image')}: ${r.machine}, ${r.findings.length} tags (${count('call')} call, ${count('code')} code, ${count('data')} data), ` +
      `${r.wrappers.length} wrapper functions; tag APIs imported: ${r.tagApis.join(', ') || 'none'}`,
    ...(r.exportedWrappers.length
      ? [`exported wrappers: ${r.exportedWrappers.map((w) => `${w.module}!${w.name ?? '#' + w.ordinal} (parameter ${w.param + 1} → ${w.api})`).join(', ')}`]
      : []),
    ...r.warnings.map((w) => `warning: ${printable(w)}`),
  ];
  return {
    columns: [
      { key: 'tier', title: 'TIER' },
      { key: 'tag', title: 'TAG' },
      { key: 'value', title: 'VALUE' },
      { key: 'kind', title: 'KIND' },
      { key: 'sites', title: 'SITES' },
      { key: 'seen', title: 'SEEN AS' },
      { key: 'section', title: 'SECTION' },
      { key: 'rva', title: 'RVA', align: 'right' },
      { key: 'api', title: 'API' },
      { key: 'via', title: 'VIA', align: 'left' },
      { key: 'from', title: 'FROM' },
      { key: 'instruction', title: 'INSTRUCTION' },
    ],
    rows,
    footer,
  };
}

/** What the file is, before its tags: people check they inspect the build they think they do. */
export function inspectHeader(r: DriverReport): string {
  const v = r.version ?? {};
  const names = [v.ProductName, v.FileVersion && `version ${v.FileVersion}`, v.CompanyName && `(${v.CompanyName})`].filter(Boolean);
  const lines = [`${printable(r.path ?? 'image')}: ${r.machine}, ${r.size} bytes, sha256 ${r.sha256}`];
  if (names.length) lines.push(`  ${names.join(' ')}${v.OriginalFilename ? `, original name ${v.OriginalFilename}` : ''}`);
  if (r.memoryLayout) lines.push(`  ${r.memoryLayout}; read by RVA`);
  return lines.join('\n') + '\n\n';
}

/** The report with tags in display form and RVAs in hex (as the table shows them), for JSON readers. */
export function inspectJson(r: DriverReport): unknown {
  // The import list is the database's (to find importers of exported wrappers), not part of the report.
  const { imports: _imports, ...rest } = r;
  return {
    ...rest,
    layout: r.memoryLayout ? 'memory' : 'file',
    findings: r.findings.map((f) => ({
      ...f,
      tag: formatTag(f.tag),
      value: tagHex(f.tag),
      evidence: allocationsFirst(f.evidence).map(evidenceJson),
      moreSites: Math.max(0, f.sites - f.evidence.length),
    })),
    wrappers: r.wrappers.map((w) => ({ ...w, rva: hex(w.rva) })),
  };
}

export const inspectCommand: CommandModule<object, InspectArgv> = {
  command: 'inspect <file>',
  describe: 'show every tag one driver uses, by tier, with evidence (section, RVA, API, wrapper, instruction)',
  builder: (y: Argv<object>) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'a driver or kernel image (PE)' })
      .options({
        db: { type: 'string', describe: "also use the exported wrappers of the drivers in this database (calls to another driver's tag-taking exports)" },
      })
      .options(formatOptions) as unknown as Argv<InspectArgv>,
  handler: async (argv) => {
    let buf: Buffer;
    try {
      buf = await readFile(argv.file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EISDIR') throw new UserError(`${argv.file}: is a folder; inspect reads one driver file (whose-tag index ${argv.file} reads a folder)`);
      throw new UserError(`${argv.file}: cannot read: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    let exportedWrappers: ExportedWrapper[] | undefined;
    if (argv.db !== undefined) {
      if (!existsSync(argv.db)) throw new UserError(`${argv.db}: no such database (whose-tag index DIR --db ${argv.db} builds it)`);
      const [{ openDb }, { IndexStore }] = await Promise.all([import('../db/schema.js'), import('../db/store.js')]);
      const db = openDb(argv.db, { readonly: true });
      try {
        exportedWrappers = new IndexStore(db).exportedWrappers();
      } finally {
        db.close();
      }
    }
    const { extractTags } = await import('../extract/extract.js');
    const report = extractTags(buf, { path: argv.file, exportedWrappers });
    const format = outputFormat(argv);
    if (format === 'json') process.stdout.write(JSON.stringify(inspectJson(report), null, 2) + '\n');
    else process.stdout.write((format === 'table' ? inspectHeader(report) : '') + renderGrid(inspectGrid(report), format));
  },
};
