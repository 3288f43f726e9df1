// The koffi binding of src/capture/windows.ts, run for real against fake-ntdll.c compiled here: the
// declarations, the out-parameter, Buffer-as-pointer, and class 67's pointer inside a header all cross
// an actual FFI boundary. x64 Linux only, where C's layout of these structures is Windows x64's.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { captureLive } from '../../src/capture/windows.js';
import { DEFAULT_GROW, NtQueryError, STATUS_INVALID_INFO_CLASS } from '../../src/capture/query.js';
import type { PoolCounters, UsageRow } from '../../src/reports/types.js';
import { tagFromText } from '../../src/tag.js';

const supported = process.platform === 'linux' && process.arch === 'x64';
const skip = supported ? false : `the fake ntdll is built with the 64-bit Windows layout only on Linux x64 (this is ${process.platform}/${process.arch})`;

const FIRST_BUFFER = DEFAULT_GROW.initial;
// Enough filler that what the fake reports through the ReturnLength out-parameter, plus the loop's 25%
// headroom, beats doubling: the second buffer size then proves koffi.out carried the value back.
const FILLER_TAGS = 10500;
/** 8-byte header + 0x28 per tag, then * 1.25. */
const GROWN_SYSTEM = Math.ceil((8 + (4 + FILLER_TAGS) * 0x28) * 1.25);
/** Two 16-byte session headers + 0x28 per tag (2 in session 0, 2 + filler in session 1), then * 1.25. */
const GROWN_SESSION = Math.ceil((16 + 2 * 0x28 + 16 + (2 + FILLER_TAGS) * 0x28) * 1.25);

interface Fake {
  library: string;
  /** `pooltag2`: whether class 255 answers (off: an older Windows, class 22 answers). */
  configure(sessionSupported: boolean, fillerTags: number, pooltag2?: boolean): void;
  /** [class, buffer size offered] of every call since configure. */
  calls(): [number, number][];
}

function counters(allocs: number, frees: number, outstanding: number, bytes: number): PoolCounters {
  return { allocs, frees, outstanding, bytes };
}

const ZERO = counters(0, 0, 0, 0);

function row(tagText: string, line: number, paged: PoolCounters, nonpaged: PoolCounters, session?: PoolCounters): UsageRow {
  const r: UsageRow = { tag: tagFromText(tagText), tagText, nonpaged, paged, line };
  if (session) r.session = session;
  return r;
}

const PROC_NONPAGED_BYTES = 5 * 2 ** 30 + 12345;

/** fake-ntdll.c's system table, as the decoder must read it. */
function systemRows(session: boolean): UsageRow[] {
  return [
    row('Proc', 1, counters(12, 4, 8, 8 * 4096), counters(5000123, 4000000, 1000123, PROC_NONPAGED_BYTES)),
    row('Wrap', 2, counters(0x10, 0xfffffff0, 32, 32 * 64), ZERO),
    row('Io  ', 3, ZERO, counters(77, 70, 7, 7 * 256)),
    // MmSt session pool: session 0's paged (5, 1, 4, 4096) plus its nonpaged (2, 1, 1, 64).
    row('MmSt', 4, counters(300, 100, 200, 200 * 1024), ZERO, session ? counters(7, 2, 5, 4160) : undefined),
  ];
}

/** The filler tags 'zaaa', 'zaab', …, in both pools, with fake-ntdll.c's formulas. */
function fillerRows(): UsageRow[] {
  const a = 'a'.charCodeAt(0);
  return Array.from({ length: FILLER_TAGS }, (_, i) => {
    const text = 'z' + String.fromCharCode(a + Math.floor(i / 676), a + (Math.floor(i / 26) % 26), a + (i % 26));
    return row(text, 5 + i, counters(i + 1, i, 1, 64), ZERO, counters(2, 1, 1, i * 8));
  });
}

/** Tags only in session pool: rows with zero system counters, numbered after the system rows. */
function sessionOnlyRows(firstLine: number): UsageRow[] {
  return [
    // Gh05 is in both sessions: paged (9+4, 3+4, 6+0, 3072+0) plus nonpaged (0+1, 0, 1, 128).
    row('Gh05', firstLine, ZERO, ZERO, counters(14, 7, 7, 3200)),
    // Usti's allocs wrapped in session 1 too: 0xFFFFFFFE - 0xFFFFFFFA.
    row('Usti', firstLine + 1, ZERO, ZERO, counters(0xfffffffe, 0xfffffffa, 4, 4 * 96)),
  ];
}

describe('capture through koffi against a fake ntdll', { skip }, () => {
  let dir = '';
  let built: Promise<Fake> | undefined;
  // Built by the first test rather than in a before() hook, so a missing compiler or koffi shows up as
  // failed tests with the reason (a failing hook only cancels them); failing to load koffi is never a skip.
  const fakeNtdll = () => (built ??= build());

  async function build(): Promise<Fake> {
    dir = mkdtempSync(join(tmpdir(), 'whose-tag-fakentdll-'));
    const library = join(dir, 'libfakentdll.so');
    execFileSync('cc', ['-shared', '-fPIC', '-O1', '-o', library, fileURLToPath(new URL('./fake-ntdll.c', import.meta.url))], { stdio: 'pipe' });
    const koffi = (await import('koffi')).default as unknown as typeof import('koffi');
    // The same path dlopens to the same handle captureLive gets, so these share the fake's state.
    const lib = koffi.load(library);
    const configure = lib.func('void FakeNtConfigure(int, uint32_t)');
    const configure2 = lib.func('void FakeNtConfigurePooltag2(int)');
    const callCount = lib.func('uint32_t FakeNtCallCount(void)');
    const callClass = lib.func('uint32_t FakeNtCallClass(uint32_t)');
    const callSize = lib.func('uint32_t FakeNtCallSize(uint32_t)');
    return {
      library,
      configure: (sessionSupported, fillerTags, pooltag2 = false) => {
        configure(sessionSupported ? 1 : 0, fillerTags);
        configure2(pooltag2 ? 1 : 0);
      },
      calls: () => Array.from({ length: callCount() as number }, (_, i) => [callClass(i) as number, callSize(i) as number]),
    };
  }

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('class 22: exact rows, a wrapped 32-bit counter, and a SIZE_T beyond 4 GiB', async () => {
    const fake = await fakeNtdll();
    fake.configure(true, 0);
    const snap = await captureLive({ session: false }, fake.library);
    assert.deepEqual(snap.rows, systemRows(false));
    assert.equal(snap.rows[0].nonpaged.bytes, 5368721465);
    assert.equal(snap.source, 'SystemPoolTagInformation');
    assert.equal(snap.host, hostname());
    assert.equal(snap.osBuild, release());
    assert.equal(new Date(snap.time!).toISOString(), snap.time);
    assert.deepEqual(fake.calls(), [[255, FIRST_BUFFER], [22, FIRST_BUFFER]], 'class 255 asked first, class 22 after INVALID_INFO_CLASS');
  });

  test('--session: class 67 fills the native buffer its header points to; two sessions merge per tag', async () => {
    const fake = await fakeNtdll();
    fake.configure(true, 0);
    const snap = await captureLive({ session: true }, fake.library);
    assert.deepEqual(snap.rows, [...systemRows(true), ...sessionOnlyRows(5)]);
    assert.equal(snap.source, 'SystemPoolTagInformation+SystemSessionPoolTagInformation');
    assert.deepEqual(fake.calls(), [[255, FIRST_BUFFER], [22, FIRST_BUFFER], [67, FIRST_BUFFER]]);
  });

  test('tables larger than the first buffer: both queries get INFO_LENGTH_MISMATCH and retry through FFI', async () => {
    const fake = await fakeNtdll();
    fake.configure(true, FILLER_TAGS);
    const snap = await captureLive({ session: true }, fake.library);
    assert.deepEqual(fake.calls(), [[255, FIRST_BUFFER], [22, FIRST_BUFFER], [22, GROWN_SYSTEM], [67, FIRST_BUFFER], [67, GROWN_SESSION]]);
    assert.equal(snap.rows.length, 4 + FILLER_TAGS + 2);
    assert.deepEqual(snap.rows, [...systemRows(true), ...fillerRows(), ...sessionOnlyRows(5 + FILLER_TAGS)]);
  });

  test('a Windows without class 67: --session fails with its one-line reason, plain capture still works', async () => {
    const fake = await fakeNtdll();
    fake.configure(false, 0);
    await assert.rejects(captureLive({ session: true }, fake.library), (e: unknown) => {
      assert.ok(e instanceof NtQueryError);
      assert.equal(e.message, '--session: this Windows does not report session pool per tag (class 67 is not supported)');
      assert.equal(e.status, STATUS_INVALID_INFO_CLASS);
      return true;
    });
    assert.deepEqual(fake.calls(), [[255, FIRST_BUFFER], [22, FIRST_BUFFER], [67, FIRST_BUFFER]]);
    assert.deepEqual((await captureLive({ session: false }, fake.library)).rows, systemRows(false));
  });

  test('class 255 answers first where Windows has it: 64-bit counts past 2^32, and the snapshot says which class', async () => {
    const fake = await fakeNtdll();
    fake.configure(true, 0, true);
    const snap = await captureLive({ session: false }, fake.library);
    assert.deepEqual(fake.calls(), [[255, FIRST_BUFFER]]);
    assert.equal(snap.source, 'SystemPoolTagInformation2');
    assert.deepEqual(snap.rows, [
      row('Proc', 1, counters(12, 4, 8, 8 * 4096), counters(6 * 2 ** 30, 6 * 2 ** 30 - 1000, 1000, PROC_NONPAGED_BYTES)),
      // Class 22 could only show 0x10 allocations (wrapped); class 255 has them all.
      row('Wrap', 2, counters(2 ** 32 + 0x10, 0xfffffff0, 32, 32 * 64), ZERO),
    ]);
    const withSession = await captureLive({ session: true }, fake.library);
    assert.equal(withSession.source, 'SystemPoolTagInformation2+SystemSessionPoolTagInformation');
  });
});
