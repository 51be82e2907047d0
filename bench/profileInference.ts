/**
 * Where one face's inference time goes: tf.profile kernel times of each model (batch 1, warm),
 * summed per kernel over `n` calls. Backs the BENCHMARKS note on what limits bench/predict.ts.
 *   npx tsx bench/profileInference.ts [--n=50]
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { initBackend } from '../lib/backend.js';
import { getConfig } from '../lib/config.js';
import { loadAgeModel, loadGenderModel } from '../lib/models.js';
import { parseCommandLine } from '../training/overrides.js';

const config = parseCommandLine({ n: 50 });
await initBackend();
const modelDir = getConfig().modelDir;
const models = {
  age: await loadAgeModel({ modelDir: join(modelDir, 'age') }),
  gender: await loadGenderModel({ modelDir: join(modelDir, 'gender') }),
};
for (const [name, model] of Object.entries(models)) {
  const { size, channels } = model.manifest.spec; // the two models may take different sizes
  const face = new Uint8Array(size * size * channels).map((_, i) => (i * 37) % 256);
  for (let i = 0; i < 30; i++) model.predict([face]); // warm-up: XNNPACK operator set-up
  const perKernel = new Map<string, number>();
  for (let r = 0; r < config.n; r++) {
    const info = await tf.profile(() => { model.predict([face]); });
    for (const k of info.kernels) perKernel.set(k.name, (perKernel.get(k.name) ?? 0) + (k.kernelTimeMs as number));
  }
  // `fusedConv2d__op` is the op wrapping the `FusedConv2D` kernel: both are listed, so the
  // kernel rows are what adds up; the wall time per call is measured separately, unprofiled.
  const t0 = performance.now();
  for (let i = 0; i < 200; i++) model.predict([face]);
  const wall = (performance.now() - t0) / 200;
  const top = [...perKernel].sort((a, b) => b[1] - a[1]).slice(0, 6)
    .map(([k, v]) => `${k}=${(v / config.n).toFixed(3)}`).join(' ');
  console.log(`bench=profile model=${name} wall_ms=${wall.toFixed(3)} ${top}`);
}
