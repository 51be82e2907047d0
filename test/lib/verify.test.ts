import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { ageOn, decideVerification, verifyClaim, VerifyRequestSchema } from '../../lib/verify.js';
import { createAnalyzer, getAnalyzer, modelVersionOf } from '../../lib/analyzer.js';
import { getConfig, loadConfig } from '../../lib/config.js';
import { s3ObjectStore } from '../../handlers/s3Store.js';
import { chip, greyPng, s3 } from '../handlers/localAws.js';
import { observedStore } from '../support/observedStore.js';
import { composePhoto, readChip, sampleTestChips, testChips } from '../support/utkface.js';
import type { VerifyDeps, VerifyThresholds } from '../../lib/verify.js';
import type { AnalyzeOptions, FaceResult } from '../../lib/analyzer.js';

const thresholds: VerifyThresholds = { ageLevel: 0.95, ageTolerance: 3, minGenderConfidence: 0.8, minDetectionScore: 0.75 };

function face(overrides: { age?: Partial<FaceResult['age']>; gender?: Partial<FaceResult['gender']>; detectionScore?: number | null } = {}): FaceResult {
  return {
    box: { left: 0.2, top: 0.2, width: 0.5, height: 0.5 },
    detectionScore: overrides.detectionScore === undefined ? 0.95 : overrides.detectionScore,
    age: { value: 30, low: 25, high: 36, level: 0.95, ...overrides.age },
    gender: { value: 'female', confidence: 0.97, ...overrides.gender },
  };
}

describe('decideVerification', () => {
  it('is consistent when the claimed age is in the widened range and the sex matches', () => {
    const result = decideVerification([face()], { age: 33, gender: 'female' }, thresholds);
    expect(result.decision).toBe('consistent');
    expect(result.checks.age).toEqual({ status: 'consistent', claimed: 33, estimated: 30, accepted: { low: 22, high: 39 } });
    expect(result.checks.gender).toEqual({ status: 'consistent', claimed: 'female', estimated: 'female', confidence: 0.97 });
    expect(result.reasons.map((r) => r.code)).toEqual(['AGE_IN_RANGE', 'GENDER_MATCH']);
  });

  it('accepts ages exactly at the widened bounds and refuses just outside them', () => {
    expect(decideVerification([face()], { age: 22 }, thresholds).checks.age.status).toBe('consistent');
    expect(decideVerification([face()], { age: 39 }, thresholds).checks.age.status).toBe('consistent');
    expect(decideVerification([face()], { age: 21.9 }, thresholds).checks.age.status).toBe('inconsistent');
    expect(decideVerification([face()], { age: 39.1 }, thresholds).checks.age.status).toBe('inconsistent');
  });

  it('is inconsistent when the claimed age is outside the range', () => {
    const result = decideVerification([face()], { age: 50, gender: 'female' }, thresholds);
    expect(result.decision).toBe('inconsistent');
    expect(result.checks.age.status).toBe('inconsistent');
    expect(result.reasons[0].code).toBe('AGE_OUT_OF_RANGE');
  });

  it('is inconsistent when the other sex is predicted with enough confidence', () => {
    const result = decideVerification([face({ gender: { value: 'male', confidence: 0.8 } })], { gender: 'female' }, thresholds);
    expect(result.decision).toBe('inconsistent');
    expect(result.checks.gender.status).toBe('inconsistent');
    expect(result.checks.age.status).toBe('not_claimed');
  });

  it('is inconclusive when gender confidence is below the threshold, whichever sex is predicted', () => {
    for (const value of ['male', 'female'] as const) {
      const result = decideVerification([face({ gender: { value, confidence: 0.79 } })], { gender: 'female' }, thresholds);
      expect(result.decision).toBe('inconclusive');
      expect(result.reasons.map((r) => r.code)).toEqual(['LOW_GENDER_CONFIDENCE']);
    }
  });

  it('keeps a confident age contradiction even when the gender check is inconclusive', () => {
    const result = decideVerification([face({ gender: { confidence: 0.6 } })], { age: 70, gender: 'female' }, thresholds);
    expect(result.decision).toBe('inconsistent');
    expect(result.checks.gender.status).toBe('inconclusive');
  });

  it('is inconclusive with no face', () => {
    const result = decideVerification([], { age: 30, gender: 'male' }, thresholds);
    expect(result).toEqual({
      decision: 'inconclusive',
      checks: {
        age: { status: 'inconclusive', claimed: 30, estimated: null, accepted: null },
        gender: { status: 'inconclusive', claimed: 'male', estimated: null, confidence: null },
      },
      face: null,
      reasons: [{ code: 'NO_FACE', message: 'no face was found in the image' }],
    });
  });

  it('is inconclusive with more than one face, even when the claim contradicts the largest', () => {
    const result = decideVerification([face(), face()], { age: 80, gender: 'male' }, thresholds);
    expect(result.decision).toBe('inconclusive');
    expect(result.reasons.map((r) => r.code)).toEqual(['MULTIPLE_FACES']);
    expect(result.checks.age.status).toBe('inconclusive');
  });

  it('is inconclusive when the detection score is below the threshold', () => {
    const result = decideVerification([face({ detectionScore: 0.6 })], { age: 80 }, thresholds);
    expect(result.decision).toBe('inconclusive');
    expect(result.reasons.map((r) => r.code)).toEqual(['LOW_DETECTION_SCORE']);
  });

  it('treats a face without detection (detect off) as usable', () => {
    expect(decideVerification([face({ detectionScore: null })], { age: 30 }, thresholds).decision).toBe('consistent');
  });

  it('refuses faces analysed at another age level than the thresholds check against', () => {
    expect(() => decideVerification([face({ age: { level: 0.8 } })], { age: 30 }, thresholds)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });

  it('uses the tolerance it is given', () => {
    expect(decideVerification([face()], { age: 40 }, { ...thresholds, ageTolerance: 4 }).decision).toBe('consistent');
    expect(decideVerification([face()], { age: 40 }, { ...thresholds, ageTolerance: 0 }).decision).toBe('inconsistent');
  });
});

describe('ageOn', () => {
  it('counts completed years', () => {
    expect(ageOn('1990-06-15', '2020-06-14')).toBe(29);
    expect(ageOn('1990-06-15', '2020-06-15')).toBe(30);
    expect(ageOn('2000-02-29', '2021-02-28')).toBe(20);
    expect(ageOn('2000-02-29', '2021-03-01')).toBe(21);
  });

  it('throws INVALID_REQUEST when the birth date is after asOf', () => {
    expect(() => ageOn('2030-01-01', '2020-01-01')).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
  });

  it('takes years before 100 as written, and refuses an age over 130 as claimed.age does', () => {
    // Date.UTC would read 0099 as 1999.
    expect(ageOn('0099-06-15', '0150-06-15')).toBe(51);
    expect(ageOn('1900-01-01', '2030-01-01')).toBe(130);
    expect(() => ageOn('1900-01-01', '9999-12-31')).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST', message: expect.stringMatching(/age of 8099, over 130/) }));
    expect(() => ageOn('0000-01-01', '2000-01-01')).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
  });
});

describe('VerifyRequestSchema', () => {
  const claimed = { age: 30, gender: 'female' };
  it('accepts an inline image or an s3 reference', () => {
    expect(VerifyRequestSchema.safeParse({ image: 'aGVsbG8=', claimed }).success).toBe(true);
    expect(VerifyRequestSchema.safeParse({ s3: { bucket: 'b', key: 'uploads/a.jpg' }, claimed: { dateOfBirth: '1990-01-31' }, asOf: '2024-05-01' }).success).toBe(true);
  });

  it.each([
    ['both image and s3', { image: 'aGVsbG8=', s3: { bucket: 'b', key: 'k' }, claimed }],
    ['neither image nor s3', { claimed }],
    ['an empty claim', { image: 'aGVsbG8=', claimed: {} }],
    ['age and dateOfBirth together', { image: 'aGVsbG8=', claimed: { age: 30, dateOfBirth: '1990-01-01' } }],
    ['a non-calendar date', { image: 'aGVsbG8=', claimed: { dateOfBirth: '1990-02-30' } }],
    ['an unknown gender', { image: 'aGVsbG8=', claimed: { gender: 'other' } }],
    ['a negative age', { image: 'aGVsbG8=', claimed: { age: -1 } }],
    ['an unknown field', { image: 'aGVsbG8=', claimed, extra: 1 }],
    ['not an object', 'hello'],
  ])('refuses %s', (_name, event) => {
    expect(VerifyRequestSchema.safeParse(event).success).toBe(false);
  });
});

describe('verifyClaim (the analyzer with the committed models, s3rver through the service\'s S3 adapter)', () => {
  const bucket = `face-age-gender-verify-${Date.now().toString(36)}`;
  const man = chip('man').toString('base64'); // a UTKFace test chip: 28, male
  const s3Store = s3ObjectStore(s3);
  const config = { maxImageBytes: 1_000_000, maxS3ImageBytes: 1000, s3InputPrefix: 'uploads/', verifyS3Bucket: bucket, verifyAgeLevel: 0.95, verifyAgeTolerance: 3, verifyMinGenderConfidence: 0.8, verifyMinDetectionScore: 0.75 };
  let analyzer: VerifyDeps['analyzer'];
  const deps = (overrides: Partial<VerifyDeps> = {}): VerifyDeps => ({
    analyzer, store: s3Store, now: new Date('2024-06-01T12:00:00Z'), deadline: Date.now() + 30_000, config, ...overrides,
  });

  beforeAll(async () => {
    analyzer = await getAnalyzer();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'uploads/big.jpg', Body: chip('man') })); // over maxS3ImageBytes
  });

  it('resolves a date of birth against asOf (default: today)', async () => {
    const today = await verifyClaim({ image: man, claimed: { dateOfBirth: '1970-01-01' } }, deps());
    expect(today.checks.age.claimed).toBe(54);
    const then = await verifyClaim({ image: man, claimed: { dateOfBirth: '1970-01-01' }, asOf: '2000-01-01' }, deps());
    expect(then.checks.age.claimed).toBe(30);
    expect(then.modelVersion).toBe(modelVersionOf(getConfig().modelDir));
  });

  // A fuzzing review: asOf 2126-06-01 made a 2100 birth date "consistent", and an asOf without a
  // date of birth was silently ignored.
  it('refuses an asOf after tomorrow, or without a dateOfBirth', async () => {
    const now = new Date('2024-06-01T23:00:00Z');
    await expect(verifyClaim({ image: man, claimed: { dateOfBirth: '2100-01-01' }, asOf: '2126-06-01' }, deps({ now }))).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/future/) });
    await expect(verifyClaim({ image: man, claimed: { gender: 'male' }, asOf: '2024-06-01' }, deps({ now }))).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/with a dateOfBirth/) });
    const tomorrow = await verifyClaim({ image: man, claimed: { dateOfBirth: '1990-06-02' }, asOf: '2024-06-02' }, deps({ now }));
    expect(tomorrow.checks.age.claimed).toBe(34);
  });

  // With MAX_FACES_LIMIT=1 the analyzer used to return one face, and a photo of two passed as one.
  it('sees a second face whatever MAX_FACES_LIMIT says', async () => {
    const chips = testChips();
    const two = await composePhoto(1200, 800, 0x406080ff, [{ chip: chips[10], x: 100, y: 150, size: 400 }, { chip: chips[20], x: 700, y: 150, size: 400 }]);
    const limited = await createAnalyzer({ ...loadConfig(), maxFacesLimit: 1 });
    const result = await verifyClaim({ image: two.toString('base64'), claimed: { age: 30 } }, deps({ analyzer: limited }));
    expect(result.decision).toBe('inconclusive');
    expect(result.reasons.map((r) => r.code)).toEqual(['MULTIPLE_FACES']);
  });

  it('asks the analyzer for detection and the age range at the configured level', async () => {
    const asked: unknown[] = [];
    const watching = { modelVersion: analyzer.modelVersion, analyze: (bytes: Uint8Array, options?: Partial<AnalyzeOptions>, deadline?: number) => { asked.push(options); return analyzer.analyze(bytes, options, deadline); } };
    const result = await verifyClaim({ image: man, claimed: { age: 30 } }, deps({ analyzer: watching }));
    expect(asked).toEqual([{ detect: true, ageLevel: 0.95, maxFaces: 2 }]);
    expect(result.face?.age.level).toBe(0.95);
  });

  it('answers inconclusive, not an error, when the analyzer finds no face', async () => {
    const grey = (await greyPng()).toString('base64');
    const result = await verifyClaim({ image: grey, claimed: { age: 30 } }, deps());
    expect(result.decision).toBe('inconclusive');
    expect(result.reasons.map((r) => r.code)).toContain('NO_FACE');
    // Still tied to the models that found no face, for the audit trail.
    expect(result.modelVersion).toBe(modelVersionOf(getConfig().modelDir));
  });

  it('throws INVALID_REQUEST for keys S3 would refuse or a path-resolving server would read elsewhere', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'other/face.jpg', Body: chip('man') }));
    await expect(verifyClaim({ s3: { bucket, key: 'uploads/../other/face.jpg' }, claimed: { age: 30 } }, deps()))
      .rejects.toMatchObject({ code: 'INVALID_REQUEST', message: 's3.key may not have "." or ".." segments' });
    await expect(verifyClaim({ s3: { bucket, key: `uploads/${'é'.repeat(510)}.jpg` }, claimed: { age: 30 } }, deps()))
      .rejects.toMatchObject({ code: 'INVALID_REQUEST', message: 's3.key is 1032 bytes; S3 keys are at most 1024' });
    await expect(verifyClaim({ s3: { bucket, key: 'uploads/a\u0000b.jpg' }, claimed: { age: 30 } }, deps()))
      .rejects.toMatchObject({ code: 'INVALID_REQUEST', message: 's3.key may not have control characters' });
  });

  it('throws INVALID_REQUEST for a missing s3 object', async () => {
    await expect(verifyClaim({ s3: { bucket, key: 'uploads/nope.jpg' }, claimed: { age: 30 } }, deps())).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('throws IMAGE_TOO_LARGE for an oversize s3 object without reading its body', async () => {
    const { store: counting, state } = observedStore(s3Store);
    await expect(verifyClaim({ s3: { bucket, key: 'uploads/big.jpg' }, claimed: { age: 30 } }, deps({ store: counting })))
      .rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    expect(state.reads).toBe(0);
  });

  it('throws INVALID_BASE64 for an inline image that is not base64', async () => {
    await expect(verifyClaim({ image: '***', claimed: { age: 30 } }, deps())).rejects.toMatchObject({ code: 'INVALID_BASE64' });
  });
});

describe('the age range level verify asks for (real models)', () => {
  it('widens the range about the same estimate, and refuses a level outside (0, 1)', async () => {
    const analyzer = await getAnalyzer();
    const chip = readChip(sampleTestChips(40)[5]);
    const [usual] = (await analyzer.analyze(chip, { detect: true })).faces;
    const [wide] = (await analyzer.analyze(chip, { detect: true, ageLevel: 0.97 })).faces;
    expect(usual.age.level).toBe(0.8);
    expect(wide.age).toMatchObject({ value: usual.age.value, level: 0.97 });
    expect(wide.age.low).toBeLessThanOrEqual(usual.age.low);
    expect(wide.age.high).toBeGreaterThan(usual.age.high);
    for (const ageLevel of [0, 1, 1.5, Number.NaN]) {
      await expect(analyzer.analyze(chip, { detect: true, ageLevel })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    }
  });
});
