/**
 * Small face helpers: batching a split (offline tools) and mirroring a face crop (serving's
 * test-time flip, flipChoice); and the feature cache following the data folder it is built from.
 */
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SPLITS } from '../../training/data.js';
import { extract, inBatches, loadFeatures } from '../../training/features.js';
import { mirroredFace } from '../../lib/preprocess.js';

describe('inBatches', () => {
  it('calls predict on consecutive batches of at most `size` faces and keeps face order', () => {
    const faces = Array.from({ length: 7 }, (_, i) => Uint8Array.of(i));
    const sizes: number[] = [];
    const out = inBatches(faces, (batch) => { sizes.push(batch.length); return batch.map((f) => f[0] * 10); }, 3);
    expect(sizes).toEqual([3, 3, 1]);
    expect(out).toEqual([0, 10, 20, 30, 40, 50, 60]);
    expect(inBatches([], () => [1])).toEqual([]);
  });
});

describe('mirroredFace', () => {
  it('swaps columns left to right and keeps rows and each pixel\'s channels together', () => {
    // 3x3 pixels, RGB: pixel (row y, column x) holds channels [10y+x, 100+10y+x, 200+10y+x].
    const spec = { size: 3, channels: 3 as const };
    const pixel = (y: number, x: number) => [10 * y + x, 100 + 10 * y + x, 200 + 10 * y + x];
    const face = Uint8Array.from([0, 1, 2].flatMap((y) => [0, 1, 2].flatMap((x) => pixel(y, x))));
    const mirror = mirroredFace(face, spec);
    expect(Array.from(mirror.subarray(0, 9))).toEqual([...pixel(0, 2), ...pixel(0, 1), ...pixel(0, 0)]);
    expect(Array.from(mirror.subarray(18, 27))).toEqual([...pixel(2, 2), ...pixel(2, 1), ...pixel(2, 0)]);
    expect(mirroredFace(mirror, spec)).toEqual(face);
  });
});

describe('extract (npm run features)', () => {
  const DATA = resolve(process.env.UTKFACE_DIR ?? '../shared/data');
  /** A data folder holding `perSplit` faces of each split, starting at the `skip`-th, images linked from the real one. */
  function dataFolder(perSplit: number, skip: number): string {
    const dir = mkdtempSync(join(tmpdir(), 'data-'));
    mkdirSync(join(dir, 'utkface'));
    const [header, ...lines] = readFileSync(join(DATA, 'utkface.csv'), 'utf8').trim().split(/\r?\n/);
    const chosen = SPLITS.flatMap((split) => lines.filter((l) => l.endsWith(`,${split}`)).slice(skip, skip + perSplit));
    for (const line of chosen) symlinkSync(join(DATA, 'utkface', line.split(',')[0]), join(dir, 'utkface', line.split(',')[0]));
    writeFileSync(join(dir, 'utkface.csv'), `${[header, ...chosen].join('\n')}\n`);
    return dir;
  }

  // The cache is keyed by input spec: another data folder used to print "cached" and keep the old faces.
  it('extracts again when the data folder holds other faces than the cache', async () => {
    const root = mkdtempSync(join(tmpdir(), 'features-'));
    const spec = { size: 8, channels: 3 as const };
    await extract(spec, dataFolder(2, 0), root);
    const other = dataFolder(2, 5);
    await extract(spec, other, root);
    const val = await loadFeatures(spec, 'val', root);
    const expected = readFileSync(join(other, 'utkface.csv'), 'utf8').split('\n').filter((l) => l.endsWith(',val')).map((l) => l.split(',')[0]);
    expect(val.files).toEqual(expected);
  }, 60_000);
});
