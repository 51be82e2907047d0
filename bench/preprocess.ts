/**
 * Cost of lib/preprocess.ts `toModelInput` alone (no decode, no model), on the bench fixtures
 * decoded once: a UTKFace-style chip as training crops it, a 640x480 face box for the 64x64
 * models, a 1920x1080 frame as a whole and as the detector's first window (the frame letterboxed
 * with a 25% grey border into a 2880 square, as lib/faceDetector.ts `inputWindow` does) for the
 * 128x128 detector input, and a synthetic 4000x3000 (12 MP phone photo; noise) as the detector's
 * window. k = source pixels per output pixel along x / y. Wall time per call,
 * and the process's CPU time per call (user + system), which a busy machine inflates less.
 *   npx tsx bench/preprocess.ts [--runs=200] [--warmup=20]
 */
import { Jimp } from 'jimp';
import { toModelInput } from '../lib/preprocess.js';
import type { InputSpec, PixelBox, RgbaImage } from '../lib/preprocess.js';
import { parseCommandLine } from '../training/overrides.js';
import { quantile } from '../training/metrics.js';

const config = parseCommandLine({ runs: 200, warmup: 20 });

async function load(file: string): Promise<RgbaImage> {
  return (await Jimp.read(file)).bitmap;
}

/** The detector's whole-image window (lib/faceDetector.ts inputWindow, BORDER = 0.25). */
function detectorWindow(width: number, height: number): PixelBox {
  const side = Math.max(width, height) * 1.5;
  return { left: (width - side) / 2, top: (height - side) / 2, width: side, height: side };
}

const chip = await load('bench/fixtures/face-200.jpg');
const vga = await load('bench/fixtures/face-640x480.jpg');
const hd = await load('bench/fixtures/face-1920x1080.jpg');
// Content does not change the cost (no data-dependent branches); noise keeps it honest anyway.
let seed = 1;
const phone: RgbaImage = { data: new Uint8Array(4000 * 3000 * 4).map(() => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24), width: 4000, height: 3000 };
const face: InputSpec = { size: 64, channels: 3 };
const detector: InputSpec = { size: 128, channels: 3 };
const cases: { name: string; image: RgbaImage; box: PixelBox | undefined; spec: InputSpec }[] = [
  { name: 'chip200->64', image: chip, box: undefined, spec: face },
  { name: 'box640x480->64', image: vga, box: { left: 0, top: 0, width: 640, height: 480 }, spec: face },
  { name: 'frame1920x1080->128', image: hd, box: undefined, spec: detector },
  { name: 'detector1920x1080->128', image: hd, box: detectorWindow(hd.width, hd.height), spec: detector },
  { name: 'detector4000x3000->128', image: phone, box: detectorWindow(phone.width, phone.height), spec: detector },
];

for (const c of cases) {
  const box = c.box ?? { left: 0, top: 0, width: c.image.width, height: c.image.height };
  let check = 0;
  for (let i = 0; i < config.warmup; i++) check += toModelInput(c.image, c.box, c.spec)[0];
  const ms: number[] = [];
  const cpuMs: number[] = [];
  for (let i = 0; i < config.runs; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    check += toModelInput(c.image, c.box, c.spec)[0];
    ms.push(performance.now() - t0);
    const cpu = process.cpuUsage(cpu0);
    cpuMs.push((cpu.user + cpu.system) / 1000);
  }
  const k = `${(box.width / c.spec.size).toFixed(2)}/${(box.height / c.spec.size).toFixed(2)}`;
  console.log(`bench=preprocess case=${c.name} k=${k} n=${config.runs} p50_ms=${quantile(ms, 0.5).toFixed(3)} p95_ms=${quantile(ms, 0.95).toFixed(3)} cpu_p50_ms=${quantile(cpuMs, 0.5).toFixed(3)} check=${check}`);
}
