/**
 * A weight-averaged net ("model soup"): the element-wise mean of the weights of several nets of
 * one architecture fine-tuned from the same start (epochs of one run, or runs with other seeds).
 * Nets that close together sit in one basin of the loss, where the mean of their weights tends
 * to generalise like their ensemble while costing one net at inference. Whether a soup pays is
 * decided on `val` like any candidate (training/compareGender.ts, compareAge.ts).
 *   npx tsx training/soup.ts --from=checkpoints/a/epochs/4,checkpoints/b/epochs/5 \
 *     --manifest=.cache/runs/a --out=.cache/runs/soup-ab
 * --manifest is an exported run of the same task and input whose manifest the soup inherits
 * (spec, task, pipeline), with the ingredients and this command added.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { initBackend } from '../lib/backend.js';
import { fileSystemHandler } from '../lib/modelIo.js';
import { saveModelForServing } from './export.js';
import { meanWeights } from './models.js';
import { parseCommandLine, UsageError } from './overrides.js';

const config = parseCommandLine({ from: '', manifest: '', out: '' });
const ingredients = config.from.split(',').filter(Boolean);
if (ingredients.length < 2 || !config.manifest || !config.out) throw new UsageError('usage: --from=<net>,<net>[,...] --manifest=<exported run> --out=<folder>');

await initBackend();
const nets = await Promise.all(ingredients.map((dir) => tf.loadLayersModel(fileSystemHandler(resolve(dir)))));
const [soup, ...rest] = nets;
const averaged = meanWeights(nets.map((net) => net.getWeights()));
soup.setWeights(averaged);
tf.dispose(averaged);
rest.forEach((net) => net.dispose());
const manifestOf = (dir: string) => JSON.parse(readFileSync(join(resolve(dir), 'manifest.json'), 'utf8'));
/** What each ingredient is, for the model card: the run that made it, its seed, epoch and val score. */
function ingredientOf(dir: string): Record<string, unknown> {
  if (!existsSync(join(resolve(dir), 'manifest.json'))) return { folder: dir };
  const m = manifestOf(dir);
  return { folder: dir, command: m.command, seed: m.config?.seed, epoch: m.epoch ?? m.bestEpoch, valScore: m.valScore, initialisedFrom: m.initialisedFrom?.folder };
}
// The base run's per-net figures (best epoch, val score, history, training time) are not the soup's: dropped.
const { parameters: _p, savedAt: _s, weightsDtype: _w, bestEpoch: _b, epoch: _e, valScore: _v, history: _h, trainingSeconds: _t, ...base } = manifestOf(config.manifest);
await saveModelForServing(soup, resolve(config.out), {
  ...base,
  averagedFrom: ingredients.map(ingredientOf),
  command: `npx tsx training/soup.ts ${process.argv.slice(2).join(' ')}`,
});
console.log(`soup of ${ingredients.length} nets saved to ${config.out}`);
