/** Evaluation metrics as plain functions over arrays (no tensors). */

const AGE_BANDS = [
  { name: '0-12', lo: 0, hi: 12 },
  { name: '13-19', lo: 13, hi: 19 },
  { name: '20-39', lo: 20, hi: 39 },
  { name: '40-59', lo: 40, hi: 59 },
  { name: '60+', lo: 60, hi: 200 },
] as const;

/** Index in AGE_BANDS of an age in years (a fractional age, e.g. an estimate, counts with its whole years). */
function ageBandIndex(age: number): number {
  return AGE_BANDS.findIndex((b) => age >= b.lo && age < b.hi + 1);
}

/** The indices of the faces in each age band, in AGE_BANDS order. */
function facesByAgeBand(ages: ArrayLike<number>): number[][] {
  const ids: number[][] = AGE_BANDS.map(() => []);
  for (let i = 0; i < ages.length; i++) ids[ageBandIndex(ages[i])].push(i);
  return ids;
}

/** log(p / (1 - p)), with p kept 1e-6 away from 0 and 1 so a saturated output stays finite. */
function clampedLogit(p: number): number {
  return Math.log(Math.max(p, 1e-6) / Math.max(1 - p, 1e-6));
}

/** Race groups smaller than this are left out of the gender-accuracy gap (issue 2: "200+ test images"). */
const RACE_GAP_MIN_FACES = 200;

/** Gender-accuracy gap (points) between the race groups with RACE_GAP_MIN_FACES or more faces. */
function raceAccuracyGap(races: { name: string; n: number; accuracy: number }[]) {
  const counted = races.filter((g) => g.n >= RACE_GAP_MIN_FACES);
  const accs = counted.map((g) => g.accuracy);
  return {
    groups: counted.map((g) => g.name),
    byRace: Object.fromEntries(counted.map((g) => [g.name, { n: g.n, accuracy: g.accuracy }])),
    gapPoints: 100 * (Math.max(...accs) - Math.min(...accs)),
  };
}

/**
 * Per-face loss weights that even out the age bands: (faces in the face's band)^-power, scaled
 * to mean 1 over the set. power 0: all 1; power 1: every band carries the same total weight.
 */
function ageBandWeights(ages: ArrayLike<number>, power: number): Float32Array {
  const counts = AGE_BANDS.map(() => 0);
  for (let i = 0; i < ages.length; i++) counts[ageBandIndex(ages[i])]++;
  const raw = Float32Array.from(ages, (age) => counts[ageBandIndex(age)] ** -power);
  const scale = ages.length / raw.reduce((s, w) => s + w, 0);
  return raw.map((w) => w * scale);
}

function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return xs.length ? s / xs.length : NaN;
}

/**
 * The value at quantile q (0..1) of the values: the (floor(q x n) + 1)-th smallest, one rank above
 * the textbook nearest rank (ceil(q x n)) when q x n is whole (p50 of 50 runs: the 26th, not the
 * 25th). Kept as is because every p50/p95 in BENCHMARKS.md was ranked this way (it says so).
 */
function quantile(values: ArrayLike<number>, q: number): number {
  const sorted = Array.from(values).sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * The smallest stretch of an interval about its estimate that would have covered `truth`
 * (1 = the interval as it is). `npm run calibrate` picks the stretch from these.
 */
function stretchNeeded(estimate: { value: number; low: number; high: number }, truth: number): number {
  return truth >= estimate.value
    ? (truth - estimate.value) / Math.max(1e-6, estimate.high - estimate.value)
    : (estimate.value - truth) / Math.max(1e-6, estimate.value - estimate.low);
}

/** The stretch that covers a `level` share of faces, given each face's `stretchNeeded`. */
function stretchCovering(needs: number[], level: number): number {
  const sorted = [...needs].sort((a, b) => a - b);
  return sorted[Math.ceil(level * sorted.length) - 1];
}

/**
 * Two classifiers on the same faces: how many faces only `b` gets right (gained) and only `a`
 * (lost), and McNemar's z = (gained - lost) / sqrt(gained + lost), to tell a gain from noise.
 */
function pairedWins(a: boolean[], b: boolean[]): { gained: number; lost: number; z: number } {
  const gained = b.filter((r, i) => r && !a[i]).length;
  const lost = a.filter((r, i) => r && !b[i]).length;
  return { gained, lost, z: gained + lost === 0 ? 0 : (gained - lost) / Math.sqrt(gained + lost) };
}

function accuracy(pFemale: ArrayLike<number>, female: ArrayLike<number>): number {
  let ok = 0;
  for (let i = 0; i < pFemale.length; i++) if ((pFemale[i] >= 0.5 ? 1 : 0) === female[i]) ok++;
  return ok / pFemale.length;
}

/** ROC AUC by the rank statistic (ties count half). */
function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSumPos = 0;
  let pos = 0;
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]] === scores[idx[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (labels[idx[k]] === 1) { rankSumPos += rank; pos++; }
    i = j + 1;
  }
  const neg = idx.length - pos;
  return pos && neg ? (rankSumPos - pos * (pos + 1) / 2) / (pos * neg) : NaN;
}

/** Reliability bins of the predicted class's confidence (0.5..1), for ECE and the plot. */
function reliability(pFemale: ArrayLike<number>, female: ArrayLike<number>, bins = 10) {
  const stats = Array.from({ length: bins }, () => ({ n: 0, confidence: 0, correct: 0 }));
  for (let i = 0; i < pFemale.length; i++) {
    const conf = Math.max(pFemale[i], 1 - pFemale[i]);
    const b = Math.min(bins - 1, Math.floor((conf - 0.5) * 2 * bins));
    stats[b].n++;
    stats[b].confidence += conf;
    stats[b].correct += (pFemale[i] >= 0.5 ? 1 : 0) === female[i] ? 1 : 0;
  }
  return stats.map((s) => ({ n: s.n, confidence: s.n ? s.confidence / s.n : NaN, accuracy: s.n ? s.correct / s.n : NaN }));
}

/** Expected calibration error over 10 equal-width confidence bins. */
function expectedCalibrationError(pFemale: ArrayLike<number>, female: ArrayLike<number>): number {
  const n = pFemale.length;
  return reliability(pFemale, female).reduce((e, b) => (b.n ? e + (b.n / n) * Math.abs(b.accuracy - b.confidence) : e), 0);
}

interface AgeStats { n: number; mae: number; rmse: number; within5: number; coverage: number; meanWidth: number }

function ageStats(pred: ArrayLike<number>, truth: ArrayLike<number>, low?: ArrayLike<number>, high?: ArrayLike<number>): AgeStats {
  let abs = 0; let sq = 0; let w5 = 0; let covered = 0; let width = 0;
  for (let i = 0; i < pred.length; i++) {
    const e = pred[i] - truth[i];
    abs += Math.abs(e); sq += e * e;
    if (Math.abs(e) <= 5) w5++;
    if (low && high) {
      if (truth[i] >= low[i] && truth[i] <= high[i]) covered++;
      width += high[i] - low[i];
    }
  }
  const n = pred.length;
  return { n, mae: abs / n, rmse: Math.sqrt(sq / n), within5: w5 / n, coverage: low ? covered / n : NaN, meanWidth: low ? width / n : NaN };
}

/** Indices of rows matching a predicate. */
function where(n: number, keep: (i: number) => boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (keep(i)) out.push(i);
  return out;
}

function pick<T extends ArrayLike<number>>(xs: T, idx: number[]): number[] {
  return idx.map((i) => xs[i]);
}

export { AGE_BANDS, ageBandIndex, facesByAgeBand, clampedLogit, ageBandWeights, raceAccuracyGap, mean, quantile, stretchNeeded, stretchCovering, accuracy, pairedWins, rocAuc, reliability, expectedCalibrationError, ageStats, where, pick };
export type { AgeStats };
