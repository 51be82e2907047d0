/**
 * The data and feature steps take their flags through parseOverrides: a typo or a non-number
 * is an error, not a silently ignored flag or a NaN-sized feature file.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DATA_DIR } from '../../training/config.js';
import { featureOptions } from '../../training/features.js';

describe('npm run features options', () => {
  it('defaults to 64x3 features from the default data folder', () => {
    expect(featureOptions([])).toEqual({ spec: { size: 64, channels: 3 }, data: resolve(DEFAULT_DATA_DIR) });
  });

  it('takes --key=value and --key value', () => {
    expect(featureOptions(['--size=48', '--channels', '1', '--data=/tmp/utk'])).toEqual({ spec: { size: 48, channels: 1 }, data: '/tmp/utk' });
  });

  it('refuses a size that is not a number', () => {
    expect(() => featureOptions(['--size=abc'])).toThrow(/--size must be a number, got abc/);
  });

  it('refuses sizes and channel counts no model could use', () => {
    expect(() => featureOptions(['--size=0'])).toThrow(/--size must be a positive integer/);
    expect(() => featureOptions(['--size=31.5'])).toThrow(/--size must be a positive integer/);
    expect(() => featureOptions(['--channels=2'])).toThrow(/--channels must be 1 or 3/);
  });

  it('refuses an unknown flag instead of ignoring it', () => {
    expect(() => featureOptions(['--sise=48'])).toThrow(/unknown option --sise; known: size, channels, data/);
  });
});
