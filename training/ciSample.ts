/**
 * The fixed sample of `test` chips that `npm test` re-scores against models/metrics.json:
 * every 6th test row in CSV order (393 faces), decoded from the JPEGs so CI needs no cache.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Jimp } from 'jimp';
import { sameSpec, toModelInput } from '../lib/preprocess.js';
import type { InputSpec } from '../lib/preprocess.js';
import type { AgeModel, GenderModel } from '../lib/models.js';
import { loadRows } from './data.js';
import type { FaceRow } from './data.js';

const CI_SAMPLE_STRIDE = 6;

function ciSampleRows(dataDir: string): FaceRow[] {
  return loadRows(dataDir, false).filter((r) => r.split === 'test').filter((_, i) => i % CI_SAMPLE_STRIDE === 0);
}

/** Gender accuracy and age MAE of the two models on the sample, through the serving preprocessing. */
async function scoreSample(dataDir: string, gender: GenderModel, age: AgeModel): Promise<{ n: number; genderAccuracy: number; ageMae: number }> {
  const rows = ciSampleRows(dataDir);
  const genderSpec: InputSpec = gender.manifest.spec;
  const ageSpec: InputSpec = age.manifest.spec;
  let correct = 0;
  let absErr = 0;
  for (let s = 0; s < rows.length; s += 64) {
    const chunk = rows.slice(s, s + 64);
    const images = await Promise.all(chunk.map(async (r) => (await Jimp.fromBuffer(readFileSync(join(dataDir, 'utkface', r.file)))).bitmap));
    // Each model gets its own input, as in serving (lib/analyzer.ts): they may differ in size.
    const genderFaces = images.map((image) => toModelInput(image, undefined, genderSpec));
    const ageFaces = sameSpec(genderSpec, ageSpec) ? genderFaces : images.map((image) => toModelInput(image, undefined, ageSpec));
    const g = gender.predict(genderFaces);
    const a = age.predict(ageFaces);
    chunk.forEach((r, k) => {
      if (g[k].value === r.gender) correct++;
      absErr += Math.abs(a[k].value - r.age);
    });
  }
  return { n: rows.length, genderAccuracy: correct / rows.length, ageMae: absErr / rows.length };
}

export { ciSampleRows, scoreSample, CI_SAMPLE_STRIDE };
