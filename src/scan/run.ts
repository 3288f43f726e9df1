// `whose-tag scan`, shared by the yargs command and the fast path that skips yargs. Files are searched
// one at a time with synchronous reads into one reused buffer (see search.ts: on a warm page cache the
// search is bound by memory copies, which parallel reads on a shared 2-core machine do not speed up).
import { existsSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { defaultDbPath } from '../db/location.js';
import { EXTRACTOR_VERSION } from '../extract/version.js';
import { EXIT, UserError } from '../errors.js';
import { progressBar, progressEnabled, type ProgressBar } from '../render/progress.js';
import { formatTag, parseTagQuery, printable, tagBytes, tagHex } from '../tag.js';
import { ALL_FILES, missingPaths, walkPaths } from '../walk/walk.js';
import { type CodeKnowledge, classifyFile, resultLine, survey } from './classify.js';
import { ByteSearcher } from './search.js';

export interface ScanOptions {
  tag: string;
  paths: string[];
  include?: string[];
  exclude?: string[];
  raw: boolean;
  json: boolean;
  multichar: boolean;
  /** Tag database to answer from for indexed, unchanged files (default: defaultDbPath(), when it exists). */
  db?: string;
  /** Where result lines go instead of stdout (tests). */
  out?: (text: string) => void;
  /** Told of each file whose code is decoded, i.e. not answered from its headers or the database (tests). */
  onDecode?: (path: string) => void;
}

interface Target {
  path: string;
  /** The path as printed: under the argument as the user wrote it, as grep prints it. */
  shown: string;
}

/** Output to a file or pipe is written in pieces of about this size (a write is a system call); a terminal gets each line at once. */
const FLUSH_AT = 64 * 1024;

async function targets(opts: ScanOptions, problem: (path: string, message: string) => void): Promise<Target[]> {
  const out: Target[] = [];
  const seen = new Set<string>();
  // Each argument is walked on its own so every path prints the way the user wrote it.
  for (const arg of opts.paths) {
    const w = await walkPaths([arg], { patterns: opts.include ?? ALL_FILES, exclude: opts.exclude });
    for (const p of w.problems) problem(p.path, p.message);
    const root = resolve(arg);
    const inRoot = root.endsWith(sep) ? root : root + sep;
    // join(arg, rel) for every file, without normalising `arg` again for each (the walker's paths are normal).
    const shownRoot = join(arg, '_').slice(0, -1);
    for (const f of w.files) {
      if (seen.has(f.path)) continue;
      seen.add(f.path);
      let shown: string;
      if (f.path.startsWith(inRoot)) shown = shownRoot + f.path.slice(inRoot.length);
      else {
        const rel = relative(root, f.path);
        shown = rel === '' ? arg : rel.startsWith('..') ? f.path : join(arg, rel);
      }
      out.push({ path: f.path, shown });
    }
  }
  return out;
}

/**
 * The tag database as classifyFile's `known`: opened read-only on the first question (most scans never ask
 * one), and only when it exists. It only ever spares decoding, never changes an answer, so a database that
 * cannot be opened is passed over without a word.
 */
function indexedKnowledge(dbPath: string | undefined): CodeKnowledge {
  let ask: CodeKnowledge | undefined;
  return async (file, tag, rvas) => {
    if (!ask) {
      ask = async () => undefined;
      try {
        const path = dbPath ?? defaultDbPath();
        if (existsSync(path)) {
          // SQLite is loaded only here, so a scan that never asks starts as fast as before.
          const [{ openDb }, { IndexedTags }] = await Promise.all([import('../db/schema.js'), import('../db/indexed-tags.js')]);
          const db = openDb(path, { readonly: true });
          const indexed = new IndexedTags(db, hostname(), EXTRACTOR_VERSION);
          ask = async (file, t, r) => {
            const st = statSync(file);
            return indexed.scanSites(file, st.size, st.mtimeMs, t, r);
          };
        }
      } catch {
        // No database to help: every file is classified from its own bytes.
      }
    }
    return ask(file, tag, rvas);
  };
}

/** Prints one line per matching file, in walk order (sorted paths); sets process.exitCode. */
export async function runScan(opts: ScanOptions): Promise<void> {
  const q = parseTagQuery(opts.tag, { multichar: opts.multichar });
  if (q.exact === undefined) throw new UserError(`scan needs an exact tag, not the pattern ${JSON.stringify(opts.tag)}`);
  const tag = q.exact;

  let problems = 0;
  let bar: ProgressBar | undefined;
  const problem = (path: string, message: string) => {
    problems++;
    bar?.clear();
    process.stderr.write(`whose-tag: ${printable(`${path}: ${message}`)}\n`);
  };
  const missing = await missingPaths(opts.paths);
  const files = await targets(opts, problem);
  // An empty folder is not an error (as for index): nothing to search, said once; a missing path is (below).
  const nothingToSearch = files.length === 0 && problems === 0 && missing.length === 0;
  if (nothingToSearch) process.stderr.write(`whose-tag: warning: no files in ${printable(opts.paths.join(', '))}\n`);
  bar = progressEnabled() ? progressBar() : undefined;
  // Results and the bar share the terminal when stdout is one: the bar is erased before each result.
  const write = (text: string) => {
    if (opts.out) return opts.out(text);
    if (process.stdout.isTTY) bar?.clear();
    process.stdout.write(text);
  };
  const searcher = new ByteSearcher(Buffer.from(tagBytes(tag)));
  const known = indexedKnowledge(opts.db);
  const flushAt = process.stdout.isTTY ? 0 : FLUSH_AT;
  let pending = '';
  let matched = 0;
  for (const [i, f] of files.entries()) {
    bar?.update({ done: i, total: files.length, matched });
    let line: string;
    try {
      if (opts.raw) {
        // grep -l: the first match settles the file.
        if (!searcher.contains(f.path)) continue;
        line = f.shown;
      } else {
        // Labelled: every match counts, so the file is read to its end; classifying re-reads only what it needs.
        const found = survey(searcher, f.path);
        if (found.count === 0) continue;
        const r = await classifyFile(searcher, f.path, f.shown, tag, found, known, opts.onDecode);
        line = opts.json ? JSON.stringify({ tag: formatTag(tag), value: tagHex(tag), ...r }) : resultLine(r);
      }
    } catch (e) {
      problem(f.shown, (e as Error).message);
      continue;
    }
    matched++;
    pending += line + '\n';
    if (pending.length >= flushAt) {
      write(pending);
      pending = '';
    }
  }
  bar?.done();
  if (pending) write(pending);
  // A path that does not exist is bad input (grep says 2 too); an unreadable file is a partial result.
  process.exitCode = missing.length > 0 ? EXIT.usage : problems > 0 ? EXIT.partial : matched > 0 || nothingToSearch ? EXIT.ok : EXIT.notFound;
}
