/**
 * Step 2, feature extraction: decodes every UTKFace chip once and stores the model input
 * (lib/preprocess.ts `toModelInput`, the same function serving uses) as raw bytes per split,
 * so training epochs never touch a JPEG.
 *   npm run features -- --size=64 --channels=3 [--data=../shared/data]
 * Writes .cache/features/<size>x<channels>/<split>.u8 and <split>.json (labels).
 */
import { mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Jimp } from 'jimp';
import { toModelInput } from '../lib/preprocess.js';
import type { InputSpec } from '../lib/preprocess.js';
import { DEFAULT_DATA_DIR, FEATURE_DIR } from './config.js';
import { loadRows, SPLITS } from './data.js';
import type { Split } from './data.js';
import { parseOverrides } from './overrides.js';

interface FeatureSet {
  spec: InputSpec;
  files: string[];
  ages: Float32Array;
  /** 1 = female, 0 = male. */
  females: Uint8Array;
  races: Uint8Array;
  /** n * size * size * channels bytes. */
  pixels: Uint8Array;
}

function specDir(spec: InputSpec): string {
  return join(FEATURE_DIR, `${spec.size}x${spec.channels}`);
}

function loadFeatures(spec: InputSpec, split: Split): FeatureSet {
  const dir = specDir(spec);
  const meta = JSON.parse(readFileSync(join(dir, `${split}.json`), 'utf8'));
  const pixels = new Uint8Array(readFileSync(join(dir, `${split}.u8`)));
  return {
    spec, files: meta.files, ages: Float32Array.from(meta.ages),
    females: Uint8Array.from(meta.females), races: Uint8Array.from(meta.races), pixels,
  };
}

/** One view per face into the set's pixel buffer (no copies), in set order. */
function facesOf(set: FeatureSet): Uint8Array[] {
  const per = set.spec.size * set.spec.size * set.spec.channels;
  return Array.from({ length: set.ages.length }, (_, i) => set.pixels.subarray(i * per, (i + 1) * per));
}

async function extract(spec: InputSpec, data: string): Promise<void> {
  const dir = specDir(spec);
  mkdirSync(dir, { recursive: true });
  const rows = loadRows(data);
  const per = spec.size * spec.size * spec.channels;
  for (const split of SPLITS) {
    if (existsSync(join(dir, `${split}.json`))) { console.log(`${split}: cached`); continue; }
    const part = rows.filter((r) => r.split === split);
    const pixels = new Uint8Array(part.length * per);
    const t0 = Date.now();
    for (const [i, row] of part.entries()) {
      const image = await Jimp.read(join(data, 'utkface', row.file));
      pixels.set(toModelInput(image.bitmap, undefined, spec), i * per);
      if (i % 2000 === 0) process.stdout.write(`\r${split} ${i}/${part.length}`);
    }
    writeFileSync(join(dir, `${split}.u8`), pixels);
    writeFileSync(join(dir, `${split}.json`), JSON.stringify({
      files: part.map((r) => r.file), ages: part.map((r) => r.age),
      females: part.map((r) => (r.gender === 'female' ? 1 : 0)), races: part.map((r) => r.race),
    }));
    console.log(`\r${split}: ${part.length} faces in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}

/**
 * The command line of `npm run features`: unknown flags and non-numbers are refused by
 * parseOverrides; a size or channel count no model could use is refused here, before a
 * NaN-sized (empty) feature file could be written.
 */
function featureOptions(args: string[]): { spec: InputSpec; data: string } {
  const opts = parseOverrides({ size: 64, channels: 3, data: DEFAULT_DATA_DIR }, args);
  if (!Number.isInteger(opts.size) || opts.size < 1) throw new Error(`--size must be a positive integer, got ${opts.size}`);
  if (opts.channels !== 1 && opts.channels !== 3) throw new Error(`--channels must be 1 or 3, got ${opts.channels}`);
  return { spec: { size: opts.size, channels: opts.channels }, data: resolve(opts.data) };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { spec, data } = featureOptions(process.argv.slice(2));
  await extract(spec, data);
}

export { loadFeatures, facesOf, extract, specDir, featureOptions };
export type { FeatureSet };
