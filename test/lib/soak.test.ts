/**
 * A short soak (bench/soak.ts): 200 warm FaceAnalyzer.analyze calls on one face photo leave
 * the tfjs tensor count where it was. Memory growth and latency drift need the long run
 * (`npx tsx --expose-gc bench/soak.ts`, figures in BENCHMARKS.md): 200 calls are too few for
 * RSS to settle.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { soak } from '../../bench/soak.js';

describe('soak (short)', () => {
  it('keeps the tensor count constant over 200 warm analyze calls', async () => {
    const image = readFileSync(new URL('../../bench/fixtures/face-640x480.jpg', import.meta.url));
    const r = await soak({ n: 200, warmup: 10, image, detect: true });
    console.info(`soak=short n=${r.n} faces=${r.faces} p50_ms=${r.p50Ms.toFixed(1)} rss_start_mb=${r.rssStartMb.toFixed(0)} ` +
      `rss_end_mb=${r.rssEndMb.toFixed(0)} tensors_start=${r.tensorsStart} tensors_end=${r.tensorsEnd}`);
    expect(r.faces).toBeGreaterThanOrEqual(1);
    expect(r.tensorsEnd).toBe(r.tensorsStart);
  });
});
