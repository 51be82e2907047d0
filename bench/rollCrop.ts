/**
 * Tilted heads: 60 UTKFace test chips, each resized to 400 px, pasted into an 800x800 grey photo
 * and rotated by 0-30 degrees; the analyzer (detection on) on each. Age MAE and gender accuracy
 * per roll show what straightening the crop by the eye line (lib/faceDetector.ts rollOf) buys.
 *   npx tsx bench/rollCrop.ts [--data=../shared/data]
 */
import { Jimp } from 'jimp';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getAnalyzer } from '../lib/analyzer.js';
import { parseCommandLine } from '../training/overrides.js';
import { DEFAULT_DATA_DIR } from '../training/config.js';
const { data } = parseCommandLine({ data: DEFAULT_DATA_DIR });
const a = await getAnalyzer();
const rows = readFileSync(join(data, 'utkface.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')).filter((c) => c[4] === 'test');
for (const deg of [0, 5, 10, 20, 30]) {
  let err = 0, ok = 0, n = 0, found = 0;
  for (let k = 0; k < 60; k++) {
    const [file, age, gender] = rows[k * 37];
    const chip = await Jimp.read(readFileSync(join(data, 'utkface', file)));
    chip.resize({ w: 400, h: 400 });
    const canvas = new Jimp({ width: 800, height: 800, color: 0x808080ff }).composite(chip, 200, 200);
    if (deg) canvas.rotate({ deg, mode: 'bilinearInterpolation' } as any);
    const buf = await canvas.getBuffer('image/png');
    n++;
    try {
      const f = (await a.analyze(buf, { maxFaces: 1 })).faces[0];
      found++; err += Math.abs(f.age.value - Number(age)); if (f.gender.value === gender) ok++;
    } catch { /* no face: counted in n, not in found */ }
  }
  console.log(`bench=roll-crop roll_deg=${deg} n=${n} found=${found} age_mae=${(err / found).toFixed(2)} gender_pct=${(100 * ok / found).toFixed(1)}`);
}
