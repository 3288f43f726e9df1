// The real-driver measure: System Informer's signed MSVC kernel driver, five builds 2022-2024 for x64 and
// ARM64 (../shared/drivers/systeminformer), scored against the pool tags its sources reference.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { needShared } from '../helpers/shared.js';
import { type BinaryScore, SYSTEMINFORMER, formatScores, scoreFolder, totals } from '../helpers/score.js';

/**
 * Floors reached today (raise them as the extractor learns more). What is missed on every build: KpI1,
 * Kpc2, Kpc3 and Kpc4 reach ExInitialize*LookasideList only through an object type's Initialize callback.
 * KpI2 (2023-12 on, a Filter Manager context registration) is proven through FltRegisterFilter's registration.
 */
const FLOORS: Record<string, { pooled: number; each: number }> = {
  x64: { pooled: 0.9, each: 0.875 },
  arm64: { pooled: 0.9, each: 0.875 },
};

test('System Informer x64 and ARM64 builds: call-tier recall floors, no tag outside the truth', { skip: needShared('drivers/systeminformer') }, (t) => {
  const rows = scoreFolder(SYSTEMINFORMER);
  for (const line of formatScores(rows).split('\n')) t.diagnostic(line);
  const byArch = (arch: string): BinaryScore[] => rows.filter((r) => r.arch === arch);
  for (const arch of Object.keys(FLOORS)) assert.equal(byArch(arch).length, 5, `five ${arch} builds`);
  for (const r of rows) {
    assert.deepEqual(r.outside, [], `${r.file}: call-tier tags outside the truth`);
    assert.ok(r.recall >= FLOORS[r.arch].each, `${r.file}: recall ${r.recall.toFixed(3)} < ${FLOORS[r.arch].each}`);
  }
  for (const total of totals(rows)) {
    assert.ok(total.recall >= FLOORS[total.arch].pooled, `${total.arch}: pooled recall ${total.recall.toFixed(3)} < ${FLOORS[total.arch].pooled}`);
  }
});
