/**
 * Calibrates the crop rule in lib/faceDetector.ts (`trainingCropFor`): runs the face detector
 * on UTKFace chips and measures where its box and keypoints sit in the chip. Our models learn
 * from whole chips, so at serving time a face must be cropped the way a chip frames it.
 *   npx tsx training/calibrateCrop.ts [--data=../shared/data]
 * Fits the constants of both rules (box only; keypoints) on `val`, and reports the IoU of
 * trainingCropFor (with the constants currently in lib/) with the whole chip on `val` and
 * `test`. `test` is only measured, never fitted on (shared/data/README.md). After a re-fit,
 * copy the printed constants into lib/faceDetector.ts and run again for the IoU figures.
 * Uses images only, never labels. Deterministic: no sampling, every chip of both splits.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Jimp } from 'jimp';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_DATA_DIR } from './config.js';
import { parseCommandLine } from './overrides.js';
import { quantile } from './metrics.js';
import { loadRows } from './data.js';
import type { Split } from './data.js';
import { intersectionArea, keypointGeometry, loadFaceDetector, trainingCropFor } from '../lib/faceDetector.js';
import type { DetectedFace, FaceDetector } from '../lib/faceDetector.js';
import type { PixelBox } from '../lib/preprocess.js';

/** The detector's default threshold, as serving uses it. */
const MIN_SCORE = 0.5;
/** The IoU a crop should beat to count as framing the face like the chip. */
const GOOD_IOU = 0.8;

/** The largest detected face in one chip (as serving picks it; for a chip, the chip's face). */
interface ChipFace {
  file: string;
  width: number;
  height: number;
  face: DetectedFace;
}

interface SplitRun {
  split: Split;
  chips: number;
  faces: ChipFace[];
  missed: string[];
  /** Detect latency per chip (preprocess + model + NMS + readback), ms. */
  ms: number[];
  above75: number;
  multi: number;
}

function iou(a: PixelBox, b: PixelBox): number {
  const inter = intersectionArea(a, b);
  return inter / (a.width * a.height + b.width * b.height - inter);
}

function meanSd(values: number[]): { mean: number; sd: number } {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
  return { mean, sd };
}

const fmt = (v: number, digits = 4) => v.toFixed(digits);
const stat = (values: number[]) => {
  const { mean, sd } = meanSd(values);
  return `${fmt(mean)} (sd ${fmt(sd)})`;
};
// Chips are square, but normalise by the mean of the two sides in case one is not.
const chipSide = (c: ChipFace) => (c.width + c.height) / 2;
const wholeChip = (c: ChipFace): PixelBox => ({ left: 0, top: 0, width: c.width, height: c.height });

async function detectSplit(detector: FaceDetector, dir: string, split: Split): Promise<SplitRun> {
  const rows = loadRows(dir, false).filter((r) => r.split === split);
  const run: SplitRun = { split, chips: rows.length, faces: [], missed: [], ms: [], above75: 0, multi: 0 };
  for (const [i, row] of rows.entries()) {
    const image = (await Jimp.read(readFileSync(join(dir, 'utkface', row.file)))).bitmap;
    const start = performance.now();
    const faces = await detector.detect(image, { minScore: MIN_SCORE });
    run.ms.push(performance.now() - start);
    if ((i + 1) % 500 === 0) console.log(`${split} ${i + 1}/${rows.length}`);
    if (faces.length === 0) {
      run.missed.push(row.file);
      continue;
    }
    if (faces.length > 1) run.multi++;
    if (faces[0].score >= 0.75) run.above75++;
    run.faces.push({ file: row.file, width: image.width, height: image.height, face: faces[0] });
  }
  return run;
}

function printDetection(run: SplitRun): void {
  const found = run.faces.length;
  console.log(`\n${run.split}: face found (score >= ${MIN_SCORE}) in ${found}/${run.chips} = ${fmt((100 * found) / run.chips, 2)}% of chips; `
    + `largest box score >= 0.75: ${fmt((100 * run.above75) / run.chips, 2)}%; chips with 2+ boxes: ${run.multi}`);
  console.log(`  detect ms: p50 ${fmt(quantile(run.ms, 0.5), 1)}, p90 ${fmt(quantile(run.ms, 0.9), 1)}, max ${fmt(Math.max(...run.ms), 1)}`);
  if (run.missed.length) console.log(`  missed: ${run.missed.join(', ')}`);
}

/** Box rule: where the box sits in the chip, per chip side. */
function fitBoxRule(faces: ChipFace[]): void {
  const size = faces.map((c) => (c.face.box.width + c.face.box.height) / 2 / chipSide(c));
  const dx = faces.map((c) => (c.face.box.left + c.face.box.width / 2 - c.width / 2) / c.width);
  const dy = faces.map((c) => (c.face.box.top + c.face.box.height / 2 - c.height / 2) / c.height);
  console.log('\nbox rule, box relative to the chip side:');
  console.log(`  width ${stat(faces.map((c) => c.face.box.width / c.width))}, height ${stat(faces.map((c) => c.face.box.height / c.height))}`);
  console.log(`  CHIP_FACE_SIZE = ${fmt(meanSd(size).mean)}  (mean of width and height; sd ${fmt(meanSd(size).sd)})`);
  console.log(`  CHIP_FACE_DX = ${fmt(meanSd(dx).mean)}  (box centre x - chip centre; sd ${fmt(meanSd(dx).sd)})`);
  console.log(`  CHIP_FACE_DY = ${fmt(meanSd(dy).mean)}  (box centre y - chip centre, negative = above; sd ${fmt(meanSd(dy).sd)})`);
}

/**
 * Keypoint rule: side = a x eyeDistance + b x eyeToMouth by least squares without intercept
 * (so the rule does not depend on image size), then the mean offset of the chip centre from
 * the keypoint centre, per fitted side (the rule applies it to the fitted side).
 */
function fitKeypointRule(faces: ChipFace[]): void {
  const geometry = faces.map((c) => ({ chip: c, ...keypointGeometry(c.face.keypoints) }));
  // Normal equations of the 2x2 problem.
  let see = 0, sem = 0, smm = 0, sse = 0, ssm = 0;
  for (const { chip, eyeDistance: e, eyeToMouth: m } of geometry) {
    const s = chipSide(chip);
    see += e * e; sem += e * m; smm += m * m; sse += s * e; ssm += s * m;
  }
  const det = see * smm - sem * sem;
  const a = (sse * smm - ssm * sem) / det;
  const b = (ssm * see - sse * sem) / det;
  const fitted = geometry.map(({ eyeDistance, eyeToMouth }) => a * eyeDistance + b * eyeToMouth);
  const sideError = geometry.map(({ chip }, i) => fitted[i] / chipSide(chip) - 1);
  const dx = geometry.map(({ chip, centre }, i) => (centre.x - chip.width / 2) / fitted[i]);
  const dy = geometry.map(({ chip, centre }, i) => (centre.y - chip.height / 2) / fitted[i]);
  console.log('\nkeypoint rule (eyes and mouth):');
  console.log(`  eyeDistance / chip side ${stat(geometry.map((g) => g.eyeDistance / chipSide(g.chip)))}, eyeToMouth / chip side ${stat(geometry.map((g) => g.eyeToMouth / chipSide(g.chip)))}`);
  console.log(`  KP_SIDE_PER_EYE_DISTANCE = ${fmt(a)}`);
  console.log(`  KP_SIDE_PER_EYE_TO_MOUTH = ${fmt(b)}  (fitted side / chip side - 1: mean ${fmt(meanSd(sideError).mean)}, sd ${fmt(meanSd(sideError).sd)})`);
  console.log(`  KP_CENTRE_DY = ${fmt(meanSd(dy).mean)}  (keypoint centre y - chip centre, per fitted side; sd ${fmt(meanSd(dy).sd)})`);
  console.log(`  not used: keypoint centre x - chip centre ${stat(dx)}`);
}

function printIou(label: string, run: SplitRun, crop: (face: DetectedFace) => PixelBox): void {
  const ious = run.faces.map((c) => iou(crop(c.face), wholeChip(c)));
  const good = ious.filter((v) => v > GOOD_IOU).length;
  console.log(`  ${label.padEnd(9)} ${run.split.padEnd(4)} n ${ious.length}: mean ${fmt(meanSd(ious).mean)}, > ${GOOD_IOU} ${fmt((100 * good) / ious.length, 1)}%, `
    + `p5 ${fmt(quantile(ious, 0.05))}, p50 ${fmt(quantile(ious, 0.5))}, min ${fmt(Math.min(...ious))}`);
}

// ---------------------------------------------------------------------------------------------

const dir = resolve(parseCommandLine({ data: DEFAULT_DATA_DIR }).data);
console.log(`UTKFace chips from ${dir}`);
const detector = await loadFaceDetector();
const tensorsBefore = tf.memory().numTensors;
const val = await detectSplit(detector, dir, 'val');
const test = await detectSplit(detector, dir, 'test');
const leaked = tf.memory().numTensors - tensorsBefore;
detector.dispose();

printDetection(val);
printDetection(test);

console.log('\n--- constants fitted on val (largest face per chip) ---');
fitBoxRule(val.faces);
fitKeypointRule(val.faces);

console.log('\n--- trainingCropFor vs the whole chip, with the constants in lib/faceDetector.ts ---');
for (const run of [val, test]) {
  printIou('box rule', run, (face) => trainingCropFor({ box: face.box }));
  printIou('keypoints', run, (face) => trainingCropFor(face));
}

console.log(leaked === 0 ? '\nno tensors leaked' : `\nWARNING: ${leaked} tensors leaked`);
