/**
 * A teacher from face-recognition embeddings: a small MLP probe on the dlib descriptors of
 * training/faceEmbeddings.ts, whose P(female) (gender) or age estimate (age) per training face
 * becomes a soft target for our own net (`npm run train -- --task=<task> --teacherFile=...`).
 *
 * Train faces get out-of-fold outputs (k-fold cross-fitting), so no face's soft target comes
 * from a probe that saw its label; val faces get the probe fitted on all of train. Test is not
 * touched.
 *
 *   npx tsx training/embeddingTeacher.ts [--task=gender|age] [--data=../shared/data] [--folds=5]
 * Writes .cache/teachers/<task>-dlib.json.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync } from 'node:fs';
import { writeFileAtomic } from './atomicWrites.js';
import { embeddingTable, loadEmbeddings } from './embeddings.js';
import { join, resolve } from 'node:path';
import { DEFAULT_DATA_DIR } from './config.js';
import { loadRows, type FaceRow } from './data.js';
import { accuracy } from './metrics.js';
import { parseCommandLine, UsageError } from './overrides.js';
import { mulberry32 } from './random.js';
import { initBackend } from '../lib/backend.js';

const config = parseCommandLine({ task: 'gender', data: DEFAULT_DATA_DIR, folds: 5, epochs: 30, seed: 1337 });
if (config.task !== 'gender' && config.task !== 'age') throw new UsageError('--task must be gender or age');
const isAge = config.task === 'age';
const ROOT = resolve(import.meta.dirname, '..');
const OUT_PATH = join(ROOT, '.cache', 'teachers', `${config.task}-dlib.json`);

/**
 * The probe: a two-layer MLP (256 and 128 ReLU units, dropout 0.5, L2 1e-4), Adam 1e-3, batch 128.
 * On val it beat a linear probe (logistic regression: 92.47%) by about a point. Seeded: weights by
 * initializer seeds, dropout masks and fit's shuffling through Math.random. For age it regresses
 * log(age + 1) under an L1 loss (errors grow with age; L1 targets the median, as served).
 */
function buildProbe(inputs: number, seed: number): tf.Sequential {
  Math.random = mulberry32(seed);
  const l2 = () => tf.regularizers.l2({ l2: 1e-4 });
  const probe = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [inputs], units: 256, activation: 'relu', kernelRegularizer: l2(), kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.dropout({ rate: 0.5 }),
      tf.layers.dense({ units: 128, activation: 'relu', kernelRegularizer: l2(), kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
      tf.layers.dropout({ rate: 0.5 }),
      tf.layers.dense({ units: 1, activation: isAge ? 'linear' : 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }) }),
    ],
  });
  probe.compile({ optimizer: tf.train.adam(1e-3), loss: isAge ? 'meanAbsoluteError' : 'binaryCrossentropy' });
  return probe;
}

async function trainProbe(x: tf.Tensor2D, y: tf.Tensor2D, seed: number): Promise<tf.Sequential> {
  const probe = buildProbe(x.shape[1], seed);
  await probe.fit(x, y, { epochs: config.epochs, batchSize: 128, verbose: 0 });
  return probe;
}

const predict = (probe: tf.Sequential, x: tf.Tensor2D) => Array.from((probe.predict(x) as tf.Tensor).dataSync());

// --- fit ---------------------------------------------------------------------------------------
await initBackend();
const rows = loadRows(resolve(String(config.data)), false);
const trainRows = rows.filter((r) => r.split === 'train');
const valRows = rows.filter((r) => r.split === 'val');
const { dim, byFile } = loadEmbeddings();
const asMatrix = (part: FaceRow[]) => tf.tensor2d(embeddingTable(part.map((r) => r.file), byFile, dim), [part.length, dim]);
// What the probe fits: 1 = female, or log(age + 1); `toOutput` turns its output back (P(female) or years).
const targetOf = (part: FaceRow[]) => part.map((r) => (isAge ? Math.log(r.age + 1) : r.gender === 'female' ? 1 : 0));
const toOutput = (v: number) => (isAge ? Math.exp(v) - 1 : v);
const ageMae = (estimates: number[], part: FaceRow[]) => estimates.reduce((sum, e, i) => sum + Math.abs(e - part[i].age), 0) / part.length;
/** Accuracy (gender) or MAE in years (age) of the probe's outputs on `part`. */
const scoreOf = (outputs: number[], part: FaceRow[]) => (isAge ? ageMae(outputs, part) : accuracy(outputs, targetOf(part)));
const describe = (score: number) => (isAge ? `MAE ${score.toFixed(3)} years` : `accuracy ${(100 * score).toFixed(2)}%`);
// Standardised with train's mean and sd.
const rawTrain = asMatrix(trainRows);
const mean = rawTrain.mean(0);
const sd = rawTrain.sub(mean).square().mean(0).sqrt().add(1e-6);
const standardise = (x: tf.Tensor2D) => x.sub(mean).div(sd) as tf.Tensor2D;
const xTrain = standardise(rawTrain);
const yTrain = tf.tensor2d(targetOf(trainRows), [trainRows.length, 1]);
const xVal = standardise(asMatrix(valRows));

const full = await trainProbe(xTrain, yTrain, config.seed);
const valProbs = predict(full, xVal).map(toOutput);
const valScore = scoreOf(valProbs, valRows);
console.log(`probe on all of train: val ${describe(valScore)}`);

// Out-of-fold probabilities for train: fold k's faces are scored by a probe fitted without them.
const oof = new Array<number>(trainRows.length);
for (let k = 0; k < config.folds; k++) {
  const held = [...trainRows.keys()].filter((i) => i % config.folds === k);
  const kept = [...trainRows.keys()].filter((i) => i % config.folds !== k);
  const pick = (t: tf.Tensor2D, idx: number[]) => tf.gather(t, tf.tensor1d(idx, 'int32')) as tf.Tensor2D;
  const probe = await trainProbe(pick(xTrain, kept), pick(yTrain, kept), config.seed + 10 * (k + 1));
  predict(probe, pick(xTrain, held)).forEach((p, j) => { oof[held[j]] = toOutput(p); });
  console.log(`fold ${k + 1}/${config.folds} done`);
}
const oofScore = scoreOf(oof, trainRows);
console.log(`train out-of-fold ${describe(oofScore)}`);

mkdirSync(join(ROOT, '.cache', 'teachers'), { recursive: true });
const outputByFile: Record<string, number> = {};
trainRows.forEach((r, i) => { outputByFile[r.file] = Number(oof[i].toFixed(5)); });
valRows.forEach((r, i) => { outputByFile[r.file] = Number(valProbs[i].toFixed(5)); });
writeFileAtomic(OUT_PATH, JSON.stringify({
  teacher: 'MLP probe on dlib face descriptors (face-api face_recognition_model, public domain)',
  command: `npx tsx training/embeddingTeacher.ts ${process.argv.slice(2).join(' ')}`.trim(),
  task: config.task, seed: config.seed, epochs: config.epochs, folds: config.folds,
  ...(isAge ? { valMae: valScore, trainOutOfFoldMae: oofScore, ageEstimate: outputByFile }
    : { valAccuracy: valScore, trainOutOfFoldAccuracy: oofScore, pFemale: outputByFile }),
}));
console.log(`wrote ${OUT_PATH}`);
