/**
 * Step 3, training. Reads the cached features (training/features.ts) and trains one model.
 *   npm run train -- --task=gender            (or --task age; any key below as --key=value)
 *   npm run train -- --task=age --arch=baseline
 * Seeded and repeatable; a checkpoint per epoch in checkpoints/<name>/ resumes an interrupted
 * run (with the same options: others are refused), and the best epoch on `val` is exported to
 * models/<task>/ (or --out=...) with the command, options and provenance of the run that made it.
 * Each epoch's net stays in checkpoints/<name>/epochs/<epoch>/, for weight averaging (training/soup.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cpus } from 'node:os';
import { createHash } from 'node:crypto';
import { initBackend } from '../lib/backend.js';
import { fileSystemHandler } from '../lib/modelIo.js';
import { registerFastConvGradients } from './wasmKernels.js';
import { standardisedEmbeddings } from './embeddings.js';
import { buildNet, buildBaseline, withAuxAgeHead, withAuxEmbeddingHead, copyMatchingLayers, identityInitialise, pruneInto, isTrunkLayer, AGE_BINS, MAX_AGE } from './models.js';
import { loadFeatures } from './features.js';
import type { FeatureSet } from './features.js';
import { parseCommandLine, UsageError } from './overrides.js';
import { mulberry32, shuffleInPlace } from './random.js';
import { ProgressBar } from './progress.js';
import { exportFolderProblem, saveModelForServing } from './export.js';
import { configDifferences, resumeRefusal } from './resumeCheck.js';
import { optimizerStateBytes, optimizerStateFrom } from './checkpoint.js';
import { recoverFolder, swapInFolder } from './atomicWrites.js';
import type { OptimizerIndexEntry } from './checkpoint.js';
import { preprocessFingerprint } from './preprocessFingerprint.js';
import { summariseAgeDistribution } from '../lib/models.js';
import { ageBandWeights } from './metrics.js';
import { DEFAULT_DATA_DIR } from './config.js';

// --- config: defaults, one line each; --key=value overrides are type-checked -----------------
const defaults = {
  task: 'gender' as string, // 'gender' (sigmoid) or 'age' (softmax over ages 0..116)
  arch: 'ours' as string, // 'ours' or 'baseline' (the original notebook's net and recipe)
  seed: 1337, // seeds init, dropout, shuffling and augmentation
  size: 64, // input side in pixels (must have been extracted by features.ts)
  channels: 3, // 1 grayscale, 3 RGB
  widths: '32,64,128,192', // channels per conv block; the first block starts with a stride-2 stem
  convsPerBlock: 2, // 3x3 convs per block
  deepBlocks: '', // e.g. 2,3: these blocks get one conv more; with --init it starts as the identity (a deeper warm restart)
  conv: 'full', // or 'separable': every conv after the stem depthwise-separable (~1/7 of the multiply-adds, bench/archCost.ts)
  dropout: 0.3, // before the head
  l2: 0, // L2 on conv kernels
  epochs: 20, // full passes over train (the shipped models: 20)
  batch: 64, // images per step
  lr: 2e-3, // peak learning rate (Adam); cosine decay to lrMin after a 1-epoch warm-up
  lrMin: 2e-5, // final learning rate
  maxTrainAge: 116, // drop older training faces (the baseline recipe uses 60)
  minTrainAge: 0, // drop younger training faces (with maxTrainAge: a net for one age range, e.g. children)
  maxValAge: 116, // score (and pick the best epoch) on val faces up to this age only: the range such a net serves
  augment: 1, // 1 = flip, shift/scale, rotation, brightness/contrast; 0 = none
  erase: 0, // with augment: the share of faces that get one random grey rectangle, 2-25% of the image (random erasing)
  ageSigmaBase: 1, // age label distribution: sigma = ageSigmaBase + ageSigmaSlope * age (years)
  ageSigmaSlope: 0.06,
  ageL1Weight: 0.25, // weight of |E[age] - age| next to the KL term
  data: DEFAULT_DATA_DIR, // UTKFace folder (features are read from .cache/features)
  name: '', // run name; default '<arch>-<task>'
  out: '', // export folder; default models/<task> for ours, .cache/baseline/<task> for baseline
  maxSteps: 0, // stop after this many steps (0 = no limit); for smoke tests and benches
  init: '', // warm start: an exported model folder of the same architecture (e.g. models/age) to fine-tune
  prune: 0, // 1 = --init is a wider net of the same layout: start from its strongest filters (channel pruning)
  auxAge: 0, // gender only: weight of an auxiliary age head trained beside it (multi-task); the export keeps the gender head alone
  initTrunk: 0, // 1 = take only --init's trunk, its convs (e.g. the age net's into a gender net); the head starts fresh
  teacher: '', // knowledge distillation: an exported model folder (any width) whose outputs on the same augmented batch...
  distill: 0.5, // ...are mixed into the targets with this weight (0 = labels only, 1 = teacher only)
  teacherFlip: 0, // 1 = the teacher's output is the mean over the image and its mirror, as served with test-time flip
  auxEmbedding: 0, // weight of an auxiliary head regressing the face's dlib descriptor (training/faceEmbeddings.ts); dropped at export
  teacherFile: '', // distil from precomputed per-face outputs instead, P(female) or an age estimate (training/embeddingTeacher.ts)
  balanceAges: 0, // a face's loss weight ~ (train faces in its age band)^-balanceAges, mean 1: 0 = off, 1 = every band weighs alike
};
type Config = typeof defaults;
const config: Config = parseCommandLine(defaults);
if (config.task !== 'gender' && config.task !== 'age') throw new UsageError('--task must be gender or age');
// Counts: a fraction or zero is a typo, and --batch=0 trained on NaN losses without a word.
for (const key of ['seed', 'size', 'convsPerBlock', 'epochs', 'batch', 'maxSteps', 'maxTrainAge', 'minTrainAge', 'maxValAge'] as const) {
  const least = key === 'maxSteps' || key === 'minTrainAge' || key === 'seed' ? 0 : 1;
  if (!Number.isInteger(config[key]) || config[key] < least) throw new UsageError(`--${key} must be a whole number >= ${least}, got ${config[key]}`);
}
if (config.arch !== 'ours' && config.arch !== 'baseline') throw new UsageError('--arch must be ours or baseline');
if (!['full', 'separable'].includes(config.conv)) throw new UsageError(`--conv=${config.conv}: full or separable`);
if (config.conv !== 'full' && config.arch !== 'ours') throw new UsageError('--conv is for our net');
if (config.teacher && config.arch !== 'ours') throw new UsageError('--teacher distils into our net only');
if (!(config.distill >= 0 && config.distill <= 1)) throw new UsageError('--distill must be in [0, 1]');
if (config.teacherFlip && !config.teacher) throw new UsageError('--teacherFlip needs --teacher');
if (config.teacherFile && (config.teacher || config.arch !== 'ours')) throw new UsageError('--teacherFile is for our nets, without --teacher');
if (config.initTrunk !== 0 && config.initTrunk !== 1) throw new UsageError('--initTrunk must be 0 or 1');
if (config.initTrunk && !config.init) throw new UsageError('--initTrunk=1 needs --init');
if (config.prune !== 0 && config.prune !== 1) throw new UsageError('--prune must be 0 or 1');
if (config.prune && (!config.init || config.initTrunk || config.deepBlocks)) throw new UsageError('--prune=1 needs --init, without --initTrunk or --deepBlocks');
if (!(config.auxAge >= 0)) throw new UsageError('--auxAge must be >= 0');
if (!(config.auxEmbedding >= 0)) throw new UsageError('--auxEmbedding must be >= 0');
if (!(config.minTrainAge <= config.maxTrainAge)) throw new UsageError('--minTrainAge must not exceed --maxTrainAge');
if (!(config.balanceAges >= 0 && config.balanceAges <= 1)) throw new UsageError('--balanceAges must be in [0, 1]');
if (!(config.erase >= 0 && config.erase <= 1)) throw new UsageError('--erase must be in [0, 1]');
if (config.erase && !config.augment) throw new UsageError('--erase is part of --augment=1');
if (config.auxEmbedding && (config.auxAge || config.arch !== 'ours')) throw new UsageError('--auxEmbedding is for our nets, without --auxAge');
const task = config.task as 'gender' | 'age';
if (config.auxAge && (task !== 'gender' || config.arch !== 'ours' || config.teacher || config.teacherFile)) throw new UsageError('--auxAge is for our gender net, without --teacher or --teacherFile');
const name = config.name || `${config.arch}-${task}`;
const outDir = resolve(config.out || (config.arch === 'ours' ? `models/${task}` : `.cache/baseline/${task}`));
const outDirProblem = exportFolderProblem(outDir);
if (outDirProblem) throw new UsageError(`--out: ${outDirProblem}`);
const checkpointDir = resolve('checkpoints', name);
const spec = { size: config.size, channels: config.channels as 1 | 3 };
const command = `npm run train -- ${process.argv.slice(2).join(' ')}`.trim();

/** Age nets are scored on val by the median of their distribution (predictAll), as served. */
const VAL_SUMMARY = 'median';

/**
 * What the run depends on besides its options: the pixels (features are refused unless made by
 * this checkout's preprocessing) and how val picks the best epoch. A resume must match them too,
 * or one model would be trained on two pipelines, or compared against a best score of another kind.
 */
const pipeline: Pipeline = { preprocessFingerprint: await preprocessFingerprint(), valSummary: VAL_SUMMARY };

// A checkpoint continues only under the options and pipeline it was trained with; checked before any work.
const saved = readCheckpointState();
if (saved) {
  const differences = [
    ...configDifferences(saved.config, config, defaults),
    ...(saved.pipeline ? configDifferences(saved.pipeline, pipeline, pipeline) : []),
  ];
  if (differences.length) {
    console.error(resumeRefusal(checkpointDir, differences, saved.command));
    process.exit(1);
  }
  if (!saved.pipeline) console.warn(`${checkpointDir}/state.json predates recorded pipelines: it cannot be checked against this preprocessing and val summary (${VAL_SUMMARY})`);
}

// --- inputs -----------------------------------------------------------------------------------
await initBackend();
registerFastConvGradients();
const train = filterByAge(await loadFeatures(spec, 'train'), config.minTrainAge, config.maxTrainAge);
const val = filterByAge(await loadFeatures(spec, 'val'), 0, config.maxValAge);
const pixelsPerImage = spec.size * spec.size * spec.channels;
const stepsPerEpoch = Math.floor(train.ages.length / config.batch);
const totalSteps = stepsPerEpoch * config.epochs;
console.log(`${name}: ${train.ages.length} train / ${val.ages.length} val faces, ${stepsPerEpoch} steps per epoch`);

function filterByAge(set: FeatureSet, minAge: number, maxAge: number): FeatureSet {
  const keep = [...set.ages.keys()].filter((i) => set.ages[i] >= minAge && set.ages[i] <= maxAge);
  if (keep.length === set.ages.length) return set;
  const per = set.spec.size * set.spec.size * set.spec.channels;
  const pixels = new Uint8Array(keep.length * per);
  keep.forEach((i, j) => pixels.set(set.pixels.subarray(i * per, (i + 1) * per), j * per));
  return {
    spec: set.spec, files: keep.map((i) => set.files[i]), pixels,
    ages: Float32Array.from(keep, (i) => set.ages[i]), females: Uint8Array.from(keep, (i) => set.females[i]),
    races: Uint8Array.from(keep, (i) => set.races[i]),
  };
}

// --- model, optimizer, loss ---------------------------------------------------------------------
// The age bands at the ends (children, over-60s) are both the rarest in train and where the nets
// fail most; --balanceAges weighs their faces up in the loss.
const faceWeights = config.balanceAges ? ageBandWeights(train.ages, config.balanceAges) : undefined;

const widths = config.widths.split(',').map(Number);
const deepBlocks = config.deepBlocks.split(',').filter(Boolean).map(Number);
if (deepBlocks.some((b) => !Number.isInteger(b) || b < 0 || b >= widths.length)) throw new UsageError(`--deepBlocks takes block numbers 0..${widths.length - 1}`);
if (deepBlocks.length && config.arch !== 'ours') throw new UsageError('--deepBlocks is for our net');
const model = config.arch === 'ours'
  ? buildNet(task, spec, widths, config.convsPerBlock, config.dropout, config.l2, config.seed, config.conv as 'full' | 'separable', deepBlocks)
  : buildBaseline(task, spec, config.seed);
// What the optimiser trains: the served net, or that net plus an auxiliary head on its features
// (--auxAge: ages; --auxEmbedding: the face-recognition descriptor, standardised over train).
const hints = config.auxEmbedding ? standardisedEmbeddings(train.files) : undefined;
const net = config.auxAge ? withAuxAgeHead(model, config.seed)
  : hints ? withAuxEmbeddingHead(model, hints.dim, config.seed) : model;
// The baseline keeps the original recipe: SGD for gender, Adam for age.
const optimizer = config.arch === 'baseline' && task === 'gender' ? tf.train.sgd(config.lr) : tf.train.adam(config.lr);
console.log(`${model.countParams()} parameters`);
// Frozen, so the optimiser never touches it; its outputs on the augmented batch are soft targets.
const teacher = config.teacher ? await tf.loadLayersModel(fileSystemHandler(resolve(config.teacher))) : undefined;
if (teacher) {
  const [, th, tw, tc] = teacher.inputs[0].shape;
  if (th !== spec.size || tw !== spec.size || tc !== spec.channels) {
    throw new UsageError(`--teacher=${config.teacher} takes ${th}x${tw}x${tc} inputs, this run ${spec.size}x${spec.size}x${spec.channels}`);
  }
  teacher.trainable = false;
  console.log(`${name}: distilling from ${config.teacher} (weight ${config.distill}${config.teacherFlip ? ", flip-averaged" : ""}, ${teacher.countParams()} parameters)`);
}

/**
 * Precomputed soft targets from a teacher that does not run here (a probe on face-recognition
 * embeddings, out-of-fold): P(female), or an age estimate, per training face. Sex and age survive
 * every augmentation we apply, so the face's one output serves all its augmented views.
 */
const teacherFile = config.teacherFile ? loadTeacherFile(resolve(config.teacherFile)) : undefined;

/** The file's output per training face, in train's order, and its provenance (read once). */
function loadTeacherFile(path: string): { outputs: Float32Array; provenance: Record<string, unknown> } {
  const bytes = readFileSync(path);
  const table = JSON.parse(bytes.toString('utf8')) as {
    teacher: string; command: string; task?: string; valAccuracy?: number; trainOutOfFoldAccuracy?: number; valMae?: number; trainOutOfFoldMae?: number;
    pFemale?: Record<string, number>; ageEstimate?: Record<string, number>;
  };
  const byFile = task === 'gender' ? table.pFemale : table.ageEstimate;
  if (!byFile) throw new UsageError(`--teacherFile=${path} has no ${task === 'gender' ? 'P(female)' : 'age estimates'}: it teaches ${table.task ?? 'gender'}`);
  const missing = train.files.filter((f) => byFile[f] === undefined);
  if (missing.length) throw new UsageError(`--teacherFile=${path} has no output for ${missing.length} training faces, e.g. ${missing[0]}`);
  // JSON writes NaN as null (read back as 0: a silent target of age 0 or P(female) 0).
  const unusable = train.files.filter((f) => !Number.isFinite(byFile[f]));
  if (unusable.length) throw new UsageError(`--teacherFile=${path} has no usable number for ${unusable.length} training faces, e.g. ${unusable[0]}`);
  // Within what the targets can hold: ages 0..116 (the probe's log-scale estimate went to 132), probabilities 0..1.
  const [lowest, highest] = task === 'gender' ? [0, 1] : [0, AGE_BINS - 1];
  const quality = task === 'gender' ? `val accuracy ${(100 * table.valAccuracy!).toFixed(2)}%` : `val MAE ${table.valMae!.toFixed(3)} years`;
  console.log(`${name}: distilling from ${path}: ${table.teacher}, ${quality} (weight ${config.distill})`);
  return {
    outputs: Float32Array.from(train.files, (f) => Math.min(Math.max(byFile[f], lowest), highest)),
    provenance: {
      file: path, sha256: createHash('sha256').update(bytes).digest('hex'), teacher: table.teacher, command: table.command,
      ...(task === 'gender' ? { valAccuracy: table.valAccuracy, trainOutOfFoldAccuracy: table.trainOutOfFoldAccuracy }
        : { valMae: table.valMae, trainOutOfFoldMae: table.trainOutOfFoldMae }),
    },
  };
}

/** Target for one batch: 0/1 for gender; years for the baseline age net; a label distribution for ours. */
function targets(set: FeatureSet, idx: number[]): tf.Tensor {
  if (task === 'gender') return tf.tensor2d(idx.map((i) => set.females[i]), [idx.length, 1]);
  if (config.arch === 'baseline') return tf.tensor2d(idx.map((i) => set.ages[i]), [idx.length, 1]);
  return ageDistributions(set, idx);
}

/** Label distributions over ages 0..116: a Gaussian about each true age, wider for older faces. */
function ageDistributions(set: FeatureSet, idx: number[]): tf.Tensor {
  return gaussianAgeDistributions(idx.map((i) => set.ages[i]));
}

/** A Gaussian over ages 0..116 about each of `ages` (years, fractional allowed), wider for older ones. */
function gaussianAgeDistributions(ages: number[]): tf.Tensor2D {
  const dist = new Float32Array(ages.length * AGE_BINS);
  ages.forEach((age, r) => {
    const sigma = config.ageSigmaBase + config.ageSigmaSlope * age;
    let total = 0;
    for (let k = 0; k < AGE_BINS; k++) total += dist[r * AGE_BINS + k] = Math.exp(-((k - age) ** 2) / (2 * sigma * sigma));
    for (let k = 0; k < AGE_BINS; k++) dist[r * AGE_BINS + k] /= total;
  });
  return tf.tensor2d(dist, [ages.length, AGE_BINS]);
}

const AGE_VALUES = tf.range(0, AGE_BINS).reshape([AGE_BINS, 1]);

/**
 * Distillation as target mixing: P(female), or the age distribution, becomes a blend of the label
 * and the teacher's output on the same augmented images. Both are valid targets for the same
 * losses (cross-entropy with soft labels; KL between distributions, whose expectation anchors
 * the L1 term), so `loss` needs no second form.
 */
function withTeacher(x: tf.Tensor4D, y: tf.Tensor, idx: number[]): tf.Tensor {
  const soft = !teacherFile ? teacherOutput(x)
    : task === 'gender' ? tf.tensor2d(idx.map((i) => teacherFile.outputs[i]), [idx.length, 1])
    : gaussianAgeDistributions(idx.map((i) => teacherFile.outputs[i])); // the label's shape, about the teacher's estimate
  return soft ? tf.add(tf.mul(y, 1 - config.distill), tf.mul(soft, config.distill)) : y;
}

/** The --teacher net's output on the augmented batch, if there is a teacher net. */
function teacherOutput(x: tf.Tensor4D): tf.Tensor | undefined {
  if (!teacher) return undefined;
  // With --teacherFlip the student learns the flip-averaged output, which serving pays a batch of 2 for.
  return config.teacherFlip
    ? tf.div(tf.add(teacher.predict(x) as tf.Tensor, teacher.predict(tf.reverse(x, 2)) as tf.Tensor), 2)
    : teacher.predict(x) as tf.Tensor;
}

/** The task's loss, a weighted mean over the batch's faces when --balanceAges is on. */
function loss(pred: tf.Tensor, target: tf.Tensor, idx: number[]): tf.Scalar {
  const weights = faceWeights ? tf.tensor2d(idx.map((i) => faceWeights[i]), [idx.length, 1]) : undefined;
  if (task === 'gender') return tf.losses.logLoss(target, pred, weights) as tf.Scalar;
  if (config.arch === 'baseline') return tf.losses.meanSquaredError(target, pred, weights) as tf.Scalar;
  return ageLoss(pred, target, weights);
}

/** The loss of one training batch: the task's, plus the weighted loss of an auxiliary head if any. */
function batchLoss(x: tf.Tensor4D, y: tf.Tensor, set: FeatureSet, idx: number[], training: boolean): tf.Scalar {
  if (hints) {
    // Only training batches (of train) reach here with the hint head: validation uses predictAll.
    const [out, hint] = net.apply(x, { training }) as tf.Tensor[];
    const target = tf.tensor2d(idx.flatMap((i) => Array.from(hints.table.subarray(i * hints.dim, (i + 1) * hints.dim))), [idx.length, hints.dim]);
    return tf.add(loss(out, y, idx), tf.mul(config.auxEmbedding, tf.losses.meanSquaredError(target, hint))) as tf.Scalar;
  }
  if (!config.auxAge) return loss(model.apply(x, { training }) as tf.Tensor, y, idx);
  const [pFemale, ages] = net.apply(x, { training }) as tf.Tensor[];
  return tf.add(loss(pFemale, y, idx), tf.mul(config.auxAge, ageLoss(ages, ageDistributions(set, idx)))) as tf.Scalar;
}

function ageLoss(pred: tf.Tensor, target: tf.Tensor, weights?: tf.Tensor): tf.Scalar {
  // Label-distribution learning: KL(target || pred) plus an L1 term on the expected age.
  const kl = tf.sum(tf.mul(target, tf.sub(tf.log(tf.add(target, 1e-7)), tf.log(tf.add(pred, 1e-7)))), 1, true);
  const expected = tf.matMul(pred, AGE_VALUES);
  const trueAge = tf.matMul(target, AGE_VALUES);
  const l1 = tf.abs(tf.sub(expected, trueAge));
  if (weights) return tf.mean(tf.mul(tf.add(kl, tf.mul(config.ageL1Weight, l1)), weights)) as tf.Scalar;
  return tf.add(tf.mean(kl), tf.mul(config.ageL1Weight, tf.mean(l1))) as tf.Scalar;
}

// --- batches and augmentation ---------------------------------------------------------------
function pixelBatch(set: FeatureSet, idx: number[]): tf.Tensor4D {
  const bytes = new Uint8Array(idx.length * pixelsPerImage);
  idx.forEach((i, r) => bytes.set(set.pixels.subarray(i * pixelsPerImage, (i + 1) * pixelsPerImage), r * pixelsPerImage));
  return tf.tensor4d(Float32Array.from(bytes), [idx.length, spec.size, spec.size, spec.channels]);
}

/**
 * Random horizontal flip, shift (+-6%), scale (0.9-1.1), rotation (+-10 deg, one angle per
 * batch: tfjs rotates a whole batch at once), brightness (+-20) and contrast (0.8-1.2).
 */
function augment(x: tf.Tensor4D, rand: () => number): tf.Tensor4D {
  return tf.tidy(() => {
    const n = x.shape[0];
    const boxes: number[] = [];
    for (let i = 0; i < n; i++) {
      const scale = 0.9 + 0.2 * rand();
      const cy = 0.5 + (rand() - 0.5) * 0.12;
      const cx = 0.5 + (rand() - 0.5) * 0.12;
      const half = scale / 2;
      const flip = rand() < 0.5;
      boxes.push(cy - half, flip ? cx + half : cx - half, cy + half, flip ? cx - half : cx + half);
    }
    const boxInd = tf.tensor1d([...Array(n).keys()], 'int32');
    let y = tf.image.cropAndResize(x, tf.tensor2d(boxes, [n, 4]), boxInd, [spec.size, spec.size], 'bilinear', 128);
    y = tf.image.rotateWithOffset(y, (rand() - 0.5) * (Math.PI / 9), 128);
    const contrast = tf.tensor4d(Array.from({ length: n }, () => 0.8 + 0.4 * rand()), [n, 1, 1, 1]);
    const brightness = tf.tensor4d(Array.from({ length: n }, () => (rand() - 0.5) * 40), [n, 1, 1, 1]);
    const mean = tf.mean(y, [1, 2, 3], true);
    y = tf.add(tf.add(tf.mul(tf.sub(y, mean), contrast), mean), brightness);
    y = tf.clipByValue(y, 0, 255);
    if (config.erase > 0) {
      const keep = tf.tensor4d(erasureMask(n, rand), [n, spec.size, spec.size, 1]);
      y = tf.add(tf.mul(y, keep), tf.mul(tf.sub(1, keep), 128));
    }
    return y as tf.Tensor4D;
  });
}

/**
 * Random erasing (Zhong et al. 2017): 1 where a pixel is kept, 0 inside one rectangle of 2-25% of
 * the image, aspect 0.3-3.3, for each face drawn with probability --erase. Hiding a part makes
 * the net read the rest of the face too. Draws nothing when --erase is 0, so older recipes'
 * random streams (and their resumes) are unchanged.
 */
function erasureMask(n: number, rand: () => number): Float32Array {
  const side = spec.size;
  const mask = new Float32Array(n * side * side).fill(1);
  for (let i = 0; i < n; i++) {
    if (rand() >= config.erase) continue;
    const area = (0.02 + 0.23 * rand()) * side * side;
    const aspect = Math.exp(Math.log(0.3) + (Math.log(3.3) - Math.log(0.3)) * rand());
    const h = Math.min(side, Math.round(Math.sqrt(area * aspect)));
    const w = Math.min(side, Math.round(Math.sqrt(area / aspect)));
    const top = Math.floor(rand() * (side - h + 1));
    const left = Math.floor(rand() * (side - w + 1));
    for (let y = top; y < top + h; y++) mask.fill(0, (i * side + y) * side + left, (i * side + y) * side + left + w);
  }
  return mask;
}

// --- validation -------------------------------------------------------------------------------
/**
 * Per-face model output on a set: P(female), or age in years. For our age net that is the
 * median of the predicted distribution, the same summary serving returns (lib/models.ts), so
 * early stopping picks the epoch that is best for the figure users get.
 */
function predictAll(set: FeatureSet): Float32Array {
  const out = new Float32Array(set.ages.length);
  const summariseAsServed = task === 'age' && config.arch === 'ours';
  for (let start = 0; start < out.length; start += 256) {
    const idx = [...Array(Math.min(256, out.length - start)).keys()].map((k) => start + k);
    const values = tf.tidy(() => model.predict(pixelBatch(set, idx)) as tf.Tensor);
    const flat = values.dataSync() as Float32Array;
    values.dispose();
    if (!summariseAsServed) { out.set(flat, start); continue; }
    idx.forEach((_, k) => {
      out[start + k] = summariseAgeDistribution(flat.subarray(k * AGE_BINS, (k + 1) * AGE_BINS), 0.8, 1).value;
    });
  }
  return out;
}

/** The number early stopping minimises on val: gender error rate, or age MAE in years. */
function validationScore(set: FeatureSet): { score: number; text: string } {
  const pred = predictAll(set);
  if (task === 'gender') {
    let correct = 0;
    pred.forEach((p, i) => { if ((p >= 0.5 ? 1 : 0) === set.females[i]) correct++; });
    const acc = correct / pred.length;
    return { score: 1 - acc, text: `val acc ${(100 * acc).toFixed(2)}%` };
  }
  let err = 0;
  pred.forEach((p, i) => { err += Math.abs(p - set.ages[i]); });
  return { score: err / pred.length, text: `val MAE ${(err / pred.length).toFixed(3)}` };
}

// --- checkpoints --------------------------------------------------------------------------------
interface TrainState { epoch: number; bestScore: number; bestEpoch: number; history: unknown[]; seconds: number }

/**
 * What a run is, fixed when it starts and kept in each checkpoint: a resumed run exports the
 * command, options and warm-start/teacher provenance of the run that made the checkpoint, not of
 * whichever command resumed it (which may differ in the keys resumeCheck.ts lets differ).
 */
type Pipeline = { preprocessFingerprint: string; valSummary: string };

interface RunOrigin {
  command: string;
  config: Config;
  pipeline: Pipeline;
  initialisedFrom?: Record<string, unknown>;
  distilledFrom?: Record<string, unknown>;
}

type SavedState = TrainState & Partial<Omit<RunOrigin, 'config'>> & { config: Record<string, unknown> };

function readCheckpointState(): SavedState | undefined {
  recoverFolder(checkpointDir);
  const path = join(checkpointDir, 'state.json');
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : undefined;
}

/**
 * The origin a checkpoint records. Checkpoints written before origins were kept have only the
 * config: their command is this one (equal in every option that matters, as just checked), and
 * their provenance can only be read now, which the log says.
 */
function originOf(state: SavedState): RunOrigin {
  const savedConfig = { ...defaults, ...state.config } as Config;
  if (state.command !== undefined) {
    return { command: state.command, config: savedConfig, pipeline: state.pipeline ?? pipeline, initialisedFrom: state.initialisedFrom, distilledFrom: state.distilledFrom };
  }
  console.warn(`${checkpointDir}/state.json predates recorded origins: manifest gets this command, and --init/--teacher provenance as those folders are now`);
  return originNow(savedConfig);
}

/**
 * A resumed run reads its teacher again (its --teacher net or --teacherFile), so the teacher
 * must still be the one the checkpoint recorded: otherwise one run would quietly learn from two.
 * Checkpoints from before weight hashes were recorded are checked by what they have.
 */
function refuseChangedTeacher(recorded: Record<string, unknown> | undefined): void {
  if (!recorded) return;
  const now = config.teacher ? initProvenance(config.teacher) : teacherFile?.provenance;
  const changed = (['sha256', 'weightsSha256'] as const).filter((k) => recorded[k] !== undefined && recorded[k] !== now?.[k]);
  if (changed.length) {
    console.error(`${checkpointDir} was distilled from a teacher that has changed since (${changed.map((k) => `${k} ${recorded[k]} -> ${now?.[k]}`).join('; ')}): ` +
      `restore ${config.teacher || config.teacherFile} or train under another --name`);
    process.exit(1);
  }
}

/** This run as its own origin: its command and pipeline, and the --init/--teacher folders as they are now. */
function originNow(runConfig: Config): RunOrigin {
  return {
    command, config: runConfig, pipeline,
    initialisedFrom: config.init ? initProvenance(config.init) : undefined,
    distilledFrom: config.teacher ? initProvenance(config.teacher) : teacherFile?.provenance,
  };
}

/**
 * What every net this run writes says of itself, in its manifest: the export and each epoch's
 * snapshot alike (the run's command, options, pipeline, and what it started from or distilled).
 */
function runIdentity(): Record<string, unknown> {
  return {
    name: `${config.arch}-${task}`, task, arch: config.arch, spec, maxAge: MAX_AGE,
    command: origin.command, config: origin.config,
    initialisedFrom: origin.initialisedFrom, distilledFrom: origin.distilledFrom, ...origin.pipeline,
  };
}

/** Writes the checkpoint beside the old one, then swaps (training/atomicWrites.ts), so a kill at any point loses at most this epoch. */
async function saveCheckpoint(state: TrainState, improved: boolean): Promise<void> {
  // Every epoch's serving net (without auxiliary heads) is kept too, as an export the val tools
  // load: averaging the weights of several (training/soup.ts) costs nothing at inference.
  await swapInFolder(checkpointDir, improved ? ['epochs'] : ['epochs', 'best'], async (tmp) => {
    await net.save(fileSystemHandler(join(tmp, 'model'))); // with --auxAge, both heads: a resume continues both
    const { index, bytes } = optimizerStateBytes(await optimizer.getWeights());
    writeFileSync(join(tmp, 'optimizer.json'), JSON.stringify(index));
    writeFileSync(join(tmp, 'optimizer.bin'), bytes);
    writeFileSync(join(tmp, 'state.json'), JSON.stringify({ ...state, ...origin }, null, 1));
    if (improved) await model.save(fileSystemHandler(join(tmp, 'best')));
    const last = state.history[state.history.length - 1] as { valScore: number };
    const epochDir = join(tmp, 'epochs', String(state.epoch));
    rmSync(epochDir, { recursive: true, force: true }); // hard-linked to the old checkpoint's, if it had one
    await saveModelForServing(model, epochDir, { ...runIdentity(), epoch: state.epoch, valScore: last.valScore });
  });
}

/**
 * Copies a saved model's weights into ours: a checkpoint (every weight), or for a warm start an
 * exported model. A warm start copies every weight too, except that with --initTrunk it takes
 * only the trunk (one task's trunk can start the other task's net), and with --auxAge the
 * matching layers (an export has one head; the age head starts fresh). Either way the whole trunk
 * must arrive: a warm start from a net of other widths fails instead of quietly starting fresh.
 */
async function copyWeightsFrom(dir: string, warmStart = false): Promise<void> {
  const saved = await tf.loadLayersModel(fileSystemHandler(dir));
  if (warmStart && config.prune) {
    const filled = pruneInto(net, saved);
    const missing = net.layers.map((l) => l.name).filter((n) => isTrunkLayer(n) && !filled.includes(n));
    if (missing.length) throw new UsageError(`--init=${dir} has no layers to prune into ${missing.join(', ')}`);
    console.log(`${name}: pruned ${filled.join(', ')} from ${dir}; the rest start fresh`);
  } else if (!warmStart || (!config.initTrunk && !config.auxAge && !config.auxEmbedding && !deepBlocks.length)) net.setWeights(saved.getWeights());
  else {
    const copied = copyMatchingLayers(net, saved, config.initTrunk === 1);
    if (deepBlocks.length) {
      // The convs --deepBlocks adds are the ones the saved net lacks: they start as the identity.
      const added = net.layers.filter((l) => isTrunkLayer(l.name) && !copied.includes(l.name) && !saved.layers.some((s) => s.name === l.name));
      added.forEach(identityInitialise);
      copied.push(...added.map((l) => l.name));
    }
    const missing = net.layers.map((l) => l.name).filter((n) => isTrunkLayer(n) && !copied.includes(n));
    if (missing.length) throw new UsageError(`--init=${dir} lacks trunk layers of this net's shape: ${missing.join(', ')}`);
    console.log(`${name}: copied ${copied.join(', ')}; the rest start fresh`);
  }
  saved.dispose();
}

async function resumeIfPossible(): Promise<TrainState> {
  const fresh = { epoch: 0, bestScore: Infinity, bestEpoch: -1, history: [], seconds: 0 };
  if (!saved) {
    if (config.init) {
      await copyWeightsFrom(resolve(config.init), true);
      console.log(`${name}: initialised from ${config.init}${config.initTrunk ? ' (trunk only)' : ''}`);
    }
    return fresh;
  }
  const state = saved;
  await copyWeightsFrom(join(checkpointDir, 'model'));
  const index = JSON.parse(readFileSync(join(checkpointDir, 'optimizer.json'), 'utf8')) as OptimizerIndexEntry[];
  // Adam creates its slot variables lazily: run one zero-lr step so they exist, then overwrite them.
  optimizer.minimize(() => tf.mul(0, batchLoss(pixelBatch(train, [0]), targets(train, [0]), train, [0], false)) as tf.Scalar);
  await optimizer.setWeights(optimizerStateFrom(index, readFileSync(join(checkpointDir, 'optimizer.bin'))));
  console.log(`resumed ${name} after epoch ${state.epoch} (started as: ${origin.command})`);
  return { epoch: state.epoch, bestScore: state.bestScore, bestEpoch: state.bestEpoch, history: state.history, seconds: state.seconds };
}

// --- training loop -------------------------------------------------------------------------------
function learningRate(step: number): number {
  if (config.arch === 'baseline') return config.lr; // the original recipe used a constant rate
  const warm = stepsPerEpoch;
  if (step < warm) return config.lr * (step + 1) / warm;
  const t = (step - warm) / Math.max(1, totalSteps - warm);
  return config.lrMin + 0.5 * (config.lr - config.lrMin) * (1 + Math.cos(Math.PI * t));
}

mkdirSync(checkpointDir, { recursive: true });
// A fresh run reads provenance now, with the weights: the init folder may be overwritten while
// this run trains (or before a resume, which therefore takes it from the checkpoint).
const origin: RunOrigin = saved ? originOf(saved) : originNow(config);
if (saved) refuseChangedTeacher(origin.distilledFrom);
const state = await resumeIfPossible();
if (state.epoch >= config.epochs) console.log(`${name}: all ${config.epochs} epochs done; exporting the checkpoint's best epoch`);
let stepsDone = 0;
for (let epoch = state.epoch + 1; epoch <= config.epochs; epoch++) {
  const t0 = Date.now();
  const rand = mulberry32(config.seed * 1000 + epoch); // per-epoch stream: a resumed run repeats exactly
  // tfjs's unseeded random ops (dropout masks) take their seeds from Math.random: make that
  // stream seeded per epoch too, so masks vary step to step yet a run is repeatable.
  Math.random = mulberry32(config.seed * 7919 + epoch);
  const order = shuffleInPlace([...train.ages.keys()], rand);
  const bar = new ProgressBar(`epoch ${epoch}/${config.epochs}`, stepsPerEpoch);
  let lossSum = 0;
  let steps = 0;
  for (let s = 0; s < stepsPerEpoch; s++) {
    const step = (epoch - 1) * stepsPerEpoch + s;
    (optimizer as unknown as { learningRate: number }).learningRate = learningRate(step);
    const idx = order.slice(s * config.batch, (s + 1) * config.batch);
    const value = tf.tidy(() => {
      const raw = pixelBatch(train, idx);
      const x = config.augment ? augment(raw, rand) : raw;
      const y = withTeacher(x, targets(train, idx), idx);
      return optimizer.minimize(() => batchLoss(x, y, train, idx, true), true) as tf.Scalar;
    });
    const lossValue = value.dataSync()[0];
    value.dispose();
    if (!Number.isFinite(lossValue)) throw new Error(`loss became ${lossValue} at step ${step}`);
    lossSum += lossValue;
    steps++;
    bar.tick(`loss ${(lossSum / (s + 1)).toFixed(4)}`);
    if (config.maxSteps && ++stepsDone >= config.maxSteps) break;
  }
  bar.done();
  const { score, text } = validationScore(val);
  const seconds = (Date.now() - t0) / 1000;
  state.seconds += seconds;
  const improved = score < state.bestScore;
  state.history.push({ epoch, trainLoss: lossSum / steps, valScore: score, seconds });
  console.log(`epoch ${epoch}/${config.epochs} loss ${(lossSum / steps).toFixed(4)} ${text} ` +
    `lr ${learningRate(epoch * stepsPerEpoch - 1).toExponential(2)} ${seconds.toFixed(0)} s ` +
    `${(steps * config.batch / seconds).toFixed(1)} img/s (incl. val)${improved ? ' (best)' : ''}`);
  state.epoch = epoch;
  if (improved) {
    state.bestScore = score;
    state.bestEpoch = epoch;
  }
  await saveCheckpoint(state, improved);
  if (config.maxSteps && stepsDone >= config.maxSteps) break;
}

// --- write artifact ----------------------------------------------------------------------------------
const best = await tf.loadLayersModel(fileSystemHandler(join(checkpointDir, 'best')));
await saveModelForServing(best, outDir, {
  ...runIdentity(),
  bestEpoch: state.bestEpoch, valScore: state.bestScore, trainingSeconds: Math.round(state.seconds),
  history: state.history, machine: cpus()[0]?.model ?? 'unknown',
});
console.log(`saved ${outDir} (best epoch ${state.bestEpoch}, val ${state.bestScore.toFixed(4)})`);

/** The keys of `from` that are set (not undefined or empty). */
function pickDefined(from: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => from[k] !== undefined && from[k] !== '').map((k) => [k, from[k]]));
}

/** What a fine-tuned model started from (or was distilled from), so its card can give the whole chain of commands. */
function initProvenance(dir: string): Record<string, unknown> {
  const manifest = JSON.parse(readFileSync(join(resolve(dir), 'manifest.json'), 'utf8'));
  return {
    // What the model card says of each stage: its schedule and, if it had a teacher, what it learnt from.
    folder: dir, name: manifest.name, command: manifest.command,
    // The weights themselves: a folder's contents can change under its name (a resume checks this).
    weightsSha256: createHash('sha256').update(readFileSync(join(resolve(dir), 'weights.bin'))).digest('hex'),
    config: pickDefined(manifest.config ?? {}, ['epochs', 'lr', 'distill', 'teacherFlip', 'auxEmbedding', 'balanceAges', 'deepBlocks', 'widths', 'prune']),
    bestEpoch: manifest.bestEpoch, valScore: manifest.valScore, trainingSeconds: manifest.trainingSeconds, machine: manifest.machine,
    ...(manifest.distilledFrom ? { distilledFrom: manifest.distilledFrom } : {}),
    initialisedFrom: manifest.initialisedFrom,
  };
}
