/**
 * Peer row: @vladmandic/face-api's AgeGenderNet measured on our test split and our hardware,
 * on the tfjs wasm backend (no tfjs-node).
 *
 * How face-api runs here: its `dist/face-api.node-wasm.js` build is plain CJS that `require`s
 * `@tensorflow/tfjs` and `@tensorflow/tfjs-backend-wasm` from our node_modules, so it shares
 * our tfjs engine. We call our `initBackend()` first (wasm, SIMD, one thread), then load the
 * weights with `nets.*.loadFromDisk(modelDir)`: that reads the `*-weights_manifest.json` and
 * `.bin` files with `fs` and needs no tfjs-node. Inputs are passed as int32 RGB tensors, so
 * face-api needs no canvas.
 *
 *   npx tsx bench/faceApiPeer.ts                 # accuracy + speed + cold start, writes JSON
 *   npx tsx bench/faceApiPeer.ts --part=accuracy # or speed | cold (others keep their old JSON)
 *
 * Writes bench/results/face-api-peer.json and, if missing, bench/fixtures/face-*.jpg.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import { Jimp } from 'jimp';
import { initBackend } from '../lib/backend.js';
import { AGE_BANDS, ageBandIndex, quantile } from '../training/metrics.js';
import type * as FaceApi from '@vladmandic/face-api/dist/face-api.node-wasm.js';
import { faceapi, FACE_API_MODEL_DIR, FACE_API_VERSION, asInput, toRgbTensor } from './faceApi.js';

// --- config -------------------------------------------------------------------------------
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DATA_DIR = join(ROOT, '..', 'shared', 'data'); // read-only UTKFace chips + split CSV
const CSV_PATH = join(DATA_DIR, 'utkface.csv');
const CHIP_DIR = join(DATA_DIR, 'utkface');
const RESULT_PATH = join(ROOT, 'bench', 'results', 'face-api-peer.json');
const FIXTURE_DIR = join(ROOT, 'bench', 'fixtures');
const RACES = ['White', 'Black', 'Asian', 'Indian', 'Others'] as const; // UTKFace race codes 0..4
const AGE_CAP = 60; // the "ages <= 60" slice
const NET_RUNS = 200; // chips timed for ageGenderNet alone
const NET_WARMUP = 20; // untimed runs before that
const E2E_RUNS = 30; // timed end-to-end runs per image size
const E2E_WARMUP = 5; // untimed runs before those
const COLD_RUNS = 3; // fresh processes for cold start
const JPEG_QUALITY = 85; // fixture encoding
const GREY = 0x808080ff; // fixture background, RGBA
const FIXTURES = [
  { name: 'face-200.jpg', size: '200x200', width: 200, height: 200 }, // the chip itself
  { name: 'face-640x480.jpg', size: '640x480', width: 640, height: 480 },
  { name: 'face-1920x1080.jpg', size: '1920x1080', width: 1920, height: 1080 },
];
const COLD_FIXTURE = 'face-640x480.jpg'; // image the cold-start child answers on
// Detector for the end-to-end path: face-api's TinyFaceDetector with its default options
// (inputSize 416, scoreThreshold 0.5), the fast detector face-api recommends for Node.
const DETECTOR = { name: 'TinyFaceDetector', inputSize: 416, scoreThreshold: 0.5 };


// --- helpers ------------------------------------------------------------------------------
interface Row { file: string; age: number; gender: 'male' | 'female'; race: number }

function readTestRows(): Row[] {
  const lines = readFileSync(CSV_PATH, 'utf8').trim().split('\n').slice(1);
  return lines.map((l) => l.split(','))
    .filter((c) => c[4] === 'test')
    .map((c) => ({ file: c[0], age: Number(c[1]), gender: c[2] as Row['gender'], race: Number(c[3]) }));
}

async function decodeFile(path: string): Promise<tf.Tensor3D> {
  return toRgbTensor((await Jimp.read(path)).bitmap);
}

function stats(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  return { n: s.length, p50_ms: r(quantile(s, 0.5)), p95_ms: r(quantile(s, 0.95)),
    mean_ms: r(s.reduce((a, b) => a + b, 0) / s.length), min_ms: r(s[0]), max_ms: r(s[s.length - 1]) };
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

function detectorOptions() {
  return new faceapi.TinyFaceDetectorOptions({ inputSize: DETECTOR.inputSize, scoreThreshold: DETECTOR.scoreThreshold });
}

/** decode + detect + age/gender on JPEG bytes already in memory; returns the faces found. */
async function endToEnd(bytes: Buffer) {
  const image = toRgbTensor((await Jimp.fromBuffer(bytes)).bitmap);
  try {
    const faces = await faceapi.detectAllFaces(asInput(image), detectorOptions()).withAgeAndGender();
    return faces.map((f) => ({ age: f.age, gender: f.gender, score: f.detection.score }));
  } finally {
    image.dispose();
  }
}

async function loadNets(withDetector: boolean): Promise<void> {
  await initBackend();
  await faceapi.nets.ageGenderNet.loadFromDisk(FACE_API_MODEL_DIR);
  if (withDetector) await faceapi.nets.tinyFaceDetector.loadFromDisk(FACE_API_MODEL_DIR);
}

// --- cold-start child: started by the parent, answers once and exits ---------------------
async function coldChild(fixture: string): Promise<void> {
  const t0 = performance.now(); // after node start + tsx + module imports
  await initBackend();
  const t1 = performance.now();
  await loadNets(true);
  const t2 = performance.now();
  const faces = await endToEnd(readFileSync(fixture));
  const t3 = performance.now();
  process.stdout.write(`${JSON.stringify({ faces, imports_ms: t0, backend_ms: t1 - t0, load_ms: t2 - t1, first_e2e_ms: t3 - t2, uptime_ms: process.uptime() * 1000 })}\n`);
}

// --- (a) accuracy on the test split -------------------------------------------------------
async function accuracy(rows: Row[]) {
  const byRace = RACES.map(() => ({ n: 0, correct: 0, absErr: 0 }));
  const byBand = AGE_BANDS.map(() => ({ n: 0, correct: 0, absErr: 0 }));
  const le60 = { n: 0, correct: 0, absErr: 0 };
  const all = { n: 0, correct: 0, absErr: 0 };
  for (const row of rows) {
    const chip = await decodeFile(join(CHIP_DIR, row.file));
    let pred;
    try {
      pred = await faceapi.nets.ageGenderNet.predictAgeAndGender(asInput(chip)) as FaceApi.AgeAndGenderPrediction;
    } finally {
      chip.dispose();
    }
    const err = Math.abs(pred.age - row.age);
    const ok = pred.gender === row.gender ? 1 : 0;
    const band = byBand[ageBandIndex(row.age)];
    for (const b of [all, byRace[row.race], band, ...(row.age <= AGE_CAP ? [le60] : [])]) {
      b.n += 1; b.correct += ok; b.absErr += err;
    }
  }
  const summary = (b: typeof all) => ({ n: b.n, genderAccuracy: round4(b.correct / b.n), ageMae: round4(b.absErr / b.n) });
  return {
    n: all.n,
    gender: { accuracy: round4(all.correct / all.n), correct: all.correct },
    age: { mae: round4(all.absErr / all.n) },
    race: Object.fromEntries(RACES.map((name, i) => [name, summary(byRace[i])])),
    ageBand: Object.fromEntries(AGE_BANDS.map((b, i) => [b.name, summary(byBand[i])])),
    ageLe60: { n: le60.n, mae: round4(le60.absErr / le60.n), genderAccuracy: round4(le60.correct / le60.n) },
  };
}

// --- fixtures: the chip, then the chip at 1/3 of the height on grey ---------------------
/** Writes missing fixtures from the first test chip the detector finds at all three sizes. */
async function ensureFixtures(rows: Row[]): Promise<string> {
  mkdirSync(FIXTURE_DIR, { recursive: true });
  const paths = FIXTURES.map((f) => join(FIXTURE_DIR, f.name));
  if (paths.every((p) => existsSync(p))) return 'existing files';
  for (const row of rows) {
    const chip = await Jimp.read(join(CHIP_DIR, row.file));
    const jpegs = await Promise.all(FIXTURES.map(async (f) => {
      if (f.width === chip.width && f.height === chip.height) return readFileSync(join(CHIP_DIR, row.file));
      const side = Math.round(f.height / 3);
      const face = chip.clone().resize({ w: side, h: side });
      const canvas = new Jimp({ width: f.width, height: f.height, color: GREY });
      canvas.composite(face, Math.round((f.width - side) / 2), Math.round((f.height - side) / 2));
      return canvas.getBuffer('image/jpeg', { quality: JPEG_QUALITY });
    }));
    const found = await Promise.all(jpegs.map(async (b) => (await endToEnd(b)).length === 1));
    if (found.every(Boolean)) {
      FIXTURES.forEach((f, i) => { if (!existsSync(paths[i])) writeFileSync(paths[i], jpegs[i]); });
      return `test chip ${row.file} (first test chip in CSV order with exactly one TinyFaceDetector face at all three sizes)`;
    }
  }
  throw new Error('no test chip gave one detected face at all three sizes');
}

// --- (b) speed ----------------------------------------------------------------------------
async function speedNet(rows: Row[]) {
  const chips = await Promise.all(rows.slice(0, NET_RUNS).map((r) => decodeFile(join(CHIP_DIR, r.file))));
  try {
    for (let i = 0; i < NET_WARMUP; i++) await faceapi.nets.ageGenderNet.predictAgeAndGender(asInput(chips[i]));
    const before = tf.memory().numTensors;
    const ms: number[] = [];
    for (const chip of chips) {
      const t = performance.now();
      await faceapi.nets.ageGenderNet.predictAgeAndGender(asInput(chip));
      ms.push(performance.now() - t);
    }
    return { ...stats(ms), warmup: NET_WARMUP, leakedTensors: tf.memory().numTensors - before,
      what: 'predictAgeAndGender on a decoded 200x200 RGB tensor (pad/resize to 112 + net + read back), one face per call' };
  } finally {
    chips.forEach((c) => c.dispose());
  }
}

async function speedE2e() {
  const out = [];
  for (const f of FIXTURES) {
    const bytes = readFileSync(join(FIXTURE_DIR, f.name));
    for (let i = 0; i < E2E_WARMUP; i++) await endToEnd(bytes);
    const before = tf.memory().numTensors;
    const ms: number[] = [];
    let faces = 0;
    let last;
    for (let i = 0; i < E2E_RUNS; i++) {
      const t = performance.now();
      last = await endToEnd(bytes);
      ms.push(performance.now() - t);
      faces += last.length;
    }
    out.push({ size: f.size, file: relative(ROOT, join(FIXTURE_DIR, f.name)), bytes: bytes.length, ...stats(ms),
      warmup: E2E_WARMUP, facesPerRun: faces / E2E_RUNS, lastAnswer: last, leakedTensors: tf.memory().numTensors - before });
  }
  return out;
}

function runChild(fixture: string): Promise<{ wall_ms: number; child: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), `--child=${fixture}`],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    let done = false;
    proc.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      if (!done && buf.includes('\n')) {
        done = true;
        resolve({ wall_ms: performance.now() - start, child: JSON.parse(buf.slice(0, buf.indexOf('\n'))) });
      }
    });
    proc.on('error', reject);
    proc.on('exit', (code) => { if (!done) reject(new Error(`cold-start child exited with ${code}`)); });
  });
}

async function coldStart() {
  const fixture = join(FIXTURE_DIR, COLD_FIXTURE);
  const runs = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    const { wall_ms, child } = await runChild(fixture);
    runs.push({ wall_ms: Math.round(wall_ms), ...Object.fromEntries(Object.entries(child).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v) : v])) });
  }
  return { file: relative(ROOT, fixture), spawn: `${process.execPath} --import tsx bench/faceApiPeer.ts --child=<file>`,
    what: 'spawn → node + tsx start → initBackend → load ageGenderNet + TinyFaceDetector → decode + detect + age/gender → first stdout line',
    runs, median_wall_ms: quantile(runs.map((r) => r.wall_ms), 0.5) };
}

// --- main ---------------------------------------------------------------------------------
async function main(): Promise<void> {
  const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
  if (args.child) return coldChild(args.child);
  const part: string = args.part ?? 'all';
  const rows = readTestRows();
  await loadNets(true);
  const prev = existsSync(RESULT_PATH) ? JSON.parse(readFileSync(RESULT_PATH, 'utf8')) : {};
  // Each part keeps the machine and time it was measured on: a part that did not run keeps its
  // old figures, which may come from another machine (timings differ ~2x between our VM types).
  const measured = {
    runtime: { node: process.version, tfjs: tf.version.tfjs, backend: tf.getBackend(), wasmThreads: false,
      cpu: cpus()[0]?.model, cores: cpus().length },
    measuredAt: new Date().toISOString(),
    command: `npx tsx bench/faceApiPeer.ts${part === 'all' ? '' : ` --part=${part}`}`,
  };
  const result: Record<string, unknown> = {
    ...prev,
    package: { name: '@vladmandic/face-api', version: FACE_API_VERSION, build: 'dist/face-api.node-wasm.js', weights: relative(ROOT, FACE_API_MODEL_DIR) },
  };
  if (part === 'all' || part === 'accuracy') {
    const t = performance.now();
    const acc = await accuracy(rows);
    Object.assign(result, acc, measured, {
      accuracyInput: 'whole 200x200 test chip as the face crop: jimp RGBA → int32 RGB tensor → predictAgeAndGender (face-api pads to square, resizeBilinear to 112, subtracts its RGB mean, /256); gender male if P(male) > 0.5; age is the raw regression output',
      split: 'test (utkface.csv split=test)',
    });
    console.log(`bench=face-api-accuracy n=${acc.n} gender_acc=${acc.gender.accuracy} age_mae=${acc.age.mae} le60_mae=${acc.ageLe60.mae} seconds=${((performance.now() - t) / 1000).toFixed(0)}`);
    for (const [name, r] of Object.entries(acc.race)) {
      console.log(`bench=face-api-accuracy race=${name} n=${r.n} gender_acc=${r.genderAccuracy} age_mae=${r.ageMae}`);
    }
    for (const [name, r] of Object.entries(acc.ageBand)) {
      console.log(`bench=face-api-accuracy ageBand=${name} n=${r.n} gender_acc=${r.genderAccuracy} age_mae=${r.ageMae}`);
    }
  }
  if (part === 'all' || part === 'speed' || part === 'cold') {
    const source = await ensureFixtures(rows);
    const speed: Record<string, unknown> = { ...(prev.speed ?? {}), fixtures: source,
      detector: { ...DETECTOR, note: 'face-api TinyFaceDetector, default options' } };
    if (part !== 'cold') {
      const load0 = loadavg()[0];
      const net = await speedNet(rows);
      console.log(`bench=face-api-agegender backend=wasm n=${net.n} p50_ms=${net.p50_ms} p95_ms=${net.p95_ms}`);
      const e2e = await speedE2e();
      for (const e of e2e) console.log(`bench=face-api-e2e size=${e.size} n=${e.n} p50_ms=${e.p50_ms} p95_ms=${e.p95_ms} faces=${e.facesPerRun}`);
      Object.assign(speed, measured, { ageGenderNet: net, e2e, loadavg1m: { before: load0, after: loadavg()[0] } });
    }
    if (part !== 'speed') {
      const cold = await coldStart();
      console.log(`bench=face-api-cold file=${cold.file} n=${cold.runs.length} wall_ms=${cold.runs.map((r) => r.wall_ms).join(',')} median_ms=${cold.median_wall_ms}`);
      speed.coldStart = { ...cold, ...measured };
    }
    result.speed = speed;
  }
  mkdirSync(dirname(RESULT_PATH), { recursive: true });
  writeFileSync(RESULT_PATH, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${relative(ROOT, RESULT_PATH)}`);
}

await main();
