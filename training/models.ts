/**
 * Model architectures. Each takes raw pixel bytes (as float32) and rescales them inside the
 * graph, so serving only has to hand over `toModelInput` output.
 */
import * as tf from '@tensorflow/tfjs';
import { PIXEL_SCALE } from '../lib/preprocess.js';
import type { InputSpec } from '../lib/preprocess.js';

/** Ages the age head distributes probability over: 0..MAX_AGE inclusive. */
const MAX_AGE = 116;
const AGE_BINS = MAX_AGE + 1;

type Head = 'gender' | 'age';

/**
 * conv3x3 + bias + ReLU. No batch norm: on wasm its gradient (Tile-heavy) costs 40% of a
 * training step (measured 46 vs 79 images/s), and a 9-layer He-initialised net trains without it.
 * The ReLU is the conv layer's own activation, not a layer of its own: then, while gradients are
 * recorded, tfjs runs conv, bias and ReLU as separate ops whose gradients are computed only where
 * needed, so the stem's gradient with respect to the image is skipped. With a separate ReLU the
 * conv stays one fused op whose gradient always computes that too: a step took 6-16% longer
 * (gender net, batch 64; `npx tsx bench/reluPlacement.ts`, BENCHMARKS.md). Same function:
 * test/training/models.test.ts runs the same weights through both forms (`withSeparateRelu`).
 */
function convBlock(x: tf.SymbolicTensor, filters: number, name: string, l2: number, seed: number, strides = 1): tf.SymbolicTensor {
  return tf.layers.conv2d({
    filters, kernelSize: 3, padding: 'same', strides, useBias: true, activation: 'relu', name: `${name}_conv`,
    kernelInitializer: tf.initializers.heNormal({ seed }), kernelRegularizer: l2 ? tf.regularizers.l2({ l2 }) : undefined,
  }).apply(x) as tf.SymbolicTensor;
}

/**
 * Depthwise-separable conv3x3 (+ bias + ReLU): a 3x3 filter per channel, then a 1x1 conv mixing
 * channels. 1/9 + 1/filters of a full conv's multiply-adds (1/7 at 32 filters), the building block
 * of MobileNet-class nets, for the 5 ms inference target; training it needs the depthwise
 * gradient kernels of wasmKernels.ts.
 */
function separableBlock(x: tf.SymbolicTensor, filters: number, name: string, l2: number, seed: number): tf.SymbolicTensor {
  // Each channel's 3x3 filter keeps its input's scale (variance 1/9 per tap) and the pointwise
  // conv is He-initialised (variance 2/channels, for the ReLU). Both are set after the layer is
  // built: tfjs 4.22's SeparableConv2D initialises its pointwise kernel with the *depthwise*
  // initializer (convolutional.js), and a He init of the depthwise kernel counts 9 x channels as
  // its fan-in: the signal vanished (a gender net stayed at loss ln 2) or exploded.
  const channels = x.shape[3] as number;
  const layer = tf.layers.separableConv2d({
    filters, kernelSize: 3, padding: 'same', depthMultiplier: 1, useBias: true, activation: 'relu', name: `${name}_sepconv`,
    pointwiseRegularizer: l2 ? tf.regularizers.l2({ l2 }) : undefined,
  });
  const out = layer.apply(x) as tf.SymbolicTensor;
  layer.setWeights(tf.tidy(() => [
    tf.randomNormal([3, 3, channels, 1], 0, Math.sqrt(1 / 9), 'float32', seed),
    tf.randomNormal([1, 1, channels, filters], 0, Math.sqrt(2 / channels), 'float32', seed + 5000),
    tf.zeros([filters]),
  ]));
  return out;
}

type ConvKind = 'full' | 'separable';

function headFor(head: Head, x: tf.SymbolicTensor, seed: number): tf.SymbolicTensor {
  const kernelInitializer = tf.initializers.glorotUniform({ seed: seed + 999 });
  return head === 'gender'
    ? tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer, name: 'p_female' }).apply(x) as tf.SymbolicTensor
    : tf.layers.dense({ units: AGE_BINS, activation: 'softmax', kernelInitializer, name: 'age_distribution' }).apply(x) as tf.SymbolicTensor;
}

/**
 * Our model: VGG-style blocks (widths `widths`, `convsPerBlock` 3x3 convs each, 2x2 max pool
 * between), global average pooling, dropout, then a sigmoid (gender) or a softmax over ages
 * 0..116 (age, label-distribution learning). With `conv` 'separable' every conv after the stem
 * is depthwise-separable. `deepBlocks` lists blocks that get one conv more (named as the next conv
 * of the block, e.g. b3c2): the layers `identityInitialise` can add to a trained net.
 */
function buildNet(head: Head, spec: InputSpec, widths: number[], convsPerBlock: number, dropout: number, l2: number, seed: number, conv: ConvKind = 'full', deepBlocks: number[] = []): tf.LayersModel {
  const block = conv === 'full' ? convBlock : separableBlock;
  const input = tf.input({ shape: [spec.size, spec.size, spec.channels], name: 'pixels' });
  let x = tf.layers.rescaling({ scale: PIXEL_SCALE, offset: 0, name: 'rescale' }).apply(input) as tf.SymbolicTensor;
  // A stride-2 stem halves the resolution first: full-resolution convs cost most in backprop.
  x = convBlock(x, widths[0], 'stem', l2, seed, 2);
  widths.forEach((w, b) => {
    const convs = convsPerBlock + (deepBlocks.includes(b) ? 1 : 0);
    for (let c = b === 0 ? 1 : 0; c < convs; c++) x = block(x, w, `b${b}c${c}`, l2, seed + 10 * b + c);
    if (b < widths.length - 1) x = tf.layers.maxPooling2d({ poolSize: 2, name: `b${b}_pool` }).apply(x) as tf.SymbolicTensor;
  });
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  // No `seed` here: a seeded tfjs dropout draws the same mask at every step. train.ts seeds
  // Math.random per epoch instead, which tfjs's unseeded random ops draw their seeds from.
  x = tf.layers.dropout({ rate: dropout, name: 'drop' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: headFor(head, x, seed), name: `${head}_net` });
}

/**
 * The original notebook's architecture, kept as the model card's baseline row:
 * conv32-BN-maxpool-conv64-maxpool-dense64-dropout0.5 on 48x48 grayscale.
 * Gender: sigmoid; age: one linear unit (regression in years).
 */
function buildBaseline(head: Head, spec: InputSpec, seed: number): tf.LayersModel {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed + k });
  const input = tf.input({ shape: [spec.size, spec.size, spec.channels], name: 'pixels' });
  let x = tf.layers.rescaling({ scale: PIXEL_SCALE, offset: 0 }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', kernelInitializer: init(1) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu', kernelInitializer: init(2) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 64, activation: 'relu', kernelInitializer: init(3) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.5 }) /* unseeded: see buildNet */.apply(x) as tf.SymbolicTensor;
  const out = head === 'gender'
    ? tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: init(4) }).apply(x)
    : tf.layers.dense({ units: 1, kernelInitializer: init(5) }).apply(x);
  return tf.model({ inputs: input, outputs: out as tf.SymbolicTensor, name: `baseline_${head}` });
}

/**
 * The gender net with a second, auxiliary output: a softmax over ages on the same pooled
 * features. Training both heads at once makes the trunk learn age as well (multi-task); the
 * returned model shares every layer with `genderNet`, so exporting `genderNet` serves the gender
 * head alone.
 */
function withAuxAgeHead(genderNet: tf.LayersModel, seed: number): tf.LayersModel {
  const features = genderNet.getLayer('drop').output as tf.SymbolicTensor;
  const age = headFor('age', features, seed);
  return tf.model({ inputs: genderNet.inputs, outputs: [genderNet.outputs[0], age], name: 'gender_net_with_age' });
}

/**
 * The net with a second, auxiliary output: a linear map from the pooled features to a
 * face-recognition descriptor (a "hint" from a net trained on far more faces). Regressing onto it
 * makes the trunk learn what that net sees; like withAuxAgeHead, exporting `net` drops the head.
 */
function withAuxEmbeddingHead(net: tf.LayersModel, dim: number, seed: number): tf.LayersModel {
  const features = net.getLayer('gap').output as tf.SymbolicTensor;
  const hint = tf.layers.dense({ units: dim, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1999 }), name: 'embedding_hint' }).apply(features) as tf.SymbolicTensor;
  return tf.model({ inputs: net.inputs, outputs: [net.outputs[0], hint], name: `${net.name}_with_embedding_hint` });
}

/**
 * Copies into `target` the weights of every `source` layer with the same name and weight shapes
 * (only trunk layers, the convs, with `trunkOnly`) and returns the names copied: one task's
 * trained trunk can start the other task's net, whose differently shaped head keeps its fresh
 * initialisation.
 */
function copyMatchingLayers(target: tf.LayersModel, source: tf.LayersModel, trunkOnly = false): string[] {
  const sameShapes = (a: tf.Tensor[], b: tf.Tensor[]) => a.length === b.length && a.every((t, i) => t.shape.join() === b[i].shape.join());
  return target.layers.filter((layer) => {
    if (trunkOnly && !isTrunkLayer(layer.name)) return false;
    const weights = source.layers.find((l) => l.name === layer.name)?.getWeights() ?? [];
    if (weights.length === 0 || !sameShapes(weights, layer.getWeights())) return false;
    layer.setWeights(weights);
    return true;
  }).map((layer) => layer.name);
}

/**
 * Makes a conv layer compute the identity: a 3x3 kernel whose centre tap maps each channel to
 * itself, zero bias. Its input is a ReLU's output (>= 0), so conv + ReLU returns it unchanged: a
 * conv added to a trained net this way starts as the same function (Net2DeeperNet), and a warm
 * restart then learns what the extra depth can add.
 */
function identityInitialise(layer: tf.layers.Layer): void {
  const [kernel, bias] = layer.getWeights();
  const [kh, kw, cin, cout] = kernel.shape;
  if (cin !== cout) throw new Error(`${layer.name}: an identity conv needs as many input as output channels (${cin} vs ${cout})`);
  const values = new Float32Array(kh * kw * cin * cout);
  const centre = (Math.floor(kh / 2) * kw + Math.floor(kw / 2)) * cin * cout;
  for (let c = 0; c < cin; c++) values[centre + c * cout + c] = 1;
  const identity = [tf.tensor4d(values, [kh, kw, cin, cout]), tf.zerosLike(bias)];
  layer.setWeights(identity);
  tf.dispose(identity);
}

/**
 * Starts a narrower net from a trained wider one of the same layout (channel pruning): each
 * conv keeps the output filters with the largest L1 norms, in their original order, and the next
 * conv (or the head) keeps the matching input channels. What the big net learnt survives in the
 * filters it leaned on most, and a warm restart recovers the rest, usually far better than the
 * narrow net trained from scratch. Returns the names of the layers it filled.
 */
function pruneInto(target: tf.LayersModel, source: tf.LayersModel): string[] {
  let keptIn: number[] | undefined; // input channels the previous layer kept (undefined: the image's)
  const filled: string[] = [];
  for (const layer of target.layers) {
    const from = source.layers.find((l) => l.name === layer.name);
    const shapes = layer.getWeights().map((w) => w.shape);
    if (!from || shapes.length === 0) continue;
    const [kernel, bias] = from.getWeights();
    const values = kernel.arraySync() as number[][][][] | number[][];
    const biasValues = bias.arraySync() as number[];
    if (isTrunkLayer(layer.name)) {
      const [kh, kw, , outWanted] = shapes[0];
      const cin = kernel.shape[2]!;
      const inputs = keptIn ?? Array.from({ length: cin }, (_, i) => i);
      const conv = values as number[][][][];
      const taps = conv.flat(2); // every tap's row of output weights, flattened once for all filters
      const norms = biasValues.map((_, o) => taps.reduce((sum, tap) => sum + Math.abs(tap[o]), 0));
      const keep = norms.map((n, o) => [n, o]).sort((a, b) => b[0] - a[0]).slice(0, outWanted).map(([, o]) => o).sort((a, b) => a - b);
      const sliced = Array.from({ length: kh }, (_, y) => Array.from({ length: kw }, (_, x) => inputs.map((i) => keep.map((o) => conv[y][x][i][o]))));
      const weights = [tf.tensor4d(sliced), tf.tensor1d(keep.map((o) => biasValues[o]))];
      layer.setWeights(weights);
      tf.dispose(weights);
      keptIn = keep;
    } else {
      // The head: a dense layer on the pooled features, whose rows are the last conv's channels.
      const dense = values as number[][];
      if (!keptIn || shapes[0][0] !== keptIn.length || shapes[0][1] !== dense[0].length) continue;
      const weights = [tf.tensor2d(keptIn.map((i) => dense[i])), tf.tensor1d(biasValues)];
      layer.setWeights(weights);
      tf.dispose(weights);
    }
    filled.push(layer.name);
  }
  return filled;
}

/**
 * `net` in the form the committed models were built in: each conv linear, then a ReLU layer of
 * its own. The convs are new layers holding copies of net's conv weights; every other layer (pools,
 * head) is net's own, shared. For the test that both forms compute the same function and the bench
 * of their training speed; training builds only the fused form.
 */
function withSeparateRelu(net: tf.LayersModel): tf.LayersModel {
  const input = tf.input({ shape: net.inputs[0].shape.slice(1) as number[] });
  let x = input as tf.SymbolicTensor;
  for (const layer of net.layers.slice(1)) {
    if (!isTrunkLayer(layer.name)) { x = layer.apply(x) as tf.SymbolicTensor; continue; }
    const { filters, strides } = layer.getConfig() as { filters: number; strides: [number, number] };
    const conv = tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', strides });
    x = tf.layers.reLU().apply(conv.apply(x)) as tf.SymbolicTensor;
    conv.setWeights(layer.getWeights());
  }
  return tf.model({ inputs: input, outputs: x });
}

/**
 * The element-wise mean of several nets' weights (a "model soup": one net's cost at inference).
 * Weights are matched by position: nets built by buildNet list them in one order. Only nets of
 * one architecture can be averaged, and only nets fine-tuned from one start are worth averaging.
 */
function meanWeights(weightSets: tf.Tensor[][]): tf.Tensor[] {
  const [first] = weightSets;
  const sameShapes = (set: tf.Tensor[]) => set.length === first.length && set.every((t, k) => tf.util.arraysEqual(t.shape, first[k].shape));
  if (!weightSets.every(sameShapes)) throw new Error('the nets differ in architecture: only nets of one architecture can be averaged');
  return tf.tidy(() => first.map((_, k) => tf.div(tf.addN(weightSets.map((set) => set[k])), weightSets.length)));
}

/** The trunk's weighted layers are its convs (buildNet names them `<block>_conv`). */
function isTrunkLayer(name: string): boolean {
  return name.endsWith('_conv') || name.endsWith('_sepconv');
}

export { buildNet, buildBaseline, withAuxAgeHead, withAuxEmbeddingHead, withSeparateRelu, copyMatchingLayers, identityInitialise, pruneInto, meanWeights, isTrunkLayer, MAX_AGE, AGE_BINS };
export type { Head };
