/**
 * Reads an image's format and pixel dimensions from its structure without decoding it, so a
 * decompression bomb (a 334-byte PNG claiming 20000x20000 decodes into ~4.8 GB) is refused
 * in microseconds. Returns undefined when the bytes are not a format we read.
 *
 * "Dimensions" means every size the decoder behind jimp will allocate or walk, not only the
 * first one a viewer would show: pngjs takes the last IHDR, jpeg-js allocates for every frame
 * header, jimp's GIF decoder allocates the logical screen and decodes the first frame at that
 * frame's own size (which may exceed the screen), and utif2 decodes every TIFF page. Structures
 * those decoders cannot handle safely (a second PNG IHDR or JPEG frame, an IFD loop, field
 * counts past the end of the file, a compression that can inflate without bound) are reported
 * as `problem`, so the file is refused before any decoder sees it. Every walk here stops at a
 * fixed count, so the check itself stays cheap on files made of nothing but headers.
 */
type ImageFormat = 'jpeg' | 'png' | 'gif' | 'bmp' | 'tiff' | 'webp';

interface ImageHeader {
  format: ImageFormat;
  /** Width of the decoded image, pixels (before EXIF orientation); 0 when unreadable. */
  width: number;
  /** Height of the decoded image, pixels (before EXIF orientation); 0 when unreadable. */
  height: number;
  /** Pixels the decoder handles in all: width x height, a GIF's first frame when larger than its screen, or the sum over TIFF pages. */
  decodePixels: number;
  /** Longest side of anything the decoder allocates, pixels. */
  decodeSide: number;
  /**
   * JPEG only: start-of-scan markers (bytes FF DA) anywhere in the file, an upper bound on the
   * scans any parser can find. jpeg-js walks the whole image once per scan, and a scan can be a
   * few bytes long: a 137 KB progressive JPEG of 2,000 scans takes 5 s. Real files have about 10.
   */
  scans?: number;
  /**
   * JPEG only: the bytes jpeg-js will count against its memory limit to decode the frame, from the
   * frame header's size and sampling factors (jpegJsBytes). It checks that limit as it goes, and
   * the last allocations come after the whole image is decoded: a 25 MP 4:4:4 JPEG used to be
   * refused only after ~4 s of work.
   */
  decodeBytes?: number;
  /** PNG only: Adam7 interlacing, which pngjs inflates without an output bound (see lib/imageDecode.ts). */
  interlaced?: boolean;
  /** PNG only: bits per sample (1-16). pngjs takes ~2.4x as long per pixel at 16 bits (lib/imageDecode.ts). */
  bitDepth?: number;
  /**
   * Where a TIFF-structured block that may hold the Orientation tag lies: a PNG's eXIf chunk
   * (before the image data, as the PNG extension and browsers have it), a TIFF file itself (its
   * first directory, the page jimp decodes). JPEG's Exif is found as exif-parser finds it
   * (lib/exifOrientation.ts).
   */
  orientationBlock?: { start: number; end: number };
  /** Why the file must not be decoded at all (it is malformed in a way a decoder would mishandle); unset when fine. */
  problem?: string;
}

interface Size {
  width: number;
  height: number;
}

/** Palette entries a BMP may declare (8 bits per pixel index at most 256). */
const MAX_BMP_COLORS = 256;
/**
 * Frames a GIF may have. Only the first is decoded, but omggif records every one first (see
 * gifFrames). 10,000 frames is over 16 minutes at 10 frames a second.
 */
const MAX_GIF_FRAMES = 10_000;
/** TIFF pages utif2 will decode (jimp decodes every page, not only the first). */
const MAX_TIFF_PAGES = 4;
/**
 * TIFF compressions whose decoders in utif2 are bounded by the input size: none and PackBits.
 * Deflate inflates without a limit before copying, LZW can emit thousands of bytes per input
 * code, and JPEG-in-TIFF runs a second JPEG decoder with no memory limit.
 */
const SAFE_TIFF_COMPRESSIONS = new Set([1, 32773]);
/** Values read from one TIFF field (strip offsets, bits per sample...): 65,536 strips is far more than any real file. */
const MAX_TIFF_VALUES = 65_536;
/**
 * Values utif2 reads one at a time from all the fields of a file together (every type but BYTE
 * and UNDEFINED, which it views in place; ASCII counts a character each). Each field is checked
 * to lie inside the file, but fields may all point at the same bytes: a 274 KB TIFF of 1,000
 * fields of 65,536 values each took this check 20 s, and 65,535 such fields fit in 1 MB.
 * Four pages of the largest field a real file has is plenty.
 */
const MAX_TIFF_TOTAL_VALUES = 4 * MAX_TIFF_VALUES;
/** TIFF types utif2 reads as a view of the file (BYTE, UNDEFINED): no work per value. */
const TIFF_VIEW_TYPES = new Set([1, 7]);
/**
 * The fields readTiff looks at: size, bits, compression, photometric, samples, rows per strip,
 * planar configuration, predictor, strips and tiles, and 45 (a Panasonic raw's, which switches
 * utif2 to a decoder of its own).
 */
const TIFF_READ_TAGS = new Set([45, 256, 257, 258, 259, 262, 273, 277, 278, 279, 284, 317, 322, 323, 324, 325]);
/** Photometric interpretations decoded without utif2's per-strip colour loops: grey (0, 1), RGB, palette. */
const SAFE_TIFF_PHOTOMETRICS = new Set([0, 1, 2, 3]);
/** Bytes per value of each TIFF field type (1-13); 0 = unknown type. */
const TIFF_TYPE_SIZE = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4];
/** Tags utif2 follows into further IFDs or parses as maker notes, recursively and without loop checks. */
const TIFF_NESTED_TAGS = new Set([330, 37500, 50740, 61440]);
/** EXIF and GPS IFD pointers: utif2 reads them (one level), so their fields are checked too. */
const TIFF_SUB_IFD_TAGS = new Set([34665, 34853]);

function sized(format: ImageFormat, width: number, height: number, extra: Partial<ImageHeader> = {}): ImageHeader {
  return { format, width, height, decodePixels: width * height, decodeSide: Math.max(width, height), ...extra };
}

function readImageHeader(bytes: Uint8Array): ImageHeader | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length >= 16 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a) return readPng(b);
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return readJpeg(b);
  if (b.length >= 10 && b.toString('latin1', 0, 4) === 'GIF8') return readGif(b);
  if (b.length >= 26 && b[0] === 0x42 && b[1] === 0x4d) return readBmp(b);
  if (b.length >= 8 && (b.readUInt32BE(0) === 0x49492a00 || b.readUInt32BE(0) === 0x4d4d002a)) return readTiff(b);
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return readWebp(b);
  return undefined;
}

/**
 * A WebP's size from its first chunk (the container every writer uses): VP8 (lossy) stores 14-bit
 * sides after its start code, VP8L (lossless) 14-bit sides minus one after its signature byte,
 * VP8X (extended) 24-bit canvas sides minus one, and the flags that mark an animation, which
 * libwebp's still-image decode refuses. libwebp checks the rest of the structure itself.
 */
function readWebp(b: Buffer): ImageHeader {
  const refuse = (problem: string): ImageHeader => ({ ...sized('webp', 0, 0), problem });
  if (b.length < 30) return refuse('corrupt webp: shorter than its headers');
  const chunk = b.toString('latin1', 12, 16);
  if (chunk === 'VP8 ') {
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) return refuse('corrupt webp: no VP8 start code');
    return sized('webp', b.readUInt16LE(26) & 0x3fff, b.readUInt16LE(28) & 0x3fff);
  }
  if (chunk === 'VP8L') {
    if (b[20] !== 0x2f) return refuse('corrupt webp: no VP8L signature');
    const bits = b.readUInt32LE(21);
    return sized('webp', (bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
  }
  if (chunk === 'VP8X') {
    if (b[20] & 0x02) return refuse('an animated webp: send one frame as a still image');
    return sized('webp', b.readUIntLE(24, 3) + 1, b.readUIntLE(27, 3) + 1);
  }
  return refuse(`corrupt webp: unknown first chunk ${JSON.stringify(chunk)}`);
}

/** Formats we recognise but do not decode: a stable id (an error's `details.format`) and a name for people. */
const UNSUPPORTED_FORMATS = {
  heic: 'HEIC (HEIF)', avif: 'AVIF', jxl: 'JPEG XL', jp2: 'JPEG 2000', pdf: 'PDF', psd: 'Photoshop (PSD)', svg: 'SVG',
} as const;
type UnsupportedFormat = keyof typeof UNSUPPORTED_FORMATS;

/**
 * A common image (or image-like) format we do not decode, recognised from its first bytes, so a
 * refusal can say what was sent and what to do: an iPhone's default photo format is HEIC, and
 * phones and browsers save AVIF. Undefined for anything else.
 */
function unsupportedFormat(bytes: Uint8Array): { id: UnsupportedFormat; name: string } | undefined {
  const id = unsupportedFormatId(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return id && { id, name: UNSUPPORTED_FORMATS[id] };
}

function unsupportedFormatId(b: Buffer): UnsupportedFormat | undefined {
  const ascii = (from: number, to: number) => b.toString('latin1', from, Math.min(to, b.length));
  if (b.length >= 12 && ascii(4, 8) === 'ftyp') {
    // ISO base media: the major brand, then compatible brands to the end of the ftyp box; real
    // files list a handful, so at most 64 are read whatever the box's size field claims.
    const boxEnd = Math.min(b.length, 16 + 4 * 64, Math.max(16, b.readUInt32BE(0)));
    let heif = false;
    for (let at = 8; at + 4 <= boxEnd; at += at === 8 ? 8 : 4) { // bytes 12-15 are the minor version
      const brand = ascii(at, at + 4);
      if (brand === 'avif' || brand === 'avis') return 'avif';
      heif ||= HEIF_BRANDS.has(brand);
    }
    return heif ? 'heic' : undefined;
  }
  if (b.length >= 12 && b.readUInt32BE(0) === 0x0c && ascii(4, 8) === 'JXL ') return 'jxl';
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0x0a) return 'jxl'; // a bare JPEG XL codestream
  if (b.length >= 12 && b.readUInt32BE(0) === 0x0c && ascii(4, 8) === 'jP  ') return 'jp2';
  if (b.length >= 4 && b.readUInt32BE(0) === 0xff4fff51) return 'jp2'; // a bare JPEG 2000 codestream
  if (ascii(0, 5) === '%PDF-') return 'pdf';
  if (ascii(0, 4) === '8BPS') return 'psd';
  if (startsSvg(ascii(0, 1024))) return 'svg';
  return undefined;
}

const HEIF_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1']);

/**
 * Whether `text` opens an SVG document: a BOM, whitespace, an XML declaration, comments and a
 * doctype may come before `<svg`. A scanner, not a regex: a comment pattern with a lazy body
 * backtracks exponentially on a few hundred bytes of `<!---->` (a review's finding).
 */
function startsSvg(text: string): boolean {
  let at = text.startsWith('\u00ef\u00bb\u00bf') ? 3 : 0; // the UTF-8 BOM, read as latin1
  for (;;) {
    while (at < text.length && /\s/.test(text[at])) at++;
    const close = text.startsWith('<!--', at) ? text.indexOf('-->', at + 4) + 3 : text.startsWith('<?', at) || text.startsWith('<!', at) ? text.indexOf('>', at) + 1 : -1;
    if (close === -1) return /^<svg[\s>/]/i.test(text.slice(at, at + 5));
    if (close === 2 || close === 0) return false; // an unclosed comment or declaration
    at = close;
  }
}

/**
 * bmp-ts reads the width as unsigned and the height as signed (negative: top-down rows), and
 * allocates an array for as many palette colours as the header claims before reading them: a
 * 12 KB file claiming 2^25 colours cost 230 ms and 260 MB (found by test/lib/fuzz.test.ts).
 */
function readBmp(b: Buffer): ImageHeader {
  const header = sized('bmp', b.readUInt32LE(18), Math.abs(b.readInt32LE(22)));
  const colors = b.length >= 50 && b.readUInt32LE(14) >= 40 ? b.readUInt32LE(46) : 0;
  return colors > MAX_BMP_COLORS ? { ...header, problem: `corrupt bmp: ${colors} palette colours, at most ${MAX_BMP_COLORS}` } : header;
}

/** Bits per pixel bmp-ts decodes; any other value it reads as 32 (garbage from a corrupt file). */
const BMP_BITS = new Set([1, 4, 8, 16, 24, 32]);
/** Compressions bmp-ts decodes, with the bits per pixel each goes with: none, RLE8, RLE4, bit fields, alpha bit fields. */
const BMP_COMPRESSIONS: Record<number, number[]> = { 0: [1, 4, 8, 16, 24, 32], 1: [8], 2: [4], 3: [16, 32], 6: [16, 32] };

/**
 * Why bmp-ts would decode this BMP into garbage rather than fail: bits per pixel or compression
 * it does not know (it falls back to 32 bits), pixel data starting past the end, or uncompressed
 * rows that do not fit in the file (it reads zeros or throws half-way). Called once the size is
 * known to be within limits (lib/imageDecode.ts), so an oversized header stays IMAGE_TOO_LARGE.
 */
function bmpLayoutProblem(b: Buffer): string | undefined {
  if (b.length < 54) return `corrupt bmp: ${b.length} bytes, shorter than its headers`;
  const offset = b.readUInt32LE(10);
  const width = b.readInt32LE(18);
  const height = Math.abs(b.readInt32LE(22));
  const bits = b.readUInt16LE(28);
  const compression = b.readUInt32LE(30);
  if (!BMP_BITS.has(bits)) return `corrupt bmp: ${bits} bits per pixel`;
  if (!(BMP_COMPRESSIONS[compression] ?? []).includes(bits)) return `corrupt bmp: compression ${compression} with ${bits} bits per pixel`;
  if (offset >= b.length) return `corrupt bmp: pixel data at byte ${offset}, past the end (${b.length} bytes)`;
  if (compression === 0 || compression === 3 || compression === 6) {
    // Rows are padded to 4 bytes, but bmp-ts never reads the last row's padding.
    const needed = Math.ceil((bits * width) / 32) * 4 * (height - 1) + Math.ceil((bits * width) / 8);
    if (offset + needed > b.length) return `corrupt bmp: ${b.length - offset} bytes of pixel data, ${needed} needed for ${width}x${height} at ${bits} bits`;
  }
  if (compression === 1 || compression === 2) {
    // bmp-ts runs an RLE stream to its end, drawing or not (line ends can send it below the
    // bitmap, where drawing costs the same and shows nothing): 4 MB of runs for a 320x32 image
    // took 1.5 s, and 2 MB of 255-pixel runs for a 1000x1000 one 1.6 s (reviews). A real stream
    // needs at most a 2-byte run per pixel plus a line end per row, and draws each pixel once.
    // bmp-ts does not seek to the stored pixel offset: it reads on from the end of the headers and
    // palette (a review's file pointed the offset at an end-of-bitmap code; the stream bmp-ts read
    // drew 640M pixels). So measure and walk from there.
    const start = bmpTsPixelStart(b, compression, bits);
    const most = (2 * width + 4) * height + 64;
    if (b.length - start > most) return `corrupt bmp: ${b.length - start} bytes of RLE data, more than the ${most} any ${width}x${height} image needs`;
    const drawn = rleDrawnPixels(b, start, bits);
    if (drawn > width * height + 255) return `corrupt bmp: its RLE data draws ${drawn} pixels, more than the ${width * height} of a ${width}x${height} image`;
  }
  return undefined;
}

/** Bytes a PackBits stream in [start, end) unpacks to (literal runs n+1, repeats 257-n, 128 a no-op). */
function packBitsOutputBytes(b: Buffer, start: number, end: number): number {
  let out = 0;
  for (let i = start; i < end;) {
    const n = b[i];
    if (n < 128) { out += n + 1; i += n + 2; } else if (n > 128) { out += 257 - n; i += 2; } else i += 1;
  }
  return out;
}

/**
 * Where bmp-ts starts reading pixels: after the 14-byte file header, the 40 bytes of
 * BITMAPINFOHEADER fields it reads, the masks and the larger headers' rest, and the palette
 * (its parseHeader, step for step), whatever the file's own pixel offset says.
 */
function bmpTsPixelStart(b: Buffer, compression: number, bits: number): number {
  const headerSize = b.readUInt32LE(14);
  const colors = b.readUInt32LE(46);
  let start = 54;
  if (headerSize > 40 || compression === 3 || compression === 6) start += 12; // RGB masks
  if (headerSize > 52 || compression === 6) start += 4; // alpha mask
  if (headerSize > 56) start += 108 - 56; // the rest of a V4 header
  if (headerSize > 108) start += 124 - 108; // and of a V5
  if (bits <= 8 || colors > 0) start += 4 * (colors === 0 ? 2 ** bits : colors);
  return start;
}

/**
 * Pixels an RLE8 (bits 8) or RLE4 (bits 4) stream from `offset` draws, walked as bmp-ts walks it
 * (runs, line ends, deltas, absolute runs padded to 16 bits) up to its end-of-bitmap code.
 */
function rleDrawnPixels(b: Buffer, offset: number, bits: number): number {
  let drawn = 0;
  for (let pos = offset; pos + 1 < b.length;) {
    const [count, code] = [b[pos], b[pos + 1]];
    pos += 2;
    if (count > 0) drawn += count; // a run of `count` pixels
    else if (code === 1) break; // end of bitmap
    else if (code === 2) pos += 2; // delta: moves, draws nothing
    else if (code !== 0) { // absolute run of `code` pixels (0 = line end)
      drawn += code;
      const bytes = bits === 8 ? code : (code + 1) >> 1;
      pos += bytes + (bytes & 1);
    }
  }
  return drawn;
}

/** Walks every chunk: pngjs re-reads its dimensions from each IHDR, so a second one is a bomb. */
function readPng(b: Buffer): ImageHeader {
  let size: Size | undefined;
  let ihdrCount = 0;
  let interlaced = false;
  let bitDepth: number | undefined;
  let chunks = 0;
  let paletteEntries = 0;
  let orientationBlock: ImageHeader['orientationBlock'];
  let seenImageData = false;
  const refuse = (problem: string): ImageHeader => ({ ...sized('png', size?.width ?? 0, size?.height ?? 0), problem });
  for (let i = 8; i + 8 <= b.length;) {
    const length = b.readUInt32BE(i);
    const type = b.toString('latin1', i + 4, i + 8);
    // pngjs pays per chunk and keeps every palette entry of every PLTE as a JS array: 1.3M empty
    // chunks took 2.2 s, a 15 MB palette 3 s and 540 MB (a fuzzing review). A palette has at
    // most 256 entries; real files have tens of chunks, hundreds at most.
    if (++chunks > MAX_PNG_CHUNKS) return refuse(`png has more than ${MAX_PNG_CHUNKS} chunks`);
    if (type === 'PLTE' && (paletteEntries += length / 3) > 256) return refuse('corrupt png: a palette of more than 256 colours');
    if (type === 'IHDR') {
      ihdrCount++;
      if (ihdrCount === 1 && i + 21 <= b.length) {
        size = { width: b.readUInt32BE(i + 8), height: b.readUInt32BE(i + 12) };
        bitDepth = b[i + 16];
        interlaced = b[i + 20] !== 0;
      }
    }
    if (type === 'IDAT') seenImageData = true;
    if (type === 'eXIf' && !seenImageData && !orientationBlock) orientationBlock = { start: i + 8, end: Math.min(b.length, i + 8 + length) };
    if (type === 'IEND') break;
    i += 12 + length;
  }
  if (!size) return sized('png', 0, 0);
  const problem = ihdrCount > 1 ? `corrupt png: ${ihdrCount} IHDR chunks, a PNG has exactly one` : undefined;
  return sized('png', size.width, size.height, { interlaced, bitDepth, orientationBlock, ...(problem ? { problem } : {}) });
}

/** Occurrences of the two bytes `first, second` in `b` (native search). */
function countPairs(b: Buffer, first: number, second: number): number {
  const pair = Buffer.from([first, second]);
  let count = 0;
  for (let i = b.indexOf(pair); i !== -1; i = b.indexOf(pair, i + 1)) count++;
  return count;
}

/**
 * Walks the JPEG marker segments to the end of image, skipping entropy-coded scan data, and
 * reads the frame header (SOF0-15 except DHT, JPG, DAC). Baseline and progressive JPEGs have
 * exactly one; jpeg-js would allocate for each, so the walk stops at a second one and the
 * file is refused (a 4-byte SOF repeated 200,000 times used to be read to the end, and the
 * list of frames overflowed the stack). jpeg-js itself refuses a frame over its
 * maxResolutionInMP before allocating (lib/imageDecode.ts sets it), which also covers a frame
 * header this walk and jpeg-js's looser one disagree about.
 */
function readJpeg(b: Buffer): ImageHeader {
  let frame: Size | undefined;
  let samplings: Sampling[] = [];
  let tableBytes = 0;
  const scans = countPairs(b, 0xff, 0xda);
  let i = 2;
  let segments = 0;
  let tableAndCommentBytes = 0;
  // jpeg-js walks the markers its own way, and a file that reads differently to it and to us
  // showed us a 32x32 frame while it decoded a hidden 20000x1250 one (a fuzzing review): so what
  // it would read otherwise is refused, not skipped. Bytes outside a segment (it jumps a length
  // at a misaligned 00 E0), FF 00 / FF 01 there, and DRI / DNL of another length than 4 (it
  // reads exactly 4 bytes).
  const corrupt = (problem: string) => sized('jpeg', frame?.width ?? 0, frame?.height ?? 0, { scans, problem: `corrupt jpeg: ${problem}` });
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return corrupt(`stray byte between segments at ${i}`);
    const marker = b[i + 1];
    if (marker === 0xff) { i++; continue; } // fill byte
    if (marker === 0x00 || marker === 0x01) return corrupt(`marker FF ${marker.toString(16).padStart(2, '0')} between segments at ${i}`);
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7)) { i += 2; continue; }
    if (marker === 0xd9) break; // end of image
    const length = b.readUInt16BE(i + 2);
    if (length < 2) break;
    if ((marker === 0xdd || marker === 0xdc) && length !== 4) return corrupt(`a ${marker === 0xdd ? 'DRI' : 'DNL'} segment of ${length} bytes, not 4`);
    // Each table or comment segment costs jpeg-js a table built or a string made: real files have tens.
    if (++segments > MAX_JPEG_SEGMENTS) return corrupt(`more than ${MAX_JPEG_SEGMENTS} segments`);
    // ...and per byte: 15 MB of comments or Huffman tables took it ~1 s (a fuzzing review); real
    // files hold a few KB of tables and comments.
    if ((marker === 0xfe || marker === 0xc4 || marker === 0xdb) && (tableAndCommentBytes += length) > MAX_JPEG_TABLE_AND_COMMENT_BYTES) {
      return corrupt(`more than ${MAX_JPEG_TABLE_AND_COMMENT_BYTES} bytes of tables and comments`);
    }
    if (marker === 0xda && i + 5 <= b.length) {
      // A scan's spectral range and components bound the work per block (jpeg-js loops Ss..Se without checking Se <= 63).
      const components = b[i + 4];
      const at = i + 5 + 2 * components;
      if (components < 1 || components > 4 || (at + 1 < b.length && (b[at] > 63 || b[at + 1] > 63))) return corrupt(`a scan of ${components} components or a spectral range past 63`);
    }
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame && i + 9 <= b.length) {
      const size = { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
      // 255 components sampled 15x15 made a 32x32 frame cost jpeg-js 32 s: the standard allows 4, and factors 1-4.
      const components = length >= 8 && i + 9 < b.length ? b[i + 9] : 0;
      if (components > 4) return corrupt(`a frame of ${components} components`);
      for (let c = 0; c < components && i + 11 + 3 * c < b.length; c++) {
        const factors = b[i + 11 + 3 * c];
        if ((factors >> 4) < 1 || (factors >> 4) > 4 || (factors & 15) < 1 || (factors & 15) > 4) return corrupt(`sampling factors ${factors >> 4}x${factors & 15}`);
      }
      samplings = frameSamplings(b, i);
      if (frame) {
        // The sizes still cover both frames: what jpeg-js would have allocated, had it been given the file.
        return {
          ...sized('jpeg', frame.width, frame.height, { scans, problem: `corrupt jpeg: more than one frame header (a second at byte ${i}), only single-frame JPEGs are decoded` }),
          decodePixels: Math.max(frame.width * frame.height, size.width * size.height),
          decodeSide: Math.max(frame.width, frame.height, size.width, size.height),
        };
      }
      frame = size;
    }
    if (marker === 0xdb || marker === 0xc4) tableBytes += jpegJsTableBytes(b, marker, i + 4, Math.min(b.length, i + 2 + length));
    i += 2 + length;
    if (marker === 0xda) {
      // Entropy-coded data runs to the next marker: 0xFF followed by neither a stuffed 0x00, a restart marker, nor fill.
      for (i = b.indexOf(0xff, i); i !== -1 && i + 1 < b.length; i = b.indexOf(0xff, i + 1)) {
        const next = b[i + 1];
        if (next !== 0x00 && next !== 0xff && !(next >= 0xd0 && next <= 0xd7)) break;
      }
      if (i === -1) break;
    }
  }
  if (!frame) return sized('jpeg', 0, 0, { scans }); // no frame header: truncated or corrupt
  return sized('jpeg', frame.width, frame.height, { scans, decodeBytes: jpegJsBytes(frame, samplings) + tableBytes });
}

/** Chunks a PNG may hold (pngjs pays per chunk): real files have tens, with small IDATs hundreds. */
const MAX_PNG_CHUNKS = 20_000;

/** Marker segments (tables, comments, APPn, frames, scans) a JPEG may hold; real files have tens. */
const MAX_JPEG_SEGMENTS = 2000;
/** Bytes of DHT, DQT and COM segments together a JPEG may hold (jpeg-js works per byte on each). */
const MAX_JPEG_TABLE_AND_COMMENT_BYTES = 1_048_576;

/**
 * What jpeg-js counts for the tables of one DQT (0xDB) or DHT (0xC4) segment spanning
 * [start, end): 256 bytes per quantisation table (65 or 129 in the file), 16 + its code count per
 * Huffman table. Tables may follow the image data, where jpeg-js would count them only after
 * decoding it, so a file padded with them must not slip under the estimate.
 */
function jpegJsTableBytes(b: Buffer, marker: number, start: number, end: number): number {
  let bytes = 0;
  for (let at = start; at < end;) {
    if (marker === 0xdb) {
      bytes += 256;
      at += 1 + (b[at] >> 4 === 0 ? 64 : 128);
    } else {
      let codes = 0;
      for (let k = 1; k <= 16 && at + k < b.length; k++) codes += b[at + k];
      bytes += 16 + codes;
      at += 17 + codes;
    }
  }
  return bytes;
}

/** A JPEG component's sampling factors. */
interface Sampling { h: number; v: number }

/** The components' sampling factors from the frame header at `at` (FF Cn, length, precision, height, width, count, then 3 bytes each). */
function frameSamplings(b: Buffer, at: number): Sampling[] {
  const count = at + 9 < b.length ? b[at + 9] : 0;
  const out: Sampling[] = [];
  for (let c = 0; c < count && at + 11 + 3 * c < b.length; c++) {
    const factors = b[at + 11 + 3 * c];
    out.push({ h: Math.max(1, factors >> 4), v: Math.max(1, factors & 15) });
  }
  return out;
}

/**
 * What jpeg-js 0.4 counts against maxMemoryUsageInMB for one frame, as its decoder.js computes it:
 * the coefficient blocks of every component (an Int32Array(64) per block, MCU-padded), each
 * component's samples, the colour-converted pixels and the RGBA output (its tables: see
 * jpegJsTableBytes). Checked against jpeg-js itself in test/lib/imageHeader.test.ts.
 */
function jpegJsBytes({ width, height }: Size, components: Sampling[]): number {
  if (components.length === 0) return 0;
  const maxH = Math.max(...components.map((c) => c.h));
  const maxV = Math.max(...components.map((c) => c.v));
  const mcusPerLine = Math.ceil(width / 8 / maxH);
  const mcusPerColumn = Math.ceil(height / 8 / maxV);
  let bytes = 0;
  for (const { h, v } of components) {
    bytes += mcusPerLine * h * mcusPerColumn * v * 256;
    const blocksPerLine = Math.ceil((Math.ceil(width / 8) * h) / maxH);
    const blocksPerColumn = Math.ceil((Math.ceil(height / 8) * v) / maxV);
    bytes += blocksPerLine * 8 * blocksPerColumn * 8;
  }
  return bytes + width * height * components.length + width * height * 4;
}

/** A GIF image descriptor: its rectangle and where its LZW data (code size byte, then sub-blocks) starts. */
interface GifFrame extends Size {
  dataOffset: number;
}

/**
 * The image descriptors of a GIF, walked the way omggif's GifReader walks them, stopping after
 * `max`. GifReader itself records every descriptor before jimp decodes frame 0: 200,000 of
 * them (12 bytes each, 2.4 MB) cost 145 ms and 31 MB, a 15 MB file of them 0.8 s and 170 MB.
 */
function gifFrames(b: Buffer, max = Infinity): GifFrame[] {
  const frames: GifFrame[] = [];
  let i = 13 + (b[10] & 0x80 ? 3 * (2 << (b[10] & 7)) : 0);
  const skipSubBlocks = () => {
    while (i < b.length && b[i] !== 0) i += b[i] + 1;
    i++; // the zero-length terminator
  };
  while (i < b.length && frames.length < max) {
    const block = b[i];
    if (block === 0x3b) break; // trailer
    if (block === 0x21) {
      // omggif reads an application extension whose block size is not 11 as a fixed 17 bytes, not
      // as sub-blocks: walking it our way hid a frame from these checks that omggif then decoded.
      if (b[i + 1] === 0xff && b[i + 2] !== 0x0b) { i += 2 + 17; continue; }
      i += 2; // extension: introducer, label, sub-blocks
      skipSubBlocks();
      continue;
    }
    if (block !== 0x2c || i + 10 > b.length) break; // anything else: omggif throws
    const flags = b[i + 9];
    const dataOffset = i + 10 + (flags & 0x80 ? 3 * (2 << (flags & 7)) : 0); // after the descriptor and local colour table
    frames.push({ width: b.readUInt16LE(i + 5), height: b.readUInt16LE(i + 7), dataOffset });
    i = dataOffset + 1; // the LZW minimum code size
    skipSubBlocks();
  }
  return frames;
}

/**
 * The logical screen and the first frame, the two things @jimp/js-gif decodes: it allocates an
 * RGBA bitmap of the screen's size, and omggif decodes frame 0's LZW data into an index buffer
 * of the frame's own size (which may exceed the screen) before drawing it into the bitmap.
 * Later frames are only parsed, never decoded, so their sizes do not count; their number does.
 */
function readGif(b: Buffer): ImageHeader {
  const screen = { width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
  const frames = gifFrames(b, MAX_GIF_FRAMES + 1);
  const header = sized('gif', screen.width, screen.height);
  if (frames.length === 0) return { ...header, problem: 'corrupt gif: no image descriptor' };
  if (frames.length > MAX_GIF_FRAMES) return { ...header, problem: `GIF has more than ${MAX_GIF_FRAMES} frames (omggif parses every one before decoding the first)` };
  const [first] = frames;
  return {
    ...header,
    decodePixels: Math.max(screen.width * screen.height, first.width * first.height),
    decodeSide: Math.max(screen.width, screen.height, first.width, first.height),
  };
}

/**
 * Baseline TIFF only, checked the way utif2 will read it: the IFD chain (no loops, at most
 * MAX_TIFF_PAGES pages), every field inside the file, every strip or tile inside the file, and
 * only the compressions in SAFE_TIFF_COMPRESSIONS.
 */
function readTiff(b: Buffer): ImageHeader {
  const le = b[0] === 0x49;
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const refuse = (problem: string, pages: Size[] = []) => ({ ...sized('tiff', pages[0]?.width ?? 0, pages[0]?.height ?? 0), problem });

  let valuesRead = 0; // across every directory, against MAX_TIFF_TOTAL_VALUES
  /** The TIFF_READ_TAGS fields of one IFD as numbers (2^16 values at most each), or a problem. */
  const readIfd = (offset: number, nested: boolean): Map<number, number[]> | string => {
    if (offset + 2 > b.length) return 'TIFF directory outside the file';
    const count = u16(offset);
    if (offset + 2 + count * 12 + 4 > b.length) return 'TIFF directory runs past the end of the file';
    const fields = new Map<number, number[]>();
    for (let k = 0; k < count; k++) {
      const entry = offset + 2 + k * 12;
      const tag = u16(entry);
      const type = u16(entry + 2);
      const n = u32(entry + 4);
      const size = TIFF_TYPE_SIZE[type] ?? 0;
      if (size === 0) return `TIFF field ${tag} has unknown type ${type}`;
      // utif2 drops a directory whose first field is SBYTE, so jimp decoded the next page while
      // these checks had measured this one (a fuzzing review: 32x32 checked, 9000x8 decoded).
      if (k === 0 && type === 6) return 'TIFF directory starting with an SBYTE field (utif2 skips it)';
      const inline = n * size <= 4;
      const at = inline ? entry + 8 : u32(entry + 8);
      if (at + n * size > b.length) return `TIFF field ${tag} (${n} values) runs past the end of the file`;
      if (TIFF_NESTED_TAGS.has(tag) || (nested && TIFF_SUB_IFD_TAGS.has(tag))) return `TIFF field ${tag} (sub-IFDs or maker notes) is not supported`;
      if (!TIFF_VIEW_TYPES.has(type)) {
        valuesRead += n;
        if (valuesRead > MAX_TIFF_TOTAL_VALUES) return `TIFF fields hold more than ${MAX_TIFF_TOTAL_VALUES} values in all`;
      }
      // utif2 reads these tags whatever their numeric type (SSHORT, SLONG, IFD, FLOAT...): one stored
      // as a type we did not read escaped every check below (a deflate bomb, a 4 GB strip length).
      // Real files store them as SHORT or LONG, and once each.
      if (TIFF_READ_TAGS.has(tag) && type !== 3 && type !== 4) return `TIFF field ${tag} has type ${type}; only SHORT and LONG are read`;
      if (TIFF_READ_TAGS.has(tag) && fields.has(tag)) return `TIFF field ${tag} appears twice in one directory`;
      if (type === 3 || type === 4) {
        if (n > MAX_TIFF_VALUES) return `TIFF field ${tag} has ${n} values, more than ${MAX_TIFF_VALUES}`;
        if (TIFF_READ_TAGS.has(tag)) fields.set(tag, Array.from({ length: n }, (_, j) => (type === 3 ? u16(at + 2 * j) : u32(at + 4 * j))));
      }
      if (TIFF_SUB_IFD_TAGS.has(tag)) {
        // utif2 follows every value of these pointers, of any numeric type (a review's SHORT
        // pointer led to an unchecked directory of 10M values): one LONG or IFD pointer only.
        if ((type !== 4 && type !== 13) || n !== 1) return `TIFF field ${tag} (an EXIF or GPS directory) must be one LONG pointer, not ${n} of type ${type}`;
        const sub = readIfd(u32(at), true);
        if (typeof sub === 'string') return sub;
      }
    }
    return fields;
  };

  const pages: Size[] = [];
  let pagesDataBytes = 0; // strips and tiles of every page so far, against the file's size
  let deepest = 0; // bits per sample, over the pages (16-bit data decodes ~2.5x slower, as in PNG)
  const seen = new Set<number>();
  for (let offset = u32(4); offset !== 0;) {
    if (seen.has(offset)) return refuse('corrupt tiff: its directories form a loop', pages);
    if (pages.length === MAX_TIFF_PAGES) return refuse(`TIFF has more than ${MAX_TIFF_PAGES} pages`, pages);
    seen.add(offset);
    const fields = readIfd(offset, false);
    if (typeof fields === 'string') return refuse(fields, pages);
    const width = fields.get(256)?.[0] ?? 0;
    const height = fields.get(257)?.[0] ?? 0;
    const compression = fields.get(259)?.[0] ?? 1;
    if (!SAFE_TIFF_COMPRESSIONS.has(compression)) return refuse(`TIFF compression ${compression} is not supported (only none and PackBits)`, pages);
    const bits = fields.get(258) ?? [1];
    const samples = fields.get(277)?.[0] ?? 1;
    const maxBits = bits.reduce((most, v) => Math.max(most, v), 0); // no spread: a field holds up to MAX_TIFF_VALUES values
    if (maxBits > 16 || samples > 4) return refuse(`TIFF with ${samples} samples of ${maxBits} bits per pixel is not supported`, pages);
    // A fuzzing review's hangs through fields the checks did not read: YCbCr (6) with 0 rows per
    // strip looped forever, a predictor runs rows x bytes for every strip whatever their number,
    // and tag 45 switched to a raw decoder looping over a height of its own.
    if (fields.has(45)) return refuse('TIFF field 45 (a Panasonic raw) is not supported', pages);
    const photometric = fields.get(262)?.[0] ?? 1;
    if (!SAFE_TIFF_PHOTOMETRICS.has(photometric)) return refuse(`TIFF photometric interpretation ${photometric} is not supported (only grey, RGB and palette)`, pages);
    if ((fields.get(317)?.[0] ?? 1) !== 1) return refuse('TIFF predictors are not supported', pages);
    const planes = (fields.get(284)?.[0] ?? 1) === 2 ? samples : 1;
    const tiled = fields.has(322);
    let pieces: number; // strips or tiles the page must have
    if (tiled) {
      const [tw, th] = [fields.get(322)?.[0] ?? 0, fields.get(323)?.[0] ?? 0];
      if (tw % 16 !== 0 || th % 16 !== 0 || tw === 0 || th === 0 || tw > 2048 || th > 2048) return refuse(`TIFF tiles of ${tw}x${th} are not supported`, pages);
      // utif2 clears (and may byte-swap) a whole tile for each: one far larger than its page is work for nothing.
      if (tw > Math.ceil(width / 16) * 16 || th > Math.ceil(height / 16) * 16) return refuse(`TIFF tiles of ${tw}x${th} are larger than the ${width}x${height} page`, pages);
      pieces = Math.ceil(width / tw) * Math.ceil(height / th) * planes;
    } else {
      const rowsPerStrip = Math.min(fields.get(278)?.[0] ?? height, height);
      if (rowsPerStrip < 1) return refuse('TIFF with 0 rows per strip', pages);
      pieces = Math.ceil(height / rowsPerStrip) * planes;
    }
    // utif2 copies or unpacks each strip (tile) from its offset and length: together they must fit the file.
    const offsets = fields.get(tiled ? 324 : 273) ?? [];
    const lengths = fields.get(tiled ? 325 : 279) ?? [];
    if (offsets.length !== pieces) return refuse(`corrupt tiff: ${offsets.length} ${tiled ? 'tiles' : 'strips'} where its size and layout make ${pieces}`, pages);
    const total = lengths.reduce((sum, n) => sum + n, 0);
    pagesDataBytes += total;
    // Pages may not share their data either: utif2 decodes each page's strips in full.
    if (offsets.length !== lengths.length || pagesDataBytes > b.length || offsets.some((o, j) => o + lengths[j] > b.length)) {
      return refuse('corrupt tiff: image data runs past the end of the file', pages);
    }
    if (compression === 32773) {
      // utif2 runs a PackBits strip to its input's end, up to 128 output bytes per 2 input bytes,
      // writing or not: its output may not exceed what the strip holds (one run of slack).
      const pieceBytes = tiled
        ? (fields.get(322)![0] * fields.get(323)![0] * samples * maxBits) / 8 / planes
        : Math.ceil((width * samples * maxBits) / 8 / planes) * Math.min(fields.get(278)?.[0] ?? height, height);
      const over = offsets.findIndex((o, j) => packBitsOutputBytes(b, o, o + lengths[j]) > pieceBytes + 128);
      if (over !== -1) return refuse(`corrupt tiff: PackBits ${tiled ? 'tile' : 'strip'} ${over} unpacks to more than its ${Math.ceil(pieceBytes)} bytes`, pages);
    }
    pages.push({ width, height });
    deepest = Math.max(deepest, maxBits);
    offset = u32(offset + 2 + u16(offset) * 12);
  }
  if (pages.length === 0) return refuse('corrupt tiff: no image directory');
  return {
    ...sized('tiff', pages[0].width, pages[0].height),
    orientationBlock: { start: 0, end: b.length },
    bitDepth: deepest > 8 ? 16 : 8,
    decodePixels: pages.reduce((sum, p) => sum + p.width * p.height, 0),
    decodeSide: pages.reduce((side, p) => Math.max(side, p.width, p.height), 0),
  };
}

export { readImageHeader, unsupportedFormat, gifFrames, jpegJsBytes, bmpLayoutProblem, MAX_GIF_FRAMES, MAX_TIFF_PAGES };
export type { ImageHeader, ImageFormat, GifFrame };
