/**
 * Fast gradient kernels for tfjs's wasm backend.
 *
 * The wasm backend has no Conv2DBackpropFilter and a naive-loop Conv2DBackpropInput.
 * Both gradients are themselves convolutions, so we express them as calls to the
 * forward Conv2D kernel (XNNPACK), which is 10-40x faster:
 *  - filter gradient: conv2d(x^T as [C,H,W,N], dy^T as [Ho,Wo,N,Co]), dilated by the stride;
 *  - input gradient: conv2d(zero-upsampled, padded dy, filter rotated 180 deg with in/out swapped).
 * Test: test/lib/wasmKernels.test.ts compares both with tfjs's reference kernels.
 */
import * as tf from '@tensorflow/tfjs';
import { backend_util } from '@tensorflow/tfjs';
import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';

type Backend = { disposeData(dataId: object): void };
type Conv2DGradAttrs = {
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape?: number[];
  inputShape?: number[];
};

function kernel(name: string): KernelFunc {
  const config = tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`wasm kernel ${name} is not registered`);
  return config.kernelFunc;
}

/** Runs a wasm kernel directly (bypassing the engine, as the backend's own kernels do). */
function run(name: string, backend: Backend, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
  return kernel(name)({ inputs, backend: backend as never, attrs }) as TensorInfo;
}

function free(backend: Backend, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/** Inserts (stride-1) zeros between rows and columns of an NHWC tensor. */
function upsampleWithZeros(backend: Backend, t: TensorInfo, sh: number, sw: number): TensorInfo {
  if (sh === 1 && sw === 1) return t;
  const [n, h, w, c] = t.shape;
  const six = run('Reshape', backend, { x: t }, { shape: [n, h, 1, w, 1, c] });
  const padded = run('PadV2', backend, { x: six }, {
    paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0,
  });
  const flat = run('Reshape', backend, { x: padded }, { shape: [n, h * sh, w * sw, c] });
  const cut = run('Slice', backend, { x: flat }, { begin: [0, 0, 0, 0], size: [n, (h - 1) * sh + 1, (w - 1) * sw + 1, c] });
  free(backend, six, padded, flat);
  return cut;
}

function convInfoFor(xShape: number[], filterShape: number[], attrs: Conv2DGradAttrs) {
  if (attrs.dataFormat === 'NCHW') throw new Error('fast conv gradients support NHWC only');
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number],
    attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
}

/** dW[kh,kw,ci,co] = sum over n,ho,wo of x[n, ho*s+kh-pt, wo*s+kw-pl, ci] * dy[n,ho,wo,co]. */
const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as Backend;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as Conv2DGradAttrs;
  const filterShape = a.filterShape as number[];
  const info = convInfoFor(x.shape, filterShape, a);
  const [kh, kw] = filterShape;
  const { top, left } = info.padInfo;
  const [, h, w] = x.shape;
  const [, ho, wo] = dy.shape;
  // Padding that makes the "output" exactly kh x kw; surplus rows (valid padding) are sliced off.
  const bottom = Math.max(0, kh + (ho - 1) * info.strideHeight - h - top);
  const right = Math.max(0, kw + (wo - 1) * info.strideWidth - w - left);
  const xT = run('Transpose', b, { x }, { perm: [3, 1, 2, 0] });
  const dyT = run('Transpose', b, { x: dy }, { perm: [1, 2, 0, 3] });
  const conv = run('Conv2D', b, { x: xT, filter: dyT }, {
    strides: [1, 1], dilations: [info.strideHeight, info.strideWidth],
    pad: [[0, 0], [top, bottom], [left, right], [0, 0]], dataFormat: 'NHWC',
  });
  let cropped = conv;
  if (conv.shape[1] !== kh || conv.shape[2] !== kw) {
    cropped = run('Slice', b, { x: conv }, { begin: [0, 0, 0, 0], size: [conv.shape[0], kh, kw, conv.shape[3]] });
    free(b, conv);
  }
  const out = run('Transpose', b, { x: cropped }, { perm: [1, 2, 0, 3] });
  free(b, xT, dyT, cropped);
  return out;
};

/** dx = full correlation of the zero-upsampled dy with the 180-degree-rotated, transposed filter. */
const conv2DBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as Backend;
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as Conv2DGradAttrs;
  const inputShape = a.inputShape as number[];
  const info = convInfoFor(inputShape, filter.shape, a);
  const [kh, kw] = filter.shape;
  const [, h, w] = inputShape;
  const up = upsampleWithZeros(b, dy, info.strideHeight, info.strideWidth);
  const padTop = kh - 1 - info.padInfo.top;
  const padLeft = kw - 1 - info.padInfo.left;
  const padBottom = h + kh - 1 - up.shape[1] - padTop;
  const padRight = w + kw - 1 - up.shape[2] - padLeft;
  const rotated = run('Reverse', b, { x: filter }, { dims: [0, 1] });
  const swapped = run('Transpose', b, { x: rotated }, { perm: [0, 1, 3, 2] });
  const out = run('Conv2D', b, { x: up, filter: swapped }, {
    strides: [1, 1], dilations: [1, 1],
    pad: [[0, 0], [padTop, padBottom], [padLeft, padRight], [0, 0]], dataFormat: 'NHWC',
  });
  free(b, rotated, swapped);
  if (up !== dy) free(b, up);
  return out;
};

/** Replaces the wasm backend's conv gradient kernels with the fast versions. */
function registerFastConvGradients(): void {
  if (tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc === conv2DBackpropInput) return;
  if (tf.getKernel('Conv2DBackpropInput', 'wasm')) tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm')) tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
  tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2DBackpropFilter });
  tf.registerKernel({ kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc: conv2DBackpropInput });
}

export { registerFastConvGradients, conv2DBackpropFilter, conv2DBackpropInput };
