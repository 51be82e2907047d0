/**
 * Would averaging several trained nets of one task pay for the extra inference? Scores every
 * non-empty subset of the given export folders on `val` (never `test`): gender accuracy from the
 * mean logit, age MAE from the median of the mean distribution (the served estimate).
 *   npx tsx training/ensembleVal.ts --task=gender --models=.cache/runs/gender-ft8,.cache/runs/gender-fromage
 */
import { basename, resolve } from 'node:path';
import { initBackend } from '../lib/backend.js';
import { loadAgeModel, loadGenderModel, summariseAgeDistribution } from '../lib/models.js';
import type { InputSpec } from '../lib/preprocess.js';
import { facesOf, loadFeatures } from './features.js';
import { mean } from './metrics.js';
import { parseOverrides } from './overrides.js';

const config = parseOverrides({ task: 'gender', models: '' }, process.argv.slice(2));
if (config.task !== 'gender' && config.task !== 'age') throw new Error('--task must be gender or age');
const dirs = config.models.split(',').filter(Boolean).map((d) => resolve(d));
if (dirs.length < 2 || dirs.length > 6) throw new Error('--models needs 2 to 6 comma-separated export folders');
await initBackend();

/** Per net, one output per val face: the raw logit of P(female), or the age distribution. */
async function outputsOf(dir: string): Promise<{ spec: InputSpec; out: (faces: Uint8Array[]) => (number | Float32Array)[] }> {
  if (config.task === 'gender') {
    const m = await loadGenderModel({ modelDir: dir });
    return { spec: m.manifest.spec, out: (faces) => Array.from(m.probabilities(faces, 1), (p) => Math.log(p / (1 - p))) };
  }
  const m = await loadAgeModel({ modelDir: dir });
  return { spec: m.manifest.spec, out: (faces) => m.distributions(faces) };
}

const nets = await Promise.all(dirs.map(outputsOf));
if (nets.some((n) => JSON.stringify(n.spec) !== JSON.stringify(nets[0].spec))) throw new Error('the nets take different inputs');
const val = await loadFeatures(nets[0].spec, 'val');
const faces = facesOf(val);
const outputs = nets.map((net) => {
  const all: (number | Float32Array)[] = [];
  for (let s = 0; s < faces.length; s += 256) all.push(...net.out(faces.slice(s, s + 256)));
  return all;
});

function score(members: number[]): number {
  return mean(faces.map((_, i) => {
    if (config.task === 'gender') {
      const logit = mean(members.map((m) => outputs[m][i] as number));
      return (logit >= 0) === (val.females[i] === 1) ? 100 : 0;
    }
    const first = outputs[members[0]][i] as Float32Array;
    const avg = first.map((_, k) => mean(members.map((m) => (outputs[m][i] as Float32Array)[k])));
    return Math.abs(summariseAgeDistribution(avg, 0.8, 1).value - val.ages[i]);
  }));
}

for (let mask = 1; mask < 1 << dirs.length; mask++) {
  const members = dirs.map((_, j) => j).filter((j) => mask & (1 << j));
  const figure = config.task === 'gender' ? `acc=${score(members).toFixed(2)}%` : `mae=${score(members).toFixed(3)}`;
  console.log(`ensemble task=${config.task} split=val n=${faces.length} members=${members.map((j) => basename(dirs[j])).join('+')} ${figure}`);
}
