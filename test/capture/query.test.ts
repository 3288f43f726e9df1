import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NtQueryError, STATUS_INFO_LENGTH_MISMATCH, queryGrowing, type Attempt } from '../../src/capture/query.js';

/** A fake kernel whose table needs `needs[i]` bytes on call i (it grows while we allocate). */
function kernel(needs: number[]) {
  const sizes: number[] = [];
  const attempt = (size: number): Attempt => {
    sizes.push(size);
    const need = needs[Math.min(sizes.length - 1, needs.length - 1)];
    if (size < need) return { status: STATUS_INFO_LENGTH_MISMATCH, returnLength: need, data: Buffer.alloc(0) };
    const data = Buffer.alloc(size, 0xab);
    return { status: 0, returnLength: need, data };
  };
  return { attempt, sizes };
}

test('the buffer grows to what the kernel asks for, with headroom, and only the returned bytes are kept', () => {
  const k = kernel([1000, 1200]);
  const buf = queryGrowing('test', k.attempt, { initial: 512 });
  assert.deepEqual(k.sizes, [512, 1250]);
  assert.equal(buf.length, 1200);
  assert.equal(buf[1199], 0xab);
});

test('growth follows the larger of doubling and the requested size', () => {
  const k = kernel([1000, 5000, 7000]);
  const buf = queryGrowing('test', k.attempt, { initial: 512 });
  assert.deepEqual(k.sizes, [512, 1250, 6250, 12500]);
  assert.equal(buf.length, 7000);
});

test('other NTSTATUS values fail at once, naming the status', () => {
  assert.throws(
    () => queryGrowing('SystemPoolTagInformation (class 22)', () => ({ status: 0xc0000022, returnLength: 0, data: Buffer.alloc(0) })),
    (e: Error) => e instanceof NtQueryError && e.message === 'SystemPoolTagInformation (class 22): NtQuerySystemInformation failed with NTSTATUS 0xC0000022' && (e as NtQueryError).status === 0xc0000022,
  );
});

test('retries and size are bounded even when the kernel keeps asking for more', () => {
  let calls = 0;
  const greedy = (size: number): Attempt => {
    calls++;
    return { status: STATUS_INFO_LENGTH_MISMATCH, returnLength: size * 10, data: Buffer.alloc(0) };
  };
  assert.throws(() => queryGrowing('test', greedy, { initial: 1024, max: 1 << 20, retries: 8 }), /did not fit after 4 tries \(last size 1048576 bytes, limit 1048576\)/);
  assert.equal(calls, 4); // 1 KB, 12.5 KB, 156 KB, 1 MB (capped): no larger size is allowed
  calls = 0;
  assert.throws(() => queryGrowing('test', greedy, { initial: 1024, max: 2 ** 40, retries: 2 }), /did not fit after 3 tries/);
  assert.equal(calls, 3);
});
