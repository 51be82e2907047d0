/**
 * Training throughput of our gender network on wasm: our fast conv-gradient kernels versus
 * tfjs's stock ones (wasm's own naive Conv2DBackpropInput, and for the Conv2DBackpropFilter
 * that wasm lacks, tfjs's reference cpu kernel bridged in). Same model, batch and data; one run,
 * so the ratio is meaningful even on a noisy machine.
 *   npx tsx bench/trainThroughput.ts [--steps=3] [--batch=64]
 * A much shorter version of training/train.ts's inner loop.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { initBackend } from '../lib/backend.js';
import { registerFastConvGradients } from '../training/wasmKernels.js';
import { buildNet } from '../training/models.js';
import { parseCommandLine } from '../training/overrides.js';

const config = parseCommandLine({ steps: 3, batch: 64, warmup: 1 });
await tf.setBackend('cpu'); // instantiate the cpu backend so its reference kernel can be bridged in
await initBackend();

type AnyBackend = {
  readSync(id: object): Float32Array;
  makeTensorInfo(shape: number[], dtype: string, values?: Float32Array): TensorInfo;
  makeOutput(shape: number[], dtype: string): TensorInfo; // wasm only
  typedArrayFromHeap(info: TensorInfo): Float32Array; // wasm only
  disposeData(id: object): void;
};
const cpu = tf.engine().findBackend('cpu') as unknown as AnyBackend;
const cpuFilterGrad = tf.getKernel('Conv2DBackpropFilter', 'cpu')!.kernelFunc;
const stockInputGrad = tf.getKernel('Conv2DBackpropInput', 'wasm')!.kernelFunc;

/** tfjs's reference Conv2DBackpropFilter (cpu), run on copies of the wasm tensors. */
const bridgedFilterGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as unknown as AnyBackend;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const xc = cpu.makeTensorInfo(x.shape, 'float32', wasm.readSync(x.dataId));
  const dyc = cpu.makeTensorInfo(dy.shape, 'float32', wasm.readSync(dy.dataId));
  const out = cpuFilterGrad({ inputs: { x: xc, dy: dyc }, backend: cpu as never, attrs }) as TensorInfo;
  const result = wasm.makeOutput(out.shape, 'float32');
  wasm.typedArrayFromHeap(result).set(cpu.readSync(out.dataId));
  [xc, dyc, out].forEach((t) => cpu.disposeData(t.dataId));
  return result;
};

function useKernels(kind: 'stock' | 'fast'): void {
  for (const name of ['Conv2DBackpropFilter', 'Conv2DBackpropInput']) {
    if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm');
  }
  if (kind === 'fast') {
    registerFastConvGradients();
  } else {
    tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: bridgedFilterGrad });
    tf.registerKernel({ kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc: stockInputGrad });
  }
}

const spec = { size: 64, channels: 3 as const };
const model = buildNet('gender', spec, [32, 64, 128, 192], 2, 0.3, 0, 1);
const optimizer = tf.train.adam(1e-3);
const x = tf.randomUniform([config.batch, spec.size, spec.size, spec.channels], 0, 255, 'float32', 1);
const y = tf.randomUniform([config.batch, 1], 0, 1, 'float32', 2).round();
const step = () => tf.tidy(() => { optimizer.minimize(() => tf.losses.logLoss(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar); });

function imagesPerSecond(kind: 'stock' | 'fast'): number {
  useKernels(kind);
  for (let i = 0; i < config.warmup; i++) step();
  const t0 = performance.now();
  for (let i = 0; i < config.steps; i++) step();
  return (config.steps * config.batch * 1000) / (performance.now() - t0);
}

const fast = imagesPerSecond('fast');
console.error(`fast: ${fast.toFixed(1)} img/s`);
const stock = imagesPerSecond('stock');
console.log(`bench=train backend=wasm model=gender-64x64x3 batch=${config.batch} steps=${config.steps} ` +
  `stock_img_s=${stock.toFixed(2)} fast_img_s=${fast.toFixed(1)} ratio=${(fast / stock).toFixed(1)}`);
