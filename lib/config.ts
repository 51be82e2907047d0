/**
 * All runtime configuration and limits in one frozen object, read from the environment once.
 * The only place in lib/ that reads process.env. Every field: one line, with its unit.
 */
import { resolve, dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DecodeLimits } from './imageDecode.js';

/** S3's limit on an object key, in UTF-8 bytes: longer keys are refused (KeyTooLong) on every try. */
const MAX_S3_KEY_BYTES = 1024;
/**
 * The folder, under the results prefix, for records whose direct name would pass
 * MAX_S3_KEY_BYTES or collide with another key's record (lib/s3Results.ts writes there).
 * Defined here, in the leaf module, because checkS3Prefixes must keep the input prefix out of it.
 */
const LONG_KEYS_FOLDER = '_long/';

class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new ConfigError(`Environment variable ${name} must be a non-negative number, got "${raw}"`);
  return value;
}

/** A count or size limit: a whole number of at least `min` (a fraction of a face or scan means nothing). */
function integerFromEnv(name: string, fallback: number, min = 1): number {
  const value = numberFromEnv(name, fallback);
  if (!Number.isInteger(value) || value < min) throw new ConfigError(`Environment variable ${name} must be a whole number >= ${min}, got "${process.env[name]}"`);
  return value;
}

/** A longer-side / shorter-side ratio: below 1 no image could pass. */
function ratioFromEnv(name: string, fallback: number): number {
  const value = numberFromEnv(name, fallback);
  if (value < 1) throw new ConfigError(`Environment variable ${name} must be at least 1, got "${process.env[name]}"`);
  return value;
}

/** A score or confidence threshold, 0..1 (outside it the detector throws or a check can never pass). */
function fractionFromEnv(name: string, fallback: number): number {
  const value = numberFromEnv(name, fallback);
  if (value > 1) throw new ConfigError(`Environment variable ${name} must be between 0 and 1, got "${process.env[name]}"`);
  return value;
}

/** A probability strictly between 0 and 1 (an interval's coverage). */
function levelFromEnv(name: string, fallback: number): number {
  const value = numberFromEnv(name, fallback);
  if (!(value > 0 && value < 1)) throw new ConfigError(`Environment variable ${name} must be between 0 and 1 (exclusive), got "${process.env[name]}"`);
  return value;
}

/** An on/off switch: true/false or 1/0; unset or empty gives the fallback. */
function flagFromEnv(name: string, fallback: boolean): boolean {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`Environment variable ${name} must be true or false, got "${raw}"`);
}

/** Unset or empty: the fallback (serverless.yml passes optional settings as empty strings). */
function stringFromEnv(name: string, fallback: string): string {
  return process.env[name] || fallback;
}

/**
 * A key prefix: unset gives the fallback, but an empty value stays empty so that
 * checkS3Prefixes refuses it (an empty input prefix would make results trigger the function).
 */
function prefixFromEnv(name: string, fallback: string): string {
  return process.env[name] ?? fallback;
}

/** models/ next to the code: the repo root in development, the bundle root in Lambda. */
function defaultModelDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, '..', 'models'), join(here, 'models'), join(process.cwd(), 'models')]) {
    if (existsSync(join(candidate, 'age', 'manifest.json'))) return candidate;
  }
  return join(process.cwd(), 'models');
}

/**
 * Refuses S3 routing that could trigger itself: results are written to
 * `<resultsPrefix><key>.json` with `key` under `inputPrefix`, so if either prefix starts with the
 * other (an empty prefix starts every key) a result could land under the input prefix and be
 * processed again, forever.
 */
function checkS3Prefixes(inputPrefix: string, resultsPrefix: string): void {
  if (inputPrefix === '') throw new ConfigError('Environment variable S3_INPUT_PREFIX must not be empty: every result would trigger the function again');
  if (resultsPrefix.startsWith(inputPrefix) || inputPrefix.startsWith(resultsPrefix)) {
    throw new ConfigError(`Environment variables S3_RESULTS_PREFIX ("${resultsPrefix}") and S3_INPUT_PREFIX ("${inputPrefix}") overlap: results would trigger the function again`);
  }
  // Records of over-long keys go to `<resultsPrefix>_long/<hash>`; an input prefix there could
  // upload a key whose direct record name is some other upload's hashed one, and overwrite it.
  if (inputPrefix.startsWith(LONG_KEYS_FOLDER) || LONG_KEYS_FOLDER.startsWith(inputPrefix)) {
    throw new ConfigError(`Environment variable S3_INPUT_PREFIX ("${inputPrefix}") must not overlap "${LONG_KEYS_FOLDER}": the records of over-long keys are written there`);
  }
}

function loadConfig() {
  const s3InputPrefix = prefixFromEnv('S3_INPUT_PREFIX', 'uploads/');
  const s3ResultsPrefix = prefixFromEnv('S3_RESULTS_PREFIX', 'results/');
  checkS3Prefixes(s3InputPrefix, s3ResultsPrefix);
  const config = Object.freeze({
    modelDir: resolve(stringFromEnv('MODEL_DIR', defaultModelDir())), // folder holding age/, gender/, blazeface/
    maxImageBytes: integerFromEnv('MAX_IMAGE_BYTES', 5 * 1024 * 1024), // bytes of the encoded image (Rekognition: 5 MB)
    maxS3ImageBytes: integerFromEnv('MAX_S3_IMAGE_BYTES', 15 * 1024 * 1024), // bytes, for objects read from S3
    maxImagePixels: integerFromEnv('MAX_IMAGE_PIXELS', 25_000_000), // width x height, checked from the header before decoding
    maxImageSide: integerFromEnv('MAX_IMAGE_SIDE', 10_000), // pixels, either side
    minImageSide: integerFromEnv('MIN_IMAGE_SIDE', 32), // pixels, the shorter side
    maxImageAspect: ratioFromEnv('MAX_IMAGE_ASPECT', 10), // longer side / shorter side; detection work grows with it (2 tiles per unit)
    maxJpegScans: integerFromEnv('MAX_JPEG_SCANS', 100), // start-of-scan markers in a JPEG; each walks the whole image (real files: ~10)
    decodeWebp: flagFromEnv('DECODE_WEBP', true), // false: WebP is refused (415) instead of decoded by libwebp 1.1.0 in wasm (README "Limits")
    maxFacesLimit: integerFromEnv('MAX_FACES_LIMIT', 20), // upper bound for options.maxFaces
    maxJsonDepth: integerFromEnv('MAX_JSON_DEPTH', 16, 2), // nesting levels of arrays/objects in a JSON body (the API needs 2)
    minDetectionScore: fractionFromEnv('MIN_DETECTION_SCORE', 0.5), // BlazeFace score, 0..1
    timeBudgetMs: integerFromEnv('TIME_BUDGET_MS', 9_000), // ms: stop work and answer TIMEOUT before the Lambda timeout
    // Verify defaults tuned on val (training/tuneVerify.ts), keeping <= 4% of true claims called inconsistent (margin for
    // the 5% target on test). Gender confidence 0.9 (measured with an earlier age model): 0.8 would catch 80% of wrong-sex
    // claims, but then the cap leaves the age check ~52% of claims 20 years off; 0.93 gives up 5 points of wrong-sex catches
    // and leaves 30% of true claims inconclusive (vs 25%). Age, with the shipped models (age with test-time flip): the
    // 95% range widened by 3 years refuses 3.5% of true claims (3.6% with the previous gender net) and catches 28.4% / 69.0% of claims 10 / 20 years off, the
    // most 20 off within the limit; the previous default, 98% + 1 year, refuses 3.4% and catches 27.5% / 64.8%.
    verifyAgeLevel: levelFromEnv('VERIFY_AGE_LEVEL', 0.95), // nominal coverage of the age range a claimed age is checked against
    verifyAgeTolerance: numberFromEnv('VERIFY_AGE_TOLERANCE_YEARS', 3), // years added to each side of that range before calling a claim inconsistent
    verifyMinGenderConfidence: fractionFromEnv('VERIFY_MIN_GENDER_CONFIDENCE', 0.9), // below this the gender check is inconclusive
    verifyMinDetectionScore: fractionFromEnv('VERIFY_MIN_DETECTION_SCORE', 0.75), // below this the face is too uncertain to verify
    logLevel: stringFromEnv('LOG_LEVEL', 'info'), // debug | info | warn | error
    wasmDir: stringFromEnv('TFJS_WASM_DIR', ''), // folder holding tfjs-backend-wasm*.wasm; empty: next to the code, then node_modules
    s3InputPrefix, // key prefix the S3 trigger processes; other keys are ignored
    s3ResultsPrefix, // key prefix for results/<key>.json and results/<key>.error.json; never overlaps the input prefix
    s3ResultsBucket: stringFromEnv('S3_RESULTS_BUCKET', ''), // bucket for result records; empty = the uploaded object's bucket
    verifyS3Bucket: stringFromEnv('VERIFY_S3_BUCKET', ''), // the only bucket verify reads S3 references from; empty = any (IAM decides)
    s3Endpoint: stringFromEnv('AWS_ENDPOINT_URL_S3', ''), // URL of a local S3 server (the SDK's own variable; we add path-style); empty = AWS
  });
  if (config.minImageSide > config.maxImageSide) {
    throw new ConfigError(`Environment variable MIN_IMAGE_SIDE (${config.minImageSide}) must not exceed MAX_IMAGE_SIDE (${config.maxImageSide}): every image would be refused`);
  }
  return config;
}

type Config = ReturnType<typeof loadConfig>;

/** The decode limits of a configuration, in the shape lib/imageDecode.ts takes (one place to add a limit). */
function decodeLimitsFrom(config: Config): Omit<DecodeLimits, 'deadline'> {
  return {
    maxBytes: config.maxS3ImageBytes, maxPixels: config.maxImagePixels, maxSide: config.maxImageSide,
    minSide: config.minImageSide, maxAspect: config.maxImageAspect, maxJpegScans: config.maxJpegScans, decodeWebp: config.decodeWebp,
  };
}

let cached: Config | undefined;
/** The process-wide configuration (read once). */
function getConfig(): Config {
  cached ??= loadConfig();
  return cached;
}

export { getConfig, loadConfig, checkS3Prefixes, decodeLimitsFrom, ConfigError, LONG_KEYS_FOLDER, MAX_S3_KEY_BYTES };
export type { Config };
