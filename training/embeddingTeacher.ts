/**
 * A gender teacher from face-recognition embeddings: an L2-regularised logistic regression on
 * the dlib descriptors of training/faceEmbeddings.ts, whose P(female) per training face becomes
 * a soft target for our own gender net (`npm run train -- --task=gender --teacherFile=...`).
 *
 * Train faces get out-of-fold probabilities (k-fold cross-fitting), so no face's soft target
 * comes from a probe that saw its label; val faces get the probe fitted on all of train. The
 * L2 strength is chosen on val. Test is not touched.
 *
 *   npx tsx training/embeddingTeacher.ts [--data=../shared/data] [--folds=5]
 * Writes .cache/teachers/gender-dlib.json.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_DATA_DIR } from './config.js';
import { loadRows, type FaceRow } from './data.js';
import { parseOverrides } from './overrides.js';

const config = parseOverrides({ data: DEFAULT_DATA_DIR, folds: 5 }, process.argv.slice(2));
const ROOT = resolve(import.meta.dirname, '..');
const EMBEDDING_DIR = join(ROOT, '.cache', 'embeddings', 'dlib');
const OUT_PATH = join(ROOT, '.cache', 'teachers', 'gender-dlib.json');
const LAMBDAS = [0.01, 0.1, 1, 10, 100]; // L2 strengths tried on val (on standardised inputs)
const NEWTON_STEPS = 30;

/** Every descriptor the shards hold, by file name. */
function loadEmbeddings(): { dim: number; byFile: Map<string, Float32Array> } {
  const byFile = new Map<string, Float32Array>();
  let dim = 0;
  for (const name of readdirSync(EMBEDDING_DIR).filter((f) => f.endsWith('.json'))) {
    const meta = JSON.parse(readFileSync(join(EMBEDDING_DIR, name), 'utf8')) as { dim: number; files: string[] };
    const bin = readFileSync(join(EMBEDDING_DIR, name.replace(/\.json$/, '.f32')));
    const all = new Float32Array(bin.buffer, bin.byteOffset, bin.byteLength / 4);
    dim = meta.dim;
    meta.files.forEach((f, i) => byFile.set(f, all.slice(i * dim, (i + 1) * dim)));
  }
  return { dim, byFile };
}

/** Rows as standardised feature vectors with a trailing 1 (intercept); mean/sd from `fitRows`. */
function designMatrix(rows: FaceRow[], byFile: Map<string, Float32Array>, mean: Float64Array, sd: Float64Array): Float64Array[] {
  return rows.map((r) => {
    const e = byFile.get(r.file);
    if (!e) throw new Error(`no embedding for ${r.file}: run training/faceEmbeddings.ts on every shard`);
    const x = new Float64Array(e.length + 1);
    for (let j = 0; j < e.length; j++) x[j] = (e[j] - mean[j]) / sd[j];
    x[e.length] = 1;
    return x;
  });
}

/** Solves A x = b for symmetric positive definite A (Cholesky); A is n x n, row-major. */
function solveSpd(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = i === j ? Math.sqrt(s) : s / l[j * n + j];
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * y[k];
    y[i] = s / l[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * x[k];
    x[i] = s / l[i * n + i];
  }
  return x;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const dot = (a: Float64Array, b: Float64Array) => { let s = 0; for (let j = 0; j < a.length; j++) s += a[j] * b[j]; return s; };

/** Logistic regression by Newton's method; the intercept (last weight) is not penalised. */
function fitLogistic(xs: Float64Array[], ys: number[], lambda: number): Float64Array {
  const d = xs[0].length;
  const w = new Float64Array(d);
  for (let step = 0; step < NEWTON_STEPS; step++) {
    const grad = new Float64Array(d);
    const hess = new Float64Array(d * d);
    xs.forEach((x, i) => {
      const p = sigmoid(dot(w, x));
      const r = p - ys[i];
      const v = Math.max(p * (1 - p), 1e-9);
      for (let a = 0; a < d; a++) {
        grad[a] += r * x[a];
        const va = v * x[a];
        for (let b = 0; b <= a; b++) hess[a * d + b] += va * x[b];
      }
    });
    for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) hess[b * d + a] = hess[a * d + b];
    for (let a = 0; a < d - 1; a++) { grad[a] += lambda * w[a]; hess[a * d + a] += lambda; }
    hess[(d - 1) * d + (d - 1)] += 1e-9;
    const delta = solveSpd(hess, grad, d);
    let change = 0;
    for (let a = 0; a < d; a++) { w[a] -= delta[a]; change = Math.max(change, Math.abs(delta[a])); }
    if (change < 1e-7) break;
  }
  return w;
}

const accuracy = (probs: number[], ys: number[]) => probs.filter((p, i) => (p >= 0.5 ? 1 : 0) === ys[i]).length / ys.length;

// --- fit ---------------------------------------------------------------------------------------
const rows = loadRows(resolve(String(config.data)), false);
const trainRows = rows.filter((r) => r.split === 'train');
const valRows = rows.filter((r) => r.split === 'val');
const { dim, byFile } = loadEmbeddings();
const mean = new Float64Array(dim);
const sd = new Float64Array(dim);
for (const r of trainRows) { const e = byFile.get(r.file)!; for (let j = 0; j < dim; j++) mean[j] += e[j] / trainRows.length; }
for (const r of trainRows) { const e = byFile.get(r.file)!; for (let j = 0; j < dim; j++) sd[j] += (e[j] - mean[j]) ** 2 / trainRows.length; }
for (let j = 0; j < dim; j++) sd[j] = Math.sqrt(sd[j]) || 1;

const xTrain = designMatrix(trainRows, byFile, mean, sd);
const yTrain = trainRows.map((r) => (r.gender === 'female' ? 1 : 0));
const xVal = designMatrix(valRows, byFile, mean, sd);
const yVal = valRows.map((r) => (r.gender === 'female' ? 1 : 0));

let best: { lambda: number; acc: number; w: Float64Array } = { lambda: NaN, acc: -1, w: new Float64Array(0) };
for (const lambda of LAMBDAS) {
  const w = fitLogistic(xTrain, yTrain, lambda);
  const acc = accuracy(xVal.map((x) => sigmoid(dot(w, x))), yVal);
  console.log(`lambda ${lambda}: val accuracy ${(100 * acc).toFixed(2)}%`);
  if (acc > best.acc) best = { lambda, acc, w };
}

// Out-of-fold probabilities for train: fold k's faces are scored by a probe fitted without them.
const oof = new Array<number>(trainRows.length);
for (let k = 0; k < config.folds; k++) {
  const inFold = (i: number) => i % config.folds === k;
  const idx = [...trainRows.keys()];
  const w = fitLogistic(idx.filter((i) => !inFold(i)).map((i) => xTrain[i]), idx.filter((i) => !inFold(i)).map((i) => yTrain[i]), best.lambda);
  idx.filter(inFold).forEach((i) => { oof[i] = sigmoid(dot(w, xTrain[i])); });
}
const valProbs = xVal.map((x) => sigmoid(dot(best.w, x)));
console.log(`chosen lambda ${best.lambda}: val ${(100 * best.acc).toFixed(2)}%, train out-of-fold ${(100 * accuracy(oof, yTrain)).toFixed(2)}%`);

mkdirSync(join(ROOT, '.cache', 'teachers'), { recursive: true });
const pFemale: Record<string, number> = {};
trainRows.forEach((r, i) => { pFemale[r.file] = Number(oof[i].toFixed(5)); });
valRows.forEach((r, i) => { pFemale[r.file] = Number(valProbs[i].toFixed(5)); });
writeFileSync(OUT_PATH, JSON.stringify({
  teacher: 'logistic regression on dlib face descriptors (face-api face_recognition_model, public domain)',
  command: `npx tsx training/embeddingTeacher.ts ${process.argv.slice(2).join(' ')}`.trim(),
  lambda: best.lambda, folds: config.folds, valAccuracy: best.acc, trainOutOfFoldAccuracy: accuracy(oof, yTrain),
  pFemale,
}));
console.log(`wrote ${OUT_PATH}`);
if (!existsSync(OUT_PATH)) process.exit(1);
