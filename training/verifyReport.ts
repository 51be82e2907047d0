/** Markdown tables of verify decisions (models/verify-metrics.json), for the console and the model card. */

interface ScenarioShares { truth: boolean; n: number; consistent: number; inconsistent: number; inconclusive: number }
interface VerifyMetrics {
  chips: number;
  split: string;
  modelVersion: string;
  thresholds: { ageLevel?: number; ageTolerance: number; minGenderConfidence: number; minDetectionScore: number };
  scenarios: Record<string, ScenarioShares>;
  targets: { target: string; value: number; met: boolean }[];
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function verifyTables(m: VerifyMetrics): string {
  const t = m.thresholds;
  const lines = [
    `Verify decisions on ${m.chips} ${m.split} chips (models ${m.modelVersion}; claimed ages checked against the ${Math.round(100 * (t.ageLevel ?? 0.8))}% age range${t.ageTolerance ? ` ± ${t.ageTolerance} y` : ''}, gender confidence >= ${t.minGenderConfidence}, detection score >= ${t.minDetectionScore}). Bold: the right answer.`,
    '',
    '| claim | n | consistent | inconsistent | inconclusive |',
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  for (const [name, s] of Object.entries(m.scenarios)) {
    const mark = (k: 'consistent' | 'inconsistent') => (s.truth === (k === 'consistent') ? `**${pct(s[k])}**` : pct(s[k]));
    lines.push(`| ${name}${s.truth ? ' (true)' : ' (false)'} | ${s.n} | ${mark('consistent')} | ${mark('inconsistent')} | ${pct(s.inconclusive)} |`);
  }
  lines.push('', '| target | value | met |', '| --- | ---: | :---: |');
  for (const target of m.targets) lines.push(`| ${target.target} | ${pct(target.value)} | ${target.met ? 'yes' : 'NO'} |`);
  return lines.join('\n');
}

export { verifyTables };
export type { VerifyMetrics };
