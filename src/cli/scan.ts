// `whose-tag scan TAG PATH…`: findstr /m /l over files and folders, with each hit labelled by what the
// decoder proves about it (call / code / data). `--raw` prints exactly the paths `grep -rlF -a TAG` prints.
import type { Argv, CommandModule } from 'yargs';
import { open, readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { EXIT, UserError } from './common.js';
import { formatTag, parseTagQuery, tagBytes, tagHex } from '../tag.js';
import type { Tier } from '../extract/types.js';
import type { ScanHit } from '../extract/extract.js';

interface ScanArgv {
  tag: string;
  paths: string[];
  include?: string[];
  exclude?: string[];
  jobs?: number;
  raw?: boolean;
  json?: boolean;
  multichar?: boolean;
}

/** Files larger than this are searched in chunks, as bytes only (no PE analysis, bounded memory). */
const MAX_ANALYSED_BYTES = 256 * 1024 * 1024;
const CHUNK = 16 * 1024 * 1024;
/** Offsets kept per file in streamed search; the count stays exact. */
const MAX_OFFSETS = 1000;

export interface FileResult {
  path: string;
  /** Best tier among the hits. */
  tier: Tier;
  count: number;
  hits: ScanHit[];
}

const TIER_ORDER: Tier[] = ['call', 'code', 'data'];

/** Offsets of `needle` in a file read chunk by chunk (overlapping the chunk edges). */
async function streamFind(path: string, needle: Buffer): Promise<{ offsets: number[]; count: number }> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(CHUNK + needle.length - 1);
    const offsets: number[] = [];
    let count = 0;
    let base = 0;
    let carry = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, carry, CHUNK, null);
      const len = carry + bytesRead;
      for (let i = buf.subarray(0, len).indexOf(needle); i >= 0; i = buf.subarray(0, len).indexOf(needle, i + 1)) {
        count++;
        if (offsets.length < MAX_OFFSETS) offsets.push(base + i);
      }
      if (bytesRead === 0) break;
      carry = Math.min(needle.length - 1, len);
      buf.copy(buf, 0, len - carry, len);
      base += len - carry;
    }
    return { offsets, count };
  } finally {
    await fh.close();
  }
}

/** Hits of `tag` in one file, or undefined when the bytes do not occur. */
export async function scanFile(path: string, size: number, tag: number, raw: boolean): Promise<FileResult | undefined> {
  const needle = Buffer.from(tagBytes(tag));
  if (size > MAX_ANALYSED_BYTES) {
    const { offsets, count } = await streamFind(path, needle);
    if (count === 0) return undefined;
    return { path, tier: 'data', count, hits: offsets.map((offset) => ({ offset, tier: 'data' as const })) };
  }
  const buf = await readFile(path);
  if (buf.indexOf(needle) < 0) return undefined;
  if (raw) return { path, tier: 'data', count: 0, hits: [] };
  const { scanTagInFile } = await import('../extract/extract.js');
  const { findBytes } = await import('../extract/data.js');
  let hits: ScanHit[];
  try {
    hits = scanTagInFile(buf, tag);
  } catch {
    // A damaged image the decoder cannot walk still contains the bytes: report them as data.
    hits = findBytes(buf, needle).map((offset) => ({ offset, tier: 'data' as const }));
  }
  const tier = TIER_ORDER.find((t) => hits.some((h) => h.tier === t)) ?? 'data';
  return { path, tier, count: hits.length, hits };
}

/** `path<TAB>tier<TAB>summary`: the path first, so the output reads like findstr /m. */
export function resultLine(r: FileResult): string {
  const best = r.hits.find((h) => h.tier === r.tier);
  let detail = `${r.count} hit${r.count === 1 ? '' : 's'}`;
  if (best?.evidence) {
    const e = best.evidence;
    detail += `; ${e.section}+0x${e.rva.toString(16)}`;
    if (e.api) detail += ` ${e.api}`;
    if (e.via !== undefined) detail += ` via 0x${e.via.toString(16)}`;
    if (e.instruction) detail += `: ${e.instruction}`;
  } else if (best) {
    detail += `; first at offset 0x${best.offset.toString(16)}` + (best.section ? ` (${best.section})` : '');
  }
  return `${r.path}\t${r.tier}\t${detail}`;
}

export const scanCommand: CommandModule<object, ScanArgv> = {
  command: 'scan <tag> <paths..>',
  describe: 'find the files containing a tag\'s bytes (like findstr /m /l) and say whether code proves it is a tag',
  builder: (y: Argv<object>) =>
    y
      .positional('tag', { type: 'string', demandOption: true, describe: "an exact tag: Proc, 0x636f7250, or 'corP' with --multichar" })
      .positional('paths', { type: 'string', array: true, demandOption: true, describe: 'files, folders or globs' })
      .option('include', { type: 'string', array: true, describe: 'patterns searched inside folders (default: every file)' })
      .option('exclude', { type: 'string', array: true, describe: 'patterns to skip' })
      .option('jobs', { type: 'number', describe: 'files searched at once', default: 4 })
      .option('raw', { type: 'boolean', describe: 'print only the paths, exactly as grep -rlF -a does' })
      .option('json', { type: 'boolean', describe: 'one JSON object per matching file (NDJSON)' })
      .option('multichar', { type: 'boolean', describe: "read 'corP' as the C constant, reversed" }) as unknown as Argv<ScanArgv>,
  handler: async (argv) => {
    const q = parseTagQuery(argv.tag, { multichar: argv.multichar });
    if (q.exact === undefined) throw new UserError(`scan needs an exact tag, not the pattern ${JSON.stringify(argv.tag)}`);
    const tag = q.exact;
    if (argv.jobs === undefined || !Number.isInteger(argv.jobs) || argv.jobs < 1) {
      throw new UserError(`--jobs must be a positive whole number, got ${argv.jobs}`);
    }
    const { walk, ALL_FILES } = await import('../walk/walk.js');
    const { default: pLimit } = await import('p-limit');

    // Walk each argument on its own so every path prints the way the user wrote it (grep does the same).
    const files: { path: string; shown: string; size: number }[] = [];
    const seen = new Set<string>();
    let problems = 0;
    for (const arg of argv.paths) {
      const w = await walk([arg], { patterns: argv.include ?? ALL_FILES, exclude: argv.exclude });
      for (const p of w.problems) {
        problems++;
        process.stderr.write(`whose-tag: ${p.path}: ${p.message}\n`);
      }
      const root = resolve(arg);
      for (const f of w.files) {
        if (seen.has(f.path)) continue;
        seen.add(f.path);
        const rel = relative(root, f.path);
        const shown = rel === '' ? arg : rel.startsWith('..') ? f.path : join(arg, rel);
        files.push({ path: f.path, shown, size: f.size });
      }
    }

    const limit = pLimit(argv.jobs);
    const results: (FileResult | undefined | null)[] = new Array(files.length);
    let next = 0;
    let matched = 0;
    // Print in walk order as soon as every earlier file is done.
    const flush = () => {
      while (next < files.length && results[next] !== undefined) {
        const r = results[next++];
        if (!r) continue;
        matched++;
        if (argv.raw) process.stdout.write(r.path + '\n');
        else if (argv.json) process.stdout.write(JSON.stringify({ tag: formatTag(tag), value: tagHex(tag), ...r }) + '\n');
        else process.stdout.write(resultLine(r) + '\n');
      }
    };
    await Promise.all(
      files.map((f, i) =>
        limit(async () => {
          try {
            const r = await scanFile(f.path, f.size, tag, Boolean(argv.raw));
            results[i] = r ? { ...r, path: f.shown } : null;
          } catch (e) {
            problems++;
            process.stderr.write(`whose-tag: ${f.shown}: ${(e as Error).message}\n`);
            results[i] = null;
          }
          flush();
        }),
      ),
    );
    flush();
    process.exitCode = problems > 0 ? EXIT.partial : matched > 0 ? EXIT.ok : EXIT.notFound;
  },
};
