// whose-tag's own capture format: one JSON object per snapshot, a series one object per line (NDJSON).
//   {"whoseTagSnapshot":1,"host":"WS01","osBuild":"10.0.26100.1","time":"2026-11-23T19:00:00Z",
//    "source":"SystemPoolTagInformation","rows":[{"tag":"Proc","tagHex":"0x636f7250",
//    "nonpaged":{"allocs":5,"frees":1,"bytes":640},"paged":{"allocs":0,"frees":0,"bytes":0}}]}
// tagHex is the value; tag is its display form (src/tag.ts formatTag) for people reading the file and
// must agree with it. `outstanding` is written only when it is not allocs - frees. Validation is
// strict (unknown fields are errors) so a hand-edited or foreign file fails loudly, naming the line
// of the object and the field path.
import { formatTag, tagHex } from '../tag.js';
import { ReportParseError, type PoolCounters, type Report, type Snapshot, type UsageRow } from './types.js';
import { headLines, jsonValues, lineIndex, reportLines } from './report-text.js';

export const SNAPSHOT_VERSION = 1;

export interface SnapshotCountersJson {
  allocs: number;
  frees: number;
  bytes: number;
  /** Only when it differs from allocs - frees. */
  outstanding?: number;
}

export interface SnapshotRowJson {
  /** Display form of the tag (formatTag). */
  tag: string;
  /** The tag value, `0x` + 8 hex digits. */
  tagHex: string;
  nonpaged: SnapshotCountersJson;
  paged: SnapshotCountersJson;
  session?: SnapshotCountersJson;
  description?: string;
}

export interface SnapshotJson {
  whoseTagSnapshot: typeof SNAPSHOT_VERSION;
  host?: string;
  osBuild?: string;
  /** ISO 8601. */
  time?: string;
  /** Where the numbers came from, e.g. "SystemPoolTagInformation". */
  source?: string;
  rows: SnapshotRowJson[];
}

export type SnapshotInput = Snapshot & { host?: string; osBuild?: string; time?: string; source?: string };

const TOP_KEYS = new Set(['whoseTagSnapshot', 'host', 'osBuild', 'time', 'source', 'rows']);
// owner, by and ownerDescription are what `whose-tag enrich` adds to a snapshot's rows: read back, not used.
const ROW_KEYS = new Set(['tag', 'tagHex', 'nonpaged', 'paged', 'session', 'description', 'owner', 'by', 'ownerDescription']);
const COUNTER_KEYS = new Set(['allocs', 'frees', 'bytes', 'outstanding']);
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** One snapshot as one line of JSON (no trailing newline): a series is these joined with "\n". */
export function serializeSnapshot(s: SnapshotInput): string {
  const out: SnapshotJson = { whoseTagSnapshot: SNAPSHOT_VERSION, rows: [] };
  if (s.host !== undefined) out.host = s.host;
  if (s.osBuild !== undefined) out.osBuild = s.osBuild;
  if (s.time !== undefined) out.time = s.time;
  if (s.source !== undefined) out.source = s.source;
  out.rows = s.rows.map((r) => {
    const row: SnapshotRowJson = { tag: formatTag(r.tag), tagHex: tagHex(r.tag), nonpaged: countersJson(r.nonpaged), paged: countersJson(r.paged) };
    if (r.session) row.session = countersJson(r.session);
    if (r.description !== undefined) row.description = r.description;
    return row;
  });
  return JSON.stringify(out);
}

function countersJson(c: PoolCounters): SnapshotCountersJson {
  // Snapshots hold the kernel's own counters (capture), which are never partial.
  if (c.allocs === undefined || c.frees === undefined || c.bytes === undefined || c.outstanding === undefined) {
    throw new RangeError('a whose-tag snapshot holds complete counters (allocs, frees, bytes); this row lacks one');
  }
  const j: SnapshotCountersJson = { allocs: c.allocs, frees: c.frees, bytes: c.bytes };
  if (c.outstanding !== c.allocs - c.frees) j.outstanding = c.outstanding;
  return j;
}

export function looksLikeSnapshot(text: string): number {
  const head = headLines(text, 20).join('\n').trimStart();
  return head.startsWith('{') && /"whoseTagSnapshot"\s*:/.test(head) ? 1 : 0;
}

export function parseSnapshot(text: string, file: string): Report {
  const body = reportLines(text).join('\n');
  const lineOf = lineIndex(body);
  const snapshots: Snapshot[] = [];
  for (const { value, start } of jsonValues(body, file, lineOf, 'whose-tag-snapshot')) {
    snapshots.push(readSnapshot(value, new Checker(file, lineOf(start))));
  }
  if (snapshots.length === 0) throw new ReportParseError(file, 1, 'whose-tag-snapshot: no snapshot object found');
  return { format: 'whose-tag-snapshot', kind: 'usage', file, snapshots };
}

/** Validation errors name the object's line and the field path. */
class Checker {
  constructor(readonly file: string, readonly line: number) {}

  fail(path: string, what: string): never {
    throw new ReportParseError(this.file, this.line, `whose-tag-snapshot: ${path || 'top level'}: ${what}`);
  }

  object(v: unknown, path: string, keys: Set<string>): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, 'expected an object');
    const rec = v as Record<string, unknown>;
    for (const k of Object.keys(rec)) if (!keys.has(k)) this.fail(path ? `${path}.${k}` : k, 'unknown field');
    return rec;
  }

  optionalString(v: unknown, path: string): string | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== 'string') this.fail(path, 'expected a string');
    return v;
  }

  integer(v: unknown, path: string, min: number): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
      this.fail(path, `expected a whole number${min === 0 ? ' >= 0' : ''} below 2^53, got ${JSON.stringify(v)?.slice(0, 40)}`);
    }
    return v;
  }
}

function readSnapshot(value: unknown, c: Checker): Snapshot {
  const o = c.object(value, '', TOP_KEYS);
  if (o.whoseTagSnapshot !== SNAPSHOT_VERSION) {
    c.fail('whoseTagSnapshot', `expected ${SNAPSHOT_VERSION}, got ${JSON.stringify(o.whoseTagSnapshot)?.slice(0, 40)}`);
  }
  const snap: Snapshot = { rows: [] };
  const host = c.optionalString(o.host, 'host');
  const osBuild = c.optionalString(o.osBuild, 'osBuild');
  const time = c.optionalString(o.time, 'time');
  c.optionalString(o.source, 'source');
  if (time !== undefined && (!ISO_TIME.test(time) || Number.isNaN(Date.parse(time)))) c.fail('time', `expected an ISO 8601 time, got ${JSON.stringify(time)}`);
  if (host !== undefined) snap.host = host;
  if (osBuild !== undefined) snap.osBuild = osBuild;
  if (time !== undefined) snap.time = time;
  if (!Array.isArray(o.rows)) c.fail('rows', 'expected a list');
  snap.rows = (o.rows as unknown[]).map((r, i) => readRow(r, `rows[${i}]`, c));
  return snap;
}

function readRow(value: unknown, path: string, c: Checker): UsageRow {
  const r = c.object(value, path, ROW_KEYS);
  if (typeof r.tagHex !== 'string' || !/^0x[0-9a-fA-F]{8}$/.test(r.tagHex)) c.fail(`${path}.tagHex`, 'expected "0x" and 8 hex digits');
  const tag = parseInt((r.tagHex as string).slice(2), 16) >>> 0;
  if (typeof r.tag !== 'string') c.fail(`${path}.tag`, 'expected a string');
  if (r.tag !== formatTag(tag)) c.fail(`${path}.tag`, `${JSON.stringify(r.tag)} does not match tagHex ${r.tagHex} (${JSON.stringify(formatTag(tag))})`);
  const row: UsageRow = {
    tag,
    tagText: r.tag as string,
    nonpaged: readCounters(r.nonpaged, `${path}.nonpaged`, c),
    paged: readCounters(r.paged, `${path}.paged`, c),
    line: c.line,
  };
  if (r.session !== undefined) row.session = readCounters(r.session, `${path}.session`, c);
  const description = c.optionalString(r.description, `${path}.description`);
  if (description !== undefined) row.description = description;
  return row;
}

function readCounters(value: unknown, path: string, c: Checker): PoolCounters {
  const o = c.object(value, path, COUNTER_KEYS);
  const allocs = c.integer(o.allocs, `${path}.allocs`, 0);
  const frees = c.integer(o.frees, `${path}.frees`, 0);
  const bytes = c.integer(o.bytes, `${path}.bytes`, 0);
  const outstanding = o.outstanding === undefined ? allocs - frees : c.integer(o.outstanding, `${path}.outstanding`, Number.MIN_SAFE_INTEGER);
  return { allocs, frees, outstanding, bytes };
}
