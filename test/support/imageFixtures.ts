/**
 * Image files built in code for the bad-input corpus and the fuzz tests: small encoders for the
 * PNG, JPEG, GIF, TIFF and BMP variants jimp cannot write (16-bit and interlaced PNG, CMYK
 * JPEG, animated GIF, EXIF orientation), and headers that claim what the bytes do not hold
 * (decompression bombs). Each builder is deterministic; nothing is read from disk but the WebP
 * encoder's wasm (libwebp, from node_modules).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { deflateSync } from 'node:zlib';
import encodeWebpImage, { init as initWebpEncoder } from '@jsquash/webp/encode.js';

/** Tightly packed RGBA pixels, as jimp's bitmap holds them. */
interface Rgba {
  data: Uint8Array;
  width: number;
  height: number;
}

// --- PNG ------------------------------------------------------------------------------------

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Uint8Array = Buffer.alloc(0)): Buffer {
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write(type, 4, 'latin1');
  chunk.set(data, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  return chunk;
}

function ihdr(width: number, height: number, bitDepth = 8, colorType = 6, interlace = 0): Buffer {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width, 0);
  data.writeUInt32BE(height, 4);
  data.set([bitDepth, colorType, 0, 0, interlace], 8);
  return pngChunk('IHDR', data);
}

/** Adam7 passes: first column, first row, column step, row step. */
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];

/** An RGBA PNG, 8 or 16 bits per sample (16-bit samples are the 8-bit ones x 257), optionally Adam7-interlaced. */
function encodePng(image: Rgba, options: { bitDepth?: 8 | 16; interlaced?: boolean; orientation?: number } = {}): Buffer {
  const { bitDepth = 8, interlaced = false, orientation } = options;
  const bytesPerSample = bitDepth / 8;
  const rows: Buffer[] = [];
  const passes = interlaced ? ADAM7 : [[0, 0, 1, 1]];
  for (const [x0, y0, dx, dy] of passes) {
    for (let y = y0; y < image.height; y += dy) {
      const xs: number[] = [];
      for (let x = x0; x < image.width; x += dx) xs.push(x);
      if (xs.length === 0) continue;
      const row = Buffer.alloc(1 + xs.length * 4 * bytesPerSample); // filter type 0
      xs.forEach((x, k) => {
        for (let c = 0; c < 4; c++) {
          const v = image.data[(y * image.width + x) * 4 + c];
          if (bitDepth === 8) row[1 + k * 4 + c] = v;
          else row.writeUInt16BE(v * 257, 1 + (k * 4 + c) * 2);
        }
      });
      rows.push(row);
    }
  }
  return Buffer.concat([
    PNG_SIGNATURE, ihdr(image.width, image.height, bitDepth, 6, interlaced ? 1 : 0),
    ...(orientation === undefined ? [] : [pngChunk('eXIf', exifOrientationBlock(orientation, 'MM'))]),
    pngChunk('IDAT', deflateSync(Buffer.concat(rows))), pngChunk('IEND'),
  ]);
}

/** A valid PNG signature and IHDR claiming width x height, and almost no data: a bomb if decoded. */
function pngBomb(width: number, height: number, bitDepth = 8): Buffer {
  return Buffer.concat([PNG_SIGNATURE, ihdr(width, height, bitDepth), pngChunk('IDAT', deflateSync(Buffer.alloc(64))), pngChunk('IEND')]);
}

/** A small PNG whose second IHDR claims width x height (pngjs takes the last one). */
function pngSecondIhdr(width: number, height: number): Buffer {
  return Buffer.concat([PNG_SIGNATURE, ihdr(64, 64), ihdr(width, height), pngChunk('IDAT', deflateSync(Buffer.alloc(64))), pngChunk('IEND')]);
}

/** A 64x64 interlaced PNG whose data inflates to `inflatedMb` MB of zeros. */
function pngInflateBomb(inflatedMb: number): Buffer {
  const zeros = deflateSync(Buffer.alloc(inflatedMb * 1024 * 1024), { level: 9 });
  return Buffer.concat([PNG_SIGNATURE, ihdr(64, 64, 8, 6, 1), pngChunk('IDAT', zeros), pngChunk('IEND')]);
}

// --- JPEG -----------------------------------------------------------------------------------

function segment(marker: number, payload: Uint8Array): Buffer {
  const b = Buffer.alloc(4 + payload.length);
  b[0] = 0xff;
  b[1] = marker;
  b.writeUInt16BE(payload.length + 2, 2);
  b.set(payload, 4);
  return b;
}

function sof(marker: number, width: number, height: number, components: number): Buffer {
  const payload = Buffer.alloc(6 + 3 * components);
  payload[0] = 8;
  payload.writeUInt16BE(height, 1);
  payload.writeUInt16BE(width, 3);
  payload[5] = components;
  for (let c = 0; c < components; c++) payload.set([c + 1, 0x11, 0], 6 + 3 * c);
  return segment(marker, payload);
}

/** Start of image, a frame header claiming width x height, end of image. */
function jpegBomb(width: number, height: number): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xd8]), sof(0xc0, width, height, 3), Buffer.from([0xff, 0xd9])]);
}

/**
 * Start of image, then `count` copies of `FF C0 00 02`: frame headers of the shortest length the
 * walk accepts (the reviewer's 800 KB file at 200,000). Each one's "size" is read from the next.
 */
function jpegFrameFlood(count: number): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(4 * count).fill(Buffer.from([0xff, 0xc0, 0x00, 0x02]))]);
}

/** `jpeg` with the dimensions in its first frame header replaced. */
function withJpegSize(jpeg: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(jpeg);
  for (let i = 2; i + 9 < out.length;) {
    const marker = out[i + 1];
    if (marker >= 0xc0 && marker <= 0xc2) {
      out.writeUInt16BE(height, i + 5);
      out.writeUInt16BE(width, i + 7);
      return out;
    }
    i += 2 + out.readUInt16BE(i + 2);
  }
  throw new Error('no frame header');
}

/** MSB-first bit writer with JPEG byte stuffing (0xFF is followed by 0x00); pads with 1s. */
function jpegBits(): { put: (value: number, length: number) => void; bytes: () => Buffer } {
  const out: number[] = [];
  let acc = 0;
  let n = 0;
  const flush = () => {
    out.push(acc);
    if (acc === 0xff) out.push(0);
    acc = 0;
    n = 0;
  };
  return {
    put(value, length) {
      for (let i = length - 1; i >= 0; i--) {
        acc = (acc << 1) | ((value >> i) & 1);
        if (++n === 8) flush();
      }
    },
    bytes() {
      while (n !== 0) { acc = (acc << 1) | 1; if (++n === 8) flush(); }
      return Buffer.from(out);
    },
  };
}

/** JPEG Annex K luminance DC table: code lengths per length 1..16, and the categories 0..11. */
const DC_COUNTS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_CODES: [number, number][] = [[0b00, 2], [0b010, 3], [0b011, 3], [0b100, 3], [0b101, 3], [0b110, 3],
  [0b1110, 4], [0b11110, 5], [0b111110, 6], [0b1111110, 7], [0b11111110, 8], [0b111111110, 9]];

/**
 * A baseline 4-component Adobe JPEG holding only each 8x8 block's mean (DC coefficients; every
 * AC band is end-of-block), so the picture is `image` at 1/8 resolution, blown up. With Adobe
 * transform 0, jpeg-js reads inverted CMYK: storing R, G, B, 255 gives back R, G, B with K = 0.
 * `adobe: false` leaves out the APP14 marker (jpeg-js then refuses four components).
 */
function encodeCmykJpeg(image: Rgba, options: { adobe?: boolean } = {}): Buffer {
  const bw = Math.ceil(image.width / 8);
  const bh = Math.ceil(image.height / 8);
  const bits = jpegBits();
  const predictors = [0, 0, 0, 0];
  for (let by = 0; by < bh; by++) {
    for (let bx = 0; bx < bw; bx++) {
      for (let c = 0; c < 4; c++) {
        let sum = 0;
        let count = 0;
        for (let y = by * 8; y < Math.min(image.height, by * 8 + 8); y++) {
          for (let x = bx * 8; x < Math.min(image.width, bx * 8 + 8); x++) {
            sum += c === 3 ? 255 : image.data[(y * image.width + x) * 4 + c];
            count++;
          }
        }
        const level = Math.round(sum / count) - 128; // the DC coefficient / 8, quantised by 8
        const diff = level - predictors[c];
        predictors[c] = level;
        const category = diff === 0 ? 0 : Math.floor(Math.log2(Math.abs(diff))) + 1;
        bits.put(...DC_CODES[category]);
        if (category > 0) bits.put(diff > 0 ? diff : diff + (1 << category) - 1, category);
        bits.put(0, 1); // AC: end of block
      }
    }
  }
  const adobe = Buffer.from([0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 0x64, 0, 0, 0, 0, 0]); // "Adobe", version 100, transform 0
  const acCounts = Buffer.alloc(16);
  acCounts[0] = 1;
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    ...(options.adobe === false ? [] : [segment(0xee, adobe)]),
    segment(0xdb, Buffer.concat([Buffer.from([0]), Buffer.alloc(64, 8)])),
    sof(0xc0, image.width, image.height, 4),
    segment(0xc4, Buffer.concat([Buffer.from([0x00]), Buffer.from(DC_COUNTS), Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])])),
    segment(0xc4, Buffer.concat([Buffer.from([0x10]), acCounts, Buffer.from([0x00])])),
    segment(0xda, Buffer.from([4, 1, 0x00, 2, 0x00, 3, 0x00, 4, 0x00, 0, 63, 0])),
    bits.bytes(),
    Buffer.from([0xff, 0xd9]),
  ]);
}

/**
 * A grey progressive JPEG of width x height with `scans` AC scans of a few bytes each (one
 * end-of-band run covers 32,767 blocks). jpeg-js walks the whole image once per scan.
 */
function jpegScanBomb(width: number, height: number, scans: number): Buffer {
  const blocks = Math.ceil(width / 8) * Math.ceil(height / 8);
  const single = Buffer.alloc(16);
  single[0] = 1;
  const ac = jpegBits();
  for (let k = 0; k < Math.ceil(blocks / 32767); k++) { ac.put(0, 1); ac.put(0x3fff, 14); } // EOBRUN of 2^14 + 16383 blocks
  const acScan = Buffer.concat([segment(0xda, Buffer.from([1, 1, 0x00, 1, 63, 0])), ac.bytes()]);
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    segment(0xdb, Buffer.concat([Buffer.from([0]), Buffer.alloc(64, 1)])),
    sof(0xc2, width, height, 1),
    segment(0xc4, Buffer.concat([Buffer.from([0x00]), single, Buffer.from([0])])), // DC: category 0 only
    segment(0xc4, Buffer.concat([Buffer.from([0x10]), single, Buffer.from([0xe0])])), // AC: EOBRUN r=14 only
    segment(0xda, Buffer.from([1, 1, 0x00, 0, 0, 0])), Buffer.alloc(Math.ceil(blocks / 8)), // DC scan: one 0 bit per block
    ...Array.from({ length: scans }, () => acScan),
    Buffer.from([0xff, 0xd9]),
  ]);
}

/** An Exif block (a TIFF header and IFD0) holding only Orientation (tag 0x0112) = `orientation`, in either byte order. */
function exifOrientationBlock(orientation: number, byteOrder: 'II' | 'MM'): Buffer {
  const tiff = Buffer.alloc(8 + 2 + 12 + 4);
  const [u16, u32] = byteOrder === 'II' ? [tiff.writeUInt16LE, tiff.writeUInt32LE] : [tiff.writeUInt16BE, tiff.writeUInt32BE];
  tiff.write(byteOrder, 0, 'latin1');
  u16.call(tiff, 42, 2);
  u32.call(tiff, 8, 4);
  u16.call(tiff, 1, 8); // one entry
  u16.call(tiff, 0x0112, 10);
  u16.call(tiff, 3, 12); // SHORT
  u32.call(tiff, 1, 14);
  u16.call(tiff, orientation, 18);
  return tiff;
}

/** `jpeg` with an EXIF APP1 segment holding only Orientation (tag 0x0112) = `orientation`, right after SOI. */
function withExifOrientation(jpeg: Buffer, orientation: number): Buffer {
  const tiff = exifOrientationBlock(orientation, 'II');
  const app1 = segment(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]));
  return Buffer.concat([jpeg.subarray(0, 2), app1, jpeg.subarray(2)]);
}

/**
 * `jpeg` with an EXIF APP1 segment whose IFD0 has `entries` RATIONAL entries of `components`
 * values each, all at the same bytes, and whose GPS and EXIF pointers and next-IFD pointer all
 * lead back to IFD0: exif-parser reads it four times, every value (a fuzzing review's hang).
 */
function withExifFlood(jpeg: Buffer, entries: number, components: number): Buffer {
  const ifd = 8 + 8; // one rational's bytes right after the header, shared by every entry
  const tiff = Buffer.alloc(ifd + 2 + 12 * (entries + 2) + 4);
  tiff.write('II', 0, 'latin1');
  tiff.writeUInt16LE(42, 2);
  tiff.writeUInt32LE(ifd, 4);
  tiff.writeUInt16LE(entries + 2, ifd);
  const entry = (k: number, tag: number, format: number, count: number, value: number) => {
    const at = ifd + 2 + 12 * k;
    tiff.writeUInt16LE(tag, at);
    tiff.writeUInt16LE(format, at + 2);
    tiff.writeUInt32LE(count, at + 4);
    tiff.writeUInt32LE(value, at + 8);
  };
  entry(0, 0x8769, 4, 1, ifd); // EXIF IFD -> IFD0
  entry(1, 0x8825, 4, 1, ifd); // GPS IFD -> IFD0
  for (let k = 0; k < entries; k++) entry(k + 2, 0x9000 + (k % 0x1000), 5, components, 8);
  tiff.writeUInt32LE(ifd, ifd + 2 + 12 * (entries + 2)); // next IFD (IFD1) -> IFD0
  const app1 = segment(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]));
  return Buffer.concat([jpeg.subarray(0, 2), app1, jpeg.subarray(2)]);
}

/**
 * The stored pixels of a photo that shows `upright` once EXIF `orientation` (1-8) is applied
 * (CIPA DC-008, "0th row / 0th column" table): stored(x, y) = upright(col, row) below.
 */
function storedForOrientation(upright: Rgba, orientation: number): Rgba {
  const { width: W, height: H } = upright;
  const swap = orientation >= 5;
  const width = swap ? H : W;
  const height = swap ? W : H;
  const source: Record<number, (x: number, y: number) => [number, number]> = {
    1: (x, y) => [x, y],
    2: (x, y) => [W - 1 - x, y],
    3: (x, y) => [W - 1 - x, H - 1 - y],
    4: (x, y) => [x, H - 1 - y],
    5: (x, y) => [y, x],
    6: (x, y) => [W - 1 - y, x],
    7: (x, y) => [W - 1 - y, H - 1 - x],
    8: (x, y) => [y, H - 1 - x],
  };
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [col, row] = source[orientation](x, y);
      data.set(upright.data.subarray((row * W + col) * 4, (row * W + col) * 4 + 4), (y * width + x) * 4);
    }
  }
  return { data, width, height };
}

// --- WebP -----------------------------------------------------------------------------------

let webpEncoder: Promise<unknown> | undefined;

/** `image` as a WebP by libwebp (lossless: the same pixels back; lossy at quality 90). Node has wasm SIMD, so the SIMD build. */
async function encodeWebp(image: Rgba, options: { lossless?: boolean } = {}): Promise<Buffer> {
  const folder = join(dirname(createRequire(import.meta.url).resolve('@jsquash/webp/package.json')), 'codec', 'enc');
  webpEncoder ??= initWebpEncoder(new WebAssembly.Module(readFileSync(join(folder, 'webp_enc_simd.wasm'))));
  await webpEncoder;
  const pixels = { data: new Uint8ClampedArray(image.data), width: image.width, height: image.height, colorSpace: 'srgb' } as ImageData;
  return Buffer.from(await encodeWebpImage(pixels, { lossless: options.lossless ? 1 : 0, quality: 90 }));
}

/** A WebP file whose only chunk is a VP8X header: `flags` (0x02 animation) and a canvas of width x height. */
function webpVp8x(width: number, height: number, flags: number): Buffer {
  const b = Buffer.alloc(30 + 16);
  b.write('RIFF', 0, 'latin1');
  b.writeUInt32LE(b.length - 8, 4);
  b.write('WEBPVP8X', 8, 'latin1');
  b.writeUInt32LE(10, 16);
  b[20] = flags;
  b.writeUIntLE(width - 1, 24, 3);
  b.writeUIntLE(height - 1, 27, 3);
  return b;
}

// --- GIF, TIFF, BMP -------------------------------------------------------------------------

/**
 * A GIF89a of grey frames (256-grey palette), each frame's LZW data written as literal codes
 * with a clear code every 250 (so codes stay 9 bits). `frameSize` overrides the size written
 * in the first image descriptor (a frame larger than the screen).
 */
function encodeGif(frames: Uint8Array[], width: number, height: number, options: { frameSize?: [number, number] } = {}): Buffer {
  const header = Buffer.alloc(13);
  header.write('GIF89a', 0, 'latin1');
  header.writeUInt16LE(width, 6);
  header.writeUInt16LE(height, 8);
  header[10] = 0xf7; // global colour table of 256 entries
  const palette = Buffer.alloc(768);
  for (let i = 0; i < 256; i++) palette.fill(i, i * 3, i * 3 + 3);
  const loop = Buffer.from([0x21, 0xff, 0x0b, ...Buffer.from('NETSCAPE2.0', 'latin1'), 0x03, 0x01, 0x00, 0x00, 0x00]);
  const parts: Buffer[] = [header, palette, loop];
  frames.forEach((grey, index) => {
    parts.push(Buffer.from([0x21, 0xf9, 0x04, 0x00, 10, 0, 0, 0])); // graphic control: 0.1 s
    const descriptor = Buffer.alloc(10);
    descriptor[0] = 0x2c;
    const [fw, fh] = index === 0 && options.frameSize ? options.frameSize : [width, height];
    descriptor.writeUInt16LE(fw, 5);
    descriptor.writeUInt16LE(fh, 7);
    parts.push(descriptor, Buffer.from([8]));
    const codes: number[] = [];
    grey.forEach((v, i) => { if (i % 250 === 0) codes.push(256); codes.push(v); });
    codes.push(257);
    const packed: number[] = [];
    let acc = 0;
    let n = 0;
    for (const code of codes) {
      acc |= code << n;
      n += 9;
      while (n >= 8) { packed.push(acc & 0xff); acc >>>= 8; n -= 8; }
    }
    if (n > 0) packed.push(acc & 0xff);
    for (let i = 0; i < packed.length; i += 255) {
      const block = packed.slice(i, i + 255);
      parts.push(Buffer.from([block.length, ...block]));
    }
    parts.push(Buffer.from([0]));
  });
  parts.push(Buffer.from([0x3b]));
  return Buffer.concat(parts);
}

/**
 * A width x height GIF of `count` 12-byte image descriptors covering the screen, each with no
 * pixel data (the reviewer's 2.4 MB file at 200,000): valid structure, nothing to decode.
 */
function gifFrameFlood(count: number, width: number, height: number): Buffer {
  const header = Buffer.alloc(13 + 6);
  header.write('GIF89a', 0, 'latin1');
  header.writeUInt16LE(width, 6);
  header.writeUInt16LE(height, 8);
  header[10] = 0x80; // global colour table of 2 entries (black, black)
  const frame = Buffer.alloc(12);
  frame[0] = 0x2c;
  frame.writeUInt16LE(width, 5);
  frame.writeUInt16LE(height, 7);
  frame[10] = 2; // LZW minimum code size, then the empty sub-block list's terminator
  return Buffer.concat([header, Buffer.alloc(12 * count).fill(frame), Buffer.from([0x3b])]);
}

/** A little-endian TIFF: one IFD per page with the given (tag, type, values) fields, then `data`. */
function encodeTiff(pages: [number, number, number[]][][], data: Buffer = Buffer.alloc(0), options: { loop?: boolean } = {}): Buffer {
  const sizes: Record<number, number> = { 3: 2, 4: 4 };
  const header = Buffer.alloc(8);
  header.write('II', 0, 'latin1');
  header.writeUInt16LE(42, 2);
  const ifds: Buffer[] = [];
  let offset = 8;
  const extra: Buffer[] = [];
  const ifdSizes = pages.map((fields) => 2 + fields.length * 12 + 4);
  let extraOffset = 8 + ifdSizes.reduce((a, b) => a + b, 0);
  const dataOffset = extraOffset + pages.flat().reduce((sum, [, type, values]) => sum + (values.length * sizes[type] > 4 ? values.length * sizes[type] : 0), 0);
  header.writeUInt32LE(8, 4);
  pages.forEach((fields, p) => {
    const ifd = Buffer.alloc(ifdSizes[p]);
    ifd.writeUInt16LE(fields.length, 0);
    fields.forEach(([tag, type, values], k) => {
      const entry = 2 + k * 12;
      const vals = tag === 273 ? values.map((v) => v + dataOffset) : values; // strip offsets are relative to `data`
      ifd.writeUInt16LE(tag, entry);
      ifd.writeUInt16LE(type, entry + 2);
      ifd.writeUInt32LE(vals.length, entry + 4);
      const bytes = Buffer.alloc(vals.length * sizes[type]);
      vals.forEach((v, j) => (type === 3 ? bytes.writeUInt16LE(v, j * 2) : bytes.writeUInt32LE(v, j * 4)));
      if (bytes.length <= 4) bytes.copy(ifd, entry + 8);
      else { ifd.writeUInt32LE(extraOffset, entry + 8); extra.push(bytes); extraOffset += bytes.length; }
    });
    const next = options.loop ? 8 : p + 1 < pages.length ? offset + ifdSizes[p] : 0;
    ifd.writeUInt32LE(next, ifdSizes[p] - 4);
    ifds.push(ifd);
    offset += ifdSizes[p];
  });
  return Buffer.concat([header, ...ifds, ...extra, data]);
}

/** `tiff` (from encodeTiff, first page `fields`) with field `tag` of the first page retyped as `type`, its bytes unchanged. */
function withTiffFieldType(tiff: Buffer, fields: [number, number, number[]][], tag: number, type: number): Buffer {
  const copy = Buffer.from(tiff);
  copy.writeUInt16LE(type, 8 + 2 + fields.findIndex(([t]) => t === tag) * 12 + 2);
  return copy;
}

/**
 * A little-endian TIFF whose one IFD has `fields` LONG fields (tags 1000-30999) of `values` values
 * each, all pointing at the same bytes right after the header: every field lies inside the
 * file, yet reading them all means fields x values reads.
 */
function tiffSharedValues(fields: number, values: number): Buffer {
  const ifd = 8 + 4 * values;
  const b = Buffer.alloc(ifd + 2 + 12 * fields + 4);
  b.write('II', 0, 'latin1');
  b.writeUInt16LE(42, 2);
  b.writeUInt32LE(ifd, 4);
  b.writeUInt16LE(fields, ifd);
  for (let k = 0; k < fields; k++) {
    const entry = ifd + 2 + 12 * k;
    b.writeUInt16LE(1000 + (k % 30_000), entry); // clear of the tags that point at other directories
    b.writeUInt16LE(4, entry + 2);
    b.writeUInt32LE(values, entry + 4);
    b.writeUInt32LE(8, entry + 8);
  }
  return b;
}

/** Fields of an uncompressed 8-bit RGB page of width x height whose one strip is `stripBytes` long at data offset 0. */
function tiffPage(width: number, height: number, stripBytes: number): [number, number, number[]][] {
  return [[256, 4, [width]], [257, 4, [height]], [258, 3, [8, 8, 8]], [259, 3, [1]], [262, 3, [2]],
    [273, 4, [0]], [277, 3, [3]], [278, 4, [height]], [279, 4, [stripBytes]]];
}

/** A BMP file header and BITMAPINFOHEADER claiming width x height at 24 bits, and no pixels. */
function bmpBomb(width: number, height: number): Buffer {
  const b = Buffer.alloc(54);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(54, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeUInt32LE(width, 18);
  b.writeInt32LE(height, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(24, 28);
  return b;
}

/** `bmp` (a BITMAPINFOHEADER BMP) with its palette size field set to `colors`. */
function withBmpColors(bmp: Buffer, colors: number): Buffer {
  const out = Buffer.from(bmp);
  out.writeUInt32LE(colors, 46);
  return out;
}

// --- pixels ---------------------------------------------------------------------------------

/** `image` cropped to the rectangle (left, top, width, height). */
function crop(image: Rgba, left: number, top: number, width: number, height: number): Rgba {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) data.set(image.data.subarray(((top + y) * image.width + left) * 4, ((top + y) * image.width + left + width) * 4), y * width * 4);
  return { data, width, height };
}

/** BT.601 luma of each pixel. */
function toGrey(image: Rgba): Uint8Array {
  const grey = new Uint8Array(image.width * image.height);
  for (let i = 0; i < grey.length; i++) {
    const [r, g, b] = image.data.subarray(i * 4, i * 4 + 3);
    grey[i] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
  }
  return grey;
}

/** Mean absolute difference of the RGB channels of two images of the same size (alpha ignored). */
function meanAbsDiff(a: Rgba, b: Rgba): number {
  if (a.width !== b.width || a.height !== b.height) return Infinity;
  let sum = 0;
  for (let i = 0; i < a.data.length; i += 4) for (let c = 0; c < 3; c++) sum += Math.abs(a.data[i + c] - b.data[i + c]);
  return sum / (a.width * a.height * 3);
}

/**
 * An uncompressed BMP (40-byte header) of `width` x `height` pixels at `bits` per pixel (1, 4 or 8
 * with a grey palette; 24 or 32 direct), bottom-up unless `topDown`; with `lastRowPadding` false,
 * the file ends right after the last row's pixels, as some writers leave it.
 */
function encodeBmp(width: number, height: number, bits: 1 | 4 | 8 | 24 | 32, options: { topDown?: boolean; lastRowPadding?: boolean } = {}): Buffer {
  const colors = bits <= 8 ? 1 << bits : 0;
  const stride = Math.ceil((bits * width) / 32) * 4;
  const offset = 54 + 4 * colors;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const value = (x * 7 + y * 13) % 256;
      const row = y * stride;
      if (bits >= 24) pixels.fill(value, row + x * (bits / 8), row + (x + 1) * (bits / 8));
      else pixels[row + Math.floor((x * bits) / 8)] |= (value % colors) << (8 - bits - ((x * bits) % 8));
    }
  }
  const body = options.lastRowPadding === false ? pixels.subarray(0, stride * (height - 1) + Math.ceil((bits * width) / 8)) : pixels;
  const header = Buffer.alloc(offset);
  header.write('BM', 0, 'latin1');
  header.writeUInt32LE(offset + body.length, 2);
  header.writeUInt32LE(offset, 10);
  header.writeUInt32LE(40, 14);
  header.writeInt32LE(width, 18);
  header.writeInt32LE(options.topDown ? -height : height, 22);
  header.writeUInt16LE(1, 26);
  header.writeUInt16LE(bits, 28);
  header.writeUInt32LE(colors, 46);
  for (let c = 0; c < colors; c++) header.fill(Math.round((c * 255) / (colors - 1)), 54 + 4 * c, 54 + 4 * c + 3);
  return Buffer.concat([header, body]);
}

export {
  withExifFlood, withTiffFieldType,
  encodePng, pngBomb, pngSecondIhdr, pngInflateBomb, pngChunk, PNG_SIGNATURE,
  jpegBomb, jpegFrameFlood, withJpegSize, encodeCmykJpeg, jpegScanBomb, withExifOrientation, storedForOrientation,
  encodeWebp, webpVp8x, encodeGif, gifFrameFlood, encodeTiff, tiffPage, tiffSharedValues, encodeBmp, bmpBomb, withBmpColors, crop, toGrey, meanAbsDiff,
};
export type { Rgba };
