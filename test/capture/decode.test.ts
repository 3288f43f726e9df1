import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CaptureDecodeError, decodePoolTagInformation, decodePoolTagInformation2, decodeSessionPoolTagInformation, mergeSessions } from '../../src/capture/decode.js';
import { formatTag } from '../../src/tag.js';
import { entry, poolTagInformation, poolTagInformation2, sessionPoolTagInformation } from './buffers.js';

/** 64-bit SIZE_T byte counts can pass 4 GB; 32-bit ones cannot. */
const entries = (bits: 64 | 32) => [
  entry('Proc', [0, 0, 0], [137, 89, 91328]),
  entry('CM31', [5021, 4000, bits === 64 ? 2 ** 40 + 123 : 123], [2, 1, 48]),
  entry('Io  ', [1, 1, 0], [7, 0, 4096]),
];
const ENTRIES = entries(64);

for (const bits of [64, 32] as const) {
  test(`class 22, ${bits}-bit layout: every field lands where it belongs`, () => {
    const buf = poolTagInformation(entries(bits), bits);
    assert.equal(buf.length, bits === 64 ? 8 + 3 * 0x28 : 4 + 3 * 0x1c);
    const recs = decodePoolTagInformation(buf, bits);
    assert.deepEqual(recs.map((r) => formatTag(r.tag)), ['Proc', 'CM31', 'Io  ']);
    assert.deepEqual(recs[0].nonpaged, { allocs: 137, frees: 89, outstanding: 48, bytes: 91328 });
    assert.deepEqual(recs[0].paged, { allocs: 0, frees: 0, outstanding: 0, bytes: 0 });
    assert.deepEqual(recs[1].paged, { allocs: 5021, frees: 4000, outstanding: 1021, bytes: bits === 64 ? 2 ** 40 + 123 : 123 });
    assert.deepEqual(recs[2].nonpaged, { allocs: 7, frees: 0, outstanding: 7, bytes: 4096 });
  });
}

test('wrapped 32-bit counters: frees > allocs means allocs wrapped, outstanding is mod 2^32', () => {
  const buf = poolTagInformation([entry('Wrap', [5, 0xfffffff0, 640], [0xffffffff, 0xfffffffe, 64])], 64);
  const [r] = decodePoolTagInformation(buf, 64);
  assert.deepEqual(r.paged, { allocs: 5, frees: 0xfffffff0, outstanding: 21, bytes: 640 });
  assert.deepEqual(r.nonpaged, { allocs: 0xffffffff, frees: 0xfffffffe, outstanding: 1, bytes: 64 });
});

test('truncated buffers fail with the offset and what was needed', () => {
  const full = poolTagInformation(ENTRIES, 64);
  assert.throws(
    () => decodePoolTagInformation(full.subarray(0, full.length - 1), 64),
    (e: Error) => e instanceof CaptureDecodeError && e.message === 'SystemPoolTagInformation: at offset 0x8: Count 3 needs 120 bytes of 40-byte entries, the buffer has 119 (truncated, or the wrong bitness)',
  );
  assert.throws(() => decodePoolTagInformation(Buffer.alloc(2), 64), /at offset 0x0: expected a 4-byte Count, the buffer has 2 bytes/);
  // A count the buffer cannot hold is refused before anything is allocated for it.
  assert.throws(() => decodePoolTagInformation(poolTagInformation([], 64, 0xffffffff), 64), /Count 4294967295 needs 171798691800 bytes/);
  // An x86 buffer read as x64 does not silently produce rows.
  assert.throws(() => decodePoolTagInformation(poolTagInformation(entries(32).slice(0, 2), 32), 64), CaptureDecodeError);
  assert.deepEqual(decodePoolTagInformation(poolTagInformation([], 64), 64), []);
});

test('byte counts beyond 2^53 are refused rather than rounded', () => {
  const buf = poolTagInformation([entry('Huge', [1, 0, 2n ** 60n], [0, 0, 0])], 64);
  assert.throws(() => decodePoolTagInformation(buf, 64), /at offset 0x18: byte count 1152921504606846976 is beyond 2\^53/);
});

for (const bits of [64, 32] as const) {
  test(`class 67, ${bits}-bit: the session chain is followed and merged per tag`, () => {
    const buf = sessionPoolTagInformation(
      [
        { id: 0, entries: [entry('Gh05', [10, 2, 800], [0, 0, 0]), entry('Usst', [3, 0, 300], [1, 0, 16])] },
        { id: 1, entries: [entry('Gh05', [4, 1, 200], [0, 0, 0])] },
        { id: 2, entries: [] },
      ],
      bits,
    );
    const sessions = decodeSessionPoolTagInformation(buf, bits);
    assert.deepEqual(sessions.map((s) => [s.sessionId, s.tags.length]), [[0, 2], [1, 1], [2, 0]]);
    const merged = mergeSessions(sessions);
    assert.deepEqual(merged.map((r) => formatTag(r.tag)), ['Gh05', 'Usst']);
    assert.deepEqual(merged[0].paged, { allocs: 14, frees: 3, outstanding: 11, bytes: 1000 });
    assert.deepEqual(merged[1].nonpaged, { allocs: 1, frees: 0, outstanding: 1, bytes: 16 });
  });
}

test('class 67: an empty answer is no session; a chain that loops or leaves the buffer is refused', () => {
  assert.deepEqual(decodeSessionPoolTagInformation(Buffer.alloc(0), 64), []);
  const buf = sessionPoolTagInformation([{ id: 0, entries: [entry('Gh05', [1, 0, 8], [0, 0, 0])] }, { id: 1, entries: [] }], 64);
  const looping = Buffer.from(buf);
  looping.writeBigUInt64LE(0n + 8n, 0); // points inside its own header
  assert.throws(() => decodeSessionPoolTagInformation(looping, 64), /at offset 0x0: NextEntryOffset 8 does not lead to another entry inside the 72-byte buffer/);
  const outside = Buffer.from(buf);
  outside.writeBigUInt64LE(4096n, 0);
  assert.throws(() => decodeSessionPoolTagInformation(outside, 64), /NextEntryOffset 4096/);
  assert.throws(() => decodeSessionPoolTagInformation(buf.subarray(0, 60), 64), /at offset 0x38: expected a 16-byte session header, the buffer has 4 bytes left/);
});

for (const bits of [64, 32] as const) {
  test(`class 255, ${bits}-bit layout: SIZE_T counters land where they belong`, () => {
    // 1.6 × 10^9 allocations is a real 2026 count; on x64 counts go past 2^32 without wrapping.
    const big = bits === 64 ? 6_000_000_000n : 1_600_000_000;
    const buf = poolTagInformation2(
      [entry('NtFC', [0, 0, 0], [big, 1_599_999_000, bits === 64 ? 2n ** 34n + 7n : 7]), entry('Io  ', [3, 1, 96], [7, 0, 4096])],
      bits,
    );
    assert.equal(buf.length, bits === 64 ? 8 + 2 * 0x38 : 4 + 2 * 0x1c);
    const recs = decodePoolTagInformation2(buf, bits);
    assert.deepEqual(recs.map((r) => formatTag(r.tag)), ['NtFC', 'Io  ']);
    assert.deepEqual(recs[0].nonpaged, bits === 64
      ? { allocs: 6_000_000_000, frees: 1_599_999_000, outstanding: 4_400_001_000, bytes: 2 ** 34 + 7 }
      : { allocs: 1_600_000_000, frees: 1_599_999_000, outstanding: 1000, bytes: 7 });
    assert.deepEqual(recs[0].paged, { allocs: 0, frees: 0, outstanding: 0, bytes: 0 });
    assert.deepEqual(recs[1].paged, { allocs: 3, frees: 1, outstanding: 2, bytes: 96 });
    assert.deepEqual(recs[1].nonpaged, { allocs: 7, frees: 0, outstanding: 7, bytes: 4096 });
  });
}

test('class 255: a class-22 buffer is not read as one; counts past 2^53 and torn Frees > Allocs', () => {
  // The same entries in class 22's 0x28-byte layout are too short for 0x38-byte entries.
  assert.throws(() => decodePoolTagInformation2(poolTagInformation(ENTRIES, 64), 64), /SystemPoolTagInformation2: at offset 0x8: Count 3 needs 168 bytes of 56-byte entries, the buffer has 120/);
  assert.throws(() => decodePoolTagInformation2(poolTagInformation2([entry('Huge', [2n ** 60n, 0, 0], [0, 0, 0])], 64), 64), /at offset 0x10: PagedAllocs 1152921504606846976 is beyond 2\^53/);
  // The CPUs are summed one after another: Frees may pass Allocs by a few, which is none outstanding.
  const [torn] = decodePoolTagInformation2(poolTagInformation2([entry('Torn', [10, 12, 0], [0, 0, 0])], 64), 64);
  assert.deepEqual(torn.paged, { allocs: 10, frees: 12, outstanding: 0, bytes: 0 });
  assert.deepEqual(decodePoolTagInformation2(poolTagInformation2([], 64), 64), []);
});
