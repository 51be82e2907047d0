/**
 * --initTrunk: the age net's trunk starts a gender net. Every conv layer must arrive intact and the
 * head, whose shape differs (117 ages vs 1 unit), must keep its own initialisation.
 * --auxAge: the gender net trains with a second (age) head, yet the net we export and serve is
 * the gender net alone, sharing every weight the two-head net trained.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../lib/backend.js';
import { buildNet, meanWeights, copyMatchingLayers, identityInitialise, pruneInto, withAuxAgeHead, withSeparateRelu } from '../../training/models.js';
import { registerFastConvGradients } from '../../training/wasmKernels.js';

const spec = { size: 32, channels: 3 as const };
const widths = [8, 16];

beforeAll(async () => {
  await initBackend();
  registerFastConvGradients(); // wasm has no Conv2DBackpropFilter of its own
});

const values = (layer: tf.layers.Layer) => layer.getWeights().map((w) => Array.from(w.dataSync()));

describe('copyMatchingLayers', () => {
  it('copies the trunk of an age net into a gender net and leaves the head alone', () => {
    const age = buildNet('age', spec, widths, 2, 0.3, 0, 1);
    const gender = buildNet('gender', spec, widths, 2, 0.3, 0, 2);
    const headBefore = values(gender.getLayer('p_female'));

    const copied = copyMatchingLayers(gender, age);

    const convs = gender.layers.filter((l) => l.name.endsWith('_conv')).map((l) => l.name);
    expect(convs.length).toBe(4);
    expect(copied).toEqual(convs);
    for (const name of convs) expect(values(gender.getLayer(name))).toEqual(values(age.getLayer(name)));
    expect(values(gender.getLayer('p_female'))).toEqual(headBefore);
  });

  it('copies only the convs with trunkOnly, even from a net of the same task', () => {
    const source = buildNet('gender', spec, widths, 2, 0.3, 0, 1);
    const target = buildNet('gender', spec, widths, 2, 0.3, 0, 2);
    const headBefore = values(target.getLayer('p_female'));
    expect(copyMatchingLayers(target, source, true)).toEqual(target.layers.filter((l) => l.name.endsWith('_conv')).map((l) => l.name));
    expect(values(target.getLayer('p_female'))).toEqual(headBefore);
    expect(copyMatchingLayers(target, source)).toContain('p_female');
  });

  it('copies nothing from a net of other widths', () => {
    const wide = buildNet('age', spec, [16, 32], 2, 0.3, 0, 1);
    const gender = buildNet('gender', spec, widths, 2, 0.3, 0, 2);
    expect(copyMatchingLayers(gender, wide)).toEqual([]);
  });
});

describe('deepBlocks and identityInitialise (a deeper warm restart)', () => {
  it('adds one conv to the named block, and the deeper net starts as the same function', async () => {
    const trained = buildNet('gender', spec, widths, 2, 0.3, 0, 1);
    const deeper = buildNet('gender', spec, widths, 2, 0.3, 0, 2, 'full', [1]);
    const copied = copyMatchingLayers(deeper, trained);
    const added = deeper.layers.filter((l) => l.name.endsWith('_conv') && !copied.includes(l.name));
    expect(added.map((l) => l.name)).toEqual(['b1c2_conv']);
    const x = tf.randomUniform([3, spec.size, spec.size, 3], 0, 255, 'float32', 7);
    const before = Array.from((trained.predict(x) as tf.Tensor).dataSync());
    // Freshly initialised, the added conv changes the output; as the identity, it gives it back.
    expect(Array.from((deeper.predict(x) as tf.Tensor).dataSync())).not.toEqual(before);
    identityInitialise(added[0]);
    Array.from((deeper.predict(x) as tf.Tensor).dataSync()).forEach((v, i) => expect(v).toBeCloseTo(before[i], 6));
  });

  it('refuses a conv whose input and output channels differ', () => {
    const net = buildNet('gender', spec, widths, 2, 0.3, 0, 1);
    expect(() => identityInitialise(net.getLayer('b1c0_conv'))).toThrow(/as many input as output/);
  });
});

describe('pruneInto (channel pruning)', () => {
  it('into a net of the same widths, copies every weight and so the same function', () => {
    const source = buildNet('age', spec, widths, 2, 0.3, 0, 1);
    const target = buildNet('age', spec, widths, 2, 0.3, 0, 2);
    pruneInto(target, source);
    target.getWeights().forEach((w, k) => expect(Array.from(w.dataSync())).toEqual(Array.from(source.getWeights()[k].dataSync())));
  });

  it('keeps the filters with the largest L1 norms, and the matching input channels downstream', () => {
    const source = buildNet('gender', spec, [8, 16], 2, 0.3, 0, 1);
    const target = buildNet('gender', spec, [4, 8], 2, 0.3, 0, 2);
    expect(pruneInto(target, source)).toEqual(['stem_conv', 'b0c1_conv', 'b1c0_conv', 'b1c1_conv', 'p_female']);
    const stem = source.getLayer('stem_conv').getWeights()[0].arraySync() as number[][][][];
    const norms = Array.from({ length: 8 }, (_, o) => stem.flat(2).reduce((sum, taps) => sum + Math.abs(taps[o]), 0));
    const kept = norms.map((n, o) => [n, o]).sort((a, b) => b[0] - a[0]).slice(0, 4).map(([, o]) => o).sort((a, b) => a - b);
    const prunedStem = target.getLayer('stem_conv').getWeights()[0].arraySync() as number[][][][];
    expect(prunedStem[1][2][0]).toEqual(kept.map((o) => stem[1][2][0][o]));
    // The next conv reads only the kept channels: its input axis is the source's, sliced.
    const next = source.getLayer('b0c1_conv').getWeights()[0].arraySync() as number[][][][];
    const prunedNext = target.getLayer('b0c1_conv').getWeights()[0].arraySync() as number[][][][];
    expect(prunedNext[0][0].length).toBe(4);
    kept.forEach((i, j) => expect(prunedNext[0][0][j].length).toBe(4));
    const nextKept = Array.from({ length: 8 }, (_, o) => next.flat(2).reduce((sum, taps) => sum + Math.abs(taps[o]), 0))
      .map((n, o) => [n, o]).sort((a, b) => b[0] - a[0]).slice(0, 4).map(([, o]) => o).sort((a, b) => a - b);
    kept.forEach((i, j) => expect(prunedNext[2][1][j]).toEqual(nextKept.map((o) => next[2][1][i][o])));
  });
});

describe('meanWeights (weight soup)', () => {
  it('gives each weight the mean of the nets\' weights', () => {
    const sets = [1, 2, 3].map((seed) => buildNet('gender', spec, widths, 2, 0.3, 0, seed).getWeights());
    const mean = meanWeights(sets);
    // Seeds differ, so the kernels differ and their mean is none of them (biases start at zero).
    expect(Array.from(sets[1][0].dataSync())).not.toEqual(Array.from(sets[0][0].dataSync()));
    expect(mean.map((t) => t.shape)).toEqual(sets[0].map((t) => t.shape));
    mean.forEach((t, k) => {
      const [a, b, c] = sets.map((set) => set[k].dataSync());
      t.dataSync().forEach((v, j) => expect(v).toBeCloseTo((a[j] + b[j] + c[j]) / 3, 6));
    });
  });

  it('refuses nets of other architectures', () => {
    const sets = [widths, [8, 24]].map((w) => buildNet('gender', spec, w, 2, 0.3, 0, 1).getWeights());
    expect(() => meanWeights(sets)).toThrow(/architecture/);
  });
});

describe('withAuxAgeHead', () => {
  it('adds an age head that shares the trunk, leaving the gender net one output', () => {
    const gender = buildNet('gender', spec, widths, 2, 0.3, 0, 2);
    const both = withAuxAgeHead(gender, 2);
    expect(gender.outputs.length).toBe(1);
    expect(both.outputs.map((o) => o.shape)).toEqual([[null, 1], [null, 117]]);
    // Every layer of the gender net is a layer of the two-head net, so training one trains the other.
    for (const layer of gender.layers) expect(both.getLayer(layer.name)).toBe(layer);
    expect(both.layers.length).toBe(gender.layers.length + 1);
    const x = tf.randomUniform([2, 32, 32, 3], 0, 255, 'float32', 7);
    const [pFemale, ages] = both.predict(x) as tf.Tensor[];
    expect(Array.from(pFemale.dataSync())).toEqual(Array.from((gender.predict(x) as tf.Tensor).dataSync()));
    expect(tf.sum(ages, 1).dataSync()[0]).toBeCloseTo(1, 5);
  });
});

describe('buildNet conv blocks', () => {
  it('compute what the same weights compute with separate ReLU layers (the committed models\' form)', () => {
    const net = buildNet('age', spec, widths, 2, 0.3, 0, 5);
    const separate = withSeparateRelu(net);
    expect(separate.layers.filter((l) => l.getClassName() === 'ReLU').length).toBe(4);
    const x = tf.randomUniform([4, 32, 32, 3], 0, 255, 'float32', 3);
    const a = net.predict(x) as tf.Tensor;
    const diff = tf.max(tf.abs(tf.sub(a, separate.predict(x) as tf.Tensor))).dataSync()[0];
    expect(tf.max(a).dataSync()[0]).toBeLessThan(0.5); // a spread distribution, not one saturated bin
    expect(diff).toBeLessThan(1e-6);
  });

  it('skip the gradient with respect to the image while training', async () => {
    const net = buildNet('gender', spec, widths, 2, 0.3, 0, 1);
    const x = tf.randomUniform([2, 32, 32, 3], 0, 255, 'float32', 4);
    const y = tf.tensor2d([[1], [0]]);
    const optimizer = tf.train.adam(1e-3);
    const profile = await tf.profile(() => { optimizer.minimize(() => tf.losses.logLoss(y, net.apply(x, { training: true }) as tf.Tensor) as tf.Scalar); });
    const inputGradients = profile.kernels.filter((k) => k.name === 'Conv2DBackpropInput').map((k) => k.outputShapes[0]);
    expect(inputGradients.length).toBe(3); // one per conv but the stem
    expect(inputGradients).not.toContainEqual([2, 32, 32, 3]);
  });
});

describe('separable net (--conv=separable)', () => {
  /** Gradient of a fixed loss (a random weighting of the outputs) w.r.t. every trainable weight, on the current backend. */
  function weightGradients(net: tf.LayersModel, x: tf.Tensor4D, mix: tf.Tensor): number[][] {
    return tf.tidy(() => {
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(net.apply(x, { training: false }) as tf.Tensor, mix)) as tf.Scalar,
        net.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val));
      return Object.values(grads).map((g) => Array.from(g.dataSync()));
    });
  }

  it('makes every conv after the stem depthwise-separable, and they count as trunk layers', () => {
    const net = buildNet('gender', spec, widths, 2, 0.3, 0, 1, 'separable');
    expect(net.layers.filter((l) => l.getClassName() === 'SeparableConv2D').map((l) => l.name))
      .toEqual(['b0c1_sepconv', 'b1c0_sepconv', 'b1c1_sepconv']);
    const other = buildNet('gender', spec, widths, 2, 0.3, 0, 2, 'separable');
    expect(copyMatchingLayers(other, net, true)).toEqual(['stem_conv', 'b0c1_sepconv', 'b1c0_sepconv', 'b1c1_sepconv']);
  });

  it('starts with the signal scale of the full net (tfjs\'s own separable init vanishes or explodes)', () => {
    const pooledRms = (conv: 'full' | 'separable') => tf.tidy(() => {
      const net = buildNet('gender', { size: 64, channels: 3 }, [32, 64, 128, 192], 2, 0.3, 0, 1337, conv);
      const pooled = tf.model({ inputs: net.inputs, outputs: net.getLayer('gap').output as tf.SymbolicTensor });
      const features = pooled.predict(tf.randomUniform([4, 64, 64, 3], 0, 255, 'float32', 5)) as tf.Tensor;
      return Math.sqrt(tf.mean(tf.square(features)).dataSync()[0]);
    });
    const ratio = pooledRms('separable') / pooledRms('full');
    expect(ratio).toBeGreaterThan(1 / 3);
    expect(ratio).toBeLessThan(3);
  });

  it('trains on wasm with the gradients of the cpu backend (our depthwise and 1x1 kernels)', async () => {
    const net = buildNet('age', spec, widths, 2, 0.3, 0, 3, 'separable');
    const x = tf.randomUniform([3, spec.size, spec.size, 3], 0, 255, 'float32', 7) as tf.Tensor4D;
    const mix = tf.randomNormal([3, 117], 0, 1, 'float32', 8); // softmax outputs sum to 1: an unweighted sum has no gradient
    const onWasm = weightGradients(net, x, mix);
    await tf.setBackend('cpu');
    try {
      const onCpu = weightGradients(net, x, mix);
      expect(onWasm.length).toBe(net.trainableWeights.length);
      onWasm.forEach((g, k) => {
        const scale = Math.max(...onCpu[k].map(Math.abs), 1e-12);
        const diff = Math.max(...g.map((v, j) => Math.abs(v - onCpu[k][j])));
        expect(diff / scale).toBeLessThan(1e-3);
      });
    } finally {
      await tf.setBackend('wasm');
    }
    tf.dispose([x, mix]);
  });
});
