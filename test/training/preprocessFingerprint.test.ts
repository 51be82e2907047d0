/**
 * The preprocessing fingerprint (training/preprocessFingerprint.ts) and the feature cache that
 * records it (training/features.ts): the value is stable, moves when a pixel would, is what
 * extraction writes, and a cache without it or with another is refused with the command to fix it.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Jimp } from 'jimp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../lib/imageDecode.js';
import { toModelInput } from '../../lib/preprocess.js';
import type { InputSpec } from '../../lib/preprocess.js';
import { extract, loadFeaturePair, loadFeatures, specDir } from '../../training/features.js';
import {
  computeFingerprint, preprocessFingerprint, probeImages, probePixels, PROBE_HEIGHT, PROBE_WIDTH,
} from '../../training/preprocessFingerprint.js';

const LIMITS = { maxBytes: 1 << 20, maxPixels: 1 << 20, maxSide: 4096, minSide: 1, maxAspect: 10, maxJpegScans: 100 };

describe('preprocessFingerprint', () => {
  it('is a sha256 and the same on every computation', async () => {
    const first = await computeFingerprint();
    expect(first).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await computeFingerprint()).toBe(first);
    expect(await preprocessFingerprint()).toBe(first);
  });

  it('probes both of toModelInput\'s filters: downscales up to 4x and over 4x', async () => {
    const scales: number[] = [];
    const recording: typeof toModelInput = (image, box, spec) => {
      scales.push(Math.max((box?.width ?? image.width) / spec.size, (box?.height ?? image.height) / spec.size));
      return toModelInput(image, box, spec);
    };
    await computeFingerprint(recording);
    expect(scales.some((k) => k > 1 && k <= 4)).toBe(true);
    expect(scales.some((k) => k > 4)).toBe(true);
  });

  it('moves when preprocessing moves one grey level of the off-image fill', async () => {
    const shifted: typeof toModelInput = (image, box, spec) => {
      const clean = toModelInput(image, box, spec);
      // The same function with a fill of 127 instead of 128, seen only on crops past the edge.
      const off = box && (box.left < 0 || box.top < 0 || box.left + box.width > image.width);
      return off ? clean.map((v) => Math.max(0, v - 1)) : clean;
    };
    expect(await computeFingerprint(shifted)).not.toBe(await computeFingerprint());
  });

  it('probes with the synthetic picture: the PNG decodes to it exactly (its transparent corner on grey), the committed JPEG to nearly it', async () => {
    const want = probePixels();
    for (let i = 0; i < want.length; i += 4) {
      const alpha = want[i + 3];
      for (let c = i; c < i + 3; c++) want[c] = Math.round((want[c] * alpha + 128 * (255 - alpha)) / 255);
      want[i + 3] = 255;
    }
    const [[, png], [, jpeg]] = probeImages();
    const fromPng = await decodeImage(png, LIMITS);
    expect([fromPng.width, fromPng.height]).toEqual([PROBE_WIDTH, PROBE_HEIGHT]);
    expect(Buffer.from(fromPng.data).equals(Buffer.from(want))).toBe(true);
    const fromJpeg = await decodeImage(jpeg, LIMITS);
    expect([fromJpeg.width, fromJpeg.height, fromJpeg.format]).toEqual([PROBE_WIDTH, PROBE_HEIGHT, 'jpeg']);
    let diff = 0;
    for (let i = 0; i < want.length; i += 4) for (let c = 0; c < 3; c++) diff += Math.abs(fromJpeg.data[i + c] - want[i + c]);
    expect(diff / (PROBE_WIDTH * PROBE_HEIGHT * 3)).toBeLessThan(8); // quality 90: a few levels per sample
  });
});

describe('feature cache and the fingerprint', () => {
  const spec: InputSpec = { size: 16, channels: 3 };
  let tmp: string;
  let data: string;
  let root: string;
  const rows = [
    ['25_1_2_a.jpg', 'train'], ['40_0_0_b.jpg', 'train'], ['7_1_3_c.jpg', 'val'], ['61_0_1_d.jpg', 'test'],
  ] as const;
  const metaOf = (split: string) => join(specDir(spec, root), `${split}.json`);

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'features-'));
    data = join(tmp, 'data');
    root = join(tmp, 'features');
    mkdirSync(join(data, 'utkface'), { recursive: true });
    const csv = ['file,age,gender,race,split'];
    for (const [k, [file, split]] of rows.entries()) {
      const [age, gender, race] = file.split('_');
      csv.push(`${file},${age},${gender === '1' ? 'female' : 'male'},${race},${split}`);
      const pixels = Buffer.from(probePixels().map((v, i) => (i % 4 === 3 ? 255 : (v + 40 * k) & 255)));
      writeFileSync(join(data, 'utkface', file), await new Jimp({ width: PROBE_WIDTH, height: PROBE_HEIGHT, data: pixels }).getBuffer('image/jpeg'));
    }
    writeFileSync(join(data, 'utkface.csv'), `${csv.join('\n')}\n`);
    await extract(spec, data, root);
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('extraction records the current fingerprint, and the pixels serving would make', async () => {
    const fingerprint = await preprocessFingerprint();
    for (const split of ['train', 'val', 'test']) expect(JSON.parse(readFileSync(metaOf(split), 'utf8')).preprocessFingerprint).toBe(fingerprint);
    const train = await loadFeatures(spec, 'train', root);
    expect(train.files).toEqual(['25_1_2_a.jpg', '40_0_0_b.jpg']);
    const served = toModelInput(await decodeImage(readFileSync(join(data, 'utkface', '40_0_0_b.jpg')), LIMITS), undefined, spec);
    expect(Buffer.from(train.pixels.subarray(16 * 16 * 3)).equals(Buffer.from(served))).toBe(true);
  });

  it('pairs the features of two input sizes for the same faces, and refuses sets of different faces', async () => {
    const small: InputSpec = { size: 12, channels: 3 };
    await extract(small, data, root);
    const pair = await loadFeaturePair(spec, small, 'train', root);
    expect(pair.gender.files).toEqual(pair.age.files);
    expect([pair.gender.pixels.length, pair.age.pixels.length]).toEqual([2 * 16 * 16 * 3, 2 * 12 * 12 * 3]);
    const same = await loadFeaturePair(spec, spec, 'train', root);
    expect(same.age).toBe(same.gender);
    const smallMeta = join(specDir(small, root), 'train.json');
    const meta = JSON.parse(readFileSync(smallMeta, 'utf8'));
    writeFileSync(smallMeta, JSON.stringify({ ...meta, files: [...meta.files].reverse() }));
    await expect(loadFeaturePair(spec, small, 'train', root)).rejects.toThrow(/train features of .*16x3 and .*12x3 hold different faces .*delete the wrong one's train\.json/);
    await expect(loadFeaturePair(spec, { size: 20, channels: 3 }, 'train', root)).rejects.toThrow(/no 20x20x3 features cached for train .*run npm run features -- --size=20 --channels=3$/);
  });

  it('refuses a cache made by other preprocessing, naming the command that remakes it', async () => {
    const meta = JSON.parse(readFileSync(metaOf('val'), 'utf8'));
    writeFileSync(metaOf('val'), JSON.stringify({ ...meta, preprocessFingerprint: 'sha256:older' }));
    await expect(loadFeatures(spec, 'val', root)).rejects.toThrow(
      /val\.json was made by other preprocessing \(fingerprint sha256:older; .*Re-run feature extraction: npm run features -- --size=16 --channels=3$/s);
  });

  it('refuses a cache that records no fingerprint (extracted before they were kept)', async () => {
    const { preprocessFingerprint: _, ...meta } = JSON.parse(readFileSync(metaOf('test'), 'utf8'));
    writeFileSync(metaOf('test'), JSON.stringify(meta));
    await expect(loadFeatures(spec, 'test', root)).rejects.toThrow(/test\.json records no preprocessing fingerprint.*npm run features/s);
  });

  it('extraction redoes stale splits and keeps current ones', async () => {
    const u8 = (split: string) => join(specDir(spec, root), `${split}.u8`);
    const meta = JSON.parse(readFileSync(metaOf('val'), 'utf8'));
    writeFileSync(metaOf('val'), JSON.stringify({ ...meta, preprocessFingerprint: 'sha256:older' }));
    const good = readFileSync(u8('val'));
    writeFileSync(u8('val'), Buffer.alloc(good.length)); // stale metadata over wrong pixels: redone
    const trainBefore = readFileSync(u8('train'));
    writeFileSync(u8('train'), Buffer.alloc(trainBefore.length)); // current metadata: extraction must trust it
    await extract(spec, data, root);
    expect(readFileSync(u8('val')).equals(good)).toBe(true);
    expect(readFileSync(u8('train')).every((v) => v === 0)).toBe(true);
    for (const split of ['val', 'test']) await expect(loadFeatures(spec, split as 'val' | 'test', root)).resolves.toBeDefined();
  });
});
