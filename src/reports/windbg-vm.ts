// WinDbg `!vm` (and `!vm 4`): system-wide pool usage and, with flag 4, per-session pool usage. No tags
// and no drivers, so nothing to rank: the report is stated in one line with its pool numbers.
//   NonPagedPool Usage:          9217 (      36868 Kb)
//   PagedPool Usage:            37057 (     148228 Kb)
//   Session ID 0 @ fffff88002dfa000:  /  Paged Pool Usage:     3060 Kb  /  NonPaged Usage:        316 Kb
import { ReportParseError, type Report } from './types.js';
import { headLines, reportLines } from './report-text.js';
import { cleanLine } from './paste.js';

const SYSTEM = /^\s*(NonPagedPool|PagedPool) Usage:\s*(\d+)\s*\(\s*(\d+) Kb\)/i;
const SESSION = /^\s*Session ID (\d+)\b/i;
const SESSION_POOL = /^\s*(Paged Pool|NonPaged) Usage:\s*(\d+) Kb/i;
const MARKERS = /^\s*(?:Page File:|Physical Memory:|Available Pages:|Terminal Server Memory Usage By Session:|NonPagedPool Usage:|PagedPool Usage:|Committed pages:)/i;

export function looksLikeVm(text: string): number {
  const lines = headLines(text).map(cleanLine);
  const markers = lines.filter((l) => MARKERS.test(l)).length;
  return markers >= 2 || lines.some((l) => /!vm\b/.test(l)) ? 0.9 : 0;
}

export function parseVm(text: string, file: string): Report {
  const lines = reportLines(text).map(cleanLine);
  const parts: string[] = [];
  const sessions: string[] = [];
  let session: string | undefined;
  let sessionParts: string[] = [];
  const flush = () => {
    if (session !== undefined && sessionParts.length) sessions.push(`session ${session}: ${sessionParts.join(', ')}`);
    sessionParts = [];
  };
  for (const line of lines) {
    const sys = SYSTEM.exec(line);
    if (sys) {
      parts.push(`${sys[1]} ${sys[3]} KB (${sys[2]} pages)`);
      continue;
    }
    const s = SESSION.exec(line);
    if (s) {
      flush();
      session = s[1];
      continue;
    }
    const sp = SESSION_POOL.exec(line);
    if (sp && session !== undefined) sessionParts.push(`${/^paged/i.test(sp[1]) ? 'paged' : 'nonpaged'} ${sp[2]} KB`);
  }
  flush();
  if (!parts.length && !sessions.length) throw new ReportParseError(file, 1, 'windbg-vm: no pool usage lines (expected "NonPagedPool Usage:" or per-session "Paged Pool Usage:")');
  const numbers = [...parts, ...sessions].join('; ');
  return { format: 'windbg-vm', kind: 'statement', file, snapshots: [], statement: `WinDbg !vm output: pool totals only, no tags or drivers to rank: ${numbers}` };
}
