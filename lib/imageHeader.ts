/**
 * Reads an image's format and pixel dimensions from its header without decoding it, so a
 * decompression bomb (a 334-byte PNG claiming 20000x20000 decodes into ~4.8 GB) is refused
 * in microseconds. Returns undefined when the bytes are not a format we read.
 */
type ImageFormat = 'jpeg' | 'png' | 'gif' | 'bmp' | 'tiff';

interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
}

function readImageHeader(bytes: Uint8Array): ImageHeader | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a) {
    if (b.toString('latin1', 12, 16) !== 'IHDR') return { format: 'png', width: 0, height: 0 };
    return { format: 'png', width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  }
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return readJpeg(b);
  if (b.length >= 10 && b.toString('latin1', 0, 4) === 'GIF8') {
    return { format: 'gif', width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
  }
  if (b.length >= 26 && b[0] === 0x42 && b[1] === 0x4d) {
    return { format: 'bmp', width: Math.abs(b.readInt32LE(18)), height: Math.abs(b.readInt32LE(22)) };
  }
  if (b.length >= 8 && (b.readUInt32BE(0) === 0x49492a00 || b.readUInt32BE(0) === 0x4d4d002a)) return readTiff(b);
  return undefined;
}

/** Walks JPEG markers to the first start-of-frame (SOF0-15 except DHT, JPG, DAC). */
function readJpeg(b: Buffer): ImageHeader {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) { i++; continue; }
    const marker = b[i + 1];
    if (marker === 0xff) { i++; continue; }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { i += 2; continue; }
    const length = b.readUInt16BE(i + 2);
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) return { format: 'jpeg', height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
    if (length < 2) break;
    i += 2 + length;
  }
  return { format: 'jpeg', width: 0, height: 0 }; // no frame header: truncated or corrupt
}

/** First IFD's ImageWidth (256) and ImageLength (257) tags. */
function readTiff(b: Buffer): ImageHeader {
  const le = b[0] === 0x49;
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const header: ImageHeader = { format: 'tiff', width: 0, height: 0 };
  const ifd = u32(4);
  if (ifd + 2 > b.length) return header;
  const count = u16(ifd);
  for (let k = 0; k < count; k++) {
    const entry = ifd + 2 + k * 12;
    if (entry + 12 > b.length) break;
    const tag = u16(entry);
    const type = u16(entry + 2);
    const value = type === 3 ? u16(entry + 8) : u32(entry + 8);
    if (tag === 256) header.width = value;
    if (tag === 257) header.height = value;
  }
  return header;
}

export { readImageHeader };
export type { ImageHeader, ImageFormat };
