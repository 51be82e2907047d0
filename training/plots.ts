/** Dependency-free SVG plots for the model card. */

const W = 420;
const H = 420;
const PAD = 48;

function frame(title: string, xLabel: string, yLabel: string, body: string, xMax: number, yMax: number, ticks: number[]): string {
  const sx = (v: number) => PAD + (v / xMax) * (W - 2 * PAD);
  const sy = (v: number) => H - PAD - (v / yMax) * (H - 2 * PAD);
  const grid = ticks.map((t) => `<line x1="${sx(t)}" y1="${sy(0)}" x2="${sx(t)}" y2="${sy(yMax)}" stroke="#eee"/>` +
    `<line x1="${sx(0)}" y1="${sy(t * yMax / xMax)}" x2="${sx(xMax)}" y2="${sy(t * yMax / xMax)}" stroke="#eee"/>` +
    `<text x="${sx(t)}" y="${H - PAD + 16}" font-size="11" text-anchor="middle">${t}</text>` +
    `<text x="${PAD - 6}" y="${sy(t * yMax / xMax) + 4}" font-size="11" text-anchor="end">${+(t * yMax / xMax).toFixed(2)}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">` +
    `<rect width="${W}" height="${H}" fill="white"/>${grid}` +
    `<rect x="${PAD}" y="${PAD}" width="${W - 2 * PAD}" height="${H - 2 * PAD}" fill="none" stroke="#333"/>` +
    `<text x="${W / 2}" y="24" font-size="14" text-anchor="middle">${title}</text>` +
    `<text x="${W / 2}" y="${H - 10}" font-size="12" text-anchor="middle">${xLabel}</text>` +
    `<text x="14" y="${H / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${H / 2})">${yLabel}</text>` +
    `${body.replace(/SX\(([^)]+)\)/g, (_, v) => sx(Number(v)).toFixed(1)).replace(/SY\(([^)]+)\)/g, (_, v) => sy(Number(v)).toFixed(1))}</svg>\n`;
}

/** Predicted vs true age, one translucent dot per test face, with the identity line. */
function scatterSvg(truth: number[], pred: number[]): string {
  const max = 100;
  const dots = truth.map((t, i) => `<circle cx="SX(${Math.min(t, max)})" cy="SY(${Math.min(Math.max(pred[i], 0), max)})" r="1.6" fill="#1f77b4" fill-opacity="0.35"/>`).join('');
  const line = `<line x1="SX(0)" y1="SY(0)" x2="SX(${max})" y2="SY(${max})" stroke="#d62728" stroke-width="1.5"/>`;
  return frame('Predicted vs true age (test)', 'true age (years, capped at 100)', 'predicted age (years)', dots + line, max, max, [0, 20, 40, 60, 80, 100]);
}

/** Reliability diagram of the predicted class's confidence. */
function calibrationSvg(bins: { n: number; confidence: number; accuracy: number }[]): string {
  // Map confidence 0.5..1 onto 0..1 on the x axis, accuracy 0.5..1 onto the y axis.
  const pts = bins.filter((b) => b.n > 0).map((b) => ({ x: (b.confidence - 0.5) * 2, y: Math.max(0, (b.accuracy - 0.5) * 2), n: b.n }));
  const maxN = Math.max(...pts.map((p) => p.n));
  const body = `<line x1="SX(0)" y1="SY(0)" x2="SX(1)" y2="SY(1)" stroke="#999" stroke-dasharray="4"/>` +
    `<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="${pts.map((p) => `SX(${p.x}),SY(${p.y})`).join(' ')}"/>` +
    pts.map((p) => `<circle cx="SX(${p.x})" cy="SY(${p.y})" r="${2 + 6 * Math.sqrt(p.n / maxN)}" fill="#1f77b4" fill-opacity="0.6"/>`).join('');
  return frame('Gender calibration (test)', 'confidence, 0 = 0.5 ... 1 = 1.0', 'accuracy, 0 = 0.5 ... 1 = 1.0', body, 1, 1, [0, 0.2, 0.4, 0.6, 0.8, 1]);
}

export { scatterSvg, calibrationSvg };
