/**
 * Typed wrappers for our two trained models. Weights load from models/<name>/ through the fs
 * IOHandler; each manifest.json carries the input spec (checked against what serving feeds)
 * and calibration fitted on `val` (training/calibrate.ts). Results are plain numbers.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileSystemHandler } from './modelIo.js';
import { AppError } from './errors.js';
import { mirroredFace } from './preprocess.js';
import type { InputSpec } from './preprocess.js';

interface ModelManifest {
  name: string;
  task: 'gender' | 'age';
  spec: InputSpec;
  savedAt: string;
  /**
   * Serve the mean of the net's outputs on the face and on its mirror image (test-time flip).
   * Set by `npm run calibrate -- --testTimeFlip=...` from val figures (training/flipChoice.ts),
   * so calibration is fitted on the outputs served.
   */
  testTimeFlip?: boolean;
  calibration?: {
    /** Gender: logits are divided by this before the sigmoid (temperature scaling). */
    temperature?: number;
    /** Age: nominal coverage of [low, high], e.g. 0.8. */
    intervalLevel?: number;
    /** Age: the distribution's central interval is stretched by this factor to reach that coverage. */
    intervalScale?: number;
  };
}

interface LoadOptions {
  /** Folder with model.json, weights.bin and manifest.json. */
  modelDir: string;
}

interface GenderEstimate {
  value: 'female' | 'male';
  /** Probability of the returned value, 0.5..1 (calibrated on val). */
  confidence: number;
  /** Calibrated probability that the face is female, 0..1. */
  pFemale: number;
}

interface AgeEstimate {
  /** Estimated age in years (median of the predicted distribution). */
  value: number;
  /** Lower end of the interval, years. */
  low: number;
  /** Upper end of the interval, years. */
  high: number;
  /** Nominal probability that the true age lies in [low, high]. */
  level: number;
}

async function loadGraph(opts: LoadOptions, task: 'gender' | 'age'): Promise<{ model: tf.LayersModel; manifest: ModelManifest }> {
  try {
    const manifest = JSON.parse(readFileSync(join(opts.modelDir, 'manifest.json'), 'utf8')) as ModelManifest;
    if (manifest.task !== task) throw new Error(`manifest task is ${manifest.task}, expected ${task}`);
    const model = await tf.loadLayersModel(fileSystemHandler(opts.modelDir));
    const [, h, w, c] = model.inputs[0].shape;
    if (h !== manifest.spec.size || w !== manifest.spec.size || c !== manifest.spec.channels) {
      throw new Error(`model input ${h}x${w}x${c} does not match manifest spec ${JSON.stringify(manifest.spec)}`);
    }
    return { model, manifest };
  } catch (cause) {
    throw new AppError('MODEL_LOAD_FAILED', `could not load the ${task} model from ${opts.modelDir}`, { cause });
  }
}

/** Stacks face crops (toModelInput output) into one float batch. */
function batchOf(faces: Uint8Array[], spec: InputSpec): tf.Tensor4D {
  const per = spec.size * spec.size * spec.channels;
  const data = new Float32Array(faces.length * per);
  faces.forEach((face, i) => {
    if (face.length !== per) throw new AppError('INTERNAL', `face input has ${face.length} values, expected ${per}`);
    data.set(face, i * per);
  });
  return tf.tensor4d(data, [faces.length, spec.size, spec.size, spec.channels]);
}

/**
 * The net's outputs for a batch of faces: one row per face. With the manifest's `testTimeFlip`,
 * each row is the mean of the outputs on the face and on its mirror image; training flips half
 * of its faces, so both views are ones the net has learnt, and their errors partly cancel.
 * Call inside tf.tidy.
 */
function outputsFor(model: tf.LayersModel, manifest: ModelManifest, faces: Uint8Array[]): tf.Tensor {
  if (!manifest.testTimeFlip) return model.predict(batchOf(faces, manifest.spec)) as tf.Tensor;
  // One call on both views: fewer op dispatches than two calls (cost: BENCHMARKS.md, +42-47% for both models).
  const mirrors = faces.map((face) => mirroredFace(face, manifest.spec));
  const both = model.predict(batchOf([...faces, ...mirrors], manifest.spec)) as tf.Tensor;
  const [asIs, mirrored] = tf.split(both, 2);
  return tf.div(tf.add(asIs, mirrored), 2);
}

class GenderModel {
  constructor(private readonly model: tf.LayersModel, readonly manifest: ModelManifest) {}

  /** P(female) per face; `temperature` defaults to the one fitted on val (1 = raw model output). */
  probabilities(faces: Uint8Array[], temperature = this.manifest.calibration?.temperature ?? 1): Float32Array {
    if (faces.length === 0) return new Float32Array(0);
    const probs = tf.tidy(() => {
      const p = tf.clipByValue(outputsFor(this.model, this.manifest, faces), 1e-6, 1 - 1e-6);
      const logit = tf.sub(tf.log(p), tf.log(tf.sub(1, p)));
      return tf.sigmoid(tf.div(logit, temperature));
    });
    const values = probs.dataSync() as Float32Array;
    probs.dispose();
    return values;
  }

  predict(faces: Uint8Array[]): GenderEstimate[] {
    return Array.from(this.probabilities(faces), (pFemale) => ({
      value: pFemale >= 0.5 ? 'female' as const : 'male' as const,
      confidence: Math.max(pFemale, 1 - pFemale),
      pFemale,
    }));
  }

  /** The same net with test-time flip on or off, for measuring it. It shares the weights: dispose only the original. */
  withTestTimeFlip(on: boolean): GenderModel { return new GenderModel(this.model, { ...this.manifest, testTimeFlip: on }); }

  dispose(): void { this.model.dispose(); }
}

class AgeModel {
  constructor(private readonly model: tf.LayersModel, readonly manifest: ModelManifest) {}

  /** Full predicted distributions over ages 0..N-1 (one Float32Array per face). */
  distributions(faces: Uint8Array[]): Float32Array[] {
    if (faces.length === 0) return [];
    const out = tf.tidy(() => outputsFor(this.model, this.manifest, faces));
    const flat = out.dataSync() as Float32Array;
    const bins = out.shape[1] as number;
    out.dispose();
    return faces.map((_, i) => flat.slice(i * bins, (i + 1) * bins));
  }

  /**
   * Estimates with a central interval at `level` (default: the calibrated level, e.g. 0.8). Other
   * levels reuse the stretch fitted for the calibrated one; on val (detected faces) the 0.8/0.95/
   * 0.97/0.98/0.99 ranges covered 79.5/93.3/96.3/97.4/98.5% of true ages (training/tuneVerify.ts).
   */
  predict(faces: Uint8Array[], level = this.manifest.calibration?.intervalLevel ?? 0.8): AgeEstimate[] {
    const scale = this.manifest.calibration?.intervalScale ?? 1;
    return this.distributions(faces).map((p) => summariseAgeDistribution(p, level, scale));
  }

  /** The same net with test-time flip on or off, for measuring it. It shares the weights: dispose only the original. */
  withTestTimeFlip(on: boolean): AgeModel { return new AgeModel(this.model, { ...this.manifest, testTimeFlip: on }); }

  dispose(): void { this.model.dispose(); }
}

/**
 * Point estimate = the distribution's median: it minimises the expected absolute error, and on
 * val it gave MAE 5.520 against 5.558 for the expectation (training/ageSummaryChoice.ts, without test-time flip). Interval = the central `level`
 * interval, stretched about the median by `scale` (fitted on val so coverage matches `level`).
 */
function summariseAgeDistribution(p: Float32Array, level: number, scale: number): AgeEstimate {
  let total = 0;
  for (let k = 0; k < p.length; k++) total += p[k];
  const tail = (1 - level) / 2;
  const maxAge = p.length - 1;
  // Interpolated quantiles span -0.5..maxAge + 0.5 (half a bin past each end): report within 0..maxAge.
  const [qLow, rawMedian, qHigh] = quantilesOf(p, total, [tail, 0.5, 1 - tail]);
  const median = Math.min(maxAge, Math.max(0, rawMedian));
  const low = Math.max(0, median - scale * Math.max(0, median - qLow));
  const high = Math.min(maxAge, median + scale * Math.max(0, qHigh - median));
  return { value: median, low, high, level };
}

/** Quantiles (ascending `qs`) of a distribution over ages 0..n-1, interpolated linearly inside a bin so they vary continuously. */
function quantilesOf(p: Float32Array, total: number, qs: number[]): number[] {
  const out = qs.map(() => p.length - 1);
  let cumulative = 0;
  let next = 0;
  for (let k = 0; k < p.length && next < qs.length; k++) {
    const before = cumulative;
    cumulative += p[k] / total;
    while (next < qs.length && cumulative >= qs[next]) {
      out[next] = k - 0.5 + (qs[next] - before) / (p[k] / total);
      next++;
    }
  }
  return out;
}

async function loadGenderModel(opts: LoadOptions): Promise<GenderModel> {
  const { model, manifest } = await loadGraph(opts, 'gender');
  return new GenderModel(model, manifest);
}

async function loadAgeModel(opts: LoadOptions): Promise<AgeModel> {
  const { model, manifest } = await loadGraph(opts, 'age');
  return new AgeModel(model, manifest);
}

export { loadGenderModel, loadAgeModel, GenderModel, AgeModel, summariseAgeDistribution };
export type { ModelManifest, LoadOptions, GenderEstimate, AgeEstimate };
