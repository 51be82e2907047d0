/**
 * Seeded mutation fuzzing through real HTTP (serverless-offline from test/setup/offline.ts):
 * 200 mutated images as raw POST /v1/predict bodies. Every answer is a 200 or an error body
 * with an AppError code (never INTERNAL, never a 5xx from a crashed or hung function), within
 * the per-request bound, and the service answers health afterwards. test/lib/fuzz.test.ts
 * runs 5,000 cases at the lib entry point. FUZZ_SEED / FUZZ_HTTP_CASES explore.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ERROR_CODES } from '../../lib/errors.js';
import { fuzzCases, fuzzSeedFromEnv, fuzzSeeds } from '../support/fuzz.js';
import type { FuzzCase } from '../support/fuzz.js';
import '../support/utkface.js'; // fails the file when UTKFace is missing

const { baseUrl } = inject('offline');
const CASES = Number(process.env.FUZZ_HTTP_CASES) || 200;
/** Per request, ms: the handler's own time budget (TIME_BUDGET_MS 8000 in serverless.yml) plus slack. */
const REQUEST_MAX_MS = 12_000;
/** Codes bad input may get: every AppError code except the two that mean a bug or a broken deploy. */
const INPUT_CODES = ERROR_CODES.filter((c) => c !== 'INTERNAL' && c !== 'MODEL_LOAD_FAILED');

describe('fuzz: mutated images through POST /v1/predict', () => {
  // A different stream from the lib fuzz test's, so the two runs cover different cases.
  const seed = (fuzzSeedFromEnv() + 1) >>> 0;
  let cases: FuzzCase[];

  beforeAll(async () => {
    cases = fuzzCases(await fuzzSeeds(), CASES, seed);
  });

  it(`answers ${CASES} mutated files with a 200 or a documented 4xx/504, never a 500`, async () => {
    const counts: Record<string, number> = {};
    const failures: string[] = [];
    let slowest = 0;
    for (const c of cases) {
      const started = performance.now();
      let outcome: string;
      try {
        const res = await fetch(`${baseUrl}/v1/predict?detect=${c.detect}`, {
          method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(c.bytes),
          signal: AbortSignal.timeout(REQUEST_MAX_MS * 2),
        });
        const body = await res.json().catch(() => undefined) as { faces?: unknown[]; error?: { code: string } } | undefined;
        outcome = res.status === 200 && Array.isArray(body?.faces) ? '200' : `${res.status} ${body?.error?.code ?? 'no error code'}`;
        if (res.status !== 200 && !(INPUT_CODES as readonly string[]).includes(body?.error?.code ?? '')) failures.push(`${c.label}: ${outcome}`);
        if (res.status >= 500 && body?.error?.code !== 'TIMEOUT') failures.push(`${c.label}: ${outcome}`);
      } catch (error) {
        outcome = `fetch failed: ${(error as Error).name}`;
        failures.push(`${c.label}: ${outcome}`);
      }
      const ms = performance.now() - started;
      slowest = Math.max(slowest, ms);
      if (ms > REQUEST_MAX_MS) failures.push(`${c.label}: took ${ms.toFixed(0)} ms`);
      counts[outcome] = (counts[outcome] ?? 0) + 1;
    }
    const summary = Object.entries(counts).sort().map(([k, v]) => `${k.replace(' ', ':')}=${v}`).join(' ');
    console.info(`fuzz=http seed=${seed} cases=${cases.length} ${summary} slowest_ms=${slowest.toFixed(0)}`);
    expect(failures).toEqual([]);
    const health = await fetch(`${baseUrl}/v1/health`);
    expect(health.status).toBe(200);
  }, 600_000);
});
