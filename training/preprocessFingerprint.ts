/**
 * A behavioural fingerprint of the pixel pipeline, image bytes -> model input: decodeImage
 * (lib/imageDecode.ts, jimp underneath) then toModelInput (lib/preprocess.ts). It hashes what
 * the pipeline outputs on fixed probe inputs, not its source code, so it changes when anything
 * that moves a pixel changes (our code, a jimp or jpeg-js upgrade) and stays put for edits that
 * move none (comments, refactors).
 *
 * Cached features record it (training/features.ts) and are refused when it differs, so training,
 * calibration and evaluation can never run on pixels serving would no longer produce; exported
 * manifests record it (training/export.ts), so a model says which pipeline it was trained on.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { decodeImage } from '../lib/imageDecode.js';
import { toModelInput } from '../lib/preprocess.js';
import type { InputSpec, PixelBox } from '../lib/preprocess.js';

/** Non-square, and neither side a multiple of 16 (JPEG's MCU), so edge blocks are decoded too. */
const PROBE_WIDTH = 44;
const PROBE_HEIGHT = 36;

/**
 * The probe picture: smooth gradients (resampling), a hard vertical edge (ringing, chroma
 * subsampling) and, in the PNG only, a partly transparent corner (how alpha is treated).
 */
function probePixels(): Uint8Array {
  const data = new Uint8Array(PROBE_WIDTH * PROBE_HEIGHT * 4);
  for (let y = 0; y < PROBE_HEIGHT; y++) {
    for (let x = 0; x < PROBE_WIDTH; x++) {
      const i = (y * PROBE_WIDTH + x) * 4;
      data[i] = (x * 5 + y * 3) & 255;
      data[i + 1] = ((x ^ y) * 9) & 255;
      data[i + 2] = x < PROBE_WIDTH / 2 ? 210 : 35;
      data[i + 3] = x < 8 && y < 8 ? 32 * (x % 4) + 128 : 255;
    }
  }
  return data;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function pngChunk(type: string, data: Uint8Array): Buffer {
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write(type, 4, 'latin1');
  chunk.set(data, 8);
  let crc = 0xffffffff;
  for (const byte of chunk.subarray(4, 8 + data.length)) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  chunk.writeUInt32BE((crc ^ 0xffffffff) >>> 0, 8 + data.length);
  return chunk;
}

/**
 * The probe as an 8-bit RGBA PNG, encoded here rather than by jimp: PNG is lossless, so any
 * zlib's output decodes to the same pixels, and the fingerprint moves only if decoding does.
 */
function probePng(): Buffer {
  const pixels = probePixels();
  const stride = PROBE_WIDTH * 4;
  const raw = Buffer.alloc((stride + 1) * PROBE_HEIGHT); // filter byte 0 (none) per row
  for (let y = 0; y < PROBE_HEIGHT; y++) raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(PROBE_WIDTH, 0);
  header.writeUInt32BE(PROBE_HEIGHT, 4);
  header.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header), pngChunk('IDAT', deflateSync(raw)), pngChunk('IEND', new Uint8Array(0)),
  ]);
}

/**
 * The probe as a JPEG, committed as a file rather than encoded on each call: JPEG is lossy, so a
 * jpeg-js encoder change would move the decoded pixels and the fingerprint with them although
 * decoding, the part we serve, had not changed. Made once with jimp 1.6.1 (jpeg-js, 2392 bytes):
 *   new Jimp({ width: 44, height: 36, data: Buffer.from(probePixels()) }).getBuffer('image/jpeg', { quality: 90 })
 * test/training/preprocessFingerprint.test.ts checks it still decodes to (nearly) the probe.
 */
const PROBE_JPEG = new URL('./fixtures/preprocess-probe.jpg', import.meta.url);

/**
 * Crops as serving makes them: the whole image (no detection), a box hanging off the top-left
 * (grey fill), a non-square box with fractional edges (detector boxes are floats), and one
 * wholly outside the image.
 */
const PROBE_BOXES: (PixelBox | undefined)[] = [
  undefined,
  { left: -9, top: -6, width: 30, height: 30 },
  { left: 5.5, top: 3.25, width: 31.5, height: 21 },
  { left: PROBE_WIDTH + 3, top: 2, width: 10, height: 10 },
];

/**
 * An upscale (64 px from the 44x36 probe, every source pixel sampled), its grayscale twin, a
 * downscale under 4x (toModelInput's sample grid), and one over 4x (its area average: the
 * whole probe to 8 px is 5.5x / 4.5x), so a change to either filter moves the fingerprint.
 */
const PROBE_SPECS: InputSpec[] = [
  { size: 64, channels: 3 },
  { size: 64, channels: 1 },
  { size: 16, channels: 3 },
  { size: 8, channels: 3 },
];

/** Generous limits: the probe must be decoded, not refused, whatever the serving limits are. */
const PROBE_LIMITS = { maxBytes: 1 << 20, maxPixels: 1 << 20, maxSide: 1 << 12, minSide: 1, maxAspect: 10, maxJpegScans: 100 };

/** The probe images, by name (the name is hashed too). */
function probeImages(): [string, Buffer][] {
  return [['png', probePng()], ['jpeg', readFileSync(PROBE_JPEG)]];
}

/**
 * sha256 (hex) over, per probe image: its decoded size and RGBA bytes, then toModelInput for
 * every box and spec. `toInput` is replaceable only so a test can show a one-level change moves it.
 */
async function computeFingerprint(toInput: typeof toModelInput = toModelInput): Promise<string> {
  const hash = createHash('sha256');
  for (const [name, bytes] of probeImages()) {
    const image = await decodeImage(bytes, PROBE_LIMITS);
    hash.update(`${name} ${image.width}x${image.height}\n`);
    hash.update(image.data);
    for (const box of PROBE_BOXES) {
      for (const spec of PROBE_SPECS) {
        hash.update(`${JSON.stringify(box ?? 'whole')} ${spec.size}x${spec.channels}\n`);
        hash.update(toInput(image, box, spec));
      }
    }
  }
  return `sha256:${hash.digest('hex')}`;
}

let cached: Promise<string> | undefined;

/** The fingerprint of the pipeline in this process (computed once: about 0.1 s). */
function preprocessFingerprint(): Promise<string> {
  cached ??= computeFingerprint();
  return cached;
}

export { preprocessFingerprint, computeFingerprint, probePixels, probeImages, PROBE_WIDTH, PROBE_HEIGHT };
