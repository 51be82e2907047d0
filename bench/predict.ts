/**
 * Model inference only: both of our models on one face crop (batch 1), warm, on wasm.
 * Target: <= 5 ms median for both together.
 *   npx tsx bench/predict.ts [--n=300]
 */
import { join } from 'node:path';
import { initBackend } from '../lib/backend.js';
import { getConfig } from '../lib/config.js';
import { loadAgeModel, loadGenderModel } from '../lib/models.js';
import { parseCommandLine } from '../training/overrides.js';
import { quantile } from '../training/metrics.js';

const config = parseCommandLine({ n: 300, warmup: 30 });
await initBackend();
const modelDir = getConfig().modelDir;
const age = await loadAgeModel({ modelDir: join(modelDir, 'age') });
const gender = await loadGenderModel({ modelDir: join(modelDir, 'gender') });
// Each model gets an input of its own spec: the two may take different sizes.
const faceFor = ({ size, channels }: { size: number; channels: number }) => new Uint8Array(size * size * channels).map((_, i) => (i * 37) % 256);
const ageFace = faceFor(age.manifest.spec);
const genderFace = faceFor(gender.manifest.spec);

const times: number[] = [];
for (let i = 0; i < config.warmup + config.n; i++) {
  const t0 = performance.now();
  age.predict([ageFace]);
  gender.predict([genderFace]);
  if (i >= config.warmup) times.push(performance.now() - t0);
}
const q = (p: number) => quantile(times, p).toFixed(2);
console.log(`bench=predict backend=wasm models=age+gender n=${config.n} p50_ms=${q(0.5)} p95_ms=${q(0.95)} ` +
  `rss_mb=${(process.memoryUsage().rss / 2 ** 20).toFixed(0)}`);
