import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../lib/backend.js';
import { loadAgeModel, loadGenderModel } from '../../lib/models.js';
import { modelVersionOf } from '../../lib/analyzer.js';
import type { AgeModel, GenderModel } from '../../lib/models.js';
import { scoreSample } from '../../training/ciSample.js';
import { mirroredFace } from '../../lib/preprocess.js';

const DATA = resolve(process.env.UTKFACE_DIR ?? '../shared/data');
const MODELS = resolve('models');
const metrics = JSON.parse(readFileSync(join(MODELS, 'metrics.json'), 'utf8'));

describe('committed models', () => {
  let gender: GenderModel;
  let age: AgeModel;
  let sample: { n: number; genderAccuracy: number; ageMae: number };

  beforeAll(async () => {
    expect(existsSync(join(DATA, 'utkface.csv'))).toBe(true);
    await initBackend();
    gender = await loadGenderModel({ modelDir: join(MODELS, 'gender') });
    age = await loadAgeModel({ modelDir: join(MODELS, 'age') });
    sample = await scoreSample(DATA, gender, age);
  });

  it('score the fixed 393-face test sample as metrics.json recorded', () => {
    // Same weights, same preprocessing: only float rounding may differ.
    expect(sample.n).toBe(metrics.ciSample.n);
    expect(Math.abs(sample.genderAccuracy - metrics.ciSample.genderAccuracy)).toBeLessThanOrEqual(1 / sample.n + 1e-9);
    expect(Math.abs(sample.ageMae - metrics.ciSample.ageMae)).toBeLessThan(0.02);
  });

  it('are the models metrics.json was computed on', () => {
    // The version hashes weights and manifests: new weights need a new `npm run evaluate`.
    expect(modelVersionOf(MODELS)).toBe(metrics.modelVersion);
  });

  it('agree with the full-test figures within sampling error', () => {
    // 3 standard errors of a 393-face sample drawn without replacement from the N test faces.
    const finite = Math.sqrt(1 - sample.n / metrics.n);
    const p = metrics.test.gender.accuracy;
    expect(Math.abs(sample.genderAccuracy - p)).toBeLessThan(3 * finite * Math.sqrt((p * (1 - p)) / sample.n));
    const { mae, rmse } = metrics.test.age;
    const absErrorSd = Math.sqrt(rmse ** 2 - mae ** 2); // sd of |error| from its mean and mean square
    expect(Math.abs(sample.ageMae - mae)).toBeLessThan(3 * finite * absErrorSd / Math.sqrt(sample.n));
  });

  it('clearly beat the baseline row on the sample', () => {
    // A regenerated metrics.json follows bad weights; this floor does not.
    expect(sample.genderAccuracy).toBeGreaterThan(metrics.baseline.genderAccuracy + 0.03);
    expect(sample.ageMae).toBeLessThan(metrics.baseline.ageMae - 2);
  });

  it('do not leak tensors when predicting', () => {
    const faceFor = (m: GenderModel | AgeModel) => new Uint8Array(m.manifest.spec.size ** 2 * m.manifest.spec.channels).fill(100);
    const before = tf.memory().numTensors;
    const flippedGender = gender.withTestTimeFlip(true);
    const plainAge = age.withTestTimeFlip(false);
    for (let i = 0; i < 5; i++) {
      gender.predict([faceFor(gender), faceFor(gender)]);
      age.predict([faceFor(age)]);
      flippedGender.predict([faceFor(gender)]); // both settings of both nets
      plainAge.predict([faceFor(age)]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('with test-time flip, serve the mean of the outputs on the face and on its mirror image', () => {
    // A face that is not left-right symmetric, so that mirroring changes what the net sees; each
    // model gets one of its own input size (the two may differ).
    const asymmetricFace = ({ size, channels }: { size: number; channels: number }) =>
      new Uint8Array(size * size * channels).map((_, i) => (i * 37 + Math.floor(i / (size * channels)) * 11) % 256);
    const face = asymmetricFace(age.manifest.spec);
    const mirror = mirroredFace(face, age.manifest.spec);
    const plain = age.withTestTimeFlip(false).distributions([face, mirror]);
    const [flipped] = age.withTestTimeFlip(true).distributions([face]);
    expect(Math.max(...plain[0].map((p, k) => Math.abs(p - plain[1][k])))).toBeGreaterThan(1e-4);
    flipped.forEach((p, k) => expect(p).toBeCloseTo((plain[0][k] + plain[1][k]) / 2, 6));
    const genderFace = asymmetricFace(gender.manifest.spec);
    const genderMirror = mirroredFace(genderFace, gender.manifest.spec);
    const pFlipped = gender.withTestTimeFlip(true).probabilities([genderFace], 1)[0];
    const pPlain = gender.withTestTimeFlip(false).probabilities([genderFace, genderMirror], 1);
    expect(Math.abs(pPlain[0] - pPlain[1])).toBeGreaterThan(1e-4);
    expect(pFlipped).toBeCloseTo((pPlain[0] + pPlain[1]) / 2, 5);
  });

  it('ship under 5 MB in total', () => {
    const bytes = ['gender', 'age'].flatMap((t) => ['model.json', 'weights.bin'].map((f) => readFileSync(join(MODELS, t, f)).length));
    expect(bytes.reduce((a, b) => a + b, 0)).toBeLessThan(5 * 1024 * 1024);
  });
});
