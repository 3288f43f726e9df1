// Live pool counters on Windows: NtQuerySystemInformation through koffi. koffi is imported here only,
// and the CLI imports this module only on win32, so other platforms never load a native addon.
import { hostname, release } from 'node:os';
import { decodePoolTagInformation, decodeSessionPoolTagInformation, mergeSessions, type Bitness } from './decode.js';
import { NtQueryError, STATUS_INVALID_INFO_CLASS, queryGrowing, type Attempt } from './query.js';
import { snapshotFromRecords } from './snapshot.js';
import type { SnapshotInput } from '../reports/snapshot.js';

// Class 255 (SystemPoolTagInformation2, 64-bit counters, since 26H1) is not queried: no public header
// gives its structure, and guessing a layout would produce plausible wrong numbers.
export const SYSTEM_POOLTAG_INFORMATION = 22;
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

function systemAttempt(native: Native): (size: number) => Attempt {
  return (size) => {
    const data = Buffer.alloc(size);
    const ret = [0];
    const status = native.query(SYSTEM_POOLTAG_INFORMATION, data, size, ret);
    return { status, returnLength: ret[0], data };
  };
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
  const system = decodePoolTagInformation(queryGrowing('SystemPoolTagInformation (class 22)', systemAttempt(native)), bitness);
  const meta = { host: hostname(), osBuild: release(), time, source: 'SystemPoolTagInformation' };
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
  return snapshotFromRecords(system, { ...meta, source: 'SystemPoolTagInformation+SystemSessionPoolTagInformation' }, sessions);
}
