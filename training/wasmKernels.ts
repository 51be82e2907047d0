/**
 * Fast gradient kernels for tfjs's wasm backend.
 *
 * The wasm backend has no Conv2DBackpropFilter and a naive-loop Conv2DBackpropInput.
 * Both gradients are themselves convolutions, so we express them as calls to the
 * forward Conv2D kernel (XNNPACK), which is 10-40x faster:
 *  - filter gradient: conv2d(x^T as [C,H,W,N], dy^T as [Ho,Wo,N,Co]), dilated by the stride;
 *  - input gradient: conv2d(zero-upsampled, padded dy, filter rotated 180 deg with in/out swapped).
 * A 1x1 stride-1 conv's filter gradient is a plain matrix product (x^T dy over pixels) instead.
 * The wasm backend has no depthwise-conv gradient kernels at all (separable nets could not train):
 * the input gradient is again a forward (depthwise) conv; the filter gradient, which is not, is a
 * plain loop over the wasm heap (a depthwise layer has ~1/Cout of a full conv's multiply-adds).
 * Test: test/lib/wasmKernels.test.ts compares all four with tfjs's reference kernels.
 */
import * as tf from '@tensorflow/tfjs';
import { backend_util } from '@tensorflow/tfjs';
import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';

type Backend = { disposeData(dataId: object): void };
/** The parts of tfjs's BackendWasm the depthwise loops use: fresh outputs and views of the heap. */
type HeapBackend = Backend & {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array;
};
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
  const [n, h, w] = x.shape;
  if (kh === 1 && kw === 1 && info.strideHeight === 1 && info.strideWidth === 1 && top === 0 && left === 0) {
    // A 1x1 conv (the pointwise half of a separable conv) is a matrix product: dW = x^T dy over pixels.
    const pixels = n * h * w;
    const x2 = run('Reshape', b, { x }, { shape: [1, pixels, x.shape[3]] });
    const xT = run('Transpose', b, { x: x2 }, { perm: [0, 2, 1] });
    const dy2 = run('Reshape', b, { x: dy }, { shape: [1, pixels, dy.shape[3]] });
    const product = run('BatchMatMul', b, { a: xT, b: dy2 }, { transposeA: false, transposeB: false });
    const out = run('Reshape', b, { x: product }, { shape: filterShape });
    free(b, x2, xT, dy2, product);
    return out;
  }
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

/**
 * The input gradient of a conv as a forward conv (`kernelName`: Conv2D or DepthwiseConv2dNative):
 * the full correlation of the zero-upsampled dy with the filter rotated 180 degrees (`filter`
 * arrives rotated, and for a full conv with its in/out axes swapped).
 */
function inputGradientByForwardConv(b: Backend, kernelName: string, dy: TensorInfo, filter: TensorInfo, inputShape: number[],
  info: { strideHeight: number; strideWidth: number; padInfo: { top: number; left: number } }): TensorInfo {
  const [kh, kw] = filter.shape;
  const [, h, w] = inputShape;
  const up = upsampleWithZeros(b, dy, info.strideHeight, info.strideWidth);
  const padTop = kh - 1 - info.padInfo.top;
  const padLeft = kw - 1 - info.padInfo.left;
  const padBottom = h + kh - 1 - up.shape[1] - padTop;
  const padRight = w + kw - 1 - up.shape[2] - padLeft;
  const out = run(kernelName, b, { x: up, filter }, {
    strides: [1, 1], dilations: [1, 1],
    pad: [[0, 0], [padTop, padBottom], [padLeft, padRight], [0, 0]], dataFormat: 'NHWC',
  });
  if (up !== dy) free(b, up);
  return out;
}

/** dx = full correlation of the zero-upsampled dy with the 180-degree-rotated, transposed filter. */
const conv2DBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as Backend;
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as Conv2DGradAttrs;
  const inputShape = a.inputShape as number[];
  const rotated = run('Reverse', b, { x: filter }, { dims: [0, 1] });
  const swapped = run('Transpose', b, { x: rotated }, { perm: [0, 1, 3, 2] });
  const out = inputGradientByForwardConv(b, 'Conv2D', dy, swapped, inputShape, convInfoFor(inputShape, filter.shape, a));
  free(b, rotated, swapped);
  return out;
};

type DepthwiseGradAttrs = Conv2DGradAttrs & { dilations?: number | [number, number] };

/** Geometry of a depthwise conv (channel multiplier m = filterShape[3]); NHWC, no dilation. */
function depthwiseInfo(xShape: number[], filterShape: number[], attrs: DepthwiseGradAttrs) {
  if (attrs.dataFormat === 'NCHW') throw new Error('depthwise conv gradients support NHWC only');
  const info = backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number],
    attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, true, 'channelsLast');
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) throw new Error('depthwise conv gradients support dilation 1 only');
  return info;
}

/** dW[ky,kx,c,q] = sum over n,oy,ox of x[n, oy*s+ky-pt, ox*s+kx-pl, c] * dy[n,oy,ox,c*m+q]. A plain loop. */
const depthwiseConv2dNativeBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as HeapBackend;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as DepthwiseGradAttrs;
  const filterShape = a.filterShape as number[];
  const { batchSize, inHeight, inWidth, inChannels: ci, outHeight, outWidth, outChannels: co, filterHeight, filterWidth,
    strideHeight, strideWidth, padInfo } = depthwiseInfo(x.shape, filterShape, a);
  const m = co / ci;
  const out = b.makeOutput(filterShape, 'float32');
  // Views after makeOutput: allocating may grow the heap, which detaches older views.
  const dw = b.typedArrayFromHeap(out);
  dw.fill(0);
  const xs = b.typedArrayFromHeap(x);
  const dys = b.typedArrayFromHeap(dy);
  for (let n = 0; n < batchSize; n++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ky = 0; ky < filterHeight; ky++) {
        const iy = oy * strideHeight - padInfo.top + ky;
        if (iy < 0 || iy >= inHeight) continue;
        const xRow = (n * inHeight + iy) * inWidth;
        const dyRow = (n * outHeight + oy) * outWidth;
        for (let kx = 0; kx < filterWidth; kx++) {
          const f0 = (ky * filterWidth + kx) * co;
          for (let ox = 0; ox < outWidth; ox++) {
            const ix = ox * strideWidth - padInfo.left + kx;
            if (ix < 0 || ix >= inWidth) continue;
            const x0 = (xRow + ix) * ci;
            const d0 = (dyRow + ox) * co;
            if (m === 1) {
              for (let c = 0; c < ci; c++) dw[f0 + c] += xs[x0 + c] * dys[d0 + c];
            } else {
              for (let c = 0; c < ci; c++) for (let q = 0; q < m; q++) dw[f0 + c * m + q] += xs[x0 + c] * dys[d0 + c * m + q];
            }
          }
        }
      }
    }
  }
  return out;
};

/**
 * dx = depthwise correlation of the zero-upsampled, padded dy with the 180-degree-rotated filter:
 * the forward depthwise kernel (XNNPACK), as conv2DBackpropInput does for full convs. That needs
 * one output channel per input channel; a channel multiplier m > 1 (not in our nets) takes a loop.
 */
const depthwiseConv2dNativeBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as HeapBackend;
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as DepthwiseGradAttrs;
  const inputShape = a.inputShape as number[];
  const info = depthwiseInfo(inputShape, filter.shape, a);
  if (filter.shape[3] !== 1) return depthwiseInputGradLoop(b, dy, filter, inputShape, info);
  const rotated = run('Reverse', b, { x: filter }, { dims: [0, 1] });
  const out = inputGradientByForwardConv(b, 'DepthwiseConv2dNative', dy, rotated, inputShape, info);
  free(b, rotated);
  return out;
};

/**
 * dx[n,iy,ix,c] = sum over the taps reaching it and q of dy[n,oy,ox,c*m+q] * W[ky,kx,c,q].
 * The same walk over taps as the filter gradient's loop, written out twice on purpose: one walk
 * calling a per-tap closure for both was 1.3-1.9x slower (filter gradient of 64x20x20x64, 42-62 vs
 * 78-79 ms; this loop at m = 2, 132-176 vs 223-235 ms; alternated runs, 2026-12-01), as V8 does
 * not inline a callback that sees two different closures.
 */
function depthwiseInputGradLoop(b: HeapBackend, dy: TensorInfo, filter: TensorInfo, inputShape: number[], info: ReturnType<typeof depthwiseInfo>): TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels: ci, outHeight, outWidth, outChannels: co, filterHeight, filterWidth,
    strideHeight, strideWidth, padInfo } = info;
  const m = co / ci;
  const out = b.makeOutput(inputShape, 'float32');
  const dx = b.typedArrayFromHeap(out);
  dx.fill(0);
  const ws = b.typedArrayFromHeap(filter);
  const dys = b.typedArrayFromHeap(dy);
  for (let n = 0; n < batchSize; n++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ky = 0; ky < filterHeight; ky++) {
        const iy = oy * strideHeight - padInfo.top + ky;
        if (iy < 0 || iy >= inHeight) continue;
        for (let ox = 0; ox < outWidth; ox++) {
          for (let kx = 0; kx < filterWidth; kx++) {
            const ix = ox * strideWidth - padInfo.left + kx;
            if (ix < 0 || ix >= inWidth) continue;
            const x0 = ((n * inHeight + iy) * inWidth + ix) * ci;
            const d0 = ((n * outHeight + oy) * outWidth + ox) * co;
            const f0 = (ky * filterWidth + kx) * co;
            for (let c = 0; c < ci; c++) for (let q = 0; q < m; q++) dx[x0 + c] += dys[d0 + c * m + q] * ws[f0 + c * m + q];
          }
        }
      }
    }
  }
  return out;
}

/** Replaces the wasm backend's conv gradient kernels with the fast versions. */
function registerFastConvGradients(): void {
  if (tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc === conv2DBackpropInput) return;
  if (tf.getKernel('Conv2DBackpropInput', 'wasm')) tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm')) tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
  tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2DBackpropFilter });
  tf.registerKernel({ kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc: conv2DBackpropInput });
  for (const [kernelName, kernelFunc] of [
    ['DepthwiseConv2dNativeBackpropFilter', depthwiseConv2dNativeBackpropFilter],
    ['DepthwiseConv2dNativeBackpropInput', depthwiseConv2dNativeBackpropInput],
  ] as const) {
    if (!tf.getKernel(kernelName, 'wasm')) tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
}

export {
  registerFastConvGradients, conv2DBackpropFilter, conv2DBackpropInput,
  depthwiseConv2dNativeBackpropFilter, depthwiseConv2dNativeBackpropInput,
};
