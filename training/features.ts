/**
 * Step 2, feature extraction: decodes every UTKFace chip once and stores the model input
 * (lib/imageDecode.ts `decodeImage` then lib/preprocess.ts `toModelInput`, the same two
 * functions serving uses) as raw bytes per split, so training epochs never touch a JPEG.
 *   npm run features -- --size=64 --channels=3 [--data=../shared/data]
 * Writes .cache/features/<size>x<channels>/<split>.u8 and <split>.json (labels, and the
 * preprocessing fingerprint the pixels were made with: training/preprocessFingerprint.ts).
 */
import { mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { decodeLimitsFrom, loadConfig } from '../lib/config.js';
import { decodeImage } from '../lib/imageDecode.js';
import { sameSpec, toModelInput } from '../lib/preprocess.js';
import type { InputSpec } from '../lib/preprocess.js';
import { DEFAULT_DATA_DIR, FEATURE_DIR } from './config.js';
import { loadRows, SPLITS } from './data.js';
import type { Split } from './data.js';
import { parseOverrides, reportUsageErrorsPlainly, UsageError } from './overrides.js';
import { preprocessFingerprint } from './preprocessFingerprint.js';

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

/**
 * Serving's decode limits (lib/config.ts) but no minimum side: every UTKFace chip is 200x200,
 * and a chip the limits refused should stop extraction, not be skipped. Read when extracting,
 * not on import: training and evaluation import this module only to load the cache.
 */
function chipLimits() {
  return { ...decodeLimitsFrom(loadConfig()), minSide: 1 };
}

function specDir(spec: InputSpec, root = FEATURE_DIR): string {
  return join(root, `${spec.size}x${spec.channels}`);
}

const extractCommand = (spec: InputSpec) => `npm run features -- --size=${spec.size} --channels=${spec.channels}`;

/**
 * Why a split's cached metadata cannot be used with the preprocessing in this checkout, or
 * undefined if it can: pixels from another pipeline would train and score a model on inputs
 * serving no longer produces.
 */
function staleReason(meta: { preprocessFingerprint?: unknown }, current: string): string | undefined {
  if (meta.preprocessFingerprint === undefined) return 'records no preprocessing fingerprint (extracted before fingerprints were kept)';
  if (meta.preprocessFingerprint !== current) return `was made by other preprocessing (fingerprint ${meta.preprocessFingerprint}; this checkout: ${current})`;
  return undefined;
}

type SplitLabels = Record<'files' | 'ages' | 'females' | 'races', unknown[]>;

function labelsDiffer(meta: Partial<SplitLabels>, labels: SplitLabels): boolean {
  return (Object.keys(labels) as (keyof SplitLabels)[]).some((k) => JSON.stringify(meta[k]) !== JSON.stringify(labels[k]));
}

/** Reads one split's cached features; refuses a cache made by other preprocessing than this checkout's. */
async function loadFeatures(spec: InputSpec, split: Split, root = FEATURE_DIR): Promise<FeatureSet> {
  const dir = specDir(spec, root);
  if (!existsSync(join(dir, `${split}.json`))) {
    throw new UsageError(`no ${spec.size}x${spec.size}x${spec.channels} features cached for ${split} in ${dir}: run ${extractCommand(spec)}`);
  }
  const meta = JSON.parse(readFileSync(join(dir, `${split}.json`), 'utf8'));
  const stale = staleReason(meta, await preprocessFingerprint());
  if (stale) {
    throw new UsageError(`${join(dir, `${split}.json`)} ${stale}, so its pixels may not be what serving makes now ` +
      `(lib/imageDecode.ts, lib/preprocess.ts, jimp). Re-run feature extraction: ${extractCommand(spec)}`);
  }
  const pixels = new Uint8Array(readFileSync(join(dir, `${split}.u8`)));
  return {
    spec, files: meta.files, ages: Float32Array.from(meta.ages),
    females: Uint8Array.from(meta.females), races: Uint8Array.from(meta.races), pixels,
  };
}

/**
 * One split's features for both models, which may take different inputs (e.g. gender at 80x80,
 * age at 64x64): the same faces in the same order, checked, so labels can come from either set.
 */
async function loadFeaturePair(genderSpec: InputSpec, ageSpec: InputSpec, split: Split, root = FEATURE_DIR): Promise<{ gender: FeatureSet; age: FeatureSet }> {
  const gender = await loadFeatures(genderSpec, split, root);
  const age = sameSpec(genderSpec, ageSpec) ? gender : await loadFeatures(ageSpec, split, root);
  if (age.files.length !== gender.files.length || age.files.some((f, i) => f !== gender.files[i])) {
    // Extraction keeps a current cache, so the fix is to delete the wrong set's metadata first.
    throw new Error(`the ${split} features of ${specDir(genderSpec, root)} and ${specDir(ageSpec, root)} hold different faces ` +
      `(extracted from different data?): delete the wrong one's ${split}.json and re-run its npm run features command`);
  }
  return { gender, age };
}

/** One view per face into the set's pixel buffer (no copies), in set order. */
function facesOf(set: FeatureSet): Uint8Array[] {
  const per = set.spec.size * set.spec.size * set.spec.channels;
  return Array.from({ length: set.ages.length }, (_, i) => set.pixels.subarray(i * per, (i + 1) * per));
}

/**
 * `predict` over the faces in batches of `size`, its per-face results concatenated in face order:
 * a whole split in one call would hold every face's activations at once.
 */
function inBatches<T>(faces: Uint8Array[], predict: (batch: Uint8Array[]) => ArrayLike<T>, size = 256): T[] {
  const out: T[] = [];
  for (let s = 0; s < faces.length; s += size) out.push(...Array.from(predict(faces.slice(s, s + size))));
  return out;
}

/**
 * A served net's per-face outputs on every `val` face of its own feature cache, with that cache
 * (labels and face order). Nets compared face by face may read different caches (input sizes):
 * `assertSameFaces` checks that the caches line up before their outputs are paired.
 */
async function valOutputs<T>(spec: InputSpec, predict: (batch: Uint8Array[]) => ArrayLike<T>): Promise<{ val: FeatureSet; outputs: T[] }> {
  const val = await loadFeatures(spec, 'val');
  return { val, outputs: inBatches(facesOf(val), predict) };
}

function assertSameFaces(a: FeatureSet, b: FeatureSet): void {
  if (a.files.join() !== b.files.join()) throw new Error(`the ${a.spec.size}x${a.spec.size} and ${b.spec.size}x${b.spec.size} feature caches hold different ${a.files.length}/${b.files.length} faces or order`);
}

/** Extracts every split whose cache is missing or stale (made by other preprocessing). */
async function extract(spec: InputSpec, data: string, root = FEATURE_DIR): Promise<void> {
  const dir = specDir(spec, root);
  mkdirSync(dir, { recursive: true });
  const rows = loadRows(data);
  const per = spec.size * spec.size * spec.channels;
  const fingerprint = await preprocessFingerprint();
  const limits = chipLimits();
  for (const split of SPLITS) {
    const metaPath = join(dir, `${split}.json`);
    const part = rows.filter((r) => r.split === split);
    const labels = {
      files: part.map((r) => r.file), ages: part.map((r) => r.age),
      females: part.map((r) => (r.gender === 'female' ? 1 : 0)), races: part.map((r) => r.race),
    };
    if (existsSync(metaPath)) {
      const meta = JSON.parse(readFileSync(metaPath, 'utf8'));
      // The cache is keyed by input spec only: another --data folder (or an edited CSV) must not pass for it.
      const stale = staleReason(meta, fingerprint) ?? (labelsDiffer(meta, labels) ? `holds other faces or labels than ${join(data, 'utkface.csv')}` : undefined);
      if (!stale) { console.log(`${split}: cached`); continue; }
      console.log(`${split}: cache ${stale}; extracting again`);
    }
    const pixels = new Uint8Array(part.length * per);
    const t0 = Date.now();
    for (const [i, row] of part.entries()) {
      const image = await decodeImage(readFileSync(join(data, 'utkface', row.file)), limits);
      pixels.set(toModelInput(image, undefined, spec), i * per);
      if (i % 2000 === 0) process.stdout.write(`\r${split} ${i}/${part.length}`);
    }
    // Pixels first, then the metadata that vouches for them: a kill in between leaves a stale
    // .json (or none), never a current one beside old pixels.
    writeFileSync(join(dir, `${split}.u8`), pixels);
    writeFileSync(metaPath, JSON.stringify({ preprocessFingerprint: fingerprint, spec, ...labels }));
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
  if (!Number.isInteger(opts.size) || opts.size < 1) throw new UsageError(`--size must be a positive integer, got ${opts.size}`);
  if (opts.channels !== 1 && opts.channels !== 3) throw new UsageError(`--channels must be 1 or 3, got ${opts.channels}`);
  return { spec: { size: opts.size, channels: opts.channels }, data: resolve(opts.data) };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  reportUsageErrorsPlainly();
  const { spec, data } = featureOptions(process.argv.slice(2));
  await extract(spec, data);
}

export { loadFeatures, loadFeaturePair, facesOf, inBatches, valOutputs, assertSameFaces, extract, specDir, featureOptions };
export type { FeatureSet };
