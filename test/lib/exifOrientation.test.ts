/** lib/exifOrientation.ts: Orientation read without jimp's unbounded EXIF parser. */
import { describe, expect, it } from 'vitest';
import { readExifOrientation, readOrientation, withoutExifHeaders } from '../../lib/exifOrientation.js';
import { readImageHeader } from '../../lib/imageHeader.js';
import { encodePng, encodeTiff, jpegBomb, pngChunk, tiffPage, withExifFlood, withExifOrientation } from '../support/imageFixtures.js';

// withExifOrientation puts its one IFD0 entry at byte 22: SOI, FF E1 + length, "Exif\0\0", the
// 8-byte TIFF header and the 2-byte entry count.
const ENTRY = 22;

describe('readExifOrientation', () => {
  it('reads one SHORT, LONG or SSHORT Orientation from IFD0, and 1 for anything else', () => {
    const jpeg = jpegBomb(64, 64);
    expect(readExifOrientation(jpeg)).toBe(1);
    expect(readExifOrientation(withExifOrientation(jpeg, 6))).toBe(6);
    const long = withExifOrientation(jpeg, 0);
    long.writeUInt16LE(4, ENTRY + 2);
    long.writeUInt32LE(8, ENTRY + 8);
    expect(readExifOrientation(long)).toBe(8);
    const twoValues = withExifOrientation(jpeg, 6);
    twoValues.writeUInt32LE(2, ENTRY + 4);
    expect(readExifOrientation(twoValues)).toBe(1);
    expect(readExifOrientation(withExifOrientation(jpeg, 9))).toBe(1);
    expect(readExifOrientation(withExifOrientation(jpeg, 6).subarray(0, ENTRY + 6))).toBe(1); // cut inside the entry
  });

  it('defaces every Exif header in the copy jimp decodes, and leaves a JPEG without one as it is', () => {
    const jpeg = jpegBomb(64, 64);
    expect(withoutExifHeaders(jpeg)).toBe(jpeg);
    const flood = withExifFlood(withExifOrientation(jpeg, 6), 10, 10);
    const defaced = withoutExifHeaders(flood);
    expect(defaced.includes(Buffer.from('Exif\0\0', 'latin1'))).toBe(false);
    expect(flood.includes(Buffer.from('Exif\0\0', 'latin1'))).toBe(true); // the caller's bytes untouched
    expect(readExifOrientation(flood)).toBe(1); // the flood's segment comes first and has no Orientation
  });
});

describe('readOrientation', () => {
  /** As lib/imageDecode.ts calls it: with the header readImageHeader found. */
  const orientationOf = (bytes: Buffer) => readOrientation(bytes, readImageHeader(bytes)!);
  const pixels = { data: new Uint8Array(4 * 4 * 4).fill(255), width: 4, height: 4 };

  it("reads a PNG's eXIf chunk only before the image data, as the PNG extension places it", () => {
    expect(orientationOf(encodePng(pixels))).toBe(1);
    const tagged = encodePng(pixels, { orientation: 3 });
    expect(orientationOf(tagged)).toBe(3);
    const exif = tagged.subarray(tagged.indexOf('eXIf') - 4, tagged.indexOf('IDAT') - 4);
    const late = Buffer.concat([encodePng(pixels).subarray(0, -12), exif, pngChunk('IEND')]);
    expect(orientationOf(late)).toBe(1);
  });

  it("reads a TIFF's own Orientation tag from its first directory, and nothing from other formats", () => {
    const page = tiffPage(4, 4, 48);
    expect(orientationOf(encodeTiff([page], Buffer.alloc(48)))).toBe(1);
    const tagged = encodeTiff([[...page, [274, 3, [5]] as [number, number, number[]]]], Buffer.alloc(48));
    expect(orientationOf(tagged)).toBe(5);
    expect(readOrientation(tagged, { format: 'bmp' })).toBe(1); // a header with no orientation block
  });
});
