import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../lib/backend.js';
import { conv2DBackpropFilter, conv2DBackpropInput, registerFastConvGradients } from '../../training/wasmKernels.js';
import { mulberry32 } from '../../training/random.js';

/** Gradients of sum(conv2d(x, f) * dy) w.r.t. x and f, on the current backend. */
function convGradients(x: number[], xShape: number[], f: number[], fShape: number[], dy: number[], stride: number, pad: 'same' | 'valid') {
  return tf.tidy(() => {
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad), tf.tensor(dy, conv2dShape(xShape, fShape, stride, pad)))));
    return grads([tf.tensor(x, xShape), tf.tensor(f, fShape)]).map((g) => Array.from(g.dataSync()));
  });
}

function conv2dShape(xShape: number[], fShape: number[], stride: number, pad: 'same' | 'valid'): number[] {
  const [n, h, w] = xShape;
  const [kh, kw, , co] = fShape;
  const out = (size: number, k: number) => (pad === 'same' ? Math.ceil(size / stride) : Math.floor((size - k) / stride) + 1);
  return [n, out(h, kh), out(w, kw), co];
}

function relativeError(actual: number[], expected: number[]): number {
  let diff = 0;
  let scale = 0;
  actual.forEach((a, i) => { diff = Math.max(diff, Math.abs(a - expected[i])); scale = Math.max(scale, Math.abs(expected[i])); });
  return diff / Math.max(scale, 1e-12);
}

describe('fast wasm conv gradient kernels', () => {
  beforeAll(async () => {
    await initBackend();
    registerFastConvGradients();
  });

  const rand = mulberry32(2024);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const cases = Array.from({ length: 16 }, (_, i) => ({
    n: int(1, 3), h: int(5, 14), w: int(5, 14), ci: int(1, 5), co: int(1, 6),
    kh: int(1, 5), kw: int(1, 5), stride: i % 2 === 0 ? 1 : 2, pad: (i % 4 < 2 ? 'same' : 'valid') as 'same' | 'valid',
  }));

  it.each(cases)('match the cpu reference kernels for %o', async (c) => {
    const kh = Math.min(c.kh, c.h);
    const kw = Math.min(c.kw, c.w);
    const xShape = [c.n, c.h, c.w, c.ci];
    const fShape = [kh, kw, c.ci, c.co];
    const uniform = () => rand() * 2 - 1;
    const x = Array.from({ length: c.n * c.h * c.w * c.ci }, uniform);
    const f = Array.from({ length: kh * kw * c.ci * c.co }, uniform);
    const dyShape = conv2dShape(xShape, fShape, c.stride, c.pad);
    const dy = Array.from({ length: dyShape.reduce((a, b) => a * b, 1) }, uniform);

    const before = tf.memory().numTensors;
    const [fastDx, fastDf] = convGradients(x, xShape, f, fShape, dy, c.stride, c.pad);
    expect(tf.memory().numTensors).toBe(before);
    await tf.setBackend('cpu');
    try {
      const [refDx, refDf] = convGradients(x, xShape, f, fShape, dy, c.stride, c.pad);
      expect(relativeError(fastDx, refDx)).toBeLessThan(1e-4);
      expect(relativeError(fastDf, refDf)).toBeLessThan(1e-4);
    } finally {
      await tf.setBackend('wasm');
    }
  });

  it('replaces both kernels on the wasm backend', () => {
    // Our functions themselves: tfjs's own naive wasm kernel is also named conv2DBackpropInput.
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')?.kernelFunc).toBe(conv2DBackpropFilter);
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc).toBe(conv2DBackpropInput);
  });
});
