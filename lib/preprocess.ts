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
/** Up to this many source pixels per output pixel (per axis), the 4x4 point grid reads them all. */
const GRID_MAX_SCALE = 4;

/**
 * Crops `box` (default: the whole image) and resizes it to spec.size x spec.size, returning
 * spec.channels bytes per pixel, row-major (grayscale is ITU-R BT.601 luma of the RGB result).
 * Source area outside the image counts as OUTSIDE_VALUE. With k = box side / spec.size source
 * pixels per output pixel along each axis (kx, ky), one of two filters:
 * - kx <= 4 and ky <= 4 (UTKFace chips to 64x64 for training: k ~ 3.1; the detector's input of
 *   a 200x200 chip: k ~ 2.3): `sampleGrid`, the original filter, unchanged byte for byte: each
 *   output pixel is the plain mean of 16 point samples, the source pixels (nearest, no
 *   interpolation) under the centres of a 4x4 grid laid over its footprint. Samples are k/4 <= 1
 *   pixels apart, so every pixel of the footprint is read: close to an area average. The models
 *   were trained on exactly these bytes (training/features.ts), so this path must not change
 *   (test/lib/preprocess.test.ts checks it against a copy of the original on real chips).
 * - otherwise (a 640-px face to 64: k = 10; the detector's 128x128 input of a 1920-wide photo:
 *   k ~ 22): `areaAverage`, an exact box filter: each output pixel is the mean of the source
 *   over its footprint (the kx x ky rectangle at box.left + ox * kx, box.top + oy * ky),
 *   each source pixel weighted by the fraction of its area inside it. 16 point samples would
 *   read only 16 of ~kx x ky pixels there, and detail finer than ~k/2 pixels would alias
 *   instead of averaging out. It reads every source pixel under the box that lies in the
 *   image (pixels split by a footprint edge once per footprint), so its cost grows with those
 *   pixels, not with spec.size: see BENCHMARKS.md. Values are rounded only at the end.
 * Both filters give (the first nearly) the area average, so a face downscaled ~3x as in
 * training and one downscaled 10x at serving time reach the models alike.
 */
function toModelInput(image: RgbaImage, box: PixelBox | undefined, spec: InputSpec, roll = 0): Uint8Array {
  return modelInputs(image, box, [spec], roll)[0];
}

/**
 * toModelInput for several specs of one face (the age and the gender net's). A rolled face is
 * straightened once, at the side the largest spec needs, and each input is cut from that: the
 * resampling in JS is the costly part (BENCHMARKS.md, "Tilted heads").
 */
function modelInputs(image: RgbaImage, box: PixelBox | undefined, specs: InputSpec[], roll = 0): Uint8Array[] {
  if (roll !== 0 && box) {
    const largest = Math.max(...specs.map((s) => s.size));
    const upright = uprightCrop(image, box, roll, Math.max(1, Math.round(Math.min(box.width, GRID_MAX_SCALE * largest))));
    return specs.map((spec) => cropToInput(upright, undefined, spec));
  }
  return specs.map((spec) => cropToInput(image, box, spec));
}

/** One spec's input from an upright image: the filter for its scale (above). */
function cropToInput(image: RgbaImage, box: PixelBox | undefined, spec: InputSpec): Uint8Array {
  const crop = box ?? { left: 0, top: 0, width: image.width, height: image.height };
  if (crop.width / spec.size <= GRID_MAX_SCALE && crop.height / spec.size <= GRID_MAX_SCALE) return sampleGrid(image, crop, spec);
  return areaAverage(image, crop, spec);
}

/**
 * The square `box` turned by `roll` radians about its centre (a tilted head, straightened),
 * sampled upright into a side x side image: bilinear, OUTSIDE_VALUE beyond the image. side is
 * at most GRID_MAX_SCALE x the model input, so toModelInput's own resize of it is the training
 * chips' filter. Only serving calls this (with a roll): training crops stay byte-identical.
 */
function uprightCrop(image: RgbaImage, box: PixelBox, roll: number, side: number): RgbaImage {
  const { data, width, height } = image;
  const out = new Uint8Array(side * side * 4);
  const scale = box.width / side;
  const cx = box.left + box.width / 2;
  const cy = box.top + box.height / 2;
  const cos = Math.cos(roll);
  const sin = Math.sin(roll);
  const at = (x: number, y: number, c: number) => (x < 0 || y < 0 || x >= width || y >= height ? OUTSIDE_VALUE : data[(y * width + x) * 4 + c]);
  for (let oy = 0; oy < side; oy++) {
    for (let ox = 0; ox < side; ox++) {
      // The output pixel's centre, from the crop's centre in source pixels, turned by the roll.
      const u = (ox + 0.5) * scale - box.width / 2;
      const v = (oy + 0.5) * scale - box.height / 2;
      const sx = cx + u * cos - v * sin - 0.5;
      const sy = cy + u * sin + v * cos - 0.5;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const o = (oy * side + ox) * 4;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < width && y0 + 1 < height) {
        // All four neighbours inside: read them directly (the same arithmetic as below, so the
        // same bytes; the closure per tap made a tilted face's crops cost 13-15 ms).
        const i = (y0 * width + x0) * 4;
        const j = i + width * 4;
        for (let c = 0; c < 3; c++) {
          const top = data[i + c] * (1 - fx) + data[i + 4 + c] * fx;
          const bottom = data[j + c] * (1 - fx) + data[j + 4 + c] * fx;
          out[o + c] = Math.round(top * (1 - fy) + bottom * fy);
        }
      } else {
        for (let c = 0; c < 3; c++) {
          const top = at(x0, y0, c) * (1 - fx) + at(x0 + 1, y0, c) * fx;
          const bottom = at(x0, y0 + 1, c) * (1 - fx) + at(x0 + 1, y0 + 1, c) * fx;
          out[o + c] = Math.round(top * (1 - fy) + bottom * fy);
        }
      }
      out[o + 3] = 255;
    }
  }
  return { data: out, width: side, height: side };
}

/** The original filter (toModelInput's first case): mean of 4x4 nearest-pixel point samples. */
function sampleGrid(image: RgbaImage, crop: PixelBox, spec: InputSpec): Uint8Array {
  const { size, channels } = spec;
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

/**
 * Box-filter weights along one axis: output index o covers [start + o * k, start + (o + 1) * k)
 * with k = length / size. Source pixel `first[o] + j` (j < count[o]) gets weight
 * weights[o * stride + j] = (length of its overlap with the footprint) / k; only pixels in
 * [0, limit) are listed, and inside[o] is the fraction of the footprint that lies there.
 */
interface AxisWeights {
  first: Int32Array;
  count: Int32Array;
  weights: Float64Array;
  stride: number;
  inside: Float64Array;
}

function axisWeights(start: number, length: number, size: number, limit: number): AxisWeights {
  const k = length / size;
  // A footprint k long overlaps at most ceil(k) + 1 pixels, and at most limit + 1 of them are in
  // [0, limit): a box far larger than the image costs no more than the image.
  const stride = Math.min(Math.ceil(k), limit) + 1;
  const first = new Int32Array(size);
  const count = new Int32Array(size);
  const weights = new Float64Array(size * stride);
  const inside = new Float64Array(size);
  for (let o = 0; o < size; o++) {
    const lo = Math.max(start + (o * length) / size, 0);
    const hi = Math.min(start + ((o + 1) * length) / size, limit);
    if (!(hi > lo)) continue;
    const x0 = Math.floor(lo);
    const x1 = Math.ceil(hi); // exclusive
    first[o] = x0;
    count[o] = x1 - x0;
    for (let x = x0; x < x1; x++) weights[o * stride + x - x0] = (Math.min(x + 1, hi) - Math.max(x, lo)) / k;
    inside[o] = (hi - lo) / k;
  }
  return { first, count, weights, stride, inside };
}

/** Whether a Uint32Array over RGBA bytes holds R in each word's low byte (every platform we run on). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/**
 * Most pixels `areaAverage` sums two channels per 32-bit word for: R and B (and G and A) in
 * 16-bit lanes, and 257 x 255 = 0xffff exactly fills one. Longer runs (k > ~258) sum byte by byte.
 */
const MAX_PACKED_RUN = 257;

/**
 * toModelInput's second case: the exact area average of the source over each output pixel,
 * separably. Along x, each footprint's run of source pixels in a row is its first and last pixel
 * at their own weights plus the pixels between them, wholly inside, at 1/kx each: those are
 * summed as integers (two channels per 32-bit word when the bytes allow), which halves the cost
 * of the loop that reads every pixel. Rows then add up at their own weights along y.
 */
function areaAverage(image: RgbaImage, crop: PixelBox, spec: InputSpec): Uint8Array {
  const { size, channels } = spec;
  const out = new Uint8Array(size * size * channels);
  const { data, width, height } = image;
  const words = LITTLE_ENDIAN && data.byteOffset % 4 === 0 ? new Uint32Array(data.buffer, data.byteOffset, width * height) : undefined;
  const xs = axisWeights(crop.left, crop.width, size, width);
  const ys = axisWeights(crop.top, crop.height, size, height);
  const whole = 1 / (crop.width / size); // x weight of a pixel wholly inside a footprint
  const acc = new Float64Array(size * 3); // one output row's RGB sums
  for (let oy = 0; oy < size; oy++) {
    acc.fill(0);
    for (let j = 0; j < ys.count[oy]; j++) {
      const wy = ys.weights[oy * ys.stride + j];
      const row = (ys.first[oy] + j) * width;
      for (let ox = 0; ox < size; ox++) {
        const n = xs.count[ox];
        if (n === 0) continue;
        const first = row + xs.first[ox];
        const last = first + n - 1;
        // The run's end pixels, at their own (partial) weights.
        const wf = xs.weights[ox * xs.stride];
        let i = first * 4;
        let r = wf * data[i], g = wf * data[i + 1], b = wf * data[i + 2];
        if (n > 1) {
          const wl = xs.weights[ox * xs.stride + n - 1];
          i = last * 4;
          r += wl * data[i]; g += wl * data[i + 1]; b += wl * data[i + 2];
        }
        // The pixels between them, at `whole` each: integer sums.
        let sr = 0, sg = 0, sb = 0;
        if (words && n - 2 <= MAX_PACKED_RUN) {
          let rb = 0, ga = 0;
          for (let q = first + 1; q < last; q++) {
            const w = words[q];
            rb += w & 0x00ff00ff;
            ga += (w >>> 8) & 0x00ff00ff;
          }
          sr = rb & 0xffff; sb = rb >>> 16; sg = ga & 0xffff;
        } else {
          for (let q = (first + 1) * 4, end = last * 4; q < end; q += 4) { sr += data[q]; sg += data[q + 1]; sb += data[q + 2]; }
        }
        acc[3 * ox] += wy * (r + whole * sr);
        acc[3 * ox + 1] += wy * (g + whole * sg);
        acc[3 * ox + 2] += wy * (b + whole * sb);
      }
    }
    for (let ox = 0; ox < size; ox++) {
      const outside = OUTSIDE_VALUE * (1 - xs.inside[ox] * ys.inside[oy]);
      const r = acc[3 * ox] + outside, g = acc[3 * ox + 1] + outside, b = acc[3 * ox + 2] + outside;
      const o = (oy * size + ox) * channels;
      if (channels === 3) {
        out[o] = Math.round(r);
        out[o + 1] = Math.round(g);
        out[o + 2] = Math.round(b);
      } else {
        out[o] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
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

/**
 * A face crop (toModelInput layout: rows, then columns, then channels) mirrored left to right.
 * Serving's test-time flip (lib/models.ts) feeds it; a byte loop here costs a few microseconds,
 * less than the `Reverse` kernel on the float batch (0.46 ms per age call, bench/profileInference.ts).
 */
function mirroredFace(face: Uint8Array, { size, channels }: InputSpec): Uint8Array {
  const out = new Uint8Array(face.length);
  const rowLength = size * channels;
  for (let row = 0; row < face.length; row += rowLength) {
    for (let x = 0; x < size; x++) {
      const to = row + x * channels;
      const from = row + (size - 1 - x) * channels;
      for (let c = 0; c < channels; c++) out[to + c] = face[from + c];
    }
  }
  return out;
}

export { toModelInput, modelInputs, mirroredFace, sameSpec, PIXEL_SCALE, OUTSIDE_VALUE };
export type { RgbaImage, PixelBox, InputSpec };
