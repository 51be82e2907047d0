/**
 * The bad-input corpus (test/support/badInputs.ts) at the lib entry points: every request
 * through lib/httpService.ts predictFromHttp (what handlers/http.ts calls), every image through
 * FaceAnalyzer.analyze (what the S3 and verify functions call). Each gets the status and code
 * README.md documents; bombs are refused from their headers in milliseconds without a memory
 * spike. test/handlers/badInput.test.ts sends the same corpus through serverless-offline.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { load } from 'js-yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { HTTP_STATUS } from '../../handlers/errors.js';
import { getAnalyzer } from '../../lib/analyzer.js';
import type { FaceAnalyzer } from '../../lib/analyzer.js';
import { decodeLimitsFrom, getConfig } from '../../lib/config.js';
import { AppError } from '../../lib/errors.js';
import { decodeImage } from '../../lib/imageDecode.js';
import { predictFromHttp } from '../../lib/httpService.js';
import { buildCorpus, toRequestParts } from '../support/badInputs.js';
import type { BadInput } from '../support/badInputs.js';
import { meanAbsDiff } from '../support/imageFixtures.js';
import { readChip, sampleTestChips } from '../support/utkface.js';

/**
 * A bomb is refused within this, ms: a hang guard, not a speed target (the header check takes
 * well under 10 ms; decoding a bomb would take seconds). Loose for a CI core shared with other work.
 */
const BOMB_MAX_MS = 1_000;
/** ...and grows the resident set by less than this, bytes (decoding one would take gigabytes). */
const BOMB_MAX_RSS_GROWTH = 32 * 1024 * 1024;

/** The README / openapi.yaml row that documents a case (the eight orientations share one). */
const docRow = (c: BadInput) => (/EXIF orientation \d/.test(c.name) ? 'a JPEG with EXIF orientation 1 to 8' : c.name);

async function outcome(work: Promise<unknown>): Promise<{ status: number; code?: string }> {
  try {
    await work;
    return { status: 200 };
  } catch (error) {
    const code = error instanceof AppError ? error.code : 'INTERNAL';
    return { status: HTTP_STATUS[code as keyof typeof HTTP_STATUS], code };
  }
}

describe('bad input at the lib entry points', async () => {
  const config = getConfig();
  const chip = readChip(sampleTestChips(40)[3]);
  const corpus = await buildCorpus(chip, { maxImageBytes: config.maxImageBytes, maxJsonDepth: config.maxJsonDepth });
  const decodeLimits = decodeLimitsFrom(config);
  let analyzer: FaceAnalyzer;

  beforeAll(async () => {
    analyzer = await getAnalyzer();
  });

  it.each(corpus.map((c) => [c.name, c] as const))('predictFromHttp answers %s as documented', async (_, c) => {
    const result = await predictFromHttp(toRequestParts(c.request), Date.now() + 30_000);
    const got = result.ok ? { status: 200 } : { status: HTTP_STATUS[result.error.code], code: result.error.code };
    expect(got, result.ok ? '' : result.error.message).toEqual(c.code ? { status: c.status, code: c.code } : { status: 200 });
  });

  it.each(corpus.filter((c) => c.image).map((c) => [c.name, c] as const))('FaceAnalyzer.analyze answers %s as documented', async (_, c) => {
    const got = await outcome(analyzer.analyze(c.image!, c.options));
    expect(got).toEqual(c.code ? { status: c.status, code: c.code } : { status: 200 });
  });

  it.each(corpus.filter((c) => c.bomb).map((c) => [c.name, c] as const))('refuses %s from its header, fast and without a memory spike', async (_, c) => {
    await outcome(analyzer.analyze(c.image!, c.options)); // once to load any lazily imported code
    const rss = process.memoryUsage().rss;
    const started = performance.now();
    const got = await outcome(analyzer.analyze(c.image!, c.options));
    const ms = performance.now() - started;
    const growth = process.memoryUsage().rss - rss;
    expect(got.code).toBe(c.code);
    expect(ms, `${ms.toFixed(1)} ms`).toBeLessThan(BOMB_MAX_MS);
    expect(growth, `${(growth / 2 ** 20).toFixed(1)} MB`).toBeLessThan(BOMB_MAX_RSS_GROWTH);
  });

  it.each(corpus.filter((c) => c.expectPixels).map((c) => [c.name, c] as const))('decodes %s to the pixels it shows', async (_, c) => {
    const image = await decodeImage(c.image!, decodeLimits);
    const diff = meanAbsDiff(image, c.expectPixels!.image);
    expect(diff, `mean abs diff ${diff.toFixed(2)}`).toBeLessThanOrEqual(c.expectPixels!.maxDiff);
  });

  it('finds the face upright in all eight EXIF orientations, where the untagged photo has it', async () => {
    const oriented = corpus.filter((c) => /EXIF orientation \d/.test(c.name));
    expect(oriented).toHaveLength(8);
    const results = await Promise.all(oriented.map((c) => analyzer.analyze(c.image!)));
    const reference = results[0].faces[0];
    for (const [i, result] of results.entries()) {
      expect(result.imageSize, oriented[i].name).toMatchObject({ width: 160, height: 200 });
      expect(result.faces.length, oriented[i].name).toBeGreaterThanOrEqual(1);
      const face = result.faces[0];
      for (const k of ['left', 'top', 'width', 'height'] as const) expect(Math.abs(face.box[k] - reference.box[k]), `${oriented[i].name} ${k}`).toBeLessThan(0.03);
      expect(Math.abs(face.age.value - reference.age.value), oriented[i].name).toBeLessThan(3);
      expect(face.gender.value, oriented[i].name).toBe(reference.gender.value);
    }
  });

  it('leaks no tensors over the whole corpus', async () => {
    const before = tf.memory().numTensors;
    for (const c of corpus) if (c.image) await outcome(analyzer.analyze(c.image, c.options));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is documented: README.md and openapi.yaml give every case its status and code', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const spec = load(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')) as { paths: Record<string, Record<string, { description: string }>> };
    const documented = spec.paths['/v1/predict'].post.description;
    for (const c of corpus) {
      const row = `| ${docRow(c)} | ${c.status} | ${c.code ?? '-'} |`;
      expect(readme, 'README.md').toContain(row);
      expect(documented, 'openapi.yaml').toContain(row);
    }
  });

  it('is documented: README.md names every environment variable lib/config.ts reads', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const source = readFileSync(new URL('../../lib/config.ts', import.meta.url), 'utf8');
    const names = [...source.matchAll(/FromEnv\('([A-Z0-9_]+)'/g)].map((m) => m[1]);
    expect(names).toContain('MAX_JPEG_SCANS');
    for (const name of names) expect(readme, name).toContain(`\`${name}\``);
  });
});
