/**
 * Claim verification: does a face photo look consistent with a claimed age (or date of birth)
 * and sex? `decideVerification` is the pure decision (analyzer faces + claim + thresholds);
 * `verifyClaim` fetches the image (inline base64 or an S3 object), runs the analyzer and
 * decides. The answer is one of:
 * - inconsistent: a check contradicts the claim with enough confidence;
 * - inconclusive: no usable single face, or a check could not be made confidently;
 * - consistent: every claimed attribute was checked and agrees.
 */
import { z } from 'zod';
import { AppError } from './errors.js';
import { decodeBase64Image } from './imageDecode.js';
import { readImageObject } from './objectStore.js';
import type { ObjectStore } from './objectStore.js';
import type { AnalyzeOptions, AnalyzeResult, FaceResult } from './analyzer.js';
import { MAX_S3_KEY_BYTES } from './config.js';
import type { Config } from './config.js';

type Sex = 'female' | 'male';
type Decision = 'consistent' | 'inconsistent' | 'inconclusive';
type CheckStatus = Decision | 'not_claimed';

interface VerifyThresholds {
  /**
   * Nominal coverage of the age range a claim is checked against (default 0.95). A wide model
   * interval, rather than the 80% one plus a fixed margin, adapts to how sure the model is: a
   * child's range is narrow, an adult's wide. On val (training/tuneVerify.ts, shipped models)
   * the 95% range + 3 years caught 28.4% of claims 10 years off and 69.0% of claims 20 off, where the
   * 80% range + 9 years caught 13.7% and 67.7%, refusing 3.6% vs 3.9% of true claims. On test
   * with the shipped models: README (training/verifyEval.ts).
   */
  ageLevel: number;
  /** Years added on each side of that range before a claim is inconsistent. */
  ageTolerance: number;
  /** Below this gender confidence (0.5..1) the gender check is inconclusive. */
  minGenderConfidence: number;
  /** Below this detection score (0..1) the face is too uncertain to verify. */
  minDetectionScore: number;
}

/** The claim reduced to what the checks compare: age in completed years, sex. */
interface ResolvedClaim {
  age?: number;
  gender?: Sex;
}

interface AgeCheck {
  status: CheckStatus;
  claimed: number | null;
  /** The model's point estimate, years. */
  estimated: number | null;
  /** The range a claim must fall in: the face's `ageLevel` range widened by the tolerance, years. */
  accepted: { low: number; high: number } | null;
}

interface GenderCheck {
  status: CheckStatus;
  claimed: Sex | null;
  estimated: Sex | null;
  /** Probability of `estimated`, 0.5..1. */
  confidence: number | null;
}

interface Reason {
  code: 'NO_FACE' | 'MULTIPLE_FACES' | 'LOW_DETECTION_SCORE' | 'AGE_IN_RANGE' | 'AGE_OUT_OF_RANGE' | 'GENDER_MATCH' | 'GENDER_MISMATCH' | 'LOW_GENDER_CONFIDENCE';
  message: string;
}

interface VerifyResult {
  decision: Decision;
  checks: { age: AgeCheck; gender: GenderCheck };
  /** The face the checks used (the largest one), or null when none was found. */
  face: FaceResult | null;
  reasons: Reason[];
}

/** Faces verify asks the analyzer for: it must see a second face to call a photo inconclusive. */
const VERIFY_MAX_FACES = 2;

type ThresholdConfig = Pick<Config, 'verifyAgeLevel' | 'verifyAgeTolerance' | 'verifyMinGenderConfidence' | 'verifyMinDetectionScore'>;

function thresholdsFrom(config: ThresholdConfig): VerifyThresholds {
  return {
    ageLevel: config.verifyAgeLevel, ageTolerance: config.verifyAgeTolerance,
    minGenderConfidence: config.verifyMinGenderConfidence, minDetectionScore: config.verifyMinDetectionScore,
  };
}

/**
 * How the analyzer must run for `decideVerification`: detection on, age range at the verify
 * level, and two faces at least, so a second face is seen even under MAX_FACES_LIMIT=1.
 */
function analyzeOptionsFor(thresholds: VerifyThresholds): Partial<AnalyzeOptions> {
  return { detect: true, ageLevel: thresholds.ageLevel, maxFaces: VERIFY_MAX_FACES };
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/**
 * The decision, from the analyzer's faces (largest first; [] when none) alone. The faces must
 * come from an analysis with `analyzeOptionsFor(thresholds)`, so their age ranges are at
 * `thresholds.ageLevel`.
 */
function decideVerification(faces: readonly FaceResult[], claim: ResolvedClaim, thresholds: VerifyThresholds): VerifyResult {
  const face = faces[0] ?? null;
  if (face && face.age.level !== thresholds.ageLevel) {
    // A caller that skipped analyzeOptionsFor would silently judge claims against the wrong range.
    throw new AppError('INTERNAL', `faces were analysed with age level ${face.age.level}, but verify checks against ${thresholds.ageLevel}`);
  }
  const faceProblem: Reason | undefined = faces.length === 0 ? { code: 'NO_FACE', message: 'no face was found in the image' }
    : faces.length > 1 ? { code: 'MULTIPLE_FACES', message: `${faces.length} faces were found; verification needs exactly one` }
    : face.detectionScore !== null && face.detectionScore < thresholds.minDetectionScore
      ? { code: 'LOW_DETECTION_SCORE', message: `face detection score ${face.detectionScore} is below ${thresholds.minDetectionScore}` }
      : undefined;

  const reasons: Reason[] = faceProblem ? [faceProblem] : [];
  const age: AgeCheck = { status: 'not_claimed', claimed: claim.age ?? null, estimated: face?.age.value ?? null, accepted: null };
  const gender: GenderCheck = { status: 'not_claimed', claimed: claim.gender ?? null, estimated: face?.gender.value ?? null, confidence: face?.gender.confidence ?? null };
  if (face) age.accepted = { low: Math.max(0, round1(face.age.low - thresholds.ageTolerance)), high: round1(face.age.high + thresholds.ageTolerance) };

  if (claim.age !== undefined) {
    if (faceProblem || !face || !age.accepted) age.status = 'inconclusive';
    else if (claim.age < age.accepted.low || claim.age > age.accepted.high) {
      age.status = 'inconsistent';
      reasons.push({ code: 'AGE_OUT_OF_RANGE', message: `claimed age ${claim.age} is outside the accepted range ${age.accepted.low} to ${age.accepted.high} (estimate ${face.age.value})` });
    } else {
      age.status = 'consistent';
      reasons.push({ code: 'AGE_IN_RANGE', message: `claimed age ${claim.age} is within the accepted range ${age.accepted.low} to ${age.accepted.high}` });
    }
  }
  if (claim.gender !== undefined) {
    if (faceProblem || !face) gender.status = 'inconclusive';
    else if (face.gender.confidence < thresholds.minGenderConfidence) {
      gender.status = 'inconclusive';
      reasons.push({ code: 'LOW_GENDER_CONFIDENCE', message: `gender confidence ${face.gender.confidence} is below ${thresholds.minGenderConfidence}` });
    } else if (face.gender.value !== claim.gender) {
      gender.status = 'inconsistent';
      reasons.push({ code: 'GENDER_MISMATCH', message: `estimated ${face.gender.value} (confidence ${face.gender.confidence}) differs from the claimed ${claim.gender}` });
    } else {
      gender.status = 'consistent';
      reasons.push({ code: 'GENDER_MATCH', message: `estimated ${face.gender.value} (confidence ${face.gender.confidence}) matches the claim` });
    }
  }

  const statuses = [age.status, gender.status];
  const decision: Decision = faceProblem ? 'inconclusive'
    : statuses.includes('inconsistent') ? 'inconsistent'
    : statuses.includes('inconclusive') ? 'inconclusive'
    : 'consistent';
  return { decision, checks: { age, gender }, face, reasons };
}

// --- the request ------------------------------------------------------------

/** y, m, d of a valid YYYY-MM-DD calendar date, or undefined. */
function parseDate(text: string): { y: number; m: number; d: number } | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return undefined;
  const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0-99 as 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(y, m - 1, d);
  return y >= 1 && date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d ? { y, m, d } : undefined;
}

/** The oldest claimed age verify takes, as `claimed.age` or from dateOfBirth and asOf (the oldest person documented lived 122 years). */
const MAX_CLAIMED_AGE = 130;

/** Completed years between two YYYY-MM-DD dates (a 29 February birthday counts on 1 March in common years). */
function ageOn(dateOfBirth: string, asOf: string): number {
  const birth = parseDate(dateOfBirth);
  const day = parseDate(asOf);
  if (!birth || !day) throw new AppError('INVALID_REQUEST', 'dates must be valid YYYY-MM-DD calendar dates');
  const beforeBirthday = day.m < birth.m || (day.m === birth.m && day.d < birth.d);
  const years = day.y - birth.y - (beforeBirthday ? 1 : 0);
  if (years < 0) throw new AppError('INVALID_REQUEST', `dateOfBirth ${dateOfBirth} is after asOf ${asOf}`);
  if (years > MAX_CLAIMED_AGE) throw new AppError('INVALID_REQUEST', `dateOfBirth ${dateOfBirth} and asOf ${asOf} give an age of ${years}, over ${MAX_CLAIMED_AGE}`);
  return years;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const isoDay = (epochMs: number) => new Date(epochMs).toISOString().slice(0, 10);

const isoDate = z.string().refine((s) => parseDate(s) !== undefined, { message: 'must be a YYYY-MM-DD calendar date' });

const VerifyRequestSchema = z.object({
  image: z.string().min(1).optional(),
  s3: z.object({ bucket: z.string().min(1).max(255), key: z.string().min(1).max(MAX_S3_KEY_BYTES) }).strict().optional(),
  claimed: z.object({
    dateOfBirth: isoDate.optional(),
    age: z.number().min(0).max(MAX_CLAIMED_AGE).optional(),
    gender: z.enum(['female', 'male']).optional(),
  }).strict()
    .refine((c) => c.dateOfBirth === undefined || c.age === undefined, { message: 'claim dateOfBirth or age, not both' })
    .refine((c) => c.dateOfBirth !== undefined || c.age !== undefined || c.gender !== undefined, { message: 'claim at least one of dateOfBirth, age, gender' }),
  /** The day the claimed date of birth is evaluated on; default: today (UTC). */
  asOf: isoDate.optional(),
}).strict().refine((r) => (r.image === undefined) !== (r.s3 === undefined), { message: 'give exactly one of image (base64) or s3 {bucket, key}' });

type VerifyRequest = z.infer<typeof VerifyRequestSchema>;

interface VerifyDeps {
  analyzer: { readonly modelVersion: string; analyze(bytes: Uint8Array, options?: Partial<AnalyzeOptions>, deadline?: number): Promise<AnalyzeResult> };
  store: ObjectStore;
  config: Pick<Config, 'maxImageBytes' | 'maxS3ImageBytes' | 's3InputPrefix' | 'verifyS3Bucket'> & ThresholdConfig;
  /** The current time, for the default asOf. */
  now: Date;
  /** Epoch ms by which the analysis must finish. */
  deadline: number;
}

/** Image bytes, the analyzer's faces and the decision for one validated request. Throws AppError. */
async function verifyClaim(request: VerifyRequest, deps: VerifyDeps): Promise<VerifyResult & { modelVersion: string }> {
  const today = deps.now.toISOString().slice(0, 10);
  if (request.asOf !== undefined && request.claimed.dateOfBirth === undefined) {
    throw new AppError('INVALID_REQUEST', 'asOf is the day a dateOfBirth is evaluated on: give it with a dateOfBirth claim');
  }
  // The photo is taken by now: an asOf past tomorrow (UTC; a day for time zones) is a mistake, not a check.
  if (request.asOf !== undefined && request.asOf > isoDay(deps.now.getTime() + DAY_MS)) {
    throw new AppError('INVALID_REQUEST', `asOf ${request.asOf} is in the future (today is ${today}, UTC)`);
  }
  const asOf = request.asOf ?? today;
  const claim: ResolvedClaim = {
    age: request.claimed.dateOfBirth !== undefined ? ageOn(request.claimed.dateOfBirth, asOf) : request.claimed.age,
    gender: request.claimed.gender,
  };
  const bytes = await imageBytes(request, deps);
  const thresholds = thresholdsFrom(deps.config);
  let analysis: Pick<AnalyzeResult, 'faces' | 'modelVersion'>;
  try {
    analysis = await deps.analyzer.analyze(bytes, analyzeOptionsFor(thresholds), deps.deadline);
  } catch (error) {
    if (!(error instanceof AppError && error.code === 'NO_FACE')) throw error;
    // No face is still a decision the models made (the detector found none): an audit trail
    // ties it to them like any other.
    analysis = { faces: [], modelVersion: deps.analyzer.modelVersion };
  }
  const result = decideVerification(analysis.faces, claim, thresholds);
  return { ...result, modelVersion: analysis.modelVersion };
}

/**
 * Why a verify S3 key cannot be right, before asking S3 (whose refusals would surface as
 * INTERNAL): S3 refuses keys over MAX_S3_KEY_BYTES (1024 UTF-8 bytes); a `.` or `..` segment would slip out of the
 * input prefix on servers that resolve paths (s3rver, where a review read
 * uploads/../other/face.jpg), and control characters break them (s3rver answers 500). S3 itself
 * takes both literally, and no real upload needs either.
 */
function s3KeyProblem(key: string): string | undefined {
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_S3_KEY_BYTES) return `is ${bytes} bytes; S3 keys are at most ${MAX_S3_KEY_BYTES}`;
  if (key.split('/').some((segment) => segment === '.' || segment === '..')) return 'may not have "." or ".." segments';
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'may not have control characters';
  return undefined;
}

async function imageBytes(request: VerifyRequest, deps: VerifyDeps): Promise<Uint8Array> {
  if (request.image !== undefined) return decodeBase64Image(request.image, deps.config.maxImageBytes);
  const { bucket, key } = request.s3!;
  // The role allows only this too (serverless.yml VerifyRole); checking here gives the same answer
  // locally and under a wider role, and a clearer message than an access denial.
  const wrongBucket = deps.config.verifyS3Bucket !== '' && bucket !== deps.config.verifyS3Bucket;
  if (wrongBucket || !key.startsWith(deps.config.s3InputPrefix)) {
    const where = `${deps.config.s3InputPrefix}*${deps.config.verifyS3Bucket ? ` in bucket ${deps.config.verifyS3Bucket}` : ''}`;
    throw new AppError('INVALID_REQUEST', `s3 references must be objects under ${where}; got s3://${bucket}/${key}`, { details: { bucket, key } });
  }
  const keyProblem = s3KeyProblem(key);
  if (keyProblem) throw new AppError('INVALID_REQUEST', `s3.key ${keyProblem}`, { details: { bucket } });
  const object = await readImageObject(deps.store, { bucket, key }, deps.config.maxS3ImageBytes, deps.deadline);
  if (object.status !== 'found') throw new AppError('INVALID_REQUEST', `s3://${bucket}/${key} does not exist or is not readable`, { details: { bucket, key } });
  return object.bytes;
}

export { decideVerification, verifyClaim, thresholdsFrom, analyzeOptionsFor, ageOn, VerifyRequestSchema, VERIFY_MAX_FACES };
export type { VerifyThresholds, ResolvedClaim, VerifyResult, VerifyRequest, VerifyDeps, Decision, AgeCheck, GenderCheck, Reason };
