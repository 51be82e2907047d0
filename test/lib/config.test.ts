/**
 * lib/config.ts refuses, at cold start, settings that would otherwise break every request later
 * (a 500 from the detector, a check that can never pass, results re-triggering the function).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config.js';

const saved = { ...process.env };
afterEach(() => { process.env = { ...saved }; });

describe('loadConfig', () => {
  it.each([
    ['MIN_DETECTION_SCORE', '1.5', /between 0 and 1/],
    ['VERIFY_MIN_GENDER_CONFIDENCE', '2', /between 0 and 1/],
    ['VERIFY_AGE_LEVEL', '1', /between 0 and 1 \(exclusive\)/],
    ['VERIFY_AGE_LEVEL', '0', /between 0 and 1 \(exclusive\)/],
    ['MAX_FACES_LIMIT', '0', /whole number >= 1/],
    ['MAX_JPEG_SCANS', '2.5', /whole number >= 1/],
    ['MAX_IMAGE_BYTES', 'lots', /non-negative number/],
    ['S3_INPUT_PREFIX', '', /must not be empty/],
    ['MAX_IMAGE_ASPECT', '0.5', /at least 1/],
    ['TIME_BUDGET_MS', '0', /whole number >= 1/],
    ['MAX_JSON_DEPTH', '1', /whole number >= 2/],
    ['MIN_IMAGE_SIDE', '20000', /must not exceed MAX_IMAGE_SIDE/],
    ['DECODE_WEBP', 'no', /true or false/],
  ])('refuses %s=%j with a ConfigError naming it', (name, value, message) => {
    process.env[name] = value;
    expect(() => loadConfig()).toThrow(ConfigError);
    expect(() => loadConfig()).toThrow(new RegExp(`${name}.*${message.source}|${message.source}.*${name}`));
  });

  it('treats unset and empty optional strings as their defaults', () => {
    process.env.S3_RESULTS_BUCKET = '';
    delete process.env.VERIFY_S3_BUCKET;
    expect(loadConfig()).toMatchObject({ s3ResultsBucket: '', verifyS3Bucket: '', s3InputPrefix: 'uploads/' });
  });
});
