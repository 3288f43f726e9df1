// One seeded PRNG for every fuzz test and the bench corpus: a failing case replays from its seed and
// index, and the same seed gives the same sequence on every machine.

/** mulberry32: the next 32-bit unsigned word on each call. */
export function prngWords(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** mulberry32 as a float in [0, 1). */
export function prng(seed: number): () => number {
  const next = prngWords(seed);
  return () => next() / 4294967296;
}
