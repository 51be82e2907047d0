import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../lib/backend.js';
import {
  conv2DBackpropFilter, conv2DBackpropInput, depthwiseConv2dNativeBackpropFilter, depthwiseConv2dNativeBackpropInput,
  registerFastConvGradients,
} from '../../training/wasmKernels.js';
import { mulberry32 } from '../../training/random.js';

type Conv = 'full' | 'depthwise';

/** Gradients of sum(conv(x, f) * dy) w.r.t. x and f, on the current backend. */
function convGradients(conv: Conv, x: number[], xShape: number[], f: number[], fShape: number[], dy: number[], stride: number, pad: 'same' | 'valid') {
  return tf.tidy(() => {
    const forward = (a: tf.Tensor4D, b: tf.Tensor4D) =>
      (conv === 'full' ? tf.conv2d(a, b, stride, pad) : tf.depthwiseConv2d(a, b, stride, pad));
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(forward(a as tf.Tensor4D, b as tf.Tensor4D), tf.tensor(dy, conv2dShape(conv, xShape, fShape, stride, pad)))));
    return grads([tf.tensor(x, xShape), tf.tensor(f, fShape)]).map((g) => Array.from(g.dataSync()));
  });
}

/** Output shape; a depthwise filter [kh,kw,c,m] gives c*m output channels. */
function conv2dShape(conv: Conv, xShape: number[], fShape: number[], stride: number, pad: 'same' | 'valid'): number[] {
  const [n, h, w] = xShape;
  const [kh, kw, ci, co] = fShape;
  const out = (size: number, k: number) => (pad === 'same' ? Math.ceil(size / stride) : Math.floor((size - k) / stride) + 1);
  return [n, out(h, kh), out(w, kw), conv === 'full' ? co : ci * co];
}

function relativeError(actual: number[], expected: number[]): number {
  let diff = 0;
  let scale = 0;
  actual.forEach((a, i) => { diff = Math.max(diff, Math.abs(a - expected[i])); scale = Math.max(scale, Math.abs(expected[i])); });
  return diff / Math.max(scale, 1e-12);
}

describe.each(['full', 'depthwise'] as const)('fast wasm %s conv gradient kernels', (conv) => {
  beforeAll(async () => {
    await initBackend();
    registerFastConvGradients();
  });

  const rand = mulberry32(2024);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const cases = Array.from({ length: 16 }, (_, i) => ({
    n: int(1, 3), h: int(5, 14), w: int(5, 14), ci: int(1, 5), co: int(1, 6),
    kh: int(1, 5), kw: int(1, 5), stride: i % 2 === 0 ? 1 : 2, pad: (i % 4 < 2 ? 'same' : 'valid') as 'same' | 'valid',
    // A depthwise filter's last axis is the channel multiplier: 1 in our nets, up to 3 here.
    multiplier: conv === 'full' ? 0 : 1 + (i % 3),
  })).concat(
    // 1x1 stride-1 convs (the pointwise half of a separable conv) take a matrix-product path.
    (['same', 'valid'] as const).map((pad) => ({ n: 2, h: 6, w: 7, ci: 5, co: 4, kh: 1, kw: 1, stride: 1, pad, multiplier: 1 })),
  );

  it.each(cases)('match the cpu reference kernels for %o', async (c) => {
    const kh = Math.min(c.kh, c.h);
    const kw = Math.min(c.kw, c.w);
    const xShape = [c.n, c.h, c.w, c.ci];
    const fShape = [kh, kw, c.ci, conv === 'full' ? c.co : c.multiplier];
    const uniform = () => rand() * 2 - 1;
    const x = Array.from({ length: c.n * c.h * c.w * c.ci }, uniform);
    const f = Array.from({ length: fShape.reduce((a, b) => a * b, 1) }, uniform);
    const dyShape = conv2dShape(conv, xShape, fShape, c.stride, c.pad);
    const dy = Array.from({ length: dyShape.reduce((a, b) => a * b, 1) }, uniform);

    const before = tf.memory().numTensors;
    const [fastDx, fastDf] = convGradients(conv, x, xShape, f, fShape, dy, c.stride, c.pad);
    expect(tf.memory().numTensors).toBe(before);
    await tf.setBackend('cpu');
    try {
      const [refDx, refDf] = convGradients(conv, x, xShape, f, fShape, dy, c.stride, c.pad);
      expect(relativeError(fastDx, refDx)).toBeLessThan(1e-4);
      expect(relativeError(fastDf, refDf)).toBeLessThan(1e-4);
    } finally {
      await tf.setBackend('wasm');
    }
  });

  it('registers ours on the wasm backend', () => {
    // Our functions themselves: tfjs's own naive wasm kernel is also named conv2DBackpropInput.
    const [filterGrad, inputGrad] = conv === 'full'
      ? [['Conv2DBackpropFilter', conv2DBackpropFilter], ['Conv2DBackpropInput', conv2DBackpropInput]] as const
      : [['DepthwiseConv2dNativeBackpropFilter', depthwiseConv2dNativeBackpropFilter],
        ['DepthwiseConv2dNativeBackpropInput', depthwiseConv2dNativeBackpropInput]] as const;
    expect(tf.getKernel(filterGrad[0], 'wasm')?.kernelFunc).toBe(filterGrad[1]);
    expect(tf.getKernel(inputGrad[0], 'wasm')?.kernelFunc).toBe(inputGrad[1]);
  });
});
