// Which parser reads a report: every format scores the head of the text (0..1) and the highest wins.
// The generic ad-hoc table reader scores low on purpose, so a specific format always beats it.
import type { Report, ReportFormat } from './types.js';
import { looksLikeRekallText, parseRekallText } from './rekall-text.js';
import { looksLikeRekallJson, parseRekallJson } from './rekall-json.js';
import { looksLikeVol2, parseVol2 } from './vol2.js';
import { looksLikeSnapshot, parseSnapshot } from './snapshot.js';
import { looksLikeAdhoc, parseAdhoc } from './adhoc.js';
import { looksLikePoolused, parsePoolused } from './poolused.js';
import { looksLikePoolmon, parsePoolmon } from './poolmon.js';
import { looksLikeVerifier, looksLikeVerifierQuery, parseVerifier, parseVerifierQuery } from './verifier.js';
import { looksLikeVm, parseVm } from './windbg-vm.js';
import { looksLikePool, looksLikePoolfind, parsePool, parsePoolfind } from './windbg-pool.js';
import { looksLikeVol3Bigpools, looksLikeVol3Poolscanner, parseVol3Bigpools, parseVol3Poolscanner } from './vol3.js';
import { looksLikeMemprocfsPool, parseMemprocfsPool } from './memprocfs.js';
import { looksLikeDrakvuf, parseDrakvuf } from './drakvuf.js';

export interface FormatHandler {
  looksLike(text: string): number;
  parse(text: string, file: string): Report;
}

/** In order of preference when two formats score the same. */
export const FORMATS: Record<ReportFormat, FormatHandler> = {
  'whose-tag-snapshot': { looksLike: looksLikeSnapshot, parse: parseSnapshot },
  'rekall-json': { looksLike: looksLikeRekallJson, parse: parseRekallJson },
  'rekall-text': { looksLike: looksLikeRekallText, parse: parseRekallText },
  'vol2-pooltracker': { looksLike: looksLikeVol2, parse: parseVol2 },
  'poolused': { looksLike: looksLikePoolused, parse: parsePoolused },
  'poolmon': { looksLike: looksLikePoolmon, parse: parsePoolmon },
  'verifier': { looksLike: looksLikeVerifier, parse: parseVerifier },
  'verifier-query': { looksLike: looksLikeVerifierQuery, parse: parseVerifierQuery },
  'windbg-vm': { looksLike: looksLikeVm, parse: parseVm },
  'pool': { looksLike: looksLikePool, parse: parsePool },
  'poolfind': { looksLike: looksLikePoolfind, parse: parsePoolfind },
  'vol3-bigpools': { looksLike: looksLikeVol3Bigpools, parse: parseVol3Bigpools },
  'vol3-poolscanner': { looksLike: looksLikeVol3Poolscanner, parse: parseVol3Poolscanner },
  'memprocfs-pool': { looksLike: looksLikeMemprocfsPool, parse: parseMemprocfsPool },
  'drakvuf-poolmon': { looksLike: looksLikeDrakvuf, parse: parseDrakvuf },
  'adhoc': { looksLike: looksLikeAdhoc, parse: parseAdhoc },
};

export const REPORT_FORMATS = Object.keys(FORMATS) as ReportFormat[];

/** Below this no format is trusted to read the text. */
export const MIN_SCORE = 0.25;

/** Every format's score, best first (ties keep the FORMATS order). */
export function detectFormat(text: string): { format: ReportFormat; score: number }[] {
  const scores = REPORT_FORMATS.map((format) => ({ format, score: safeScore(FORMATS[format], text) }));
  return scores.sort((a, b) => b.score - a.score);
}

// A detector is a heuristic over untrusted text: if one throws, it simply does not recognise the text.
function safeScore(h: FormatHandler, text: string): number {
  try {
    const s = h.looksLike(text);
    return Number.isFinite(s) ? Math.min(1, Math.max(0, s)) : 0;
  } catch {
    return 0;
  }
}
