/**
 * lib/imageHeader.ts and the checks lib/imageDecode.ts makes before handing bytes to jimp:
 * every size a decoder would allocate is read from the structure (every PNG IHDR, every JPEG
 * frame header, GIF frames as well as the screen, every TIFF page), and structures a decoder
 * would mishandle are refused before it sees them.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { Jimp } from 'jimp';
import { describe, expect, it } from 'vitest';
import { gifLzwTerminates } from '../../lib/gifLzw.js';
import { decodeImage } from '../../lib/imageDecode.js';
import { bmpLayoutProblem, gifFrames, MAX_GIF_FRAMES, readImageHeader, unsupportedFormat } from '../../lib/imageHeader.js';
import {
  bmpBomb, encodeBmp, encodeCmykJpeg, encodeGif, encodePng, encodeTiff, encodeWebp, webpVp8x, gifFrameFlood, jpegBomb, jpegFrameFlood, jpegScanBomb, pngBomb, pngInflateBomb, pngSecondIhdr,
  pngChunk, tiffPage, tiffSharedValues, withBmpColors, withExifOrientation,
} from '../support/imageFixtures.js';

const grey = (width: number, height: number) => ({ data: new Uint8Array(width * height * 4).fill(128), width, height });
const LIMITS = { maxBytes: 15 * 2 ** 20, maxPixels: 25_000_000, maxSide: 10_000, minSide: 32, maxAspect: 10, maxJpegScans: 100 };

/** jpeg-js, the decoder jimp runs for JPEGs: the judge of what it counts against its memory limit. */
const jpegJs = createRequire(import.meta.url)('jpeg-js').decode as (data: Buffer, options: object) => unknown;
const DATA = resolve(process.env.UTKFACE_DIR ?? '../shared/data');

/**
 * Hang guards, not speed targets (those are benchmarks in bench/): each walk below stops early
 * in a few ms, and reading its whole flood would take seconds to minutes. Loose enough for a
 * CI core shared with other work.
 */
const HANG_GUARD_MS = 1_000;

describe('readImageHeader', () => {
  it('reads the size of each format jimp writes', async () => {
    const image = new Jimp({ width: 120, height: 80, color: 0x336699ff });
    for (const [mime, format] of [['image/jpeg', 'jpeg'], ['image/png', 'png'], ['image/bmp', 'bmp'], ['image/tiff', 'tiff'], ['image/gif', 'gif']] as const) {
      const header = readImageHeader(await image.getBuffer(mime));
      expect(header, mime).toMatchObject({ format, width: 120, height: 80, decodePixels: 9600, decodeSide: 120 });
      expect(header?.problem, mime).toBeUndefined();
    }
  });

  it('returns undefined for bytes that are no image format it reads', () => {
    expect(readImageHeader(Buffer.from('%PDF-1.4 not an image'))).toBeUndefined();
    expect(readImageHeader(Buffer.alloc(0))).toBeUndefined();
  });

  it('reads a PNG bomb size from its IHDR, and refuses a second IHDR (pngjs would use it)', () => {
    expect(readImageHeader(pngBomb(60_000, 60_000))).toMatchObject({ width: 60_000, height: 60_000 });
    expect(readImageHeader(pngSecondIhdr(60_000, 60_000))?.problem).toMatch(/2 IHDR chunks/);
    expect(readImageHeader(encodePng(grey(40, 40), { interlaced: true }))).toMatchObject({ interlaced: true, width: 40 });
  });

  it('reads the JPEG frame header after APP segments, counts scans, and refuses a second frame', () => {
    const exif = withExifOrientation(jpegBomb(300, 200), 6);
    expect(readImageHeader(exif)).toMatchObject({ format: 'jpeg', width: 300, height: 200 });
    expect(readImageHeader(jpegScanBomb(256, 256, 40))).toMatchObject({ width: 256, height: 256, scans: 41 });
    const twoFrames = Buffer.concat([jpegBomb(100, 100).subarray(0, -2), jpegBomb(9000, 9000).subarray(2)]);
    expect(readImageHeader(twoFrames)).toMatchObject({ width: 100, height: 100, decodeSide: 9000, problem: expect.stringMatching(/more than one frame header/) });
    expect(readImageHeader(encodeCmykJpeg(grey(64, 64)))).toMatchObject({ width: 64, height: 64, scans: 1 });
  });

  it('counts a GIF frame larger than its logical screen', () => {
    const pixels = new Uint8Array(64 * 64);
    const header = readImageHeader(encodeGif([pixels, pixels], 64, 64, { frameSize: [30_000, 20] }));
    expect(header).toMatchObject({ width: 64, height: 64, decodeSide: 30_000, decodePixels: 600_000 });
    expect(gifFrames(encodeGif([pixels, pixels, pixels], 64, 64))).toHaveLength(3);
  });

  it('stops at the second JPEG frame header, however many follow', () => {
    const flood = jpegFrameFlood(200_000);
    const started = performance.now();
    expect(readImageHeader(flood)?.problem).toMatch(/more than one frame header \(a second at byte 6\)/);
    expect(performance.now() - started).toBeLessThan(HANG_GUARD_MS); // the walk stops at byte 6; counting scans reads the rest once
  });

  it('counts only the GIF screen and first frame (later frames are never decoded), and refuses over MAX_GIF_FRAMES frames', () => {
    const pixels = new Uint8Array(64 * 64);
    const gif = encodeGif([pixels, pixels], 64, 64);
    const second = gifFrames(gif)[1];
    gif.writeUInt16LE(30_000, second.dataOffset - 5); // its width and height
    gif.writeUInt16LE(30_000, second.dataOffset - 3);
    expect(readImageHeader(gif)).toMatchObject({ width: 64, height: 64, decodeSide: 64, decodePixels: 4096 });
    expect(readImageHeader(gif)?.problem).toBeUndefined();
    expect(readImageHeader(gifFrameFlood(MAX_GIF_FRAMES, 64, 64))?.problem).toBeUndefined();
    const flood = gifFrameFlood(200_000, 64, 64);
    const started = performance.now();
    expect(readImageHeader(flood)?.problem).toMatch(/more than 10000 frames/);
    expect(performance.now() - started).toBeLessThan(HANG_GUARD_MS); // the walk stops after MAX_GIF_FRAMES + 1 (a few ms warm)
    expect(gifFrames(gifFrameFlood(5, 64, 64), 1)).toHaveLength(1);
  });

  it('reads BMP width as unsigned like bmp-ts, and refuses a palette over 256 colours', () => {
    const b = bmpBomb(64, -64);
    expect(readImageHeader(b)).toMatchObject({ width: 64, height: 64 });
    b.writeUInt32LE(0xffffffe0, 18); // -32 as signed: must not read as 32
    expect(readImageHeader(b)?.width).toBe(0xffffffe0);
    expect(readImageHeader(withBmpColors(bmpBomb(64, 64), 2 ** 25))?.problem).toMatch(/palette colours/);
  });

  it('checks every TIFF page and refuses loops, out-of-file fields and unbounded compressions', () => {
    const rgb = Buffer.alloc(16 * 16 * 3);
    const page = tiffPage(16, 16, rgb.length);
    // Each page its own strip (strip offsets are relative to the data passed).
    const second = page.map(([t, ty, v]) => (t === 273 ? [t, ty, [rgb.length]] : [t, ty, v]) as [number, number, number[]]);
    expect(readImageHeader(encodeTiff([page, second], Buffer.concat([rgb, rgb])))).toMatchObject({ width: 16, height: 16, decodePixels: 512 });
    // Pages may not share their data: utif2 decodes each page's strips in full (4 pages x one strip).
    expect(readImageHeader(encodeTiff([page, page], rgb))?.problem).toMatch(/runs past the end/);
    const big = tiffPage(9000, 9000, rgb.length).map(([t, ty, v]) => (t === 273 ? [t, ty, [rgb.length]] : [t, ty, v]) as [number, number, number[]]);
    expect(readImageHeader(encodeTiff([page, big], Buffer.concat([rgb, rgb])))).toMatchObject({ width: 16, decodeSide: 9000 });
    expect(readImageHeader(encodeTiff([page], rgb, { loop: true }))?.problem).toMatch(/loop/);
    expect(readImageHeader(encodeTiff([page.map(([t, ty, v]) => (t === 259 ? [t, ty, [8]] : [t, ty, v]) as [number, number, number[]])], rgb))?.problem).toMatch(/compression 8/);
    expect(readImageHeader(encodeTiff([tiffPage(16, 16, 10 * rgb.length)], rgb))?.problem).toMatch(/past the end/);
    const huge = encodeTiff([page], rgb);
    huge.writeUInt32LE(0xfffffff0, 8 + 2 + 4); // first field's value count
    expect(readImageHeader(huge)?.problem).toMatch(/runs past the end|values/);
  });

  // A second fuzzing review: files that read differently to jpeg-js, pngjs or utif2 than to these
  // checks (a hidden 20000x1250 JPEG frame, a skipped TIFF page), and per-block or per-chunk work
  // no size bounds (refinement scans past coefficient 63, 255 components, palettes, chunk floods).
  it('refuses JPEG, PNG and TIFF structures their decoders would read otherwise or work on without bound', () => {
    const chip = readFileSync(join(DATA, 'utkface', '28_0_1_20170113195927894.jpg.chip.jpg'));
    expect(readImageHeader(chip)?.problem).toBeUndefined();
    const edited = (edit: (b: Buffer) => void) => { const b = Buffer.from(chip); edit(b); return b; };
    const afterFirst = 4 + chip.readUInt16BE(4); // SOI, then the first segment's marker and length
    expect(readImageHeader(Buffer.concat([chip.subarray(0, afterFirst), Buffer.from([0x00]), chip.subarray(afterFirst)]))?.problem).toMatch(new RegExp(`stray byte between segments at ${afterFirst}`));
    expect(readImageHeader(Buffer.concat([chip.subarray(0, 2), Buffer.from([0xff, 0xdd, 0, 5, 0, 0, 0]), chip.subarray(2)]))?.problem).toMatch(/DRI segment of 5 bytes/);
    expect(readImageHeader(edited((b) => { b[b.indexOf(Buffer.from([0xff, 0xc0])) + 9] = 5; }))?.problem).toMatch(/frame of 5 components/);
    expect(readImageHeader(edited((b) => { b[b.indexOf(Buffer.from([0xff, 0xc0])) + 11] = 0x55; }))?.problem).toMatch(/sampling factors 5x5/);
    expect(readImageHeader(edited((b) => { const i = b.indexOf(Buffer.from([0xff, 0xda])); b[i + 5 + 2 * b[i + 4] + 1] = 200; }))?.problem).toMatch(/spectral range past 63/);
    const comment = Buffer.concat([Buffer.from([0xff, 0xfe, 0xff, 0xff]), Buffer.alloc(0xfffd, 0x41)]); // a 64 KB COM segment
    const withComments = (count: number) => Buffer.concat([chip.subarray(0, 2), ...Array.from({ length: count }, () => comment), chip.subarray(2)]);
    expect(readImageHeader(withComments(15))?.problem).toBeUndefined();
    expect(readImageHeader(withComments(17))?.problem).toMatch(/more than 1048576 bytes of tables and comments/);
    const png = encodePng(grey(40, 40));
    const afterIhdr = 8 + 25;
    const withChunks = (...chunks: Buffer[]) => Buffer.concat([png.subarray(0, afterIhdr), ...chunks, png.subarray(afterIhdr)]);
    expect(readImageHeader(withChunks(pngChunk('PLTE', Buffer.alloc(3 * 256))))?.problem).toBeUndefined();
    expect(readImageHeader(withChunks(pngChunk('PLTE', Buffer.alloc(3 * 200)), pngChunk('PLTE', Buffer.alloc(3 * 100))))?.problem).toMatch(/more than 256 colours/);
    expect(readImageHeader(withChunks(...Array.from({ length: 20_000 }, () => pngChunk('teXt'))))?.problem).toMatch(/more than 20000 chunks/);
    const rgb = Buffer.alloc(16 * 16 * 3);
    const sbyteFirst = encodeTiff([tiffPage(16, 16, rgb.length)], rgb);
    sbyteFirst.writeUInt16LE(6, 8 + 2 + 2); // the first field's type
    expect(readImageHeader(sbyteFirst)?.problem).toMatch(/starting with an SBYTE field/);
  });

  // A review of those checks: EXIF pointers of other types led to unchecked directories, PackBits
  // strips ran 64x past their size, and one 2048x2048 tile per 32x32 page was cleared per tile.
  it('refuses TIFF sub-directory pointers other than one LONG, PackBits strips that unpack past their size, and tiles larger than the page', () => {
    const rgb = Buffer.alloc(16 * 16 * 3);
    const page = tiffPage(16, 16, rgb.length);
    const withFields = (fields: [number, number, number[]][], changes: Record<number, number[]> = {}) =>
      [...page.map(([t, ty, v]) => [t, ty, changes[t] ?? v] as [number, number, number[]]), ...fields].sort(([a], [b]) => a - b);
    expect(readImageHeader(encodeTiff([withFields([[34665, 3, [8]]])], rgb))?.problem).toMatch(/34665 .* must be one LONG pointer, not 1 of type 3/);
    expect(readImageHeader(encodeTiff([withFields([[34665, 4, [8, 8]]])], rgb))?.problem).toMatch(/not 2 of type 4/);
    const repeats = Buffer.alloc(rgb.length); // 0x81 0x00: 128 bytes out per 2 in
    for (let i = 0; i < repeats.length; i += 2) repeats[i] = 0x81;
    expect(readImageHeader(encodeTiff([withFields([], { 259: [32773] })], repeats))?.problem).toMatch(/PackBits strip 0 unpacks to more than its 768 bytes/);
    const literal = Buffer.concat(Array.from({ length: 6 }, () => Buffer.concat([Buffer.from([127]), Buffer.alloc(128)]))); // 6 x 128 bytes: exactly 768
    expect(readImageHeader(encodeTiff([withFields([], { 259: [32773], 279: [literal.length] })], literal))?.problem).toBeUndefined();
    const tiled = (side: number) => encodeTiff([[[256, 4, [16]], [257, 4, [16]], [258, 3, [8, 8, 8]], [259, 3, [1]], [262, 3, [2]], [277, 3, [3]],
      [322, 4, [side]], [323, 4, [side]], [324, 4, [8]], [325, 4, [rgb.length]]]], rgb);
    expect(readImageHeader(tiled(2048))?.problem).toMatch(/tiles of 2048x2048 are larger than the 16x16 page/);
    expect(readImageHeader(tiled(16))?.problem).toBeUndefined();
  });

  // A review's hangs through fields the checks did not read (utif2's YCbCr loop with 0 rows per
  // strip, predictor work per strip, a Panasonic raw's decoder).
  it('refuses TIFF layouts utif2 loops on: YCbCr, 0 rows per strip, predictors, raw tag 45, strip counts off the layout', () => {
    const rgb = Buffer.alloc(16 * 16 * 3);
    const page = tiffPage(16, 16, rgb.length);
    const edited = (changes: Record<number, number[]>, extra: [number, number, number[]][] = []) =>
      encodeTiff([[...page.map(([t, ty, v]) => [t, ty, changes[t] ?? v] as [number, number, number[]]), ...extra].sort(([a], [b]) => a - b)], rgb);
    expect(readImageHeader(edited({ 262: [6] }))?.problem).toMatch(/photometric interpretation 6/);
    expect(readImageHeader(edited({ 278: [0] }))?.problem).toMatch(/0 rows per strip/);
    expect(readImageHeader(edited({}, [[317, 3, [2]]]))?.problem).toMatch(/predictors/);
    expect(readImageHeader(edited({}, [[45, 3, [6]]]))?.problem).toMatch(/field 45/);
    expect(readImageHeader(edited({ 278: [4] }))?.problem).toMatch(/1 strips where its size and layout make 4/);
    expect(readImageHeader(edited({ 278: [100] }))?.problem).toBeUndefined(); // rows per strip beyond the height: one strip
  });

  // bmp-ts runs an RLE stream to its end: 4 MB of runs for a 320x32 image took 1.5 s (fuzzing review).
  it('refuses an RLE8 BMP whose data is longer than any encoding of its size', () => {
    const rle8 = (width: number, height: number, data: Buffer) => {
      const palette = Buffer.alloc(256 * 4);
      const header = Buffer.alloc(54);
      header.write('BM', 0, 'latin1');
      header.writeUInt32LE(54 + palette.length + data.length, 2);
      header.writeUInt32LE(54 + palette.length, 10);
      header.writeUInt32LE(40, 14);
      header.writeInt32LE(width, 18);
      header.writeInt32LE(height, 22);
      header.writeUInt16LE(1, 26);
      header.writeUInt16LE(8, 28);
      header.writeUInt32LE(1, 30); // BI_RLE8
      header.writeUInt32LE(data.length, 34);
      return Buffer.concat([header, palette, data]);
    };
    const rows = Buffer.concat([...Array.from({ length: 32 }, () => Buffer.from([32, 0x80, 0, 0])), Buffer.from([0, 1])]);
    expect(bmpLayoutProblem(rle8(32, 32, rows))).toBeUndefined();
    const flood = Buffer.concat([rows, Buffer.alloc(400_000, 0xff)]);
    expect(bmpLayoutProblem(rle8(32, 32, flood))).toMatch(/bytes of RLE data, more than/);
    // Within that size, but every 2 bytes a 255-pixel run: 255x the image's pixels.
    const runs = Buffer.concat([Buffer.alloc(2 * 32 * 32, 0xff), Buffer.from([0, 1])]);
    expect(bmpLayoutProblem(rle8(32, 32, runs))).toMatch(/draws 261120 pixels, more than the 1024/);
    // bmp-ts reads from the end of the palette, not from the stored offset: one pointing at a
    // final end-of-bitmap code must not hide the stream before it.
    const hidden = rle8(32, 32, Buffer.concat([Buffer.alloc(2 * 32 * 32, 0xff), Buffer.from([0, 1])]));
    hidden.writeUInt32LE(hidden.length - 2, 10);
    expect(bmpLayoutProblem(hidden)).toMatch(/draws 261120 pixels/);
  });

  // utif2 reads these tags at any numeric type: a deflate compression stored as SSHORT (a 1 MB
  // file inflating to 1 GB) or a strip length stored as IFD type 13 (4 KB, minutes of copying)
  // passed every check above. Found by a fuzzing review.
  it('refuses the tags it checks when stored as another type or twice', () => {
    const rgb = Buffer.alloc(16 * 16 * 3);
    const page = tiffPage(16, 16, rgb.length);
    const withType = (tag: number, type: number) => {
      const b = encodeTiff([page], rgb);
      b.writeUInt16LE(type, 8 + 2 + page.findIndex(([t]) => t === tag) * 12 + 2);
      return b;
    };
    expect(readImageHeader(withType(259, 8))?.problem).toMatch(/field 259 has type 8/); // SSHORT compression
    expect(readImageHeader(withType(279, 13))?.problem).toMatch(/field 279 has type 13/); // IFD-typed strip length
    expect(readImageHeader(withType(256, 9))?.problem).toMatch(/field 256 has type 9/); // SLONG width
    const twice = ([...page, [259, 3, [8]]] as [number, number, number[]][]).sort(([a], [b]) => a - b);
    expect(readImageHeader(encodeTiff([twice], rgb))?.problem).toMatch(/259 appears twice/);
    expect(readImageHeader(encodeTiff([page], rgb))?.problem).toBeUndefined();
  });

  it('refuses TIFF fields that together hold too many values, without reading them', () => {
    expect(readImageHeader(tiffSharedValues(4, 65_536))?.problem ?? '').not.toMatch(/in all/); // 262,144 values: allowed
    const flood = tiffSharedValues(65_535, 16_384); // 850 KB, 10^9 values
    const started = performance.now();
    expect(readImageHeader(flood)?.problem).toMatch(/more than 262144 values in all/);
    expect(performance.now() - started).toBeLessThan(HANG_GUARD_MS);
  });
});

describe('readImageHeader: WebP', () => {
  it('reads the size of lossy, lossless and extended WebPs, and refuses animations and broken first chunks', async () => {
    const image = { data: new Uint8Array(50 * 30 * 4).fill(200), width: 50, height: 30 };
    for (const lossless of [false, true]) {
      expect(readImageHeader(await encodeWebp(image, { lossless })), `lossless ${lossless}`).toMatchObject({ format: 'webp', width: 50, height: 30 });
    }
    expect(readImageHeader(webpVp8x(16_384, 300, 0))).toMatchObject({ format: 'webp', width: 16_384, height: 300, decodePixels: 16_384 * 300 });
    expect(readImageHeader(webpVp8x(200, 200, 0x02))?.problem).toMatch(/animated webp/);
    const broken = Buffer.from(webpVp8x(200, 200, 0));
    broken.write('VP9 ', 12, 'latin1');
    expect(readImageHeader(broken)?.problem).toMatch(/unknown first chunk/);
    expect(readImageHeader(webpVp8x(200, 200, 0).subarray(0, 20))?.problem).toMatch(/shorter than its headers/);
  });
});

describe('decodeImage: WebP', () => {
  it('decodes a WebP, and refuses it by name when DECODE_WEBP is off', async () => {
    const webp = await encodeWebp({ data: new Uint8Array(64 * 48 * 4).fill(90), width: 64, height: 48 }, { lossless: true });
    expect(await decodeImage(webp, LIMITS)).toMatchObject({ width: 64, height: 48, format: 'webp' });
    await expect(decodeImage(webp, { ...LIMITS, decodeWebp: false })).rejects.toMatchObject({ code: 'UNSUPPORTED_IMAGE', details: { format: 'webp' } });
  });
});

describe('unsupportedFormat', () => {
  /** An ISO base media file's ftyp box with these brands (major first), then a few bytes of a next box. */
  const ftyp = (...brands: string[]) => {
    const box = Buffer.alloc(16 + 4 * (brands.length - 1));
    box.writeUInt32BE(box.length, 0);
    box.write('ftyp', 4, 'latin1');
    box.write(brands[0], 8, 'latin1');
    brands.slice(1).forEach((brand, k) => box.write(brand, 16 + 4 * k, 'latin1'));
    return Buffer.concat([box, Buffer.from('\0\0\0\x08meta', 'latin1')]);
  };

  it('names the formats phones and browsers save that we do not decode, by their first bytes', () => {
    const id = (bytes: Buffer) => unsupportedFormat(bytes)?.id;
    expect(id(ftyp('heic', 'mif1', 'heic'))).toBe('heic');
    expect(id(ftyp('mif1', 'mif1', 'miaf'))).toBe('heic'); // still-image HEIF
    expect(id(ftyp('mif1', 'avif', 'miaf'))).toBe('avif'); // AVIF declared as a compatible brand
    expect(id(ftyp('isom', 'iso2', 'mp41'))).toBeUndefined(); // an MP4 video: not an image format
    expect(id(Buffer.from('RIFF\x10\0\0\0WAVEfmt ', 'latin1'))).toBeUndefined();
    expect(id(Buffer.from('\0\0\0\x0cJXL \r\n\x87\n', 'latin1'))).toBe('jxl');
    expect(id(Buffer.from('\0\0\0\x0cjP  \r\n\x87\n', 'latin1'))).toBe('jp2');
    expect(id(Buffer.from('%PDF-1.7\n', 'latin1'))).toBe('pdf');
    expect(id(Buffer.from('<?xml version="1.0"?>\n<!-- a comment -->\n<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBe('svg');
    expect(id(Buffer.from('\ufeff<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd">\n<svg width="1"/>'))).toBe('svg'); // BOM, doctype
    expect(id(Buffer.from('<html><svg></svg></html>'))).toBeUndefined();
    expect(id(Buffer.from('<!-- never closed <svg>'))).toBeUndefined();
    expect(id(Buffer.from([0xff, 0x4f, 0xff, 0x51, 0, 0x2f]))).toBe('jp2'); // a bare codestream
    expect(id(Buffer.alloc(0))).toBeUndefined();
  });

  it('turns into a 415 that names the format, with its id in details', async () => {
    const error = await decodeImage(ftyp('heic', 'mif1', 'heic'), LIMITS).catch((e) => e);
    expect(error).toMatchObject({ code: 'UNSUPPORTED_IMAGE', details: { format: 'heic' } });
    expect(error.message).toMatch(/HEIC \(HEIF\) image; we decode JPEG, PNG, WebP, GIF, BMP and TIFF/);
  });
});

describe('gifLzwTerminates (omggif replay)', () => {
  it('accepts the LZW data of real GIFs', async () => {
    for (const gif of [encodeGif([new Uint8Array(4096).map((_, i) => i % 251)], 64, 64), await new Jimp({ width: 50, height: 40, color: 0x808080ff }).getBuffer('image/gif')]) {
      const [frame] = gifFrames(gif);
      expect(gifLzwTerminates(gif, frame.dataOffset, frame.width * frame.height)).toBe(true);
    }
  });

  it('finds the code-table cycle that hung omggif (test/fixtures/gif-lzw-loop.gif, from the fuzz test)', () => {
    const gif = readFileSync(new URL('../fixtures/gif-lzw-loop.gif', import.meta.url));
    const [frame] = gifFrames(gif);
    expect(gifLzwTerminates(gif, frame.dataOffset, frame.width * frame.height)).toBe(false);
  });
});

describe('decodeImage before decoding', () => {
  it('refuses an interlaced PNG whose data inflates past its size, and decodes a real one', async () => {
    await expect(decodeImage(pngInflateBomb(64), LIMITS)).rejects.toMatchObject({ code: 'UNSUPPORTED_IMAGE', message: expect.stringMatching(/inflates/) });
    const image = await decodeImage(encodePng(grey(40, 40), { interlaced: true }), LIMITS);
    expect(image).toMatchObject({ width: 40, height: 40, format: 'png' });
  });

  it('decodes a GIF to its logical screen, the first frame drawn into it (the README says so)', async () => {
    const frame = new Uint8Array(64 * 64).fill(200);
    const image = await decodeImage(encodeGif([frame], 64, 48, { frameSize: [16, 16] }), LIMITS);
    expect(image).toMatchObject({ width: 64, height: 48, format: 'gif' });
    expect([...image.data.subarray(0, 4)]).toEqual([200, 200, 200, 255]); // inside frame 0
    expect([...image.data.subarray((20 * 64 + 20) * 4, (20 * 64 + 20) * 4 + 4)]).toEqual([128, 128, 128, 255]); // outside it: never drawn, so transparent, shown as grey
  });

  it('refuses an image whose longer side is over maxAspect times the shorter, from the header, and decodes one at the limit', async () => {
    for (const [width, height] of [[10_000, 32], [32, 10_000], [3300, 320]]) {
      await expect(decodeImage(pngBomb(width, height), LIMITS), `${width}x${height}`).rejects.toMatchObject({ code: 'IMAGE_TOO_SMALL', details: { maxAspect: 10 } });
    }
    expect(await decodeImage(encodePng(grey(320, 32)), LIMITS)).toMatchObject({ width: 320, height: 32 });
  });

  it('counts the memory jpeg-js will count for a JPEG, from its header (4:4:4 and 4:2:0, sizes off the 8 and 16 grid)', async () => {
    // jpeg-js itself is the judge: it decodes within the estimate, and not within one byte less.
    const decodeWithin = (jpeg: Buffer, bytes: number) => jpegJs(jpeg, { maxMemoryUsageInMB: bytes / 2 ** 20, maxResolutionInMP: 100 });
    const odd = await new Jimp({ width: 333, height: 251, color: 0x4080c0ff }).getBuffer('image/jpeg'); // jpeg-js's encoder: 4:4:4
    const chip = readFileSync(join(DATA, 'utkface', '28_0_1_20170113195927894.jpg.chip.jpg'));
    // The luma component's sampling factors in a baseline frame header (FF C0): 0x11 is 4:4:4, 0x22 4:2:0.
    const lumaSampling = (jpeg: Buffer) => jpeg[jpeg.indexOf(Buffer.from([0xff, 0xc0])) + 11];
    expect([lumaSampling(odd), lumaSampling(chip)]).toEqual([0x11, 0x22]);
    for (const jpeg of [odd, chip]) {
      const estimate = readImageHeader(jpeg)!.decodeBytes!;
      expect(() => decodeWithin(jpeg, estimate)).not.toThrow();
      expect(() => decodeWithin(jpeg, estimate - 1)).toThrow(/maxMemoryUsageInMB/);
    }
  });

  it('counts the quantisation and Huffman tables jpeg-js counts, also those after the image data', async () => {
    const jpeg = await new Jimp({ width: 333, height: 251, color: 0x4080c0ff }).getBuffer('image/jpeg');
    const before = readImageHeader(jpeg)!.decodeBytes!;
    // 800 DQT segments of one 8-bit table each (69 bytes in the file, 256 counted) before the end marker.
    const dqt = Buffer.concat([Buffer.from([0xff, 0xdb, 0x00, 0x43, 0x00]), Buffer.alloc(64, 1)]);
    const padded = Buffer.concat([jpeg.subarray(0, jpeg.length - 2), ...Array(800).fill(dqt), jpeg.subarray(jpeg.length - 2)]);
    const estimate = readImageHeader(padded)!.decodeBytes!;
    expect(estimate - before).toBe(800 * 256);
    const decodeWithin = (bytes: number) => jpegJs(padded, { maxMemoryUsageInMB: bytes / 2 ** 20, maxResolutionInMP: 100 });
    expect(() => decodeWithin(estimate)).not.toThrow();
    expect(() => decodeWithin(estimate - 1)).toThrow(/maxMemoryUsageInMB/);
  });

  it('refuses a JPEG whose decode would exceed jpeg-js\'s 512 MB from its header, at once', async () => {
    const started = performance.now();
    await expect(decodeImage(jpegBomb(4999, 4999), LIMITS)).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE', message: expect.stringMatching(/needs 525 MB to decode, over the decoder's 512 MB/) });
    expect(performance.now() - started).toBeLessThan(HANG_GUARD_MS); // decoding it took ~4 s before jpeg-js refused
  });

  it('refuses BMPs bmp-ts would decode into garbage: unknown bits per pixel, pixel data past the end, truncated rows', async () => {
    const bmp = await new Jimp({ width: 40, height: 36, color: 0x4080c0ff }).getBuffer('image/bmp');
    expect([bmp.readUInt32LE(10), bmp.readUInt16LE(28)]).toEqual([54, 24]);
    expect(await decodeImage(bmp.subarray(0, 54 + 120 * 36), LIMITS)).toMatchObject({ width: 40, height: 36 }); // rows that just fit
    expect(await decodeImage(bmp, LIMITS)).toMatchObject({ width: 40, height: 36, format: 'bmp' });
    const edited = (edit: (b: Buffer) => void) => { const copy = Buffer.from(bmp); edit(copy); return copy; };
    const cases: [string, Buffer, RegExp][] = [
      ['99 bits per pixel', edited((b) => b.writeUInt16LE(99, 28)), /99 bits per pixel/],
      ['RLE8 with 24 bits', edited((b) => b.writeUInt32LE(1, 30)), /compression 1 with 24 bits/],
      ['pixel data past the end', edited((b) => b.writeUInt32LE(bmp.length + 10, 10)), /past the end/],
      // Rows of 40 x 3 bytes (a multiple of 4: no padding) from byte 54; jimp's file has 2 bytes more.
      ['one byte short of its rows', bmp.subarray(0, 54 + 120 * 36 - 1), /4319 bytes of pixel data, 4320 needed/],
    ];
    for (const [name, file, message] of cases) {
      await expect(decodeImage(file, LIMITS), name).rejects.toMatchObject({ code: 'UNSUPPORTED_IMAGE', message: expect.stringMatching(message) });
    }
    // Valid layouts still decode: every bit depth at widths off the 4-byte grid, top-down, and files without the last row's padding.
    for (const bits of [1, 4, 8, 24, 32] as const) {
      for (const options of [{}, { topDown: true }, { lastRowPadding: false }]) {
        const file = encodeBmp(35, 33, bits, options);
        expect(await decodeImage(file, LIMITS), `${bits} bits ${JSON.stringify(options)}`).toMatchObject({ width: 35, height: 33, format: 'bmp' });
      }
    }
    // An oversized header with no pixel data is still IMAGE_TOO_LARGE: sizes are checked first.
    await expect(decodeImage(bmpBomb(20_000, 20_000), LIMITS)).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
  });

  it('names the size limit that failed, and the frame sizes when they decide', async () => {
    await expect(decodeImage(pngBomb(6000, 6000), LIMITS)).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE', message: 'image is 6000x6000, over the limit of 25000000 pixels' });
    await expect(decodeImage(pngBomb(12_000, 100), LIMITS)).rejects.toMatchObject({ message: 'image is 12000x100, over the limit of 10000 px a side' });
    const pixels = new Uint8Array(64 * 64);
    const gif = encodeGif([pixels, pixels], 64, 64, { frameSize: [30_000, 20] });
    await expect(decodeImage(gif, LIMITS)).rejects.toMatchObject({
      code: 'IMAGE_TOO_LARGE', message: 'image is 64x64 (its frames or pages: up to 30000 px a side, 600000 pixels), over the limit of 10000 px a side',
    });
  });

  it('refuses a JPEG with more scans than MAX_JPEG_SCANS, and decodes one with fewer', async () => {
    await expect(decodeImage(jpegScanBomb(512, 512, 200), LIMITS)).rejects.toMatchObject({ code: 'UNSUPPORTED_IMAGE', details: { scans: 201 } });
    expect(await decodeImage(jpegScanBomb(512, 512, 20), LIMITS)).toMatchObject({ width: 512, height: 512 });
  });

  it('answers TIMEOUT without decoding when the decode cannot finish before the deadline', async () => {
    const header = jpegBomb(4000, 3000); // 12 MP: about 1.8 s to decode
    const started = performance.now();
    await expect(decodeImage(header, { ...LIMITS, deadline: Date.now() + 100 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(performance.now() - started).toBeLessThan(500); // a decode would take ~1.8 s
    await expect(decodeImage(header, { ...LIMITS, deadline: Date.now() + 60_000 })).rejects.toMatchObject({ code: 'UNSUPPORTED_IMAGE' });
  });

  // The detector and models read RGB only: a transparent face used to be analysed as if opaque.
  it('composites transparent pixels onto mid grey, the fill beyond an image\'s edge', async () => {
    const image = { width: 40, height: 40, data: new Uint8Array(40 * 40 * 4) };
    for (let i = 0; i < 40 * 40; i++) image.data.set([200, 100, 50, i < 800 ? 0 : 128], i * 4);
    const { data } = await decodeImage(encodePng(image), LIMITS);
    expect(Array.from(data.subarray(0, 4))).toEqual([128, 128, 128, 255]); // fully transparent: grey
    expect(Array.from(data.subarray(800 * 4, 800 * 4 + 4))).toEqual([164, 114, 89, 255]); // half: (v * 128 + 128 * 127) / 255
  });

  // pngjs takes ~2.4x as long per pixel at 16 bits: 4 MP is ~0.6 s estimated at 8 bits, ~1.5 s at 16.
  it('expects a 16-bit PNG to take longer to decode than an 8-bit one of the same size', async () => {
    expect(readImageHeader(pngBomb(2000, 2000, 16))).toMatchObject({ bitDepth: 16 });
    const deadline = () => Date.now() + 1_000;
    await expect(decodeImage(pngBomb(2000, 2000, 16), { ...LIMITS, deadline: deadline() })).rejects.toMatchObject({ code: 'TIMEOUT' });
    // The 8-bit twin fits the time and is decoded (pngjs pads its short data); only its size is
    // compared, as a failing match on the 16 MB bitmap would make vitest format all of it.
    const { width, height } = await decodeImage(pngBomb(2000, 2000, 8), { ...LIMITS, deadline: deadline() });
    expect({ width, height }).toEqual({ width: 2000, height: 2000 });
  });
});
