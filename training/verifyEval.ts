/**
 * How often lib/verify.ts decides right on the test split: the analyzer (detection on) runs once
 * per chip, then `decideVerification` with the default thresholds judges true and false claims.
 *   npx tsx training/verifyEval.ts [--data=../shared/data] [--split=test|val] [--limit=N] [--out=<file>]
 * (--out defaults to models/verify-metrics.json for the full test split, the committed artifact, and
 * to .cache/verify-metrics-<split>[-<limit>].json otherwise, so a sample or val run never overwrites it)
 * Writes the metrics JSON and prints a markdown table, then one summary line.
 *
 * Claims: "true" claims the labelled age and sex together (the real use); the false claims
 * change one attribute and claim only that one, so the row measures that check alone (with a
 * true second attribute, a wrongly flagged true attribute would count as "caught").
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createAnalyzer } from '../lib/analyzer.js';
import type { FaceResult } from '../lib/analyzer.js';
import { getConfig } from '../lib/config.js';
import { AppError } from '../lib/errors.js';
import { analyzeOptionsFor, decideVerification, thresholdsFrom } from '../lib/verify.js';
import type { Decision, ResolvedClaim } from '../lib/verify.js';
import { loadRows } from './data.js';
import type { FaceRow } from './data.js';
import { parseCommandLine, UsageError } from './overrides.js';
import { updateReadmeSection } from './readmeSections.js';
import { verifyTables } from './verifyReport.js';
import { mulberry32, shuffleInPlace } from './random.js';
import { DEFAULT_DATA_DIR } from './config.js';

// --- config -----------------------------------------------------------------
const defaults = {
  data: DEFAULT_DATA_DIR, // folder with utkface.csv and utkface/
  split: 'test', // report on test; use val to tune the VERIFY_* thresholds
  limit: 0, // chips to evaluate, a seeded random sample of the split; 0 = all
  seed: 1337, // sampling seed for --limit
  out: '', // metrics file; default: see the comment at the top
};
const opts = parseCommandLine(defaults);
const COMMITTED_METRICS = 'models/verify-metrics.json';
const isFullTestRun = opts.split === 'test' && opts.limit === 0;
const outPath = resolve(opts.out || (isFullTestRun ? COMMITTED_METRICS : `.cache/verify-metrics-${opts.split}${opts.limit ? `-${opts.limit}` : ''}.json`));
if (!Number.isInteger(opts.limit) || opts.limit < 0) throw new UsageError(`--limit must be a non-negative integer, got ${opts.limit}`);

/** Each scenario turns a labelled row into a claim, or undefined when it does not apply (a negative age). */
const SCENARIOS: { name: string; truth: boolean; claim: (row: FaceRow) => ResolvedClaim | undefined }[] = [
  { name: 'true age + sex', truth: true, claim: (r) => ({ age: r.age, gender: r.gender }) },
  { name: 'true age only', truth: true, claim: (r) => ({ age: r.age }) },
  { name: 'true sex only', truth: true, claim: (r) => ({ gender: r.gender }) },
  { name: 'age +10', truth: false, claim: (r) => ({ age: r.age + 10 }) },
  { name: 'age -10', truth: false, claim: (r) => (r.age >= 10 ? { age: r.age - 10 } : undefined) },
  { name: 'age +20', truth: false, claim: (r) => ({ age: r.age + 20 }) },
  { name: 'age -20', truth: false, claim: (r) => (r.age >= 20 ? { age: r.age - 20 } : undefined) },
  { name: 'other sex', truth: false, claim: (r) => ({ gender: r.gender === 'female' ? 'male' : 'female' }) },
];
/** Rows merged into one reported line (both directions of the same lie). */
const MERGED = [{ name: 'age ±10', parts: ['age +10', 'age -10'] }, { name: 'age ±20', parts: ['age +20', 'age -20'] }];
/** The issue's targets: [row, which share, comparison, bound]. */
const TARGETS = [
  { row: 'true age + sex', share: 'inconsistent', max: 0.05, label: 'true claims wrongly inconsistent <= 5%' },
  { row: 'age ±20', share: 'inconsistent', min: 0.9, label: '20 years off caught >= 90%' },
  { row: 'other sex', share: 'inconsistent', min: 0.9, label: 'wrong sex caught >= 90%' },
] as const;

// --- inputs -----------------------------------------------------------------
const dir = resolve(opts.data);
if (!['val', 'test'].includes(opts.split)) throw new UsageError('--split must be val or test');
const all = loadRows(dir).filter((r) => r.split === opts.split);
const rows = opts.limit > 0 ? shuffleInPlace([...all], mulberry32(opts.seed)).slice(0, opts.limit) : all;
const config = getConfig();
const thresholds = thresholdsFrom(config);
const analyzer = await createAnalyzer(config);
console.error(`verifyEval: ${rows.length} of ${all.length} test chips from ${dir}, models ${analyzer.modelVersion}`);

// --- work: analyse each chip once, then judge every scenario's claim ------------------
type Counts = { n: number } & Record<Decision, number>;
const empty = (): Counts => ({ n: 0, consistent: 0, inconsistent: 0, inconclusive: 0 });
const counts = new Map(SCENARIOS.map((s) => [s.name, empty()]));
const faceCounts = { none: 0, one: 0, multiple: 0, lowDetectionScore: 0, lowGenderConfidence: 0, analyzerErrors: 0 };
const started = performance.now();
for (const [i, row] of rows.entries()) {
  let faces: FaceResult[];
  try {
    faces = (await analyzer.analyze(readFileSync(join(dir, 'utkface', row.file)), analyzeOptionsFor(thresholds))).faces;
  } catch (error) {
    if (!(error instanceof AppError && error.code === 'NO_FACE')) {
      faceCounts.analyzerErrors++;
      console.error(`${row.file}: ${error instanceof Error ? error.message : String(error)}`);
    }
    faces = [];
  }
  faceCounts[faces.length === 0 ? 'none' : faces.length === 1 ? 'one' : 'multiple']++;
  if (faces.length === 1 && faces[0].detectionScore !== null && faces[0].detectionScore < thresholds.minDetectionScore) faceCounts.lowDetectionScore++;
  if (faces.length === 1 && faces[0].gender.confidence < thresholds.minGenderConfidence) faceCounts.lowGenderConfidence++;
  for (const scenario of SCENARIOS) {
    const claim = scenario.claim(row);
    if (!claim) continue;
    const c = counts.get(scenario.name)!;
    c.n++;
    c[decideVerification(faces, claim, thresholds).decision]++;
  }
  if ((i + 1) % 100 === 0) console.error(`  ${i + 1}/${rows.length} (${((performance.now() - started) / (i + 1)).toFixed(0)} ms/chip)`);
}
for (const merged of MERGED) {
  const sum = empty();
  for (const part of merged.parts) for (const k of ['n', 'consistent', 'inconsistent', 'inconclusive'] as const) sum[k] += counts.get(part)![k];
  counts.set(merged.name, sum);
}

// --- write the artifact and the report ------------------------------------------
const share = (c: Counts, k: Decision) => (c.n === 0 ? 0 : Number((c[k] / c.n).toFixed(4)));
const scenarios = Object.fromEntries([...counts].map(([name, c]) => [name, {
  truth: SCENARIOS.find((s) => s.name === name)?.truth ?? false, n: c.n,
  consistent: share(c, 'consistent'), inconsistent: share(c, 'inconsistent'), inconclusive: share(c, 'inconclusive'),
}]));
const targets = TARGETS.map((t) => {
  const value = scenarios[t.row][t.share];
  return { target: t.label, value, met: 'max' in t ? value <= t.max : value >= t.min };
});
const metrics = {
  split: opts.split, chips: rows.length, ofChips: all.length, sampleSeed: opts.limit > 0 ? opts.seed : null,
  modelVersion: analyzer.modelVersion, detect: true, thresholds, faces: faceCounts, scenarios, targets,
};
mkdirSync(dirname(outPath), { recursive: true });
writeFileSync(outPath, `${JSON.stringify(metrics, null, 2)}\n`);

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
console.log(verifyTables(metrics));
console.log(`\nfaces per chip: none ${faceCounts.none}, one ${faceCounts.one}, several ${faceCounts.multiple}; one face but low detection score ${faceCounts.lowDetectionScore}, low gender confidence ${faceCounts.lowGenderConfidence}; analyzer errors ${faceCounts.analyzerErrors}`);
console.log(`wrote ${outPath}`);
// The README quotes the full-split test figures for the shipped models; a sample or val run leaves it alone.
if (isFullTestRun && outPath === resolve(COMMITTED_METRICS)) updateReadmeSection('README.md', 'verify', verifyTables(metrics));
console.log(`verify n=${rows.length} true_inconsistent=${pct(scenarios['true age + sex'].inconsistent)} age20_caught=${pct(scenarios['age ±20'].inconsistent)} sex_caught=${pct(scenarios['other sex'].inconsistent)} true_inconclusive=${pct(scenarios['true age + sex'].inconclusive)} targets_met=${targets.filter((t) => t.met).length}/${targets.length}`);
