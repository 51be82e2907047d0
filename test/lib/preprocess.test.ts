/**
 * lib/preprocess.ts `toModelInput`: (1) up to 4 source pixels per output pixel along both axes
 * it still gives the original filter's bytes exactly (real UTKFace chips, cropped as training
 * and the detector crop them), so the committed models see what they were trained on; (2) above
 * that it is an exact area average, where the original aliased.
 */
import { readFileSync } from 'node:fs';
import { Jimp } from 'jimp';
import { beforeAll, describe, expect, it } from 'vitest';
import { toModelInput } from '../../lib/preprocess.js';
import type { InputSpec, PixelBox, RgbaImage } from '../../lib/preprocess.js';
// UTKFace lives outside the repo; the support module fails the suite when it is missing.
import { readChip, sampleTestChips } from '../support/utkface.js';
import { mulberry32 } from '../../training/random.js';

// ---------------------------------------------------------------------------------------------
// REFERENCE, NOT PRODUCT CODE: lib/preprocess.ts `toModelInput` as it was before the adaptive
// filter (commit 5cbfb33), copied verbatim (only renamed). Every model in models/ was trained on
// its output. Do not "fix" it: it is what the new code must reproduce byte for byte at k <= 4.
const OLD_OUTSIDE_VALUE = 128;
function oldToModelInput(image: RgbaImage, box: PixelBox | undefined, spec: InputSpec): Uint8Array {
  const { size, channels } = spec;
  const crop = box ?? { left: 0, top: 0, width: image.width, height: image.height };
  const out = new Uint8Array(size * size * channels);
  const taps = 4; // samples per axis per output pixel
  const stepX = crop.width / size;
  const stepY = crop.height / size;
  const { data, width, height } = image;
  const sum = [0, 0, 0];
  for (let oy = 0; oy < size; oy++) {
    for (let ox = 0; ox < size; ox++) {
      sum[0] = sum[1] = sum[2] = 0;
      for (let ty = 0; ty < taps; ty++) {
        const sy = Math.floor(crop.top + (oy + (ty + 0.5) / taps) * stepY);
        for (let tx = 0; tx < taps; tx++) {
          const sx = Math.floor(crop.left + (ox + (tx + 0.5) / taps) * stepX);
          if (sx < 0 || sy < 0 || sx >= width || sy >= height) {
            sum[0] += OLD_OUTSIDE_VALUE; sum[1] += OLD_OUTSIDE_VALUE; sum[2] += OLD_OUTSIDE_VALUE;
          } else {
            const i = (sy * width + sx) * 4;
            sum[0] += data[i]; sum[1] += data[i + 1]; sum[2] += data[i + 2];
          }
        }
      }
      const n = taps * taps;
      const o = (oy * size + ox) * channels;
      if (channels === 3) {
        out[o] = Math.round(sum[0] / n);
        out[o + 1] = Math.round(sum[1] / n);
        out[o + 2] = Math.round(sum[2] / n);
      } else {
        out[o] = Math.round((0.299 * sum[0] + 0.587 * sum[1] + 0.114 * sum[2]) / n);
      }
    }
  }
  return out;
}
// END OF REFERENCE
// ---------------------------------------------------------------------------------------------

/**
 * The exact area average, written independently of lib/preprocess.ts (2-D overlap of every
 * source pixel with the footprint, no separability, no integer tricks), unrounded: RGB means
 * per output pixel, area outside the image counting as 128.
 */
function exactAreaMeans(image: RgbaImage, box: PixelBox, size: number): Float64Array {
  const { data, width, height } = image;
  const kx = box.width / size;
  const ky = box.height / size;
  const means = new Float64Array(size * size * 3);
  for (let oy = 0; oy < size; oy++) {
    const y0 = box.top + oy * ky;
    const y1 = y0 + ky;
    for (let ox = 0; ox < size; ox++) {
      const x0 = box.left + ox * kx;
      const x1 = x0 + kx;
      let r = 0, g = 0, b = 0, area = 0;
      for (let y = Math.max(0, Math.floor(y0)); y < Math.min(height, Math.ceil(y1)); y++) {
        const h = Math.min(y + 1, y1) - Math.max(y, y0);
        for (let x = Math.max(0, Math.floor(x0)); x < Math.min(width, Math.ceil(x1)); x++) {
          const a = h * (Math.min(x + 1, x1) - Math.max(x, x0));
          const i = (y * width + x) * 4;
          r += a * data[i]; g += a * data[i + 1]; b += a * data[i + 2]; area += a;
        }
      }
      const outside = (kx * ky - area) * 128;
      const o = (oy * size + ox) * 3;
      means[o] = (r + outside) / (kx * ky);
      means[o + 1] = (g + outside) / (kx * ky);
      means[o + 2] = (b + outside) / (kx * ky);
    }
  }
  return means;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

function patternImage(width: number, height: number, value: (x: number, y: number) => [number, number, number]): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = value(x, y);
      data.set([r, g, b, 255], (y * width + x) * 4);
    }
  }
  return { data, width, height };
}

/** lib/faceDetector.ts `inputWindow` (BORDER = 0.25): the image letterboxed into a square with grey. */
function detectorWindow(width: number, height: number): PixelBox {
  const side = Math.max(width, height) * 1.5;
  return { left: (width - side) / 2, top: (height - side) / 2, width: side, height: side };
}

const manifestSpec = (task: string): InputSpec =>
  JSON.parse(readFileSync(new URL(`../../models/${task}/manifest.json`, import.meta.url), 'utf8')).spec;

describe('toModelInput at k <= 4: the original filter, byte for byte', () => {
  const CHIPS = 60;
  let images: { file: string; image: RgbaImage }[];

  beforeAll(async () => {
    images = [];
    for (const chip of sampleTestChips(CHIPS)) images.push({ file: chip.file, image: (await Jimp.read(readChip(chip))).bitmap });
  });

  it(`training inputs (whole chip, as training/features.ts crops it) of ${CHIPS} UTKFace test chips, for the models' specs`, () => {
    const specs = [manifestSpec('age'), manifestSpec('gender'), { size: 64, channels: 1 } as const];
    expect(specs[0]).toEqual({ size: 64, channels: 3 });
    for (const { file, image } of images) {
      expect([image.width, image.height], file).toEqual([200, 200]); // k = 200 / 64 = 3.125
      for (const spec of specs) {
        const now = toModelInput(image, undefined, spec);
        expect(Buffer.from(now).equals(Buffer.from(oldToModelInput(image, undefined, spec))), `${file} ${JSON.stringify(spec)}`).toBe(true);
      }
    }
  });

  it(`the detector's 128x128 input of ${CHIPS} 200x200 chips (300-px bordered window, k = 2.34)`, () => {
    const spec = { size: 128, channels: 3 } as const;
    for (const { file, image } of images) {
      const window = detectorWindow(image.width, image.height);
      expect(window).toEqual({ left: -50, top: -50, width: 300, height: 300 });
      const now = toModelInput(image, window, spec);
      expect(Buffer.from(now).equals(Buffer.from(oldToModelInput(image, window, spec))), file).toBe(true);
    }
  });

  it('random boxes with k <= 4 on both axes (partly outside the image, non-square, k = 4 exactly)', () => {
    const random = mulberry32(20261130);
    let checked = 0;
    for (const { file, image } of images) {
      for (let n = 0; n < 4; n++) {
        const size = random() < 0.5 ? 64 : 128;
        const width = n === 0 ? 4 * size : (0.2 + 3.8 * random()) * size; // k in (0.2, 4]
        const height = n === 0 ? 4 * size : (0.2 + 3.8 * random()) * size;
        const box = { left: -0.5 * width + random() * image.width, top: -0.5 * height + random() * image.height, width, height };
        const spec = { size, channels: random() < 0.8 ? 3 : 1 } as const;
        const now = toModelInput(image, box, spec);
        expect(Buffer.from(now).equals(Buffer.from(oldToModelInput(image, box, spec))), `${file} ${JSON.stringify(box)} ${size}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBe(4 * CHIPS);
  });
});

describe('toModelInput at k > 4: an exact area average, where the original aliased', () => {
  const checkerboard = (w: number, h: number) => patternImage(w, h, (x, y) => ((x + y) % 2 ? [255, 255, 255] : [0, 0, 0]));
  const stripes = (w: number, h: number, period = 2) => patternImage(w, h, (x) => (x % period === 1 ? [255, 255, 255] : [0, 0, 0]));
  // k = 8: the original's 4 taps per axis fall 2 px apart, all on one phase of a 1-px pattern.
  // k = 10: a 640-px face to 64. Its taps sit at offsets 1, 3, 6 and 8 of each footprint, two
  // odd and two even, so 1-px stripes or checkerboards aligned to the box happen to average out
  // under the original too (both give 127.5 +- 0.5); 3-px-period stripes do not. k = 10.3: a
  // non-integer scale, where 1-px patterns alias.
  // k = 22.5: the detector's window of a wide photo, partly outside the image (grey border).
  const cases: { name: string; image: RgbaImage; box: PixelBox; size: number }[] = [
    { name: '1-px stripes, k = 8', image: stripes(512, 512), box: { left: 0, top: 0, width: 512, height: 512 }, size: 64 },
    { name: '1-px checkerboard, k = 8', image: checkerboard(512, 512), box: { left: 0, top: 0, width: 512, height: 512 }, size: 64 },
    { name: '3-px-period stripes, k = 10', image: stripes(640, 640, 3), box: { left: 0, top: 0, width: 640, height: 640 }, size: 64 },
    { name: '1-px checkerboard, k = 10.3', image: checkerboard(660, 660), box: { left: 0.4, top: 0.7, width: 659.2, height: 659.2 }, size: 64 },
    { name: '1-px stripes, k = 10.3', image: stripes(660, 660), box: { left: 0.4, top: 0.7, width: 659.2, height: 659.2 }, size: 64 },
    { name: '1-px checkerboard, detector window, k = 22.5', image: checkerboard(1920, 1080), box: detectorWindow(1920, 1080), size: 128 },
  ];

  for (const c of cases) {
    it(`${c.name}: within rounding of the exact average (the original is not)`, () => {
      const spec = { size: c.size, channels: 3 } as const;
      const exact = exactAreaMeans(c.image, c.box, c.size);
      const now = toModelInput(c.image, c.box, spec);
      const old = oldToModelInput(c.image, c.box, spec);
      const errNow = maxAbsDiff(now, exact);
      const errOld = maxAbsDiff(old, exact);
      console.log(`preprocess ${c.name}: max |error| vs exact area average: new ${errNow.toFixed(2)}, old ${errOld.toFixed(2)}; mean new ${meanAbsDiff(now, exact).toFixed(2)}, old ${meanAbsDiff(old, exact).toFixed(2)}`);
      expect(errNow).toBeLessThanOrEqual(0.5 + 1e-6); // rounding only
      expect(errOld).toBeGreaterThan(20);
    });
  }

  it('grayscale output is the luma of the exact RGB average', () => {
    const image = patternImage(640, 480, (x, y) => [(x % 2) * 255, (y % 2) * 255, ((x >> 1) % 2) * 255]);
    const box = { left: 0, top: 0, width: 640, height: 480 };
    const exact = exactAreaMeans(image, box, 64);
    const luma = Array.from({ length: 64 * 64 }, (_, i) => 0.299 * exact[3 * i] + 0.587 * exact[3 * i + 1] + 0.114 * exact[3 * i + 2]);
    expect(maxAbsDiff(toModelInput(image, box, { size: 64, channels: 1 }), luma)).toBeLessThanOrEqual(0.5 + 1e-6);
  });

  it('a smooth gradient: old and new agree, both close to the exact average', () => {
    const image = patternImage(1280, 960, (x, y) => [Math.round((x * 255) / 1279), Math.round((y * 255) / 959), Math.round(((x + y) * 255) / 2238)]);
    const box = { left: 0, top: 0, width: 1280, height: 960 }; // k = 20 / 15
    const spec = { size: 64, channels: 3 } as const;
    const exact = exactAreaMeans(image, box, 64);
    const now = toModelInput(image, box, spec);
    const old = oldToModelInput(image, box, spec);
    console.log(`preprocess gradient k=20/15: max |new - old| ${maxAbsDiff(now, old)}, new vs exact ${maxAbsDiff(now, exact).toFixed(2)}, old vs exact ${maxAbsDiff(old, exact).toFixed(2)}`);
    expect(maxAbsDiff(now, exact)).toBeLessThanOrEqual(0.5 + 1e-6);
    expect(maxAbsDiff(old, exact)).toBeLessThanOrEqual(1.5);
    expect(maxAbsDiff(now, old)).toBeLessThanOrEqual(2);
  });

  it('a real photo: the detector input of the 1920x1080 bench fixture is the exact average', async () => {
    const image = (await Jimp.read('bench/fixtures/face-1920x1080.jpg')).bitmap;
    const box = detectorWindow(image.width, image.height);
    const exact = exactAreaMeans(image, box, 128);
    expect(maxAbsDiff(toModelInput(image, box, { size: 128, channels: 3 }), exact)).toBeLessThanOrEqual(0.5 + 1e-6);
  });

  it('only one axis above 4 (kx = 6, ky = 3) also takes the area average', () => {
    const image = stripes(384, 192);
    const box = { left: 0, top: 0, width: 384, height: 192 };
    const exact = exactAreaMeans(image, box, 64);
    expect(maxAbsDiff(toModelInput(image, box, { size: 64, channels: 3 }), exact)).toBeLessThanOrEqual(0.5 + 1e-6);
  });

  it('long runs (k up to 312: 16-bit lanes at their limit, then byte sums) and unaligned bytes', () => {
    const random = mulberry32(7);
    const noise = (w: number, h: number) => patternImage(w, h, () => [255 * random(), 255 * random(), 255 * random()].map(Math.floor) as [number, number, number]);
    const white = patternImage(16_500, 8, () => [255, 255, 255]);
    // k = 257.8: runs of up to 257 whole pixels between the partial ends, 257 x 255 = 0xffff per lane (exactly full).
    expect(toModelInput(white, undefined, { size: 64, channels: 3 }).every((v) => v === 255)).toBe(true);
    for (const image of [noise(16_500, 100), noise(20_000, 100)]) {
      const box = { left: 0, top: 0, width: image.width, height: image.height };
      expect(maxAbsDiff(toModelInput(image, box, { size: 64, channels: 3 }), exactAreaMeans(image, box, 64))).toBeLessThanOrEqual(0.5 + 1e-6);
    }
    // RGBA bytes that do not start on a 4-byte boundary cannot be read as 32-bit words.
    const aligned = noise(640, 480);
    const shifted = new Uint8Array(aligned.data.length + 1).subarray(1);
    shifted.set(aligned.data);
    const unaligned = { data: shifted, width: 640, height: 480 };
    const box = { left: -20, top: 10, width: 700, height: 500 };
    const out = toModelInput(unaligned, box, { size: 64, channels: 3 });
    expect(maxAbsDiff(out, exactAreaMeans(aligned, box, 64))).toBeLessThanOrEqual(0.5 + 1e-6);
    expect(Buffer.from(out).equals(Buffer.from(toModelInput(aligned, box, { size: 64, channels: 3 })))).toBe(true);
  });

  it('a box far larger than the image costs no more than the image', () => {
    const image = checkerboard(200, 200);
    const box = { left: -5e8, top: -5e8, width: 1e9, height: 1e9 };
    const t0 = performance.now();
    const out = toModelInput(image, box, { size: 64, channels: 3 });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(maxAbsDiff(out, exactAreaMeans(image, box, 64))).toBeLessThanOrEqual(0.5 + 1e-6);
    expect(out.every((v) => v === 128)).toBe(true);
  });
});
