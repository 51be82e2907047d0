/**
 * Is a new age net better than the shipped one? On `val` (never `test`), the served estimate's MAE
 * of both nets, each without and with test-time flip, and the paired per-face difference of each
 * candidate setting against the shipped net as served (its manifest's flip setting), with its
 * standard error, so a gain can be told from val's noise (~2 standard errors). The nets may take
 * different input sizes (each reads its own feature cache; the faces and their order are the same).
 *   npx tsx training/compareAge.ts --candidate=.cache/runs/age-tkd [--shipped=models/age]
 */
import { resolve } from 'node:path';
import { initBackend } from '../lib/backend.js';
import { loadAgeModel } from '../lib/models.js';
import type { AgeModel } from '../lib/models.js';
import { assertSameFaces, valOutputs } from './features.js';
import type { FeatureSet } from './features.js';
import { mean } from './metrics.js';
import { parseCommandLine, UsageError } from './overrides.js';

const config = parseCommandLine({ candidate: '', shipped: 'models/age' });
if (!config.candidate) throw new UsageError('--candidate=<exported age model folder> is required');
await initBackend();
const shipped = await loadAgeModel({ modelDir: resolve(config.shipped) });
const candidate = await loadAgeModel({ modelDir: resolve(config.candidate) });

/** Per val face, the served estimate's absolute error. */
async function errorsOn(net: AgeModel): Promise<{ val: FeatureSet; errors: number[] }> {
  const { val, outputs } = await valOutputs(net.manifest.spec, (b) => net.predict(b, 0.8));
  return { val, errors: outputs.map((a, i) => Math.abs(a.value - val.ages[i])) };
}

const { val: servedVal, errors: served } = await errorsOn(shipped);
console.log(`compare-age split=val n=${served.length} shipped=${config.shipped} flip=${Boolean(shipped.manifest.testTimeFlip)} mae=${mean(served).toFixed(3)}`);
for (const flip of [false, true]) {
  const mine = await errorsOn(candidate.withTestTimeFlip(flip));
  assertSameFaces(servedVal, mine.val);
  const errors = mine.errors;
  const diffs = errors.map((e, i) => e - served[i]);
  const d = mean(diffs);
  const se = Math.sqrt(mean(diffs.map((x) => (x - d) ** 2)) / diffs.length);
  console.log(`compare-age split=val candidate=${config.candidate} flip=${flip} mae=${mean(errors).toFixed(3)} ` +
    `vs_shipped=${d.toFixed(3)} se=${se.toFixed(3)}`);
}
