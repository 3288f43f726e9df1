// `whose-tag TAG…` / `whose-tag lookup TAG…`: owners from the database and pooltag.txt. This module is loaded
// on every start, so SQLite and the pooltag reader are imported only inside the handler.
import type { Argv, CommandModule } from 'yargs';
import { existsSync } from 'node:fs';
import { EXIT, OUTPUT_FORMATS, UserError, defaultDbPath, outputFormat } from './common.js';
import { dbOption, noteWriter, pooltagOption, quietOption } from './options.js';
import { POOLTAG_NOTE } from '../pooltag/locate.js';
import { allocationsFirst, evidenceJson, evidenceText, kindText, moreText } from '../render/evidence.js';
import { renderGrid, type Grid } from '../render/grid.js';
import { formatTag, printable, parseTagQuery, tagHex } from '../tag.js';
import type { TagKind, Tier } from '../extract/types.js';
import { type DbOwnerHit, type LookupResult, FEW_HOSTS } from '../db/lookup.js';

export interface LookupOptions {
  tags: string[];
  db?: string;
  pooltag?: string;
  multichar?: boolean;
  kind?: TagKind | 'all';
  /** Minimum tier of evidence. */
  tier?: Tier;
  json?: boolean;
  format?: string;
  /** List every host (and path) of each owner instead of counting them. */
  hosts?: boolean;
  quiet?: boolean;
}

const MAX_EVIDENCE_SHOWN = 2;

function evidenceCell(h: DbOwnerHit): string {
  const shown = allocationsFirst(h.evidence).slice(0, MAX_EVIDENCE_SHOWN).map(evidenceText);
  if (shown.length === 0) return `${h.sites} site${h.sites === 1 ? '' : 's'}`;
  const more = moreText(shown.length, h.sites);
  return shown.join('; ') + (more ? ` ${more}` : '');
}

/** A few hosts by name; a fleet's thousands as a count ("7,012 hosts"), all of them with --hosts. */
function hostsCell(h: DbOwnerHit): string {
  if (h.hosts && (h.hosts.length <= FEW_HOSTS || h.paths)) return h.hosts.join(', ');
  return `${thousands(h.hostCount)} hosts`;
}

/** 7012 → "7,012". Not toLocaleString: its first call loads ICU's number formats (~100 ms of a lookup). */
export function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function ownerRow(h: DbOwnerHit) {
  return {
    tag: formatTag(h.tag),
    tier: h.inferred ? `${h.tier} (inferred)` : h.tier,
    kind: kindText(h),
    driver: h.name,
    arch: h.machine,
    sites: h.sites,
    evidence: evidenceCell(h),
    hosts: hostsCell(h),
    company: h.version.CompanyName ?? '',
    version: h.version.FileVersion ?? '',
  };
}

const OWNER_COLUMNS = [
  { key: 'tag', title: 'TAG' },
  { key: 'tier', title: 'TIER' },
  { key: 'kind', title: 'KIND' },
  { key: 'driver', title: 'DRIVER' },
  { key: 'arch', title: 'ARCH' },
  { key: 'sites', title: 'SITES' },
  { key: 'evidence', title: 'EVIDENCE (section+RVA API)' },
  { key: 'hosts', title: 'HOSTS' },
  { key: 'company', title: 'COMPANY' },
  { key: 'version', title: 'FILE VERSION' },
];

/**
 * Why a query found nothing. `objectRefDrivers`: how many drivers use it as an object-reference tag, which
 * `--kind pool` leaves out: then the tag is known, just not as a pool tag.
 */
function nothingKnown(input: string, objectRefDrivers = 0): string {
  const shown = printable(input);
  if (objectRefDrivers > 0) {
    return `${shown}: no driver uses this as a pool tag; ${objectRefDrivers} driver${objectRefDrivers === 1 ? ' uses' : 's use'} it as an object-reference tag (ObReferenceObjectByHandleWithTag and friends): --kind object-ref or --kind all lists them`;
  }
  return `${shown}: nothing known about this tag. Index the drivers (whose-tag index DIR) or search files directly: whose-tag scan ${shown} DIR`;
}

/** Table: a section per query with its owners, then its pooltag.txt entries. */
export function renderLookupTable(results: LookupResult[], objectRefDrivers: number[] = []): string {
  const out: string[] = [];
  for (const [i, r] of results.entries()) {
    const head = r.query.exact !== undefined ? `${formatTag(r.query.exact)} (${tagHex(r.query.exact)})` : printable(r.query.pattern);
    out.push(`${head}`);
    if (r.owners.length === 0 && r.pooltag.length === 0) {
      out.push(`  ${nothingKnown(r.query.input, objectRefDrivers[i])}`, '');
      continue;
    }
    if (r.owners.length) {
      out.push(`  drivers in the database (${r.owners.length}), best evidence first:`);
      out.push(indent(renderGrid({ columns: OWNER_COLUMNS, rows: r.owners.map(ownerRow) }, 'table')));
    } else {
      out.push('  no driver in the database uses this tag.');
    }
    if (r.pooltag.length) {
      out.push(`  pooltag.txt entries (${r.pooltag.length}):`);
      const grid: Grid = {
        columns: [
          { key: 'tag', title: 'TAG' },
          { key: 'binary', title: 'BINARY' },
          { key: 'description', title: 'DESCRIPTION' },
          { key: 'source', title: 'SOURCE' },
        ],
        rows: r.pooltag.map((p) => ({ tag: p.tag, binary: p.binary, description: p.description, source: `${p.origin}:${p.line}` })),
      };
      out.push(indent(renderGrid(grid, 'table')));
    }
    out.push('');
  }
  return out.join('\n');
}

function indent(text: string): string {
  return text.replace(/\n$/, '').split('\n').map((l) => '  ' + l).join('\n');
}

/** csv/md: one flat grid, a row per owner and per pooltag entry. */
export function lookupGrid(results: LookupResult[]): Grid {
  const rows: Grid['rows'] = [];
  for (const r of results) {
    for (const h of r.owners) rows.push({ query: r.query.input, source: 'db', tagHex: tagHex(h.tag), ...ownerRow(h), hosts: h.paths ? h.hosts!.join(' ') : String(h.hostCount), description: h.version.FileDescription ?? '' });
    for (const p of r.pooltag) {
      rows.push({ query: r.query.input, source: 'pooltag', tag: p.tag, driver: p.binary, description: p.description, evidence: `${p.origin}:${p.line}` });
    }
  }
  return {
    columns: [
      { key: 'query', title: 'QUERY' },
      { key: 'source', title: 'SOURCE' },
      ...OWNER_COLUMNS.slice(0, 1),
      { key: 'tagHex', title: 'HEX' },
      ...OWNER_COLUMNS.slice(1),
      { key: 'description', title: 'DESCRIPTION' },
    ],
    rows,
  };
}

/** `hosts` and `paths` are listed with --hosts (`listHosts`) only; `hostCount` and `path` always. */
export function lookupJson(results: LookupResult[], listHosts = false): unknown {
  return results.map((r) => ({
    query: r.query.input,
    pattern: r.query.pattern,
    ...(r.query.exact !== undefined ? { tag: formatTag(r.query.exact), tagHex: tagHex(r.query.exact) } : {}),
    owners: r.owners.map(({ hosts, paths, ...h }) => ({
      ...h,
      tag: formatTag(h.tag),
      tagHex: tagHex(h.tag),
      evidence: allocationsFirst(h.evidence).map(evidenceJson),
      moreSites: Math.max(0, h.sites - h.evidence.length),
      ...(listHosts ? { hosts, paths } : {}),
    })),
    pooltag: r.pooltag,
  }));
}

/** Choices shared by the yargs command and the fast path (src/cli/fast-lookup.ts). */
export const LOOKUP_CHOICES = {
  kind: ['pool', 'object-ref', 'all'],
  tier: ['call', 'code', 'data'],
  format: OUTPUT_FORMATS,
} as const;

export const lookupCommand: CommandModule<object, LookupOptions> = {
  // Optional here so that tags after `--` (`whose-tag lookup -- -UMD`, a tag that starts with a dash) count.
  command: 'lookup [tags..]',
  describe: 'which drivers use a tag: the database (ranked by evidence) and pooltag.txt',
  builder: (y: Argv<object>) =>
    y
      .positional('tags', { type: 'string', array: true, describe: "tags: Proc, 0x636f7250, Afd?, Ntf* (after --: tags that start with -)" })
      .options({ ...dbOption, ...pooltagOption })
      .option('multichar', { type: 'boolean', describe: "read 'corP' as the C constant (reversed: Proc)" })
      .option('kind', { choices: LOOKUP_CHOICES.kind, default: 'all', describe: 'kind of tag use' })
      .option('tier', { choices: LOOKUP_CHOICES.tier, describe: 'minimum tier of evidence' })
      .option('json', { type: 'boolean', describe: 'same as --format json' })
      .options(quietOption)
      .option('format', { choices: LOOKUP_CHOICES.format, default: 'table' })
      .option('hosts', { type: 'boolean', describe: 'list every host and path of each driver (default: counts)' }) as unknown as Argv<LookupOptions>,
  handler: (argv) => {
    const afterDashes = ((argv as { '--'?: unknown[] })['--'] ?? []).map(String);
    return runLookup({ ...argv, tags: [...(argv.tags ?? []).map(String), ...afterDashes] });
  },
};

/**
 * The command without yargs, for a launcher that wants `whose-tag TAG` to skip loading the option parser
 * (yargs alone costs ~100 ms of start-up).
 */
export async function runLookup(argv: LookupOptions): Promise<void> {
  if (argv.tags.length === 0) throw new UserError('give a tag (whose-tag Proc); a tag that starts with - goes after --: whose-tag lookup -- -UMD');
  const queries = argv.tags.map((t, i) => {
    try {
      return parseTagQuery(String(t), { multichar: argv.multichar });
    } catch (e) {
      // `whose-tag indx DIR` is a mistyped command far more often than a five-byte tag.
      if (i === 0 && /^[a-z][a-z-]{4,}$/.test(String(t))) {
        throw new UserError(`${t}: not a command (whose-tag --help lists them) and not a tag (${(e as Error).message})`);
      }
      throw e;
    }
  });
  const dbPath = argv.db ?? defaultDbPath();
  if (argv.db && !existsSync(dbPath)) throw new UserError(`${dbPath}: no such database (whose-tag index DIR --db ${dbPath} builds it)`);
  const [{ openDb }, { lookup }] = await Promise.all([import('../db/schema.js'), import('../db/lookup.js')]);
  const db = existsSync(dbPath) ? openDb(dbPath, { readonly: true }) : undefined;
  const note = noteWriter(argv);
  if (!db) note(`no database at ${dbPath} yet; answering from pooltag.txt only (whose-tag index DIR builds one)`);
  try {
    const { pooltag, origin, path } = await loadPooltag(argv.pooltag);
    if (!pooltag) {
      const { hasImportedPooltag } = await import('../db/pooltag-store.js');
      if (!db || !hasImportedPooltag(db)) note(POOLTAG_NOTE);
    }
    const results = lookup(db, queries, pooltag, { kind: argv.kind ?? 'all', minTier: argv.tier, pooltagOrigin: origin, pooltagShownAs: path, listHosts: Boolean(argv.hosts) });
    // `--kind pool` on a tag the database knows only as an object-reference tag: say so, not "nothing known".
    const objectRefDrivers = results.map((r) =>
      argv.kind === 'pool' && db && r.owners.length === 0 && r.pooltag.length === 0
        ? new Set(lookup(db, [r.query], undefined, { kind: 'object-ref', minTier: argv.tier })[0].owners.map((o) => o.sha256)).size
        : 0,
    );
    const format = outputFormat(argv);
    if (format === 'json') process.stdout.write(JSON.stringify(lookupJson(results, Boolean(argv.hosts)), null, 2) + '\n');
    else if (format === 'table') process.stdout.write(renderLookupTable(results, objectRefDrivers));
    else process.stdout.write(renderGrid(lookupGrid(results), format));
    if (format !== 'table') {
      results.forEach((r, i) => {
        if (!r.owners.length && !r.pooltag.length) process.stderr.write(`whose-tag: ${nothingKnown(r.query.input, objectRefDrivers[i])}\n`);
      });
    }
    if (results.every((r) => r.owners.length === 0 && r.pooltag.length === 0)) process.exitCode = EXIT.notFound;
  } finally {
    db?.close();
  }
}

async function loadPooltag(explicit: string | undefined) {
  const { locatePooltag } = await import('../pooltag/locate.js');
  const path = locatePooltag({ explicit });
  if (!path) return { pooltag: undefined, origin: undefined, path };
  const [{ readPooltagFile }, { PooltagIndex }, { resolve }] = await Promise.all([
    import('../pooltag/parse.js'),
    import('../pooltag/lookup.js'),
    import('node:path'),
  ]);
  try {
    const file = await readPooltagFile(path);
    return { pooltag: new PooltagIndex(file), origin: resolve(path), path };
  } catch (e) {
    throw new UserError((e as Error).message);
  }
}
