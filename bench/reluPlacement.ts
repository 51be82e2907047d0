/**
 * Training step time of our gender net with each conv's ReLU as the conv layer's activation (what
 * training/models.ts builds) versus as a layer of its own (how the first committed models were
 * built). Same weights and batch, alternated in one process, so the ratio holds on a noisy machine.
 *   npx tsx bench/reluPlacement.ts [--rounds=2] [--steps=4] [--batch=64]
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../lib/backend.js';
import { buildNet, withSeparateRelu } from '../training/models.js';
import { parseCommandLine } from '../training/overrides.js';
import { registerFastConvGradients } from '../training/wasmKernels.js';

const config = parseCommandLine({ rounds: 2, steps: 4, batch: 64 });
await initBackend();
registerFastConvGradients();

const spec = { size: 64, channels: 3 as const };
const inConv = buildNet('gender', spec, [32, 64, 128, 192], 2, 0.3, 0, 1);

// Its convs are copies; the other layers (pools, head) are inConv's own, so both optimisers train
// the same head: harmless for timing, which is all this measures.
const separate = withSeparateRelu(inConv);
const x = tf.randomUniform([config.batch, spec.size, spec.size, spec.channels], 0, 255, 'float32', 1);
const y = tf.randomUniform([config.batch, 1], 0, 1, 'float32', 2).round();

function msPerStep(model: tf.LayersModel, optimizer: tf.Optimizer): number {
  const step = () => tf.tidy(() => { optimizer.minimize(() => tf.losses.logLoss(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar); });
  step();
  const t0 = performance.now();
  for (let i = 0; i < config.steps; i++) step();
  return (performance.now() - t0) / config.steps;
}

const optimizers = [tf.train.adam(1e-3), tf.train.adam(1e-3)];
for (let round = 1; round <= config.rounds; round++) {
  const separateMs = msPerStep(separate, optimizers[0]);
  const inConvMs = msPerStep(inConv, optimizers[1]);
  console.log(`bench=relu-placement round=${round} batch=${config.batch} separate_relu_ms=${separateMs.toFixed(0)} relu_in_conv_ms=${inConvMs.toFixed(0)} ratio=${(separateMs / inConvMs).toFixed(2)}`);
}
