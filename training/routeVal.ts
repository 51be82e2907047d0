/**
 * Would a children's gender net pay, served only for the faces the age net calls children? Gender
 * is hardest on children (test 0-12: 72% against 96% at 20-39) and the age net finds them well (MAE
 * ~2 years under 13), so a net trained on children alone can answer for them while the shipped
 * net keeps every other face. On `val` (never `test`), everything as served (each net's own
 * test-time flip): the shipped gender net, then for each routing threshold T ("the age net's
 * estimate < T"), the routed pair: accuracy, faces routed, the paired z against the shipped net
 * (z = (gained - lost) / sqrt(gained + lost); we adopt at z > 2), and the true-age bands.
 *   npx tsx training/routeVal.ts --specialist=.cache/runs/gender-kids [--thresholds=10,13,16] [--specialistFlip=1]
 */
import { resolve } from 'node:path';
import { initBackend } from '../lib/backend.js';
import { loadAgeModel, loadGenderModel } from '../lib/models.js';
import { assertSameFaces, valOutputs } from './features.js';
import { AGE_BANDS, clampedLogit, facesByAgeBand, pairedWins } from './metrics.js';
import { parseCommandLine, UsageError } from './overrides.js';

const config = parseCommandLine({ specialist: '', shipped: 'models/gender', age: 'models/age', thresholds: '8,10,12,13,14,16,20', specialistFlip: 1, mix: 0, above: 0 });
if (!config.specialist) throw new UsageError('--specialist=<exported gender model folder> is required');
const thresholds = config.thresholds.split(',').map(Number);
if (thresholds.some((t) => !(t > 0))) throw new UsageError(`--thresholds must be positive ages, got ${config.thresholds}`);
await initBackend();
const shipped = await loadGenderModel({ modelDir: resolve(config.shipped) });
// A fresh export has no test-time flip in its manifest yet (calibration writes it); served, it would.
const specialist = (await loadGenderModel({ modelDir: resolve(config.specialist) })).withTestTimeFlip(config.specialistFlip === 1);
const ageNet = await loadAgeModel({ modelDir: resolve(config.age) });

const shippedOut = await valOutputs(shipped.manifest.spec, (b) => shipped.probabilities(b));
const specialistOut = await valOutputs(specialist.manifest.spec, (b) => specialist.probabilities(b));
const ageOut = await valOutputs(ageNet.manifest.spec, (b) => ageNet.predict(b).map((e) => e.value));
assertSameFaces(shippedOut.val, specialistOut.val);
assertSameFaces(shippedOut.val, ageOut.val);
const { val } = shippedOut;
const rightOf = (p: number, i: number) => (p >= 0.5) === (val.females[i] === 1);
// --mix=1: a routed face gets the mean logit of both nets (a two-net ensemble for children only).
const childOutput = (i: number) => config.mix ? 1 / (1 + Math.exp(-(clampedLogit(shippedOut.outputs[i]) + clampedLogit(specialistOut.outputs[i])) / 2)) : specialistOut.outputs[i];
const served = shippedOut.outputs.map(rightOf);
const acc = (right: boolean[]) => (100 * right.filter(Boolean).length / right.length).toFixed(2);

console.log(`route-gender split=val n=${served.length} shipped=${config.shipped} acc=${acc(served)}%`);
for (const t of thresholds) {
  // --above=A also routes the faces estimated at A or older (the other rare end of the age range).
  const routed = ageOut.outputs.map((age) => age < t || (config.above > 0 && age >= config.above));
  const right = val.files.map((_, i) => rightOf(routed[i] ? childOutput(i) : shippedOut.outputs[i], i));
  const { gained, lost, z } = pairedWins(served, right);
  const bands = facesByAgeBand(val.ages).map((ids, b) => {
    return `${AGE_BANDS[b].name}:${acc(ids.map((i) => served[i]))}->${acc(ids.map((i) => right[i]))}`;
  });
  console.log(`route-gender split=val specialist=${config.specialist} below_age=${t}${config.above ? ` from_age=${config.above}` : ''} routed=${routed.filter(Boolean).length} ` +
    `acc=${acc(right)}% gained=${gained} lost=${lost} z=${z.toFixed(2)} bands ${bands.join(' ')}`);
}
