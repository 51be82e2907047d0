/**
 * What a candidate architecture costs before training it: conv MACs, parameters, warm batch-1
 * inference time for two such nets (the service runs an age and a gender net per face), and
 * training images/s with our fast conv-gradient kernels. Random weights: cost does not depend
 * on them. All candidates in one process, one after another, so the ratios are comparable.
 *   npx tsx bench/archCost.ts [--runs=200] [--trainSteps=4]
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../lib/backend.js';
import { registerFastConvGradients } from '../training/wasmKernels.js';
import { buildNet } from '../training/models.js';
import { parseCommandLine } from '../training/overrides.js';
import { quantile } from '../training/metrics.js';

const config = parseCommandLine({ runs: 200, warmup: 20, trainSteps: 4, batch: 64 });
const CANDIDATES = [
  { name: 'shipped', size: 64, widths: [32, 64, 128, 192], convs: 2 },
  { name: 'narrow-first-blocks', size: 64, widths: [16, 48, 128, 192], convs: 2 },
  { name: 'half-width', size: 64, widths: [16, 32, 64, 96], convs: 2 },
  { name: 'one-conv-per-block', size: 64, widths: [32, 64, 128, 192], convs: 1 },
  { name: 'input-56', size: 56, widths: [32, 64, 128, 192], convs: 2 },
  { name: 'input-48', size: 48, widths: [32, 64, 128, 192], convs: 2 },
  { name: 'separable', size: 64, widths: [32, 64, 128, 192], convs: 2, conv: 'separable' as const },
  { name: 'separable-wide', size: 64, widths: [64, 128, 256, 384], convs: 2, conv: 'separable' as const },
];

await initBackend();
registerFastConvGradients();

/** Multiply-accumulates of the convolutions for one image (a separable one: its 3x3 per channel plus its 1x1). */
function convMacs(model: tf.LayersModel): number {
  let macs = 0;
  for (const layer of model.layers) {
    const kind = layer.getClassName();
    if (kind !== 'Conv2D' && kind !== 'SeparableConv2D') continue;
    const [, h, w, cOut] = layer.outputShape as number[];
    const [kh, kw, cIn] = layer.getWeights()[0].shape;
    macs += kind === 'Conv2D' ? h * w * kh * kw * cIn * cOut : h * w * (kh * kw * cIn + cIn * cOut);
  }
  return macs;
}

for (const c of CANDIDATES) {
  const spec = { size: c.size, channels: 3 as const };
  const conv = 'conv' in c ? c.conv : 'full';
  const nets = [buildNet('age', spec, c.widths, c.convs, 0.3, 0, 1, conv), buildNet('gender', spec, c.widths, c.convs, 0.3, 0, 2, conv)];
  const face = tf.randomUniform([1, c.size, c.size, 3], 0, 255);
  const times: number[] = [];
  for (let i = 0; i < config.warmup + config.runs; i++) {
    const t0 = performance.now();
    for (const net of nets) tf.tidy(() => (net.predict(face) as tf.Tensor).dataSync());
    if (i >= config.warmup) times.push(performance.now() - t0);
  }

  const net = nets[1];
  const optimizer = tf.train.adam(1e-3);
  const x = tf.randomUniform([config.batch, c.size, c.size, 3], 0, 255);
  const y = tf.randomUniform([config.batch, 1]).round();
  const step = () => tf.tidy(() => (optimizer.minimize(() => tf.losses.logLoss(y, net.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true) as tf.Scalar).dataSync());
  step(); // warm-up: XNNPACK operator set-up, Adam slots
  const t0 = performance.now();
  for (let s = 0; s < config.trainSteps; s++) step();
  const trainImgPerS = (config.trainSteps * config.batch) / ((performance.now() - t0) / 1000);

  console.log(`bench=arch name=${c.name} input=${c.size}x${c.size}x3 widths=${c.widths.join(',')} convs_per_block=${c.convs} conv=${conv} ` +
    `params=${net.countParams()} conv_mmacs=${(convMacs(net) / 1e6).toFixed(1)} both_models_p50_ms=${quantile(times, 0.5).toFixed(2)} ` +
    `train_img_s=${trainImgPerS.toFixed(1)}`);
  [face, x, y, ...nets].forEach((t) => t.dispose());
  optimizer.dispose();
}
