/**
 * Tunes the verify thresholds on `val` (never `test`): runs the analyzer once per val chip and
 * age level, then sweeps age level x tolerance x minimum gender confidence and prints, for each, the share
 * of true claims wrongly `inconsistent` and the catch rates of false claims. Pick the setting,
 * set it as the default in lib/config.ts, then report on test with training/verifyEval.ts.
 *   npx tsx training/tuneVerify.ts [--data=../shared/data] [--maxTrueInconsistent=0.04] [--levels=0.8,0.9,0.95,0.97,0.98,0.99]
 * (the analyzer runs once per level: each level costs one pass over val)
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createAnalyzer } from '../lib/analyzer.js';
import type { FaceResult } from '../lib/analyzer.js';
import { getConfig } from '../lib/config.js';
import { AppError } from '../lib/errors.js';
import { analyzeOptionsFor, decideVerification, thresholdsFrom } from '../lib/verify.js';
import type { ResolvedClaim } from '../lib/verify.js';
import { DEFAULT_DATA_DIR } from './config.js';
import { loadRows } from './data.js';
import { parseCommandLine, UsageError } from './overrides.js';

const opts = parseCommandLine({ data: DEFAULT_DATA_DIR, maxTrueInconsistent: 0.04, levels: '0.8,0.9,0.95,0.97,0.98,0.99' });
const dir = resolve(opts.data);
const rows = loadRows(dir).filter((r) => r.split === 'val');
const config = getConfig();
const analyzer = await createAnalyzer(config);
// The analyzer runs once per chip and age level (the range a claim is checked against).
const LEVELS = opts.levels.split(',').map(Number);
if (LEVELS.some((l) => !(l > 0 && l < 1))) throw new UsageError(`--levels must be comma-separated numbers in (0, 1), got ${opts.levels}`);
const facesAt = new Map<number, FaceResult[][]>();
for (const ageLevel of LEVELS) {
  const faces: FaceResult[][] = [];
  const options = analyzeOptionsFor({ ...thresholdsFrom(config), ageLevel });
  for (const row of rows) {
    try {
      faces.push((await analyzer.analyze(readFileSync(join(dir, 'utkface', row.file)), options)).faces);
    } catch (error) {
      // Only "no face" is a verify outcome; anything else (a TIMEOUT on a busy machine, a bug) would bias the rates.
      if (!(error instanceof AppError && error.code === 'NO_FACE')) throw new Error(`${row.file}: analyzer failed`, { cause: error });
      faces.push([]);
    }
  }
  facesAt.set(ageLevel, faces);
  const found = faces.flatMap((f, i) => (f.length === 1 ? [[f[0], rows[i].age] as const] : []));
  const covered = found.filter(([f, age]) => age >= f.age.low && age <= f.age.high).length;
  console.error(`age level ${ageLevel}: the range covers ${(100 * covered / found.length).toFixed(1)}% of ${found.length} single-face val chips`);
}

type Rates = { level: number; tol: number; conf: number; trueWrong: number; trueInconclusive: number; age20: number; age10: number; sex: number };
const results: Rates[] = [];
for (const [level, faces] of facesAt) {
  for (let tol = 0; tol <= 10; tol += 1) {
    for (const conf of [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97]) {
      const th = { ageLevel: level, ageTolerance: tol, minGenderConfidence: conf, minDetectionScore: config.verifyMinDetectionScore };
      const share = (claimOf: (i: number) => ResolvedClaim | undefined, decision: string) => {
        let n = 0; let k = 0;
        rows.forEach((_, i) => { const c = claimOf(i); if (!c) return; n++; if (decideVerification(faces[i], c, th).decision === decision) k++; });
        return k / n;
      };
      const truth = (i: number) => ({ age: rows[i].age, gender: rows[i].gender });
      const off = (d: number) => (i: number) => (i % 2 === 0 || rows[i].age < d ? { age: rows[i].age + d } : { age: rows[i].age - d });
      results.push({
        level, tol, conf,
        trueWrong: share(truth, 'inconsistent'), trueInconclusive: share(truth, 'inconclusive'),
        age10: share(off(10), 'inconsistent'), age20: share(off(20), 'inconsistent'),
        sex: share((i) => ({ gender: rows[i].gender === 'female' ? 'male' : 'female' }), 'inconsistent'),
      });
    }
  }
}
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
console.log('| age level | tolerance | min gender conf | true wrongly inconsistent | true inconclusive | age ±10 caught | age ±20 caught | other sex caught |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of results.filter((x) => x.trueWrong <= opts.maxTrueInconsistent)) {
  console.log(`| ${r.level} | ${r.tol} | ${r.conf} | ${pct(r.trueWrong)} | ${pct(r.trueInconclusive)} | ${pct(r.age10)} | ${pct(r.age20)} | ${pct(r.sex)} |`);
}
