/**
 * Stored orientation: JPEG and PNG Exif and the TIFF tag (jimp applies none but JPEG's, and that
 * one unsafely), read and applied here. For JPEG, instead of jimp: jimp's decode runs exif-parser
 * over every Exif segment, reading every number of five IFDs one call at a time, at offsets
 * bounded only by the file: a 268 KB JPEG of repeated IFDs kept it busy for minutes, and a header
 * check that counted its work missed ways around it (format-0 entries, pointers stored as
 * doubles, segments it splits differently). So the copy jimp decodes has its Exif headers
 * defaced (exif-parser then skips those segments), and the one tag we use, Orientation, is read
 * from the first Exif segment's first directory with every read inside that segment.
 */
import type { ImageHeader } from './imageHeader.js';
import type { RgbaImage } from './preprocess.js';

/** FF E1 (APP1), 2 length bytes, then "Exif\0\0": how exif-parser recognises an Exif segment. */
function isExifSegmentAt(b: Uint8Array, i: number): boolean {
  return b[i] === 0xff && b[i + 1] === 0xe1 && b[i + 4] === 0x45 && b[i + 5] === 0x78 && b[i + 6] === 0x69 && b[i + 7] === 0x66 && b[i + 8] === 0 && b[i + 9] === 0;
}

/**
 * The EXIF Orientation (1-8) of the JPEG's first Exif segment, 1 when there is none or it is
 * unreadable. Reads IFD0 only, within the segment: at most 65,535 bytes.
 */
function readExifOrientation(jpeg: Buffer): number {
  for (let at = jpeg.indexOf(EXIF_PATTERN_TAIL); at !== -1; at = jpeg.indexOf(EXIF_PATTERN_TAIL, at + 1)) {
    const i = at - 4; // the segment's FF E1
    if (i < 0 || !isExifSegmentAt(jpeg, i)) continue;
    return orientationInTiff(jpeg, i + 10, Math.min(jpeg.length, i + 2 + jpeg.readUInt16BE(i + 2)));
  }
  return 1;
}

/**
 * The Orientation tag (0x0112) of the first directory of the TIFF structure at `tiff` (an Exif
 * block, or a whole TIFF file), 1 when there is none or it is unreadable. Every read lies
 * before `end`; one directory of at most 65,535 entries is read, nothing it points to.
 */
function orientationInTiff(bytes: Buffer, tiff: number, end: number): number {
  if (tiff + 8 > end) return 1;
  const order = bytes.toString('latin1', tiff, tiff + 2);
  if (order !== 'II' && order !== 'MM') return 1;
  const le = order === 'II';
  const u16 = (o: number) => (le ? bytes.readUInt16LE(o) : bytes.readUInt16BE(o));
  const u32 = (o: number) => (le ? bytes.readUInt32LE(o) : bytes.readUInt32BE(o));
  const ifd = tiff + u32(tiff + 4);
  if (ifd + 2 > end) return 1;
  const entries = u16(ifd);
  for (let k = 0; k < entries && ifd + 2 + 12 * (k + 1) <= end; k++) {
    const entry = ifd + 2 + 12 * k;
    if (u16(entry) !== 0x0112) continue;
    // One SHORT as the standard says; one LONG or SSHORT as some writers store it (jimp took those too).
    const [type, count] = [u16(entry + 2), u32(entry + 4)];
    if (count !== 1) return 1;
    const value = type === 3 || type === 8 ? u16(entry + 8) : type === 4 ? u32(entry + 8) : 1;
    return value >= 1 && value <= 8 ? value : 1;
  }
  return 1;
}

/**
 * The stored orientation of an image (JPEG Exif, or the Orientation tag in the block its header
 * found: a PNG's eXIf chunk, a TIFF's first directory), 1 for none.
 */
function readOrientation(bytes: Buffer, header: Pick<ImageHeader, 'format' | 'orientationBlock'>): number {
  if (header.format === 'jpeg') return readExifOrientation(bytes);
  const block = header.orientationBlock;
  return block ? orientationInTiff(bytes, block.start, block.end) : 1;
}
/** "Exif\0\0", searched for and then checked as the start of an APP1 segment. */
const EXIF_PATTERN_TAIL = Buffer.from('Exif\0\0', 'latin1');

/**
 * `jpeg`, or a copy with every Exif segment header defaced ("Exif" -> "Exix"), so jimp's
 * exif-parser finds no Exif data to walk. FF E1 cannot occur inside entropy-coded data (FF there
 * is followed by 00 or a restart marker), so every match is a segment header.
 */
function withoutExifHeaders(jpeg: Buffer): Buffer {
  let copy: Buffer | undefined;
  for (let at = jpeg.indexOf(EXIF_PATTERN_TAIL); at !== -1; at = jpeg.indexOf(EXIF_PATTERN_TAIL, at + 1)) {
    if (at < 4 || !isExifSegmentAt(jpeg, at - 4)) continue;
    copy ??= Buffer.from(jpeg);
    copy[at + 3] = 0x78; // "Exif" -> "Exix"
  }
  return copy ?? jpeg;
}

/**
 * The image turned upright for EXIF `orientation` (CIPA DC-008): 2 mirror, 3 rotate 180, 4 flip,
 * 5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 270 clockwise; 5-8 swap the sides.
 * The same mapping jimp applied (its getExifOrientationTransformation), one 32-bit pixel at a time.
 */
function applyExifOrientation(image: RgbaImage, orientation: number): RgbaImage {
  if (orientation < 2 || orientation > 8) return image;
  const { width: w, height: h } = image;
  // A 32-bit view needs a 4-byte-aligned start; a small pooled Buffer may not have one.
  const bytes = image.data.byteOffset % 4 === 0 ? image.data : Uint8Array.from(image.data);
  const source = new Uint32Array(bytes.buffer, bytes.byteOffset, w * h);
  const swap = orientation > 4;
  const [width, height] = swap ? [h, w] : [w, h];
  const out = new Uint8Array(w * h * 4);
  const target = new Uint32Array(out.buffer);
  // Target (x, y) <- source (sx, sy), as in jimp.
  const sourceOf: (x: number, y: number) => number = {
    2: (x: number, y: number) => y * w + (w - x - 1),
    3: (x: number, y: number) => (h - y - 1) * w + (w - x - 1),
    4: (x: number, y: number) => (h - y - 1) * w + x,
    5: (x: number, y: number) => x * w + y,
    6: (x: number, y: number) => (h - x - 1) * w + y,
    7: (x: number, y: number) => (h - x - 1) * w + (w - y - 1),
    8: (x: number, y: number) => x * w + (w - y - 1),
  }[orientation]!;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) target[y * width + x] = source[sourceOf(x, y)];
  return { data: out, width, height };
}

export { readExifOrientation, readOrientation, withoutExifHeaders, applyExifOrientation };
