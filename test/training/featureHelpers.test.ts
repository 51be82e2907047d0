/** Small face helpers: batching a split (offline tools) and mirroring a face crop (serving's test-time flip, flipChoice). */
import { describe, expect, it } from 'vitest';
import { inBatches } from '../../training/features.js';
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
