/**
 * Step 4, calibration on `val` (never `test`): fits the gender model's temperature (minimum
 * log loss) and the age interval's stretch factor (so `level` of val faces fall inside
 * [low, high]), and stores both in the models' manifest.json. `--testTimeFlip` first sets which
 * models serve the mean of the face and its mirror image (none, gender, age or gender,age; the
 * default keeps the manifests' setting), so calibration is fitted on the outputs served; choose
 * it with training/flipChoice.ts.
 *   npm run calibrate -- [--level=0.8] [--models=models] [--testTimeFlip=age]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { initBackend } from '../lib/backend.js';
import { loadAgeModel, loadGenderModel, summariseAgeDistribution } from '../lib/models.js';
import { facesOf, loadFeaturePair } from './features.js';
import { stretchCovering, stretchNeeded } from './metrics.js';
import { parseOverrides } from './overrides.js';

const config = parseOverrides({ level: 0.8, models: 'models', testTimeFlip: 'keep' }, process.argv.slice(2));
const modelDir = resolve(config.models);
const TASKS = ['gender', 'age'] as const;

function updateManifest(task: (typeof TASKS)[number], change: (manifest: Record<string, unknown>) => void): void {
  const path = join(modelDir, task, 'manifest.json');
  const manifest = JSON.parse(readFileSync(path, 'utf8'));
  change(manifest);
  writeFileSync(path, JSON.stringify(manifest, null, 2));
}

if (config.testTimeFlip !== 'keep') {
  const flipped = config.testTimeFlip === 'none' ? [] : config.testTimeFlip.split(',');
  const unknown = flipped.filter((t) => !(TASKS as readonly string[]).includes(t));
  if (unknown.length > 0) throw new Error(`--testTimeFlip takes none or a list of gender, age; got ${unknown.join(',')}`);
  // Off is the key's absence, so a manifest (and the model version hashed from it) is unchanged
  // where the setting is.
  for (const task of TASKS) updateManifest(task, (m) => { if (flipped.includes(task)) m.testTimeFlip = true; else delete m.testTimeFlip; });
}

await initBackend();
const gender = await loadGenderModel({ modelDir: join(modelDir, 'gender') });
const age = await loadAgeModel({ modelDir: join(modelDir, 'age') });
const pair = await loadFeaturePair(gender.manifest.spec, age.manifest.spec, 'val');
const val = pair.gender; // labels: the same faces, in the same order, in both sets
const faces = facesOf(val);
const ageFaces = facesOf(pair.age);

// --- gender: temperature scaling -------------------------------------------------------------
const rawP: number[] = [];
for (let s = 0; s < faces.length; s += 256) {
  rawP.push(...gender.probabilities(faces.slice(s, s + 256), 1)); // temperature 1: uncalibrated
}
const logits = rawP.map((p) => Math.log(Math.max(p, 1e-6) / Math.max(1 - p, 1e-6)));
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
const ratios: number[] = [];
for (let s = 0; s < faces.length; s += 256) {
  age.distributions(ageFaces.slice(s, s + 256)).forEach((p, k) => {
    const i = s + k;
    ratios.push(stretchNeeded(summariseAgeDistribution(p, config.level, 1), val.ages[i]));
  });
}
const intervalScale = Number(stretchCovering(ratios, config.level).toFixed(4));
console.log(`age interval scale ${intervalScale} for ${config.level * 100}% coverage on val (n=${ratios.length})`);

for (const [task, calibration] of [['gender', { temperature }], ['age', { intervalLevel: config.level, intervalScale }]] as const) {
  updateManifest(task, (m) => { m.calibration = { ...calibration, fittedOn: 'val', n: val.ages.length }; });
}
console.log(`test-time flip: gender ${gender.manifest.testTimeFlip ? 'on' : 'off'}, age ${age.manifest.testTimeFlip ? 'on' : 'off'}`);
console.log(`calibration written to ${modelDir}/{gender,age}/manifest.json`);
