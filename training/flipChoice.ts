/**
 * Does test-time flip pay? For each model, on `val` (never `test`), the served figure with the
 * net's output on the face alone and with the mean of its outputs on the face and its mirror image
 * (lib/models.ts `testTimeFlip`), paired face by face so the noise of the difference is known:
 *   gender: accuracy, and the faces only one of the two gets right (z = (gained - lost) / sqrt(sum));
 *   age: MAE of the served estimate (median), and the standard error of the per-face difference;
 *     also the MAE on the mirror image alone (an asymmetric net would show here).
 * Enable it where it pays with `npm run calibrate -- --testTimeFlip=<tasks>`; it costs a batch of
 * two per face (bench/predict.ts).
 *   npx tsx training/flipChoice.ts [--models=models]
 */
import { join, resolve } from 'node:path';
import { initBackend } from '../lib/backend.js';
import { loadAgeModel, loadGenderModel } from '../lib/models.js';
import type { AgeModel, GenderModel } from '../lib/models.js';
import { facesOf, inBatches, loadFeatures } from './features.js';
import { mirroredFace } from '../lib/preprocess.js';
import { mean, pairedWins } from './metrics.js';
import { parseCommandLine } from './overrides.js';

const config = parseCommandLine({ models: 'models' });
const modelDir = resolve(config.models);
await initBackend();

async function genderChoice(model: GenderModel): Promise<void> {
  const val = await loadFeatures(model.manifest.spec, 'val');
  const faces = facesOf(val);
  const rightWith = (on: boolean) => {
    const net = model.withTestTimeFlip(on);
    return inBatches(faces, (b) => net.probabilities(b)).map((p, i) => (p >= 0.5) === (val.females[i] === 1));
  };
  const [plain, flipped] = [rightWith(false), rightWith(true)];
  const { gained, lost, z } = pairedWins(plain, flipped);
  const acc = (rights: boolean[]) => (100 * rights.filter(Boolean).length / rights.length).toFixed(2);
  console.log(`flip-choice task=gender split=val n=${faces.length} plain=${acc(plain)}% flip=${acc(flipped)}% ` +
    `gained=${gained} lost=${lost} z=${z.toFixed(2)}`);
}

async function ageChoice(model: AgeModel): Promise<void> {
  const val = await loadFeatures(model.manifest.spec, 'val');
  const faces = facesOf(val);
  const errorsWith = (on: boolean, input: Uint8Array[]) => {
    const net = model.withTestTimeFlip(on);
    return inBatches(input, (b) => net.predict(b, 0.8)).map((a, i) => Math.abs(a.value - val.ages[i]));
  };
  const [plain, flipped] = [errorsWith(false, faces), errorsWith(true, faces)];
  const mirrorOnly = errorsWith(false, faces.map((f) => mirroredFace(f, model.manifest.spec)));
  const diffs = flipped.map((e, i) => e - plain[i]);
  const d = mean(diffs);
  const se = Math.sqrt(mean(diffs.map((x) => (x - d) ** 2)) / diffs.length);
  console.log(`flip-choice task=age split=val n=${faces.length} plain_mae=${mean(plain).toFixed(3)} flip_mae=${mean(flipped).toFixed(3)} ` +
    `difference=${d.toFixed(3)} se=${se.toFixed(3)} mirror_only_mae=${mean(mirrorOnly).toFixed(3)}`);
}

await genderChoice(await loadGenderModel({ modelDir: join(modelDir, 'gender') }));
await ageChoice(await loadAgeModel({ modelDir: join(modelDir, 'age') }));
