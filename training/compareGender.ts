/**
 * Is a new gender net better than the shipped one? On `val` (never `test`): accuracy of both,
 * the candidate without and with test-time flip, and the faces only one of the two gets right,
 * paired against the shipped net as served: z = (gained - lost) / sqrt(gained + lost) (McNemar).
 * We adopt a candidate only at z > 2. The nets may take different input sizes (each reads its
 * own feature cache; the faces and their order are the same in every cache). Then both as served
 * per age band, where the nets differ most (children and over-60s are the hard bands), and per race
 * group with the gap issue 2 bounds (4 points between groups with 200+ faces): a candidate that
 * ties on accuracy can still move that gap (the 0.585x pruned net: val tie, test gap 5.0 points).
 *   npx tsx training/compareGender.ts --candidate=.cache/runs/gender-hint [--shipped=models/gender]
 */
import { resolve } from 'node:path';
import { initBackend } from '../lib/backend.js';
import { loadGenderModel } from '../lib/models.js';
import type { GenderModel } from '../lib/models.js';
import { assertSameFaces, valOutputs } from './features.js';
import type { FeatureSet } from './features.js';
import { AGE_BANDS, facesByAgeBand, pairedWins, raceAccuracyGap, where } from './metrics.js';
import { RACE_NAMES } from './data.js';
import { parseCommandLine, UsageError } from './overrides.js';

const config = parseCommandLine({ candidate: '', shipped: 'models/gender' });
if (!config.candidate) throw new UsageError('--candidate=<exported gender model folder> is required');
await initBackend();
const shipped = await loadGenderModel({ modelDir: resolve(config.shipped) });
const candidate = await loadGenderModel({ modelDir: resolve(config.candidate) });

/** Per val face, whether the net's answer is right. */
async function rightOnVal(net: GenderModel): Promise<{ val: FeatureSet; right: boolean[] }> {
  const { val, outputs } = await valOutputs(net.manifest.spec, (b) => net.probabilities(b));
  return { val, right: outputs.map((p, i) => (p >= 0.5) === (val.females[i] === 1)) };
}

const share = (right: boolean[]) => right.filter(Boolean).length / right.length;
const acc = (right: boolean[]) => (100 * share(right)).toFixed(2);
const served = await rightOnVal(shipped);
console.log(`compare-gender split=val n=${served.right.length} shipped=${config.shipped} flip=${Boolean(shipped.manifest.testTimeFlip)} acc=${acc(served.right)}%`);
let flipped: boolean[] = [];
for (const flip of [false, true]) {
  const mine = await rightOnVal(candidate.withTestTimeFlip(flip));
  assertSameFaces(served.val, mine.val);
  const { gained, lost, z } = pairedWins(served.right, mine.right);
  console.log(`compare-gender split=val candidate=${config.candidate} flip=${flip} acc=${acc(mine.right)}% ` +
    `gained=${gained} lost=${lost} z=${z.toFixed(2)}`);
  if (flip) flipped = mine.right;
}
for (const [b, ids] of facesByAgeBand(served.val.ages).entries()) {
  const band = AGE_BANDS[b];
  const { gained, lost, z } = pairedWins(ids.map((i) => served.right[i]), ids.map((i) => flipped[i]));
  console.log(`compare-gender split=val band=${band.name} n=${ids.length} shipped=${acc(ids.map((i) => served.right[i]))}% ` +
    `candidate_flip=${acc(ids.map((i) => flipped[i]))}% gained=${gained} lost=${lost} z=${z.toFixed(2)}`);
}
const byRace = (right: boolean[]) => RACE_NAMES.map((name, r) => {
  const ids = where(right.length, (i) => served.val.races[i] === r);
  return { name, n: ids.length, accuracy: share(ids.map((i) => right[i])) };
});
const shippedRaces = byRace(served.right);
const candidateRaces = byRace(flipped);
shippedRaces.forEach((g, r) => {
  console.log(`compare-gender split=val race=${g.name} n=${g.n} shipped=${(100 * g.accuracy).toFixed(2)}% ` +
    `candidate_flip=${(100 * candidateRaces[r].accuracy).toFixed(2)}%`);
});
console.log(`compare-gender split=val race_gap_points shipped=${raceAccuracyGap(shippedRaces).gapPoints.toFixed(2)} ` +
  `candidate_flip=${raceAccuracyGap(candidateRaces).gapPoints.toFixed(2)}`);
