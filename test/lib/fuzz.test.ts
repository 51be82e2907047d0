/**
 * Seeded mutation fuzzing through FaceAnalyzer.analyze (test/support/fuzz.ts): 5,000 mutated
 * JPEG, PNG, GIF, BMP, TIFF and WebP files. No case may throw anything but an AppError, none may be
 * INTERNAL, none may take longer than the per-case bound, and no tensor may leak. Prints the
 * seed, the case count and the outcome counts; FUZZ_SEED / FUZZ_CASES explore further.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { getAnalyzer } from '../../lib/analyzer.js';
import type { FaceAnalyzer } from '../../lib/analyzer.js';
import { AppError } from '../../lib/errors.js';
import { fuzzCases, fuzzCountFromEnv, fuzzSeedFromEnv, fuzzSeeds } from '../support/fuzz.js';
import type { FuzzCase } from '../support/fuzz.js';
import '../support/utkface.js'; // fails the file when UTKFace is missing

const CASES = fuzzCountFromEnv(5_000);
/**
 * Per case, ms. A mutated header may legitimately describe a few megapixels (decoding 25 MP
 * takes ~1 s here); anything slower is a decoder stuck in a loop.
 */
const CASE_MAX_MS = 5_000;

describe('fuzz: mutated images through FaceAnalyzer.analyze', () => {
  const seed = fuzzSeedFromEnv();
  let analyzer: FaceAnalyzer;
  let cases: FuzzCase[];

  beforeAll(async () => {
    analyzer = await getAnalyzer();
    cases = fuzzCases(await fuzzSeeds(), CASES, seed);
  });

  it(`answers ${CASES} mutated files with a result or an AppError, never INTERNAL, never slowly`, async () => {
    const counts: Record<string, number> = {};
    const failures: string[] = [];
    const tensors = tf.memory().numTensors;
    let slowest = 0;
    const started = performance.now();
    for (const c of cases) {
      const t0 = performance.now();
      let outcome: string;
      try {
        await analyzer.analyze(c.bytes, { detect: c.detect });
        outcome = 'ok';
      } catch (error) {
        outcome = error instanceof AppError ? error.code : `threw ${(error as Error)?.name}`;
        if (!(error instanceof AppError) || error.code === 'INTERNAL') {
          failures.push(`${c.label}: ${outcome} ${String((error as AppError).cause ?? error).slice(0, 200)}`);
        }
      }
      const ms = performance.now() - t0;
      slowest = Math.max(slowest, ms);
      if (ms > CASE_MAX_MS) failures.push(`${c.label}: took ${ms.toFixed(0)} ms`);
      counts[outcome] = (counts[outcome] ?? 0) + 1;
    }
    const summary = Object.entries(counts).sort().map(([k, v]) => `${k}=${v}`).join(' ');
    console.info(`fuzz=lib seed=${seed} cases=${cases.length} ${summary} slowest_ms=${slowest.toFixed(0)} total_s=${((performance.now() - started) / 1000).toFixed(1)}`);
    expect(failures).toEqual([]);
    expect(tf.memory().numTensors).toBe(tensors);
  }, 600_000);
});
