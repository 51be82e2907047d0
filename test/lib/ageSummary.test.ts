/**
 * The age head's output distribution -> { value, low, high }: the point estimate is the median,
 * the interval the central `level` mass, stretched about the median by the calibrated scale.
 */
import { describe, expect, it } from 'vitest';
import { summariseAgeDistribution } from '../../lib/models.js';

function distribution(weights: Record<number, number>): Float32Array {
  const p = new Float32Array(117);
  for (const [age, w] of Object.entries(weights)) p[Number(age)] = w;
  return p;
}

describe('summariseAgeDistribution', () => {
  it('puts the estimate at the median, not the mean, of a skewed distribution', () => {
    // Mass 0.6 at 20, 0.4 at 60: mean 36, median inside the bin of 20.
    const { value } = summariseAgeDistribution(distribution({ 20: 0.6, 60: 0.4 }), 0.8, 1);
    expect(value).toBeGreaterThanOrEqual(19.5);
    expect(value).toBeLessThanOrEqual(20.5);
  });

  it('centres a symmetric distribution and covers its central mass', () => {
    const p = distribution({ 29: 0.25, 30: 0.5, 31: 0.25 });
    const { value, low, high, level } = summariseAgeDistribution(p, 0.5, 1);
    expect(value).toBeCloseTo(30, 5);
    expect(level).toBe(0.5);
    // The central 50% of this distribution is bin 30 itself: [29.5, 30.5].
    expect(low).toBeCloseTo(29.5, 5);
    expect(high).toBeCloseTo(30.5, 5);
  });

  it('stretches the interval about the median by the scale, clamped to 0..116', () => {
    const p = distribution({ 1: 0.2, 2: 0.6, 3: 0.2 });
    const unit = summariseAgeDistribution(p, 0.8, 1);
    const wide = summariseAgeDistribution(p, 0.8, 10);
    expect(wide.value).toBeCloseTo(unit.value, 6);
    expect(wide.low).toBe(0);
    expect(wide.high - wide.value).toBeCloseTo(10 * (unit.high - unit.value), 4);
  });

  it('keeps every figure within 0..116 when all the mass sits in an end bin', () => {
    for (const end of [0, 116]) {
      const { value, low, high } = summariseAgeDistribution(distribution({ [end]: 1 }), 0.8, 3);
      for (const x of [value, low, high]) { expect(x).toBeGreaterThanOrEqual(0); expect(x).toBeLessThanOrEqual(116); }
      expect(low).toBeLessThanOrEqual(value);
      expect(high).toBeGreaterThanOrEqual(value);
    }
  });

  it('accepts an unnormalised distribution', () => {
    const a = summariseAgeDistribution(distribution({ 40: 1, 50: 3 }), 0.8, 1);
    const b = summariseAgeDistribution(distribution({ 40: 0.25, 50: 0.75 }), 0.8, 1);
    expect(a).toEqual(b);
  });
});
