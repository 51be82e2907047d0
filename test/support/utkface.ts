/**
 * Test data from UTKFace (outside the repo: ../shared/data, or UTKFACE_DIR): a fixed sample of
 * `test`-split chips, photos composed from chips on a coloured background, and the models'
 * measured figures from models/metrics.json. Missing data fails the suite: a run that tests
 * nothing must not pass.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Jimp } from 'jimp';

const DATA_DIR = resolve(process.env.UTKFACE_DIR ?? '../shared/data');
const METRICS_FILE = resolve(import.meta.dirname, '..', '..', 'models', 'metrics.json');
if (!existsSync(join(DATA_DIR, 'utkface.csv'))) {
  throw new Error(`UTKFace not found at ${DATA_DIR}: set UTKFACE_DIR or place it at ../shared/data`);
}

interface Chip {
  file: string;
  age: number;
  gender: 'female' | 'male';
}

/** A chip placed on a composed photo: top-left corner and side, pixels. */
interface Placement {
  chip: Chip;
  x: number;
  y: number;
  size: number;
}

/** What the tests compare predictions with (evaluate.ts); `service` is the JPEG -> analyzer path. */
interface Metrics {
  test: { gender: { accuracy: number }; age: { mae: number } };
  service?: {
    detectOn?: { genderAccuracy: number; ageMae: number; faceFoundRate: number };
    detectOff?: { genderAccuracy: number; ageMae: number; faceFoundRate: number };
  } | null;
}

function testChips(): Chip[] {
  return readFileSync(join(DATA_DIR, 'utkface.csv'), 'utf8').trim().split(/\r?\n/).slice(1)
    .map((line) => line.split(','))
    .filter((cols) => cols[4] === 'test')
    .map((cols) => ({ file: cols[0], age: Number(cols[1]), gender: cols[2] as Chip['gender'] }))
    .sort((a, b) => a.file.localeCompare(b.file));
}

/** `count` test chips evenly spaced in file-name order (ages then sexes vary across the sample). */
function sampleTestChips(count: number): Chip[] {
  const chips = testChips();
  const step = Math.floor(chips.length / count);
  return Array.from({ length: count }, (_, i) => chips[i * step + Math.floor(step / 2)]);
}

function readChip(chip: Chip): Buffer {
  return readFileSync(join(DATA_DIR, 'utkface', chip.file));
}

/** A JPEG of `width`x`height` in `color` (0xRRGGBBAA) with each chip resized to `size` at (x, y). */
async function composePhoto(width: number, height: number, color: number, placements: Placement[]): Promise<Buffer> {
  const photo = new Jimp({ width, height, color });
  for (const p of placements) {
    const chip = await Jimp.read(readChip(p.chip));
    chip.resize({ w: p.size, h: p.size });
    photo.composite(chip, p.x, p.y);
  }
  return photo.getBuffer('image/jpeg', { quality: 90 });
}

function loadMetrics(): Metrics {
  return JSON.parse(readFileSync(METRICS_FILE, 'utf8')) as Metrics;
}

export { sampleTestChips, testChips, readChip, composePhoto, loadMetrics, DATA_DIR };
export type { Chip, Placement, Metrics };
