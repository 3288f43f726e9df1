// The messages between the index pipeline and an extraction worker, and the worker's side of them. `open`
// reads and hashes a file and keeps its bytes; the pipeline then asks for `extract` or sends `release`
// (content already analysed), so each file is read once and its bytes never cross threads. An eager `open`
// (content the database cannot know yet) extracts at once and answers `opened` then `report`.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { DriverReport, ExportedWrapper } from '../extract/types.js';

export type Extract = (
  buf: Uint8Array,
  opts: { path: string; sha256: string; exportedWrappers?: readonly ExportedWrapper[] },
) => DriverReport | Promise<DriverReport>;

export type ToWorker =
  /** `extract`: analyse right after reading, without waiting for the pipeline's word (see OpenOptions.eager). */
  | { type: 'open'; id: number; path: string; extract?: { wrappers?: ExportedWrapper[] } }
  | { type: 'extract'; id: number; wrappers?: ExportedWrapper[] }
  | { type: 'release'; id: number };

/** An error as it crosses the thread boundary: name kept so PeFormatError stays recognisable. */
export interface WireError {
  name: string;
  message: string;
}

export type FromWorker =
  | { type: 'ready'; version: string }
  | { type: 'opened'; id: number; sha256: string; size: number }
  | { type: 'report'; id: number; report: DriverReport }
  | { type: 'failed'; id: number; error: WireError };

export function toWire(e: unknown): WireError {
  if (e instanceof Error) return { name: e.name, message: e.message || String(e) };
  return { name: 'Error', message: String(e) };
}

export function fromWire(w: WireError): Error {
  const err = new Error(w.message);
  err.name = w.name;
  return err;
}

/** Run in a worker thread: answer the pipeline's requests with `extract`, which is at `version`. */
export function serveExtractRequests(extract: Extract, version: string): void {
  const port = parentPort;
  if (!port) throw new Error('serveExtractRequests must run in a worker thread');
  const held = new Map<number, { path: string; buf: Uint8Array; sha256: string }>();
  const send = (m: FromWorker) => port.postMessage(m);
  const answer = async (id: number, file: { path: string; buf: Uint8Array; sha256: string }, wrappers?: ExportedWrapper[]) => {
    try {
      const report = await extract(file.buf, { path: file.path, sha256: file.sha256, exportedWrappers: wrappers });
      send({ type: 'report', id, report });
    } catch (e) {
      send({ type: 'failed', id, error: toWire(e) });
    }
  };
  port.on('message', async (m: ToWorker) => {
    if (m.type === 'open') {
      try {
        const buf = readFileSync(m.path);
        const sha256 = createHash('sha256').update(buf).digest('hex');
        if (!m.extract) held.set(m.id, { path: m.path, buf, sha256 });
        send({ type: 'opened', id: m.id, sha256, size: buf.byteLength });
        if (m.extract) await answer(m.id, { path: m.path, buf, sha256 }, m.extract.wrappers);
      } catch (e) {
        send({ type: 'failed', id: m.id, error: toWire(e) });
      }
    } else if (m.type === 'extract') {
      const file = held.get(m.id);
      held.delete(m.id);
      if (!file) {
        send({ type: 'failed', id: m.id, error: { name: 'Error', message: `worker holds no file for request ${m.id}` } });
        return;
      }
      await answer(m.id, file, m.wrappers);
    } else {
      held.delete(m.id);
    }
  });
  send({ type: 'ready', version });
}
