/**
 * The bad-input corpus of issue 5: each case is one POST /v1/predict request with the status
 * and error code README.md ("Bad input") and openapi.yaml document for it. The same cases run
 * through real HTTP (test/handlers/badInput.test.ts) and through the lib entry points
 * (test/lib/badInput.test.ts: lib/httpService.ts predictFromHttp, and FaceAnalyzer.analyze for
 * the image cases). Everything is built in code from one UTKFace test chip.
 */
import { readFileSync } from 'node:fs';
import { Jimp } from 'jimp';
import type { ErrorCode } from '../../lib/errors.js';
import type { HttpRequestParts } from '../../lib/httpRequest.js';
import {
  bmpBomb, crop, encodeCmykJpeg, encodeGif, encodePng, encodeWebp, webpVp8x, encodeTiff, gifFrameFlood, jpegBomb, jpegFrameFlood, jpegScanBomb, pngBomb, pngInflateBomb,
  pngSecondIhdr, storedForOrientation, tiffPage, tiffSharedValues, toGrey, withBmpColors, withExifOrientation, withJpegSize, withExifFlood, withTiffFieldType,
} from './imageFixtures.js';
import type { Rgba } from './imageFixtures.js';

interface BadRequest {
  body: Buffer | string;
  /** Content-Type header; undefined sends none. */
  contentType?: string;
  /** Query string options (raw bodies take them; a JSON body with any is refused). */
  query?: Record<string, string>;
}

interface BadInput {
  /** Also the first column of the README and openapi.yaml rows that document this case. */
  name: string;
  request: BadRequest;
  /** The documented HTTP status: 200, or the status of `code`. */
  status: number;
  /** The documented error code; undefined for a 200. */
  code?: ErrorCode;
  /** The image bytes alone, for FaceAnalyzer.analyze; same outcome expected. */
  image?: Buffer;
  /** Options for analyze (the request's query or JSON options). */
  options?: { detect?: boolean; maxFaces?: number };
  /** A decompression bomb or decoder trap: refused from its header, in milliseconds, with no memory spike. */
  bomb?: boolean;
  /** For a 200 with a face: the pixels decoding must give back (RGB), and how close (mean absolute difference, 0-255). */
  expectPixels?: { image: Rgba; maxDiff: number };
}

interface CorpusLimits {
  /** MAX_IMAGE_BYTES of the service under test. */
  maxImageBytes: number;
  /** MAX_JSON_DEPTH of the service under test. */
  maxJsonDepth: number;
}

const JSON_TYPE = 'application/json';
const RAW_TYPE = 'application/octet-stream';

const raw = (bytes: Buffer, query?: Record<string, string>): BadRequest => ({ body: bytes, contentType: RAW_TYPE, query });
const json = (value: unknown): BadRequest => ({ body: JSON.stringify(value), contentType: JSON_TYPE });

async function rgbaOf(bytes: Buffer): Promise<Rgba> {
  const image = await Jimp.fromBuffer(bytes);
  return { data: new Uint8Array(image.bitmap.data), width: image.bitmap.width, height: image.bitmap.height };
}

async function encodeJpeg(image: Rgba, quality = 95): Promise<Buffer> {
  return new Jimp({ width: image.width, height: image.height, data: Buffer.from(image.data) }).getBuffer('image/jpeg', { quality });
}

/** An image case: sent raw (octet-stream, options in the query) and analysed as bytes. */
function imageCase(name: string, bytes: Buffer, status: number, code?: ErrorCode, extra: Partial<BadInput> = {}): BadInput {
  const options = extra.options ?? {};
  const query = Object.fromEntries(Object.entries(options).map(([k, v]) => [k, String(v)]));
  return { name, request: raw(bytes, Object.keys(query).length ? query : undefined), status, code, image: bytes, ...extra };
}

/** The EXIF orientation cases: a 160x200 crop of `chip` stored rotated or mirrored, tagged 1-8. */
async function orientationCases(chip: Buffer): Promise<BadInput[]> {
  const upright = crop(await rgbaOf(chip), 20, 0, 160, 200);
  const cases: BadInput[] = [];
  for (let orientation = 1; orientation <= 8; orientation++) {
    const stored = storedForOrientation(upright, orientation);
    const bytes = withExifOrientation(await encodeJpeg(stored), orientation);
    cases.push(imageCase(`a JPEG with EXIF orientation ${orientation}`, bytes, 200, undefined, { expectPixels: { image: upright, maxDiff: 4 } }));
  }
  // PNG (an eXIf chunk) and TIFF (its own tag 274) store orientation too; both lossless here.
  const pngStored = storedForOrientation(upright, 6);
  cases.push(imageCase('a PNG whose eXIf chunk says rotate 90 degrees', encodePng(pngStored, { orientation: 6 }), 200, undefined, { expectPixels: { image: upright, maxDiff: 0 } }));
  const tiffStored = storedForOrientation(upright, 8);
  const rgb = Buffer.alloc(tiffStored.width * tiffStored.height * 3);
  for (let p = 0; p < tiffStored.width * tiffStored.height; p++) rgb.set(tiffStored.data.subarray(p * 4, p * 4 + 3), p * 3);
  const tiffFields = [...tiffPage(tiffStored.width, tiffStored.height, rgb.length), [274, 3, [8]] as [number, number, number[]]].sort((a, b) => a[0] - b[0]);
  cases.push(imageCase('a TIFF whose Orientation tag says rotate 270 degrees', encodeTiff([tiffFields], rgb), 200, undefined, { expectPixels: { image: upright, maxDiff: 0 } }));
  return cases;
}

/** Every case, built from a face chip (a JPEG in which the detector finds a face). */
async function buildCorpus(chip: Buffer, limits: CorpusLimits): Promise<BadInput[]> {
  const face = await rgbaOf(chip);
  const png = await new Jimp({ width: face.width, height: face.height, data: Buffer.from(face.data) }).getBuffer('image/png');
  const grey = toGrey(face);
  const greyRgba: Rgba = { data: new Uint8Array(grey.length * 4), width: face.width, height: face.height };
  grey.forEach((v, i) => greyRgba.data.set([v, v, v, 255], i * 4));
  // A transparent 4-px border: decoded, it shows as the grey transparent pixels are composited onto.
  const withAlphaBorder: Rgba = { ...face, data: Uint8Array.from(face.data) };
  const withGreyBorder: Rgba = { ...face, data: Uint8Array.from(face.data) };
  for (let y = 0; y < face.height; y++) {
    for (let x = 0; x < face.width; x++) {
      if (x < 4 || y < 4 || x >= face.width - 4 || y >= face.height - 4) {
        withAlphaBorder.data[(y * face.width + x) * 4 + 3] = 0;
        withGreyBorder.data.fill(128, (y * face.width + x) * 4, (y * face.width + x) * 4 + 3);
      }
    }
  }
  const onePixel = await new Jimp({ width: 1, height: 1, color: 0x808080ff }).getBuffer('image/png');
  const text = Buffer.from('hello, this is a text file and not an image\n');
  const deep = '['.repeat(limits.maxJsonDepth * 1000) + ']'.repeat(limits.maxJsonDepth * 1000);
  const overLimit = Buffer.concat([chip, Buffer.alloc(limits.maxImageBytes + 1 - chip.length, 0x20)]);
  const rgb64 = Buffer.alloc(64 * 64 * 3, 100);
  // Deflate (8) passes no check as a SHORT; stored as SSHORT it used to pass them all, and utif2 inflates it.
  const deflatePage = tiffPage(64, 64, rgb64.length).map(([t, ty, v]) => (t === 259 ? [t, ty, [8]] : [t, ty, v]) as [number, number, number[]]);
  const deflateTiff = encodeTiff([deflatePage], rgb64);

  return [
    // Requests that never reach an image
    { name: 'an empty body', request: raw(Buffer.alloc(0)), status: 400, code: 'INVALID_REQUEST' },
    { name: 'an empty JSON body', request: { body: '', contentType: JSON_TYPE }, status: 400, code: 'INVALID_REQUEST' },
    { name: 'a body that is not JSON', request: { body: 'image=abc&detect=true', contentType: JSON_TYPE }, status: 400, code: 'INVALID_REQUEST' },
    { name: 'JSON without image', request: json({ options: { detect: true } }), status: 400, code: 'INVALID_REQUEST' },
    { name: 'JSON with image not a string', request: json({ image: 12345 }), status: 400, code: 'INVALID_REQUEST' },
    { name: 'an unknown option', request: json({ image: chip.toString('base64'), options: { crop: 'tight' } }), status: 400, code: 'INVALID_REQUEST' },
    { name: 'an unknown top-level field', request: json({ image: chip.toString('base64'), mode: 'fast' }), status: 400, code: 'INVALID_REQUEST' },
    { name: 'an unknown query option', request: raw(chip, { faces: '2' }), status: 400, code: 'INVALID_REQUEST' },
    { name: 'a query option with a JSON body', request: { ...json({ image: chip.toString('base64') }), query: { detect: 'false' } }, status: 400, code: 'INVALID_REQUEST' },
    { name: 'deeply nested JSON', request: { body: `{"image":"x","options":${deep}}`, contentType: JSON_TYPE }, status: 400, code: 'INVALID_REQUEST' },
    { name: 'a zero-byte image', request: json({ image: '' }), status: 400, code: 'INVALID_REQUEST' },
    { name: 'a zero-byte data URL', request: json({ image: 'data:image/png;base64,' }), status: 400, code: 'INVALID_REQUEST' },
    { name: 'invalid base64', request: json({ image: 'this is *not* base64!' }), status: 400, code: 'INVALID_BASE64' },
    { name: 'a raw body just over the size limit', request: raw(overLimit), status: 413, code: 'IMAGE_TOO_LARGE' },
    { name: 'a base64 image just over the size limit', request: json({ image: overLimit.toString('base64') }), status: 413, code: 'IMAGE_TOO_LARGE' },
    { name: 'a text/plain Content-Type', request: { body: chip, contentType: 'text/plain' }, status: 415, code: 'UNSUPPORTED_IMAGE' },
    { name: 'a multipart/form-data Content-Type', request: { body: chip, contentType: 'multipart/form-data; boundary=x' }, status: 415, code: 'UNSUPPORTED_IMAGE' },
    { name: 'base64 of text', request: json({ image: text.toString('base64') }), status: 415, code: 'UNSUPPORTED_IMAGE', image: text },

    // Images that are refused
    imageCase('text sent as an image', text, 415, 'UNSUPPORTED_IMAGE'),
    imageCase("a HEIC photo (an iPhone's default format)", Buffer.from('\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\0\x08meta', 'latin1'), 415, 'UNSUPPORTED_IMAGE'),
    imageCase('1 KB of empty XML comments (backtracked exponentially in an SVG pattern; a review)', Buffer.from('<!---->'.repeat(146)), 415, 'UNSUPPORTED_IMAGE', { bomb: true }),
    imageCase('an ISO media file whose ftyp box claims 4 GB of brands', Buffer.concat([Buffer.from('\xff\xff\xff\xffftypisom', 'latin1'), Buffer.alloc(2 ** 20, 0x41)]), 415, 'UNSUPPORTED_IMAGE', { bomb: true }),
    imageCase('a lossless WebP photo', await encodeWebp(face, { lossless: true }), 200, undefined, { expectPixels: { image: face, maxDiff: 0 } }),
    imageCase('a 295 KB lossless WebP asking for 65,536 Huffman table groups (a review)', readFileSync(new URL('../fixtures/webp-huffman-groups.webp', import.meta.url)), 415, 'UNSUPPORTED_IMAGE', { bomb: true }),
    imageCase('an animated WebP', webpVp8x(200, 200, 0x02), 415, 'UNSUPPORTED_IMAGE'),
    imageCase('a WebP claiming 16384x16384', webpVp8x(16_384, 16_384, 0), 413, 'IMAGE_TOO_LARGE', { bomb: true }),
    imageCase('a truncated JPEG', chip.subarray(0, Math.floor(chip.length / 2)), 415, 'UNSUPPORTED_IMAGE'),
    imageCase('a truncated PNG', png.subarray(0, Math.floor(png.length / 2)), 415, 'UNSUPPORTED_IMAGE'),
    imageCase('a CMYK JPEG without an Adobe marker', encodeCmykJpeg(face, { adobe: false }), 415, 'UNSUPPORTED_IMAGE'),
    imageCase('a 1x1 image', onePixel, 422, 'IMAGE_TOO_SMALL'),
    imageCase('a plain grey image', await new Jimp({ width: 400, height: 300, color: 0x808080ff }).getBuffer('image/png'), 422, 'NO_FACE'),
    // Tiny files the detector would search in hundreds of tiles (626 for these): refused from the header
    imageCase('a 10000x32 grey PNG', await new Jimp({ width: 10_000, height: 32, color: 0x808080ff }).getBuffer('image/png'), 422, 'IMAGE_TOO_SMALL', { bomb: true }),
    imageCase('a 32x10000 grey PNG', await new Jimp({ width: 32, height: 10_000, color: 0x808080ff }).getBuffer('image/png'), 422, 'IMAGE_TOO_SMALL', { bomb: true }),

    // Decompression bombs and decoder traps: refused before decoding
    imageCase('a PNG header claiming 60000x60000', pngBomb(60_000, 60_000), 413, 'IMAGE_TOO_LARGE', { bomb: true }),
    imageCase('a JPEG header claiming 60000x60000', jpegBomb(60_000, 60_000), 413, 'IMAGE_TOO_LARGE', { bomb: true }),
    imageCase('a real JPEG edited to claim 60000x60000', withJpegSize(chip, 60_000, 60_000), 413, 'IMAGE_TOO_LARGE', { bomb: true }),
    imageCase('a GIF whose frame claims 30000x30000', encodeGif([grey], face.width, face.height, { frameSize: [30_000, 30_000] }), 413, 'IMAGE_TOO_LARGE', { bomb: true }),
    imageCase('a BMP header claiming 60000x60000', bmpBomb(60_000, 60_000), 413, 'IMAGE_TOO_LARGE', { bomb: true }),
    imageCase('a TIFF claiming 60000x60000', encodeTiff([tiffPage(60_000, 60_000, 16)], Buffer.alloc(16)), 413, 'IMAGE_TOO_LARGE', { bomb: true }),
    imageCase('a PNG with a second IHDR claiming 60000x60000', pngSecondIhdr(60_000, 60_000), 415, 'UNSUPPORTED_IMAGE', { bomb: true }),
    imageCase('an interlaced PNG whose data inflates to 256 MB', pngInflateBomb(256), 415, 'UNSUPPORTED_IMAGE', { bomb: true }),
    imageCase('a progressive JPEG with 5,000 scans', jpegScanBomb(2000, 2000, 5000), 415, 'UNSUPPORTED_IMAGE', { bomb: true }),
    imageCase('a JPEG of 200,000 frame headers', jpegFrameFlood(200_000), 415, 'UNSUPPORTED_IMAGE', { bomb: true }),
    imageCase('a BMP claiming 33554432 palette colours', withBmpColors(await new Jimp({ width: 64, height: 64, color: 0x808080ff }).getBuffer('image/bmp'), 2 ** 25), 415, 'UNSUPPORTED_IMAGE', { bomb: true }),
    imageCase('a GIF whose LZW codes loop (found by fuzzing)', readFileSync(new URL('../fixtures/gif-lzw-loop.gif', import.meta.url)), 415, 'UNSUPPORTED_IMAGE', { bomb: true }),
    imageCase('a GIF of 200,000 empty frames', gifFrameFlood(200_000, 64, 64), 415, 'UNSUPPORTED_IMAGE', { bomb: true }),
    imageCase('a TIFF whose directories loop', encodeTiff([tiffPage(64, 64, rgb64.length)], rgb64, { loop: true }), 415, 'UNSUPPORTED_IMAGE', { bomb: true }),
    imageCase('a TIFF of 1,000 fields sharing 256 KB of values', tiffSharedValues(1000, 65_536), 415, 'UNSUPPORTED_IMAGE', { bomb: true }),
    imageCase('a TIFF whose deflate compression is stored as a signed SHORT (found by fuzzing)', withTiffFieldType(deflateTiff, deflatePage, 259, 8), 415, 'UNSUPPORTED_IMAGE', { bomb: true }),
    imageCase('a TIFF with LZW compression', encodeTiff([tiffPage(64, 64, rgb64.length).map(([t, ty, v]) => (t === 259 ? [t, ty, [5]] : [t, ty, v]) as [number, number, number[]])], rgb64), 415, 'UNSUPPORTED_IMAGE', { bomb: true }),

    // Unusual but valid images: decoded like any other (detect=false: the whole image is the face)
    imageCase('an animated GIF (first frame)', encodeGif([grey, grey.map((v) => 255 - v)], face.width, face.height), 200, undefined,
      { options: { detect: false }, expectPixels: { image: greyRgba, maxDiff: 0.5 } }),
    imageCase('a CMYK JPEG (Adobe)', encodeCmykJpeg(face), 200, undefined, { options: { detect: false }, expectPixels: { image: face, maxDiff: 12 } }),
    imageCase('a 16-bit PNG with alpha', encodePng(withAlphaBorder, { bitDepth: 16 }), 200, undefined, { expectPixels: { image: withGreyBorder, maxDiff: 1 } }),
    imageCase('an interlaced PNG', encodePng(face, { interlaced: true }), 200, undefined, { expectPixels: { image: face, maxDiff: 0.5 } }),
    imageCase('an uncompressed TIFF', encodeTiff([tiffPage(64, 64, rgb64.length)], rgb64), 200, undefined, { options: { detect: false } }),
    // jimp's EXIF parser read every number of it (minutes); EXIF is now read for Orientation only.
    imageCase('a JPEG whose EXIF points five times at 5,000 entries of 20,000 numbers (found by fuzzing)', withExifFlood(chip, 5000, 20_000), 200, undefined,
      { expectPixels: { image: await rgbaOf(chip), maxDiff: 0 } }),
    ...await orientationCases(chip),
  ];
}

/**
 * The Lambda event fields API Gateway (HTTP API, payload 2.0) would deliver for `request`: JSON
 * and text bodies as text, anything else base64-encoded.
 */
function toRequestParts(request: BadRequest): HttpRequestParts {
  const textual = request.contentType === undefined || /^(application\/json|text\/)/.test(request.contentType);
  const bytes = typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : request.body;
  return {
    body: textual ? bytes.toString('utf8') : bytes.toString('base64'),
    isBase64Encoded: !textual,
    contentType: request.contentType,
    query: request.query,
  };
}

export { buildCorpus, toRequestParts };
export type { BadInput, BadRequest, CorpusLimits };
