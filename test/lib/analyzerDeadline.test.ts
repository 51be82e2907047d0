/**
 * FaceAnalyzer.analyze hands its deadline to the detector, which checks it between search
 * windows: a slow detection stops near the deadline instead of running to the end. This is what
 * keeps the verify function (no timer race around analyze) and the S3 trigger inside the Lambda
 * timeout, and stops the CPU work behind an HTTP 504.
 */
import { Jimp } from 'jimp';
import { beforeAll, describe, expect, it } from 'vitest';
import { getAnalyzer } from '../../lib/analyzer.js';
import type { FaceAnalyzer } from '../../lib/analyzer.js';
import { getConfig } from '../../lib/config.js';

describe('FaceAnalyzer.analyze deadline', () => {
  let analyzer: FaceAnalyzer;
  let wide: Buffer;

  beforeAll(async () => {
    analyzer = await getAnalyzer();
    // As wide as MAX_IMAGE_ASPECT allows: the most search windows an accepted image gets (20).
    const aspect = getConfig().maxImageAspect;
    wide = await new Jimp({ width: 100 * aspect, height: 100, color: 0x808080ff }).getBuffer('image/png');
  });

  it('stops detection at the deadline rather than after it', async () => {
    await expect(analyzer.analyze(wide)).rejects.toMatchObject({ code: 'NO_FACE' }); // warm
    let started = performance.now();
    await expect(analyzer.analyze(wide)).rejects.toMatchObject({ code: 'NO_FACE' });
    const full = performance.now() - started;

    started = performance.now();
    const error = await analyzer.analyze(wide, {}, Date.now() + full / 3).catch((e) => e);
    const ms = performance.now() - started;
    expect(error).toMatchObject({ code: 'TIMEOUT' });
    // Before the detector checked the deadline, this took the full time and then answered TIMEOUT.
    expect(ms, `${ms.toFixed(0)} ms of a full ${full.toFixed(0)} ms`).toBeLessThan((full * 2) / 3);
  });
});
