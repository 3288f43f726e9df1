// Live pool counters on Windows: NtQuerySystemInformation through koffi. koffi is imported here only,
// and the CLI imports this module only on win32, so other platforms never load a native addon.
import { hostname, release } from 'node:os';
import { decodePoolTagInformation, decodePoolTagInformation2, decodeSessionPoolTagInformation, mergeSessions, type Bitness, type PoolTagRecord } from './decode.js';
import { NtQueryError, STATUS_INVALID_INFO_CLASS, STATUS_NOT_IMPLEMENTED, queryGrowing, type Attempt } from './query.js';
import { snapshotFromRecords } from './snapshot.js';
import type { SnapshotInput } from '../reports/snapshot.js';

// Class 255 (SystemPoolTagInformation2, since 26H1) has 64-bit counters that do not wrap: asked first.
// Older Windows answers STATUS_INVALID_INFO_CLASS, and class 22 (32-bit counts) answers instead.
export const SYSTEM_POOLTAG_INFORMATION = 22;
export const SYSTEM_POOLTAG_INFORMATION2 = 255;
export const SYSTEM_SESSION_POOLTAG_INFORMATION = 67;
/** SYSTEM_SESSION_PROCESS_INFORMATION.SessionId meaning "every session". */
const ALL_SESSIONS = 0xffffffff;

type NtQuerySystemInformation = (infoClass: number, buffer: Buffer, length: number, returnLength: number[]) => number;

interface Native {
  query: NtQuerySystemInformation;
  alloc(size: number): unknown;
  free(ptr: unknown): void;
  address(ptr: unknown): bigint;
  view(ptr: unknown, size: number): ArrayBuffer;
}

/** The process's own pointer width decides the layout: a 32-bit node on 64-bit Windows gets WOW64's 32-bit view. */
export function processBitness(arch: string = process.arch): Bitness {
  return arch === 'ia32' || arch === 'arm' ? 32 : 64;
}

/**
 * `library` is a parameter so a test can bind these exact declarations to a stand-in built from C
 * (test/capture/fake-ntdll.c): the binding then runs for real off Windows, where the calling
 * convention is ignored.
 */
async function loadNative(library: string): Promise<Native> {
  let koffi: typeof import('koffi');
  try {
    koffi = (await import('koffi')).default as unknown as typeof import('koffi');
  } catch (e) {
    throw new NtQueryError(`capture needs the optional koffi package, which did not load: ${(e as Error).message}`);
  }
  const ntdll = koffi.load(library);
  const query = ntdll.func('__stdcall', 'NtQuerySystemInformation', 'uint32', ['uint32', 'void *', 'uint32', koffi.out(koffi.pointer('uint32'))]) as unknown as NtQuerySystemInformation;
  return {
    query,
    alloc: (size) => koffi.alloc('uint8_t', size),
    free: (ptr) => koffi.free(ptr),
    address: (ptr) => koffi.address(ptr),
    view: (ptr, size) => koffi.view(ptr, size),
  };
}

function systemAttempt(native: Native, infoClass: number): (size: number) => Attempt {
  return (size) => {
    const data = Buffer.alloc(size);
    const ret = [0];
    const status = native.query(infoClass, data, size, ret);
    return { status, returnLength: ret[0], data };
  };
}

/** What a Windows without a class answers: the class is unknown to it. */
const NOT_THIS_WINDOWS = new Set([STATUS_INVALID_INFO_CLASS, STATUS_NOT_IMPLEMENTED]);

/** The system pool table: class 255 where Windows has it, else class 22; says which answered. */
function queryPoolTags(native: Native, bitness: Bitness): { records: PoolTagRecord[]; source: string } {
  try {
    const buf = queryGrowing('SystemPoolTagInformation2 (class 255)', systemAttempt(native, SYSTEM_POOLTAG_INFORMATION2));
    return { records: decodePoolTagInformation2(buf, bitness), source: 'SystemPoolTagInformation2' };
  } catch (e) {
    if (!(e instanceof NtQueryError && e.status !== undefined && NOT_THIS_WINDOWS.has(e.status >>> 0))) throw e;
  }
  const buf = queryGrowing('SystemPoolTagInformation (class 22)', systemAttempt(native, SYSTEM_POOLTAG_INFORMATION));
  return { records: decodePoolTagInformation(buf, bitness), source: 'SystemPoolTagInformation' };
}

/**
 * Class 67 takes SYSTEM_SESSION_PROCESS_INFORMATION { ULONG SessionId; ULONG SizeOfBuf; PVOID Buffer; }
 * and writes into Buffer, so the output lives in native memory that we copy out and free.
 */
function sessionAttempt(native: Native, bitness: Bitness): (size: number) => Attempt {
  return (size) => {
    const ptr = native.alloc(size);
    try {
      const header = Buffer.alloc(bitness === 64 ? 16 : 12);
      header.writeUInt32LE(ALL_SESSIONS, 0);
      header.writeUInt32LE(size, 4);
      if (bitness === 64) header.writeBigUInt64LE(native.address(ptr), 8);
      else header.writeUInt32LE(Number(native.address(ptr)), 8);
      const ret = [0];
      const status = native.query(SYSTEM_SESSION_POOLTAG_INFORMATION, header, header.length, ret);
      return { status, returnLength: ret[0], data: Buffer.from(native.view(ptr, size).slice(0)) };
    } finally {
      native.free(ptr);
    }
  };
}

export interface CaptureOptions {
  session: boolean;
}

/** One snapshot of the running system (and its session pool with `session`). */
export async function captureLive(opts: CaptureOptions, library = 'ntdll.dll'): Promise<SnapshotInput> {
  const native = await loadNative(library);
  const bitness = processBitness();
  const time = new Date().toISOString();
  const { records: system, source } = queryPoolTags(native, bitness);
  const meta = { host: hostname(), osBuild: release(), time, source };
  if (!opts.session) return snapshotFromRecords(system, meta);
  let sessionBuf: Buffer;
  try {
    sessionBuf = queryGrowing('SystemSessionPoolTagInformation (class 67)', sessionAttempt(native, bitness));
  } catch (e) {
    if (e instanceof NtQueryError && e.status === STATUS_INVALID_INFO_CLASS) {
      throw new NtQueryError('--session: this Windows does not report session pool per tag (class 67 is not supported)', e.status);
    }
    throw e;
  }
  const sessions = mergeSessions(decodeSessionPoolTagInformation(sessionBuf, bitness));
  return snapshotFromRecords(system, { ...meta, source: `${source}+SystemSessionPoolTagInformation` }, sessions);
}
