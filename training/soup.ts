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
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { initBackend } from '../lib/backend.js';
import { fileSystemHandler } from '../lib/modelIo.js';
import { saveModelForServing } from './export.js';
import { averageInto } from './models.js';
import { parseOverrides } from './overrides.js';

const config = parseOverrides({ from: '', manifest: '', out: '' }, process.argv.slice(2));
const ingredients = config.from.split(',').filter(Boolean);
if (ingredients.length < 2 || !config.manifest || !config.out) throw new Error('usage: --from=<net>,<net>[,...] --manifest=<exported run> --out=<folder>');

await initBackend();
const nets = await Promise.all(ingredients.map((dir) => tf.loadLayersModel(fileSystemHandler(resolve(dir)))));
const soup = averageInto(nets);
const { parameters: _p, savedAt: _s, weightsDtype: _w, ...base } = JSON.parse(readFileSync(join(resolve(config.manifest), 'manifest.json'), 'utf8'));
await saveModelForServing(soup, resolve(config.out), {
  ...base,
  averagedFrom: ingredients,
  command: `npx tsx training/soup.ts ${process.argv.slice(2).join(' ')}`,
  ingredientsCommand: base.command,
});
console.log(`soup of ${ingredients.length} nets saved to ${config.out}`);

