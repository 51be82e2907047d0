/**
 * Step 4, calibration on `val` (never `test`): fits the gender model's temperature (minimum
 * log loss) and the age interval's stretch factor (so `level` of val faces fall inside
 * [low, high]), and stores both in the models' manifest.json. `--testTimeFlip` sets which
 * models serve the mean of the face and its mirror image (none, gender, age or gender,age; the
 * default keeps the manifests' setting); calibration is fitted on the outputs so served, and the
 * setting is written with it, never without it. Choose it with training/flipChoice.ts.
 *   npm run calibrate -- [--level=0.8] [--models=models] [--testTimeFlip=age]
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { initBackend } from '../lib/backend.js';
import { loadAgeModel, loadGenderModel, summariseAgeDistribution } from '../lib/models.js';
import { facesOf, inBatches, loadFeaturePair } from './features.js';
import { clampedLogit, stretchCovering, stretchNeeded } from './metrics.js';
import { parseCommandLine, UsageError } from './overrides.js';
import { writeFileAtomic } from './atomicWrites.js';

const config = parseCommandLine({ level: 0.8, models: 'models', testTimeFlip: 'keep' });
const modelDir = resolve(config.models);
const TASKS = ['gender', 'age'] as const;

function updateManifest(task: (typeof TASKS)[number], change: (manifest: Record<string, unknown>) => void): void {
  const path = join(modelDir, task, 'manifest.json');
  const manifest = JSON.parse(readFileSync(path, 'utf8'));
  change(manifest);
  writeFileAtomic(path, JSON.stringify(manifest, null, 2));
}

/** The tasks to serve with test-time flip, or undefined to keep each manifest's setting. */
function flippedTasks(option: string): string[] | undefined {
  if (option === 'keep') return undefined;
  const tasks = option === 'none' ? [] : option.split(',');
  const unknown = tasks.filter((t) => !(TASKS as readonly string[]).includes(t));
  if (unknown.length > 0) throw new UsageError(`--testTimeFlip takes keep, none or a list of gender, age; got ${unknown.join(',')}`);
  return tasks;
}
const flipped = flippedTasks(config.testTimeFlip);

await initBackend();
// The setting is applied in memory here and written with the calibration fitted for it at the end.
const loadedGender = await loadGenderModel({ modelDir: join(modelDir, 'gender') });
const loadedAge = await loadAgeModel({ modelDir: join(modelDir, 'age') });
const gender = flipped ? loadedGender.withTestTimeFlip(flipped.includes('gender')) : loadedGender;
const age = flipped ? loadedAge.withTestTimeFlip(flipped.includes('age')) : loadedAge;
const pair = await loadFeaturePair(gender.manifest.spec, age.manifest.spec, 'val');
const val = pair.gender; // labels: the same faces, in the same order, in both sets
const faces = facesOf(val);
const ageFaces = facesOf(pair.age);

// --- gender: temperature scaling -------------------------------------------------------------
const rawP = inBatches(faces, (b) => gender.probabilities(b, 1)); // temperature 1: uncalibrated
const logits = rawP.map(clampedLogit);
function logLoss(t: number): number {
  let sum = 0;
  logits.forEach((z, i) => {
    const p = 1 / (1 + Math.exp(-z / t));
    sum -= val.females[i] ? Math.log(Math.max(p, 1e-12)) : Math.log(Math.max(1 - p, 1e-12));
  });
  return sum / logits.length;
}
let temperature = 1;
for (let t = 0.5; t <= 4; t += 0.01) if (logLoss(t) < logLoss(temperature)) temperature = Number(t.toFixed(2));
console.log(`gender temperature ${temperature} (val log loss ${logLoss(1).toFixed(4)} -> ${logLoss(temperature).toFixed(4)})`);

// --- age: interval stretch so that `level` of val ages are covered -----------------------------
const ratios = inBatches(ageFaces, (b) => age.distributions(b))
  .map((p, i) => stretchNeeded(summariseAgeDistribution(p, config.level, 1), val.ages[i]));
const intervalScale = Number(stretchCovering(ratios, config.level).toFixed(4));
console.log(`age interval scale ${intervalScale} for ${config.level * 100}% coverage on val (n=${ratios.length})`);

for (const [task, calibration] of [['gender', { temperature }], ['age', { intervalLevel: config.level, intervalScale }]] as const) {
  const served = task === 'gender' ? gender : age;
  updateManifest(task, (m) => {
    m.calibration = { ...calibration, fittedOn: 'val', n: val.ages.length };
    // Off is the key's absence, so a manifest (and the model version hashed from it) stays as it
    // was where the setting did not change.
    if (served.manifest.testTimeFlip) m.testTimeFlip = true; else delete m.testTimeFlip;
  });
}
console.log(`test-time flip: gender ${gender.manifest.testTimeFlip ? 'on' : 'off'}, age ${age.manifest.testTimeFlip ? 'on' : 'off'}`);
console.log(`calibration written to ${modelDir}/{gender,age}/manifest.json`);
