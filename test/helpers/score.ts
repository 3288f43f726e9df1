// Call-tier recall and precision of the extractor on real drivers with source truth (../shared/drivers/*/
// *.truth.json: trueTags per upstream commit, binaries per architecture). Used by the real-driver tests;
// run it directly to print the table: node --import tsx test/helpers/score.ts [FOLDER]
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { extractTags } from '../../src/extract/extract.js';
import { formatTag } from '../../src/tag.js';
import { sharedPath } from './shared.js';

export const SYSTEMINFORMER = sharedPath('drivers/systeminformer/');

interface TruthFile {
  binaries: { file: string; sha256: string; arch: string }[];
  trueTags: string[];
}

export interface BinaryScore {
  file: string;
  arch: string;
  /** The build date in the file name (YYYY-MM-DD), or '' when it has none. */
  date: string;
  trueTags: number;
  /** Call-tier tags of kind pool. */
  found: number;
  /** found ∩ true. */
  hit: number;
  recall: number;
  precision: number;
  /** True tags not found at the call tier. */
  missed: string[];
  /** Call-tier tags outside the truth (each one a precision failure). */
  outside: string[];
}

/** Score one binary's call-tier pool tags against its true tags. */
export function scoreBinary(buf: Uint8Array, file: string, arch: string, trueTags: readonly string[]): BinaryScore {
  const report = extractTags(buf, { path: file });
  const found = new Set(report.findings.filter((f) => f.tier === 'call' && f.kind === 'pool').map((f) => formatTag(f.tag)));
  const truth = new Set(trueTags);
  const hit = [...found].filter((t) => truth.has(t)).length;
  return {
    file,
    arch,
    date: /(\d{4}-\d{2}-\d{2})/.exec(file)?.[1] ?? '',
    trueTags: truth.size,
    found: found.size,
    hit,
    recall: truth.size ? hit / truth.size : 1,
    precision: found.size ? hit / found.size : 1,
    missed: [...truth].filter((t) => !found.has(t)).sort(),
    outside: [...found].filter((t) => !truth.has(t)).sort(),
  };
}

/** Every binary named by every *.truth.json in `dir`, sorted by architecture then date. */
export function scoreFolder(dir: string): BinaryScore[] {
  const rows: BinaryScore[] = [];
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.truth.json'))) {
    const truth = JSON.parse(readFileSync(join(dir, name), 'utf8')) as TruthFile;
    for (const b of truth.binaries) rows.push(scoreBinary(readFileSync(join(dir, b.file)), b.file, b.arch, truth.trueTags));
  }
  return rows.sort((a, b) => (a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0) || (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
}

export interface ArchTotal {
  arch: string;
  binaries: number;
  trueTags: number;
  found: number;
  hit: number;
  /** Pooled over the architecture's binaries: Σhit / Σtrue. */
  recall: number;
  precision: number;
  minRecall: number;
}

export function totals(rows: readonly BinaryScore[]): ArchTotal[] {
  const out: ArchTotal[] = [];
  for (const arch of [...new Set(rows.map((r) => r.arch))].sort()) {
    const mine = rows.filter((r) => r.arch === arch);
    const sum = (k: 'trueTags' | 'found' | 'hit') => mine.reduce((s, r) => s + r[k], 0);
    const [trueTags, found, hit] = [sum('trueTags'), sum('found'), sum('hit')];
    out.push({
      arch,
      binaries: mine.length,
      trueTags,
      found,
      hit,
      recall: trueTags ? hit / trueTags : 1,
      precision: found ? hit / found : 1,
      minRecall: Math.min(...mine.map((r) => r.recall)),
    });
  }
  return out;
}

/** The table the closing notes quote: one row per binary, then one per architecture. */
export function formatScores(rows: readonly BinaryScore[]): string {
  const lines = ['arch   date        true  found  recall  precision  missed (outside truth)'];
  for (const r of rows) {
    const outside = r.outside.length ? ` (${r.outside.join(',')})` : '';
    lines.push(`${r.arch.padEnd(6)} ${r.date.padEnd(10)}  ${String(r.trueTags).padStart(4)}  ${String(r.found).padStart(5)}  ${r.recall.toFixed(3).padStart(6)}  ${r.precision.toFixed(3).padStart(9)}  ${r.missed.join(',')}${outside}`);
  }
  for (const t of totals(rows)) {
    lines.push(`${t.arch.padEnd(6)} ${'all'.padEnd(10)}  ${String(t.trueTags).padStart(4)}  ${String(t.found).padStart(5)}  ${t.recall.toFixed(3).padStart(6)}  ${t.precision.toFixed(3).padStart(9)}  lowest build ${t.minRecall.toFixed(3)}`);
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(formatScores(scoreFolder(process.argv[2] ?? SYSTEMINFORMER)));
}
