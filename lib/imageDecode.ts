/**
 * Turns request bytes into an RGBA bitmap, refusing what we cannot or should not decode
 * before spending memory on it. jimp applies EXIF orientation while decoding.
 */
import { Jimp } from 'jimp';
import { AppError } from './errors.js';
import { readImageHeader } from './imageHeader.js';
import type { ImageFormat } from './imageHeader.js';
import type { RgbaImage } from './preprocess.js';

interface DecodeLimits {
  maxBytes: number;
  maxPixels: number;
  maxSide: number;
  minSide: number;
}

interface DecodedImage extends RgbaImage {
  format: ImageFormat;
}

/** Strips an optional data URL prefix and decodes strict base64 (standard or URL-safe). */
function decodeBase64Image(text: string, maxBytes: number): Buffer {
  const match = /^data:([\w.+-]+\/[\w.+-]+)?(;[\w-]+=[\w-]+)*;base64,/i.exec(text.slice(0, 200));
  const payload = (match ? text.slice(match[0].length) : text).replace(/\s+/g, '');
  if (payload.length === 0) throw new AppError('INVALID_BASE64', 'image is empty');
  // Refuse before allocating: base64 carries 3 bytes per 4 characters.
  if (Math.floor(payload.length * 3 / 4) > maxBytes + 2) {
    throw new AppError('IMAGE_TOO_LARGE', `image is over ${maxBytes} bytes`, { details: { maxBytes } });
  }
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(payload) || payload.length % 4 === 1) {
    throw new AppError('INVALID_BASE64', 'image is not valid base64 or a base64 data URL');
  }
  return Buffer.from(payload.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

async function decodeImage(bytes: Uint8Array, limits: DecodeLimits): Promise<DecodedImage> {
  if (bytes.byteLength === 0) throw new AppError('UNSUPPORTED_IMAGE', 'image is empty (0 bytes)');
  if (bytes.byteLength > limits.maxBytes) {
    throw new AppError('IMAGE_TOO_LARGE', `image is ${bytes.byteLength} bytes, over the ${limits.maxBytes} byte limit`, { details: { maxBytes: limits.maxBytes } });
  }
  const header = readImageHeader(bytes);
  if (!header) throw new AppError('UNSUPPORTED_IMAGE', 'not a JPEG, PNG, GIF, BMP or TIFF image');
  const { width, height, format } = header;
  if (width === 0 || height === 0) throw new AppError('UNSUPPORTED_IMAGE', `corrupt ${format}: no readable dimensions`);
  if (width > limits.maxSide || height > limits.maxSide || width * height > limits.maxPixels) {
    throw new AppError('IMAGE_TOO_LARGE', `image is ${width}x${height}, over the limit of ${limits.maxPixels} pixels or ${limits.maxSide} px a side`,
      { details: { width, height, maxPixels: limits.maxPixels, maxSide: limits.maxSide } });
  }
  if (Math.min(width, height) < limits.minSide) {
    throw new AppError('IMAGE_TOO_SMALL', `image is ${width}x${height}; the shorter side must be at least ${limits.minSide} px`, { details: { minSide: limits.minSide } });
  }
  let image;
  try {
    image = await Jimp.fromBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
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
  return { data, width: w, height: h, format };
}

export { decodeImage, decodeBase64Image };
export type { DecodeLimits, DecodedImage };
