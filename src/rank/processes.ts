// Rekall's forensic hint: outstanding `Proc` and `Thre` allocations should match the processes and
// threads a process list shows. More allocations than listed processes points at hidden (unlinked)
// or terminated-but-referenced processes.
import type { UsageRow } from '../reports/types.js';
import { tagFromText, withoutProtectedBit } from '../tag.js';
import { mergeByTag, poolCounters } from './pool.js';

export interface ProcessCounts {
  processes: number;
  /** Known when the list has a thread column (Volatility/Rekall `Thds`, Volatility 3 `Threads`). */
  threads?: number;
}

const PROC = tagFromText('Proc');
const THRE = tagFromText('Thre');

const OFFSET = /^\s*0x[0-9a-f`]+\s+/i;
/** Volatility 2 / Rekall: [offset] Name PID PPID Thds …; tasklist: Name PID Session … */
const NAME_FIRST = /^(\S.*?)\s+(\d+)\s+(\d+)\s+(\d+)(?:\s|$)|^(\S.*?)\s+(\d+)\s+[A-Za-z]\S*\s+\d+\s/;
/** Volatility 3: PID PPID ImageFileName Offset Threads … */
const PID_FIRST = /^\s*(\d+)\s+(\d+)\s+(\S+)\s+0x[0-9a-f]+\s+(\d+)(?:\s|$)/i;
const HEADER_WORDS = /^(?:offset|name|image|pid|_eprocess)\b/i;

/** Counts the lines of a pslist/tasklist output that look like process rows. */
export function countPslist(text: string): ProcessCounts {
  let processes = 0;
  let threads = 0;
  let threadColumn = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trimEnd();
    if (/\bThds\b|\bThreads\b/.test(line) && /\bPID\b/.test(line)) threadColumn = true;
    if (line.trim() === '' || line.startsWith('#') || /^[\s=-]+$/.test(line) || HEADER_WORDS.test(line.trim())) continue;
    const v3 = PID_FIRST.exec(line);
    if (v3) {
      processes++;
      threads += Number(v3[4]);
      continue;
    }
    const m = NAME_FIRST.exec(line.replace(OFFSET, ''));
    if (!m) continue;
    processes++;
    if (m[4] !== undefined) threads += Number(m[4]);
  }
  return threadColumn ? { processes, threads } : { processes };
}

function outstanding(rows: readonly UsageRow[], tag: number): number | undefined {
  // Pre-Win8 reports show Proc with the PROTECTED_POOL bit set; both spellings count.
  const matching = mergeByTag(rows).filter((r) => withoutProtectedBit(r.tag) === tag);
  return matching.length ? matching.reduce((sum, r) => sum + (poolCounters(r, 'all').outstanding ?? 0), 0) : undefined;
}

function compare(what: string, tagName: string, held: number | undefined, listed: number): string | undefined {
  if (held === undefined) return `the report has no ${tagName} row: cannot compare with the ${listed} listed ${what}`;
  if (held > listed) {
    return `${held} outstanding ${tagName} allocations but ${listed} listed ${what}: ${held - listed} ${what} may be hidden from the list (unlinked) or terminated and still referenced`;
  }
  if (held < listed) {
    return `${held} outstanding ${tagName} allocations but ${listed} listed ${what}: the list and the report may not come from the same moment or machine`;
  }
  return undefined;
}

export interface ProcessFinding {
  /** The tag the finding is about: `Proc` or `Thre`. */
  tag: string;
  message: string;
}

/** Findings where the counts disagree, each with the tag it concerns; none when they match. */
export function processFindings(rows: readonly UsageRow[], counts: ProcessCounts): ProcessFinding[] {
  const out: ProcessFinding[] = [];
  const p = compare('processes', 'Proc', outstanding(rows, PROC), counts.processes);
  if (p) out.push({ tag: 'Proc', message: p });
  if (counts.threads !== undefined) {
    const t = compare('threads', 'Thre', outstanding(rows, THRE), counts.threads);
    if (t) out.push({ tag: 'Thre', message: t });
  }
  return out;
}

/** Warnings where the counts disagree; none when they match. */
export function checkProcessCounts(rows: readonly UsageRow[], counts: ProcessCounts): string[] {
  return processFindings(rows, counts).map((f) => f.message);
}
