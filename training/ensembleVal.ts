/**
 * Would averaging several trained nets of one task pay? Scores every non-empty subset of the given
 * export folders on `val` (never `test`): gender accuracy from the mean logit, age MAE from the
 * median of the mean distribution (the served estimate).
 *   --combine=outputs (default): average the nets' outputs; costs one inference per net.
 *   --combine=weights: average the nets' weights into one net (a "model soup"); free at inference,
 *     but only meaningful for nets of one architecture that share an ancestor (warm restarts).
 * `--testTimeFlip=1` scores every net (and soup) with test-time flip, 0 (default) without: one
 * setting for all, whatever their manifests say, so flipped and plain nets are never compared.
 * `--teacherFile=<table>` (gender, outputs): one more member, the precomputed P(female) per val face
 * of training/embeddingTeacher.ts, to ask what serving that (slow) teacher beside our net would buy.
 *   npx tsx training/ensembleVal.ts --task=gender --models=.cache/runs/gender-ft8,.cache/runs/gender-fromage
 *   npx tsx training/ensembleVal.ts --task=age --combine=weights --models=.cache/runs/age-ft8c,.cache/runs/age-ft8d
 *   npx tsx training/ensembleVal.ts --task=gender --testTimeFlip=1 --models=models/gender --teacherFile=.cache/teachers/gender-dlib.json
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { basename, resolve } from 'node:path';
import { initBackend } from '../lib/backend.js';
import { AgeModel, GenderModel, loadAgeModel, loadGenderModel, summariseAgeDistribution } from '../lib/models.js';
import { fileSystemHandler } from '../lib/modelIo.js';
import { sameSpec } from '../lib/preprocess.js';
import type { InputSpec } from '../lib/preprocess.js';
import { facesOf, inBatches, loadFeatures } from './features.js';
import { meanWeights } from './models.js';
import { mean } from './metrics.js';
import { parseCommandLine, UsageError } from './overrides.js';

const config = parseCommandLine({ task: 'gender', models: '', combine: 'outputs', testTimeFlip: 0, teacherFile: '' });
if (config.task !== 'gender' && config.task !== 'age') throw new UsageError('--task must be gender or age');
if (config.combine !== 'outputs' && config.combine !== 'weights') throw new UsageError('--combine must be outputs or weights');
const dirs = config.models.split(',').filter(Boolean).map((d) => resolve(d));
if (config.teacherFile && (config.task !== 'gender' || config.combine !== 'outputs')) throw new UsageError('--teacherFile is a gender member for --combine=outputs');
const memberCount = dirs.length + (config.teacherFile ? 1 : 0);
if (memberCount < 2 || memberCount > 6) throw new UsageError('--models (and --teacherFile) need 2 to 6 members');
await initBackend();

type Output = number | Float32Array;
interface Net { spec: InputSpec; out: (faces: Uint8Array[]) => Output[] }

/** One output per face: the logit of P(female) before temperature scaling, or the age distribution. */
function netOf(served: GenderModel | AgeModel): Net {
  const model = served.withTestTimeFlip(config.testTimeFlip === 1);
  if (model instanceof GenderModel) {
    return { spec: model.manifest.spec, out: (faces) => Array.from(model.probabilities(faces, 1), (p) => Math.log(p / (1 - p))) };
  }
  return { spec: model.manifest.spec, out: (faces) => model.distributions(faces) };
}

const load = (dir: string) => (config.task === 'gender' ? loadGenderModel({ modelDir: dir }) : loadAgeModel({ modelDir: dir }));
const loaded = await Promise.all(dirs.map(load));
const nets = loaded.map(netOf);
if (nets.some((n) => !sameSpec(n.spec, nets[0].spec))) throw new UsageError('the nets take different inputs');
const val = await loadFeatures(nets[0].spec, 'val');
const faces = facesOf(val);

const outputsOf = (net: Net): Output[] => inBatches(faces, net.out);

function scoreOutputs(perNet: Output[][]): number {
  return mean(faces.map((_, i) => {
    if (config.task === 'gender') {
      const logit = mean(perNet.map((o) => o[i] as number));
      return (logit >= 0) === (val.females[i] === 1) ? 100 : 0;
    }
    const first = perNet[0][i] as Float32Array;
    const avg = first.map((_, k) => mean(perNet.map((o) => (o[i] as Float32Array)[k])));
    return Math.abs(summariseAgeDistribution(avg, 0.8, 1).value - val.ages[i]);
  }));
}

const rawWeights = config.combine === 'weights' ? await Promise.all(dirs.map(async (d) => (await tf.loadLayersModel(fileSystemHandler(d))).getWeights())) : [];
/** A scratch net that receives each subset's averaged weights (built from the first folder). */
const soup = config.combine === 'weights' ? await tf.loadLayersModel(fileSystemHandler(dirs[0])) : undefined;
const outputs = nets.map(outputsOf);
const names = dirs.map((d) => basename(d));
if (config.teacherFile) {
  const { pFemale } = JSON.parse(readFileSync(resolve(config.teacherFile), 'utf8')) as { pFemale: Record<string, number> };
  outputs.push(val.files.map((f) => {
    const p = Math.min(Math.max(pFemale[f] ?? Number.NaN, 1e-6), 1 - 1e-6);
    if (Number.isNaN(p)) throw new Error(`${config.teacherFile} has no P(female) for val face ${f}`);
    return Math.log(p / (1 - p));
  }));
  names.push(basename(config.teacherFile, '.json'));
}

function score(members: number[]): number {
  if (!soup || members.length === 1) return scoreOutputs(members.map((m) => outputs[m]));
  const averaged = meanWeights(members.map((m) => rawWeights[m]));
  soup.setWeights(averaged);
  tf.dispose(averaged);
  const model = config.task === 'gender' ? new GenderModel(soup, loaded[0].manifest) : new AgeModel(soup, loaded[0].manifest);
  return scoreOutputs([outputsOf(netOf(model))]);
}

for (let mask = 1; mask < 1 << names.length; mask++) {
  const members = names.map((_, j) => j).filter((j) => mask & (1 << j));
  const figure = config.task === 'gender' ? `acc=${score(members).toFixed(2)}%` : `mae=${score(members).toFixed(3)}`;
  console.log(`ensemble task=${config.task} combine=${config.combine} test_time_flip=${config.testTimeFlip} split=val n=${faces.length} members=${members.map((j) => names[j]).join('+')} ${figure}`);
}
