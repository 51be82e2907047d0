/**
 * The one face-preprocessing function. Training (training/features.ts) and serving
 * (lib/analyzer.ts) both call `toModelInput`, so the pixels a model sees can never drift
 * between the two (lib/faceDetector.ts makes the detector's input with it too). The spec
 * travels in each model's manifest.json and is checked at load.
 * Cached training features are tied to this function's behaviour by a fingerprint of its output
 * (training/preprocessFingerprint.ts): a change that moves any pixel makes them stale.
 */

/** A decoded image: tightly packed RGBA bytes, as jimp's bitmap holds them. */
interface RgbaImage {
  data: Uint8Array | Buffer;
  width: number;
  height: number;
}

/** A rectangle in pixels of the source image; may extend past its edges. */
interface PixelBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** What a model expects as input. */
interface InputSpec {
  /** Side of the square input, in pixels. */
  size: number;
  /** 1 = grayscale (ITU-R BT.601 luma), 3 = RGB. */
  channels: 1 | 3;
}

/** Fill for crop areas outside the image: mid grey, the least informative value. */
const OUTSIDE_VALUE = 128;

/**
 * Crops `box` (default: the whole image) and resizes it to spec.size x spec.size, returning
 * spec.channels bytes per pixel, row-major. Each output pixel is the plain mean of 16 point
 * samples: the source pixels (nearest, no interpolation) under the centres of a 4x4 grid laid
 * over the output pixel's footprint; a sample outside the image counts as OUTSIDE_VALUE.
 * With k source pixels per output pixel along an axis, the samples are k/4 pixels apart: for
 * k <= 4 every pixel of the footprint is read, so this is close to an area average (UTKFace
 * chips to 64x64: k ~ 3); above that only 16 of about k x k pixels are read, and detail finer
 * than about k/2 source pixels aliases instead of averaging out (the detector's 128x128 input
 * of a 1920-wide photo: k ~ 22, 16 of ~500 pixels). The models were trained on exactly this
 * sampling, so changing it changes their inputs.
 */
function toModelInput(image: RgbaImage, box: PixelBox | undefined, spec: InputSpec): Uint8Array {
  const { size, channels } = spec;
  const crop = box ?? { left: 0, top: 0, width: image.width, height: image.height };
  const out = new Uint8Array(size * size * channels);
  const taps = 4; // samples per axis per output pixel
  const stepX = crop.width / size;
  const stepY = crop.height / size;
  const { data, width, height } = image;
  const sum = [0, 0, 0];
  for (let oy = 0; oy < size; oy++) {
    for (let ox = 0; ox < size; ox++) {
      sum[0] = sum[1] = sum[2] = 0;
      for (let ty = 0; ty < taps; ty++) {
        const sy = Math.floor(crop.top + (oy + (ty + 0.5) / taps) * stepY);
        for (let tx = 0; tx < taps; tx++) {
          const sx = Math.floor(crop.left + (ox + (tx + 0.5) / taps) * stepX);
          if (sx < 0 || sy < 0 || sx >= width || sy >= height) {
            sum[0] += OUTSIDE_VALUE; sum[1] += OUTSIDE_VALUE; sum[2] += OUTSIDE_VALUE;
          } else {
            const i = (sy * width + sx) * 4;
            sum[0] += data[i]; sum[1] += data[i + 1]; sum[2] += data[i + 2];
          }
        }
      }
      const n = taps * taps;
      const o = (oy * size + ox) * channels;
      if (channels === 3) {
        out[o] = Math.round(sum[0] / n);
        out[o + 1] = Math.round(sum[1] / n);
        out[o + 2] = Math.round(sum[2] / n);
      } else {
        out[o] = Math.round((0.299 * sum[0] + 0.587 * sum[1] + 0.114 * sum[2]) / n);
      }
    }
  }
  return out;
}

/** Scale applied to input bytes inside every model graph: inputs are bytes / 255. */
const PIXEL_SCALE = 1 / 255;

function sameSpec(a: InputSpec, b: InputSpec): boolean {
  return a.size === b.size && a.channels === b.channels;
}

export { toModelInput, sameSpec, PIXEL_SCALE };
export type { RgbaImage, PixelBox, InputSpec };
