/**
 * The verify function through serverless-offline's Lambda invoke endpoint (the AWS SDK's
 * InvokeCommand), with inline images and with S3 references into serverless-s3-local.
 * Decisions that depend on how good the models are stay loose; the ones fixed by the rules
 * (no face, two faces, an absurd age) are exact.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { BUCKET, chip, greyPng, invoke, s3, twoFacesPng } from './localAws.js';
import { composePhoto, testChips } from '../support/utkface.js';

const run = `v${Date.now().toString(36)}`;
const faceKey = `uploads/verify-${run}/face photo.jpg`;
/** The same face outside the input prefix: readable in the local S3, refused by verify's own check. */
const outsideKey = `elsewhere/verify-${run}/face.jpg`;

describe('verify handler', () => {
  beforeAll(async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: faceKey, Body: chip('youngWoman') }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: outsideKey, Body: chip('youngWoman') }));
  });

  it('answers a decision with checks, the face and reasons for an inline image', async () => {
    const { functionError, payload } = await invoke('verify', { image: chip('youngWoman').toString('base64'), claimed: { age: 20, gender: 'female' } });
    expect(functionError).toBeUndefined();
    expect(['consistent', 'inconsistent', 'inconclusive']).toContain(payload.decision);
    expect(payload.checks.age).toMatchObject({ claimed: 20, estimated: expect.any(Number), accepted: { low: expect.any(Number), high: expect.any(Number) } });
    expect(['consistent', 'inconsistent', 'inconclusive']).toContain(payload.checks.gender.status);
    expect(payload.face.detectionScore).toBeGreaterThan(0.75);
    // The claim is judged against the face's range at the configured level (0.95), widened by 3 years by default.
    expect(payload.face.age.level).toBe(0.95);
    expect(payload.checks.age.accepted.low).toBeCloseTo(Math.max(0, payload.face.age.low - 3), 5);
    expect(payload.checks.age.accepted.high).toBeCloseTo(payload.face.age.high + 3, 5);
    expect(payload.reasons.length).toBeGreaterThan(0);
    expect(payload.modelVersion).toMatch(/^age-\w+\+gender-\w+$/);
  });

  it('calls an absurd claimed age inconsistent', async () => {
    const { payload } = await invoke('verify', { image: chip('youngWoman').toString('base64'), claimed: { age: 130 } });
    expect(payload.decision).toBe('inconsistent');
    expect(payload.checks.age.status).toBe('inconsistent');
    expect(payload.checks.gender.status).toBe('not_claimed');
    expect(payload.reasons.map((r: { code: string }) => r.code)).toEqual(['AGE_OUT_OF_RANGE']);
  });

  it('reads an S3 reference and decides exactly as for the same bytes inline', async () => {
    const claimed = { dateOfBirth: '2000-05-01', gender: 'male' };
    const viaS3 = await invoke('verify', { s3: { bucket: BUCKET, key: faceKey }, claimed, asOf: '2020-04-30' });
    const inline = await invoke('verify', { image: chip('youngWoman').toString('base64'), claimed, asOf: '2020-04-30' });
    expect(viaS3.functionError).toBeUndefined();
    expect(viaS3.payload.checks.age.claimed).toBe(19);
    expect(viaS3.payload).toEqual(inline.payload);
  });

  it('is inconclusive when there is no face', async () => {
    const { payload } = await invoke('verify', { image: (await greyPng()).toString('base64'), claimed: { age: 30, gender: 'male' } });
    expect(payload).toMatchObject({ decision: 'inconclusive', face: null, reasons: [{ code: 'NO_FACE' }] });
  });

  it('is inconclusive when there are two faces', async () => {
    const { payload } = await invoke('verify', { image: (await twoFacesPng()).toString('base64'), claimed: { age: 130 } });
    expect(payload).toMatchObject({ decision: 'inconclusive', reasons: [{ code: 'MULTIPLE_FACES' }] });
  });

  it.each([
    ['INVALID_REQUEST', 'an empty event', {}],
    ['INVALID_REQUEST', 'a string event', 'hello'],
    ['INVALID_REQUEST', 'an unknown gender', { image: 'aGVsbG8=', claimed: { gender: 'x' } }],
    ['INVALID_REQUEST', 'a birth date after asOf', { image: chip('man').toString('base64'), claimed: { dateOfBirth: '2030-01-01' }, asOf: '2020-01-01' }],
    ['INVALID_BASE64', 'an image that is not base64', { image: '%%%', claimed: { age: 30 } }],
    ['UNSUPPORTED_IMAGE', 'base64 of a text file', { image: Buffer.from('hello, world').toString('base64'), claimed: { age: 30 } }],
    ['INVALID_REQUEST', 'a missing S3 object', { s3: { bucket: BUCKET, key: `uploads/verify-${run}/missing.jpg` }, claimed: { age: 30 } }],
  ])('answers %s for %s, without throwing', async (code, _name, event) => {
    const { functionError, payload } = await invoke('verify', event);
    expect(functionError).toBeUndefined();
    expect(payload).toMatchObject({ error: { code, message: expect.any(String) } });
  });

  it('answers an event of 100,000 unknown fields with a short INVALID_REQUEST, not a reply over Lambda\'s 6 MB', async () => {
    const fields = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`field${i}`, 1]));
    const { functionError, payload } = await invoke('verify', { image: 'aGVsbG8=', claimed: { age: 30 }, ...fields });
    expect(functionError).toBeUndefined();
    expect(payload.error).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/unknown fields "field0", .* and 99995 more/) });
    expect(JSON.stringify(payload).length).toBeLessThan(2_000);
  });

  it.each([
    ['an existing object outside uploads/', { bucket: BUCKET, key: outsideKey }],
    ['another bucket', { bucket: `${BUCKET}-other`, key: faceKey }],
  ])('refuses an S3 reference to %s before reading it', async (_name, ref) => {
    const { functionError, payload } = await invoke('verify', { s3: ref, claimed: { age: 30 } });
    expect(functionError).toBeUndefined();
    expect(payload.error).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringContaining(`must be objects under uploads/* in bucket ${BUCKET}`) });
  });

  it('logs a refused request by its code, without the claimed date of birth or the S3 key it quotes back', async () => {
    const failures = () => readFileSync(inject('offline').logFile, 'utf8').split('\n').filter((l) => l.includes('"verify failed"'));
    const before = failures().length;
    const dateOfBirth = '2019-07-19'; // after asOf: refused with a message quoting it
    const future = await invoke('verify', { image: chip('youngWoman').toString('base64'), claimed: { dateOfBirth }, asOf: '2018-01-01' });
    expect(future.payload.error).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringContaining(dateOfBirth) });
    const secretKey = `elsewhere/verify-${run}/passport-of-someone.jpg`;
    const outside = await invoke('verify', { s3: { bucket: BUCKET, key: secretKey }, claimed: { age: 30 } });
    expect(outside.payload.error).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringContaining(secretKey) });
    // serverless-offline writes the function's log lines to the log file as they come.
    await expect.poll(() => failures().length, { timeout: 5_000 }).toBeGreaterThanOrEqual(before + 2);
    const log = readFileSync(inject('offline').logFile, 'utf8');
    expect(log).not.toContain(dateOfBirth);
    expect(log).not.toContain('passport-of-someone');
    expect(failures().slice(before).every((l) => l.includes('"INVALID_REQUEST"'))).toBe(true);
  });
});

describe('handlers/verify.ts in-process', () => {
  const context = (remainingMs: number) => ({ awsRequestId: 'in-process', getRemainingTimeInMillis: () => remainingMs }) as any;

  it('answers TIMEOUT as a result, before the Lambda timeout, instead of running into it', async () => {
    const { handler, SAFETY_MARGIN_MS } = await import('../../handlers/verify.js');
    const chips = testChips();
    const photo = await composePhoto(1920, 1080, 0xc8a050ff, [{ chip: chips[929], x: 300, y: 200, size: 640 }]);
    const event = { image: photo.toString('base64'), claimed: { age: chips[929].age } };
    const ok = await handler(event, context(30_000));
    expect(ok).toMatchObject({ decision: expect.stringMatching(/^(consistent|inconsistent|inconclusive)$/), face: { age: { level: 0.95 } } });
    // 30 ms left before the margin: decoding a 1920x1080 JPEG alone takes longer, so verify must give up.
    const late = await handler(event, context(SAFETY_MARGIN_MS + 30));
    expect(late).toMatchObject({ error: { code: 'TIMEOUT', message: expect.any(String) } });
  });
});
