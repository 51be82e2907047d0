/**
 * --initTrunk: the age net's trunk starts a gender net. Every conv layer must arrive intact and the
 * head, whose shape differs (117 ages vs 1 unit), must keep its own initialisation.
 * --auxAge: the gender net trains with a second (age) head, yet the net we export and serve is
 * the gender net alone, sharing every weight the two-head net trained.
 */
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../lib/backend.js';
import { fileSystemHandler } from '../../lib/modelIo.js';
import { buildNet, copyMatchingLayers, withAuxAgeHead } from '../../training/models.js';
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

  it('copies nothing from a net of other widths', () => {
    const wide = buildNet('age', spec, [16, 32], 2, 0.3, 0, 1);
    const gender = buildNet('gender', spec, widths, 2, 0.3, 0, 2);
    expect(copyMatchingLayers(gender, wide)).toEqual([]);
  });
});

describe('withAuxAgeHead', () => {
  it('adds an age head that shares the trunk, leaving the gender net one output', () => {
    const gender = buildNet('gender', spec, widths, 2, 0.3, 0, 2);
    const both = withAuxAgeHead(gender, 2);
    expect(gender.outputs.length).toBe(1);
    expect(both.outputs.map((o) => o.shape)).toEqual([[null, 1], [null, 117]]);
    // Changing a trunk weight through the two-head net changes the gender net: they share it.
    const conv = both.getLayer('b1c1_conv');
    conv.setWeights(conv.getWeights().map((w) => tf.onesLike(w)));
    expect(values(gender.getLayer('b1c1_conv'))).toEqual(values(conv));
    const x = tf.randomUniform([2, 32, 32, 3], 0, 255, 'float32', 7);
    const [pFemale, ages] = both.predict(x) as tf.Tensor[];
    expect(Array.from(pFemale.dataSync())).toEqual(Array.from((gender.predict(x) as tf.Tensor).dataSync()));
    expect(tf.sum(ages, 1).dataSync()[0]).toBeCloseTo(1, 5);
  });
});

describe('buildNet conv blocks', () => {
  it('compute what the committed models (separate ReLU layers) compute, from the same weights', async () => {
    const committed = await tf.loadLayersModel(fileSystemHandler(resolve('models/gender')));
    const rebuilt = buildNet('gender', { size: 64, channels: 3 }, [32, 64, 128, 192], 2, 0.3, 0, 1);
    rebuilt.setWeights(committed.getWeights());
    const x = tf.randomUniform([4, 64, 64, 3], 0, 255, 'float32', 3);
    const diff = tf.max(tf.abs(tf.sub(committed.predict(x) as tf.Tensor, rebuilt.predict(x) as tf.Tensor))).dataSync()[0];
    expect(diff).toBeLessThan(1e-5);
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
