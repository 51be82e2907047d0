/**
 * --balanceAges: the loss weights must keep the loss's scale (mean 1 over train) and, at power 1,
 * give every age band the same total weight however unevenly train fills the bands.
 */
import { describe, expect, it } from 'vitest';
import { AGE_BANDS, ageBandIndex, ageBandWeights, raceAccuracyGap } from '../../training/metrics.js';

// 1 child, 2 teenagers, 6 adults of 20-39, none of 40-59, 3 over 60: uneven on purpose.
const ages = Float32Array.from([5, 15, 19, 20, 25, 30, 35, 39, 22, 60, 75, 116]);
const bandOf = (age: number) => AGE_BANDS.findIndex((b) => age >= b.lo && age <= b.hi);
const sum = (xs: Iterable<number>) => [...xs].reduce((s, x) => s + x, 0);

describe('ageBandWeights', () => {
  it('is all ones at power 0', () => {
    expect([...ageBandWeights(ages, 0)]).toEqual(Array(ages.length).fill(1));
  });

  it('averages 1 and gives every filled band the same total at power 1', () => {
    const w = ageBandWeights(ages, 1);
    expect(sum(w) / w.length).toBeCloseTo(1, 5);
    const totals = new Map<number, number>();
    ages.forEach((age, i) => totals.set(bandOf(age), (totals.get(bandOf(age)) ?? 0) + w[i]));
    expect(totals.size).toBe(4);
    for (const total of totals.values()) expect(total).toBeCloseTo(ages.length / 4, 5);
  });

  it('weighs a rarer band higher at power 0.5, by the square root of the count ratio', () => {
    const w = ageBandWeights(ages, 0.5);
    expect(w[0] / w[3]).toBeCloseTo(Math.sqrt(6 / 1), 5); // the one child vs an adult of 20-39
    expect(w[1]).toBeCloseTo(w[2], 6); // same band, same weight
  });
});

describe('ageBandIndex', () => {
  it('puts whole and fractional ages in the band of their whole years', () => {
    expect([0, 12, 12.9, 13, 19.5, 20, 39, 40, 59.99, 60, 116].map(ageBandIndex)).toEqual([0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
  });
});

describe('raceAccuracyGap', () => {
  it('spans the race groups of 200+ faces only, in points', () => {
    const gap = raceAccuracyGap([
      { name: 'A', n: 400, accuracy: 0.95 }, { name: 'B', n: 199, accuracy: 0.5 }, { name: 'C', n: 200, accuracy: 0.91 },
    ]);
    expect(gap.groups).toEqual(['A', 'C']);
    expect(gap.gapPoints).toBeCloseTo(4, 6);
    expect(gap.byRace).toEqual({ A: { n: 400, accuracy: 0.95 }, C: { n: 200, accuracy: 0.91 } });
  });
});
