// The NtQuerySystemInformation retry loop, apart from koffi so it can be tested anywhere: the kernel's
// table grows between the call that reports the size and the call that fills the buffer.

export const STATUS_SUCCESS = 0;
export const STATUS_INFO_LENGTH_MISMATCH = 0xc0000004;
export const STATUS_BUFFER_TOO_SMALL = 0xc0000023;
export const STATUS_INVALID_INFO_CLASS = 0xc0000003;
export const STATUS_NOT_IMPLEMENTED = 0xc0000002;

export interface Attempt {
  /** NTSTATUS as an unsigned 32-bit value. */
  status: number;
  returnLength: number;
  /** The buffer the call filled (meaningful on success). */
  data: Buffer;
}

export interface GrowOptions {
  initial?: number;
  /** Largest buffer tried: a pool tag table is a few hundred KB; far beyond that something is wrong. */
  max?: number;
  retries?: number;
}

export const DEFAULT_GROW: Required<GrowOptions> = { initial: 256 * 1024, max: 256 * 1024 * 1024, retries: 8 };

export class NtQueryError extends Error {
  constructor(message: string, public readonly status?: number) {
    super(message);
    this.name = 'NtQueryError';
  }
}

export function ntstatus(status: number): string {
  return '0x' + (status >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

/** Calls `attempt(size)` until it fits, growing to what the kernel asked for plus headroom. */
export function queryGrowing(label: string, attempt: (size: number) => Attempt, opts: GrowOptions = {}): Buffer {
  const { initial, max, retries } = { ...DEFAULT_GROW, ...opts };
  let size = initial;
  let tries = 0;
  for (;;) {
    const r = attempt(size);
    tries++;
    const status = r.status >>> 0;
    if (status === STATUS_SUCCESS) return r.data.subarray(0, Math.min(r.returnLength, r.data.length));
    if (status !== STATUS_INFO_LENGTH_MISMATCH && status !== STATUS_BUFFER_TOO_SMALL) {
      throw new NtQueryError(`${label}: NtQuerySystemInformation failed with NTSTATUS ${ntstatus(status)}`, status);
    }
    if (tries > retries || size >= max) break;
    // Headroom: tags are added while we allocate; doubling bounds the number of rounds.
    size = Math.min(max, Math.ceil(Math.max(size * 2, r.returnLength * 1.25)));
  }
  throw new NtQueryError(`${label}: the buffer still did not fit after ${tries} tries (last size ${size} bytes, limit ${max})`);
}
