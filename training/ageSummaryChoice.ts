/**
 * How the age head's distribution becomes { value, low, high }, measured on `val` (never `test`):
 *  1. MAE of three point estimates: the distribution's mean, median (what lib/models.ts serves)
 *     and mode;
 *  2. whether one interval stretch per predicted-age band would cover the true-age bands better
 *     than the single stretch `npm run calibrate` fits: fitted on even val faces, scored on odd.
 *   npx tsx training/ageSummaryChoice.ts [--models=models] [--level=0.8] [--testTimeFlip=keep|on|off]
 * (keep: as the age manifest says; the card's figures without test-time flip come from `off`).
 */
import { join, resolve } from 'node:path';
import { initBackend } from '../lib/backend.js';
import { loadAgeModel, summariseAgeDistribution } from '../lib/models.js';
import { facesOf, inBatches, loadFeatures } from './features.js';
import { AGE_BANDS, ageBandIndex, mean, stretchCovering, stretchNeeded } from './metrics.js';
import { parseCommandLine, UsageError } from './overrides.js';

const config = parseCommandLine({ models: 'models', level: 0.8, testTimeFlip: 'keep' });
if (!['keep', 'on', 'off'].includes(config.testTimeFlip)) throw new UsageError('--testTimeFlip must be keep, on or off');
await initBackend();
const loaded = await loadAgeModel({ modelDir: join(resolve(config.models), 'age') });
const age = config.testTimeFlip === 'keep' ? loaded : loaded.withTestTimeFlip(config.testTimeFlip === 'on');
console.log(`age-estimate test_time_flip=${age.manifest.testTimeFlip ? 'on' : 'off'}`);
const val = await loadFeatures(age.manifest.spec, 'val');
const faces = facesOf(val);
const distributions = inBatches(faces, (b) => age.distributions(b));

// --- 1. point estimates ---------------------------------------------------------------------------
const expectation = (p: Float32Array) => p.reduce((s, q, k) => s + k * q, 0) / p.reduce((s, q) => s + q, 0);
const mode = (p: Float32Array) => p.indexOf(Math.max(...p));
const median = (p: Float32Array) => summariseAgeDistribution(p, config.level, 1).value;
for (const [name, estimate] of [['mean', expectation], ['median', median], ['mode', mode]] as const) {
  const mae = mean(distributions.map((p, i) => Math.abs(estimate(p) - val.ages[i])));
  console.log(`age-estimate split=val n=${faces.length} estimate=${name} mae=${mae.toFixed(3)}`);
}

// --- 2. one stretch, or one per predicted-age band ----------------------------------------------
// The stretch each face would have needed to be covered, as training/calibrate.ts computes it.
const faceRows = distributions.map((p, i) => {
  const unit = summariseAgeDistribution(p, config.level, 1);
  return { truth: val.ages[i], estimate: unit.value, need: stretchNeeded(unit, val.ages[i]) };
});
type FaceRow = (typeof faceRows)[number];
const stretchFor = (rows: FaceRow[]) => stretchCovering(rows.map((r) => r.need), config.level);
const fit = faceRows.filter((_, i) => i % 2 === 0);
const held = faceRows.filter((_, i) => i % 2 === 1);
const single = stretchFor(fit);
const perBand = AGE_BANDS.map((_, b) => stretchFor(fit.filter((r) => ageBandIndex(r.estimate) === b)));
const rules: [string, (r: FaceRow) => number][] = [['single', () => single], ['per-predicted-band', (r) => perBand[ageBandIndex(r.estimate)]]];
for (const [name, stretchOf] of rules) {
  const covered = (rows: FaceRow[]) => rows.filter((r) => r.need <= stretchOf(r)).length / rows.length;
  const byBand = AGE_BANDS.map((b, k) => `${b.name}=${(100 * covered(held.filter((r) => ageBandIndex(r.truth) === k))).toFixed(1)}%`);
  console.log(`age-interval split=val(odd) rule=${name} coverage=${(100 * covered(held)).toFixed(1)}% by_true_band ${byBand.join(' ')}`);
}
