/**
 * Turns request bytes into an RGBA bitmap, refusing what we cannot or should not decode
 * before spending memory on it. Stored orientation (JPEG and PNG Exif, the TIFF tag) is applied
 * here (lib/exifOrientation.ts), not by jimp, whose EXIF parser is unbounded and reads JPEG only.
 */
import { inflateSync } from 'node:zlib';
import { Jimp } from 'jimp';
import { AppError } from './errors.js';
import { applyExifOrientation, readOrientation, withoutExifHeaders } from './exifOrientation.js';
import { gifLzwTerminates } from './gifLzw.js';
import { decodeWebp, prepareWebpDecoder } from './webpDecode.js';
import { bmpLayoutProblem, gifFrames, readImageHeader, unsupportedFormat } from './imageHeader.js';
import type { ImageFormat } from './imageHeader.js';
import { OUTSIDE_VALUE } from './preprocess.js';
import type { RgbaImage } from './preprocess.js';

interface DecodeLimits {
  maxBytes: number;
  maxPixels: number;
  maxSide: number;
  minSide: number;
  /**
   * Longer side / shorter side. The detector searches square tiles of the shorter side along
   * the longer one, so its work grows with this ratio, not with the pixels.
   */
  maxAspect: number;
  /** Start-of-scan markers a JPEG may hold (each scan walks the whole image). */
  maxJpegScans: number;
  /** false: WebP is refused rather than decoded (DECODE_WEBP); unset means decode. */
  decodeWebp?: boolean;
  /**
   * Epoch ms by which the caller must answer. Decoding is synchronous (no timer can interrupt
   * it), so an image whose decode is not expected to finish in time is refused with TIMEOUT
   * before it starts.
   */
  deadline?: number;
}

/**
 * Decode cost used to decide whether a decode fits before the deadline, ns per pixel: jpeg-js
 * took 1.8-2.7 s for a 20 MP JPEG with training holding both cores (README "Why these
 * settings"), 90-135 ns; rounded up.
 */
const DECODE_NS_PER_PIXEL = 150;
/**
 * The same for 16-bit PNGs and TIFFs: pngjs took 194-233 ns per pixel for 3000x3000 16-bit
 * RGB/RGBA against 59-97 ns at 8 bits (2026-12-01, AMD EPYC, one training run beside it), and a
 * 5000x5000 16-bit RGBA PNG 6.9-7.8 s, 276-312 ns, twice the 8-bit estimate; 2.5x it. utif2 on a
 * 5000x5000 16-bit big-endian RGBA TIFF: 158 ns (a fuzzing review, 2026-12-02).
 */
const DECODE_NS_PER_PIXEL_16_BIT = 375;
/**
 * Each JPEG scan past the tenth, ns per pixel: jpeg-js walks every block once per scan; a
 * 1024x1024 progressive file of 99 refinement scans took 0.71 s (~7 ns per pixel and scan; a
 * fuzzing review). Real progressive files have about 10 scans, which DECODE_NS_PER_PIXEL covers
 * (4800x4800, 10 scans: 185-188 ns per pixel with training beside, vs 159 baseline).
 */
const DECODE_NS_PER_PIXEL_PER_EXTRA_SCAN = 7;
/**
 * Turning a stored-rotated image upright (applyExifOrientation): one more full-size buffer and a
 * pixel-by-pixel copy, 24-38 ns per pixel at 5000x5000 (orientations 5-8, which transpose, the
 * slower; a review, 2026-12-02).
 */
const DECODE_NS_PER_PIXEL_TURNED = 40;
/**
 * WebP (libwebp in wasm, then our alpha flattening): lossy with alpha took 104 ns per pixel warm
 * and 154 on a fresh instance at 3000x3000, lossless 17-31 plus ~55 for flattening (a review,
 * 2026-12-02, with a CI run beside it): the JPEG figure leaves no margin, so a third more.
 */
const DECODE_NS_PER_PIXEL_WEBP = 200;
/**
 * jpeg-js's own memory limit (its default, set explicitly so the header check below and the
 * decoder agree): about 24 MP for a 4:4:4 JPEG, 19 MP for CMYK, 37 MP for 4:2:0.
 */
const JPEG_JS_MAX_MEMORY_MB = 512;

interface DecodedImage extends RgbaImage {
  format: ImageFormat;
}

/** Strips an optional data URL prefix and decodes strict base64 (standard or URL-safe). */
function decodeBase64Image(text: string, maxBytes: number): Buffer {
  const match = /^data:([\w.+-]+\/[\w.+-]+)?(;[\w-]+=[\w-]+)*;base64,/i.exec(text.slice(0, 200));
  const payload = (match ? text.slice(match[0].length) : text).replace(/\s+/g, '');
  if (payload.length === 0) throw new AppError('INVALID_REQUEST', 'image is empty');
  // Refuse before allocating: base64 carries 3 bytes per 4 characters.
  if (Math.floor(payload.length * 3 / 4) > maxBytes + 2) {
    throw new AppError('IMAGE_TOO_LARGE', `image is over ${maxBytes} bytes`, { details: { maxBytes } });
  }
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(payload) || payload.length % 4 === 1) {
    throw new AppError('INVALID_BASE64', 'image is not valid base64 or a base64 data URL');
  }
  return Buffer.from(payload.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** The one size test, for what a header promises and for what the decoder made of it. */
function overSizeLimits(pixels: number, longestSide: number, limits: DecodeLimits): boolean {
  return pixels > limits.maxPixels || longestSide > limits.maxSide;
}

async function decodeImage(bytes: Uint8Array, limits: DecodeLimits): Promise<DecodedImage> {
  if (bytes.byteLength === 0) throw new AppError('UNSUPPORTED_IMAGE', 'image is empty (0 bytes)');
  if (bytes.byteLength > limits.maxBytes) {
    throw new AppError('IMAGE_TOO_LARGE', `image is ${bytes.byteLength} bytes, over the ${limits.maxBytes} byte limit`, { details: { maxBytes: limits.maxBytes } });
  }
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = readImageHeader(buffer);
  if (!header) {
    const known = unsupportedFormat(buffer);
    if (known) {
      throw new AppError('UNSUPPORTED_IMAGE', `this is a ${known.name} image; we decode JPEG, PNG, WebP, GIF, BMP and TIFF: convert it to JPEG first`,
        { details: { format: known.id } });
    }
    throw new AppError('UNSUPPORTED_IMAGE', 'not a JPEG, PNG, WebP, GIF, BMP or TIFF image');
  }
  const { width, height, format } = header;
  if (header.problem) throw new AppError('UNSUPPORTED_IMAGE', header.problem);
  if (format === 'webp' && limits.decodeWebp === false) {
    throw new AppError('UNSUPPORTED_IMAGE', 'WebP is not decoded here (DECODE_WEBP=false): convert it to JPEG first', { details: { format: 'webp' } });
  }
  if (width === 0 || height === 0) throw new AppError('UNSUPPORTED_IMAGE', `corrupt ${format}: no readable dimensions`);
  if (overSizeLimits(header.decodePixels, header.decodeSide, limits)) {
    // Name the limit that failed, and the frame or page sizes when they, not the image's, decide.
    const inFrames = header.decodePixels > width * height || header.decodeSide > Math.max(width, height);
    const what = inFrames ? `${width}x${height} (its frames or pages: up to ${header.decodeSide} px a side, ${header.decodePixels} pixels)` : `${width}x${height}`;
    const limit = header.decodeSide > limits.maxSide ? `${limits.maxSide} px a side` : `${limits.maxPixels} pixels`;
    throw new AppError('IMAGE_TOO_LARGE', `image is ${what}, over the limit of ${limit}`,
      { details: { width, height, maxPixels: limits.maxPixels, maxSide: limits.maxSide } });
  }
  // After the size limits (an oversized header stays IMAGE_TOO_LARGE), before anything that costs time.
  if (format === 'bmp') {
    const problem = bmpLayoutProblem(buffer);
    if (problem) throw new AppError('UNSUPPORTED_IMAGE', problem);
  }
  if (Math.min(width, height) < limits.minSide) {
    throw new AppError('IMAGE_TOO_SMALL', `image is ${width}x${height}; the shorter side must be at least ${limits.minSide} px`, { details: { minSide: limits.minSide } });
  }
  const aspect = Math.max(width, height) / Math.min(width, height);
  if (aspect > limits.maxAspect) {
    throw new AppError('IMAGE_TOO_SMALL', `image is ${width}x${height}; its longer side may be at most ${limits.maxAspect} times its shorter (it is ${aspect.toFixed(2)} times)`,
      { details: { maxAspect: limits.maxAspect } });
  }
  if (header.decodeBytes !== undefined && header.decodeBytes > JPEG_JS_MAX_MEMORY_MB * 2 ** 20) {
    throw new AppError('IMAGE_TOO_LARGE', `the ${width}x${height} jpeg needs ${Math.ceil(header.decodeBytes / 2 ** 20)} MB to decode, over the decoder's ${JPEG_JS_MAX_MEMORY_MB} MB`,
      { details: { width, height } });
  }
  if (header.scans !== undefined && header.scans > limits.maxJpegScans) {
    throw new AppError('UNSUPPORTED_IMAGE', `jpeg has ${header.scans} scans, more than the ${limits.maxJpegScans} we decode`,
      { details: { scans: header.scans, maxJpegScans: limits.maxJpegScans } });
  }
  const orientation = readOrientation(buffer, header);
  if (limits.deadline !== undefined) {
    const extraScans = Math.max(0, (header.scans ?? 0) - 10);
    const base = header.bitDepth === 16 ? DECODE_NS_PER_PIXEL_16_BIT : format === 'webp' ? DECODE_NS_PER_PIXEL_WEBP : DECODE_NS_PER_PIXEL;
    const nsPerPixel = base + DECODE_NS_PER_PIXEL_PER_EXTRA_SCAN * extraScans
      + (orientation > 1 ? DECODE_NS_PER_PIXEL_TURNED : 0);
    const expectedMs = (header.decodePixels * nsPerPixel) / 1e6;
    if (Date.now() + expectedMs > limits.deadline) {
      throw new AppError('TIMEOUT', `not enough time left to decode a ${width}x${height} image (about ${Math.ceil(expectedMs)} ms)`);
    }
  }
  if (header.interlaced) checkInterlacedPng(buffer);
  if (format === 'gif') {
    const [first] = gifFrames(buffer, 1); // jimp decodes the first frame only
    if (first && !gifLzwTerminates(buffer, first.dataOffset, first.width * first.height)) {
      throw new AppError('UNSUPPORTED_IMAGE', 'corrupt gif: its LZW data refers to itself in a loop');
    }
  }
  if (format === 'webp') await prepareWebpDecoder(limits.maxPixels); // outside the try: a missing .wasm is ours, not the image's
  let image;
  try {
    // jpeg-js checks every frame header against maxResolutionInMP before allocating for it.
    // Defaced Exif headers: jimp's EXIF rotation then finds nothing to parse (exifOrientation.ts).
    const decodable = format === 'jpeg' ? withoutExifHeaders(buffer) : buffer;
    image = format === 'webp'
      ? { bitmap: await decodeWebp(buffer, limits.maxPixels) }
      : await Jimp.fromBuffer(decodable, { 'image/jpeg': { maxResolutionInMP: limits.maxPixels / 1e6, maxMemoryUsageInMB: JPEG_JS_MAX_MEMORY_MB } });
  } catch (cause) {
    // jpeg-js refuses images whose decode would need over 512 MB (about 24 MP): a size limit, not a corrupt file.
    if (/maxMemoryUsageInMB|maxResolutionInMP/.test(String((cause as Error)?.message))) {
      throw new AppError('IMAGE_TOO_LARGE', `the ${width}x${height} ${format} image needs too much memory to decode`,
        { cause, details: { width, height } });
    }
    throw new AppError('UNSUPPORTED_IMAGE', `could not decode the ${format} image`, { cause });
  }
  const { data, width: w, height: h } = image.bitmap;
  if (!w || !h || data.length < w * h * 4) throw new AppError('UNSUPPORTED_IMAGE', `decoded ${format} has no pixels`);
  // The header checks measured one frame or page; should a decoder still have read another (each
  // such way found so far is refused above), its size must keep the same limits for what follows.
  if (overSizeLimits(w * h, Math.max(w, h), limits)) {
    throw new AppError('IMAGE_TOO_LARGE', `the ${format} decoded to ${w}x${h}, over the limits its header passed`, { details: { width: w, height: h } });
  }
  if (Math.min(w, h) < limits.minSide || Math.max(w, h) / Math.min(w, h) > limits.maxAspect) {
    throw new AppError('IMAGE_TOO_SMALL', `the ${format} decoded to ${w}x${h}, not the size its header gave`, { details: { minSide: limits.minSide, maxAspect: limits.maxAspect } });
  }
  if (format !== 'jpeg') flattenOntoGrey(data, w * h);
  return { ...applyExifOrientation({ data, width: w, height: h }, orientation), format };
}

/**
 * Composites transparent pixels onto the grey that fills crops beyond the image's edge. The
 * detector and the models read RGB only: a transparent pixel used to count with whatever colour
 * it hid (a fully transparent PNG of a face still got an age and a sex). JPEGs have no alpha.
 */
function flattenOntoGrey(rgba: Uint8Array | Buffer, pixels: number): void {
  for (let i = 3; i < pixels * 4; i += 4) {
    const alpha = rgba[i];
    if (alpha === 255) continue;
    for (let c = i - 3; c < i; c++) rgba[c] = Math.round((rgba[c] * alpha + OUTSIDE_VALUE * (255 - alpha)) / 255);
    rgba[i] = 255;
  }
}

/** Adam7 passes: first column, first row, column step, row step. */
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] as const;
/** Samples per pixel of each PNG colour type. */
const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * pngjs inflates an interlaced PNG's data with no output limit (a non-interlaced one is
 * bounded by its size), so a few MB of zlib can expand to gigabytes. Inflate it here first,
 * bounded by the size the header implies, and refuse a PNG whose data does not fit.
 */
function checkInterlacedPng(b: Buffer): void {
  const width = b.readUInt32BE(16);
  const height = b.readUInt32BE(20);
  const bitsPerPixel = b[24] * (PNG_CHANNELS[b[25]] ?? 4);
  let expected = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    const w = Math.ceil((width - x0) / dx);
    const h = Math.ceil((height - y0) / dy);
    if (w > 0 && h > 0) expected += h * (Math.ceil((w * bitsPerPixel) / 8) + 1);
  }
  const data: Buffer[] = [];
  for (let i = 8; i + 8 <= b.length;) {
    const length = b.readUInt32BE(i);
    const type = b.toString('latin1', i + 4, i + 8);
    if (type === 'IDAT') data.push(b.subarray(i + 8, Math.min(b.length, i + 8 + length)));
    if (type === 'IEND') break;
    i += 12 + length;
  }
  try {
    inflateSync(Buffer.concat(data), { maxOutputLength: Math.max(1, expected) });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new AppError('UNSUPPORTED_IMAGE', `corrupt png: its data inflates to more than the ${expected} bytes a ${width}x${height} image holds`, { cause });
    }
    // Any other zlib error: pngjs reports it while decoding.
  }
}

export { decodeImage, decodeBase64Image };
export type { DecodeLimits, DecodedImage };
