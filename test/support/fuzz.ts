/**
 * Seeded mutation fuzzing of real image files: bit flips, truncations, header edits, byte
 * insertions, deletions and duplicated ranges, one to four per case. The same seed gives the
 * same cases. PNG chunk CRCs are recomputed for half the PNG cases so mutations get past
 * pngjs's CRC check into the decoder proper.
 *   FUZZ_SEED=<n> FUZZ_CASES=<n> npx vitest run test/lib/fuzz.test.ts   (explore other seeds)
 */
import { Jimp } from 'jimp';
import { mulberry32 } from '../../training/random.js';
import { encodeGif, encodePng, encodeTiff, encodeWebp, tiffPage, pngChunk } from './imageFixtures.js';
import { readChip, sampleTestChips } from './utkface.js';

/** The default seed: fixed so a failure in CI reproduces; FUZZ_SEED explores others. */
const DEFAULT_SEED = 20261128;

interface FuzzSeed {
  name: string;
  bytes: Buffer;
}

interface FuzzCase {
  /** Which seed file was mutated, and how: for the failure message. */
  label: string;
  bytes: Buffer;
  /** Half the cases run the detector; the others treat the image as one face (cheaper). */
  detect: boolean;
}

/** Values that sit on edges: zero, one, powers of two, sign bits, all ones, our limits. */
const INTERESTING_16 = [0, 1, 2, 7, 8, 16, 31, 32, 33, 127, 128, 255, 256, 1024, 4096, 10_000, 10_001, 32_767, 32_768, 60_000, 65_535];
const INTERESTING_32 = [...INTERESTING_16, 0x7fffffff, 0x80000000, 0xffffffff];

/** Recomputes the CRC of every complete chunk of a PNG (after the signature). */
function fixPngCrcs(png: Buffer): Buffer {
  const out = Buffer.from(png);
  for (let i = 8; i + 12 <= out.length;) {
    const length = out.readUInt32BE(i);
    if (i + 12 + length > out.length) break;
    const fixed = pngChunk(out.toString('latin1', i + 4, i + 8), out.subarray(i + 8, i + 8 + length));
    fixed.copy(out, i);
    i += 12 + length;
  }
  return out;
}

function mutate(input: Buffer, rand: () => number): { bytes: Buffer; ops: string[] } {
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]) => xs[int(xs.length)];
  /** Header-heavy positions: half the edits land in the first 512 bytes, where the structure is. */
  const position = (length: number) => (rand() < 0.5 ? int(Math.min(512, length)) : int(length));
  let b = Buffer.from(input);
  const ops: string[] = [];
  const count = 1 + int(4);
  for (let k = 0; k < count && b.length > 0; k++) {
    const op = pick(['flip', 'flip', 'truncate', 'byte', 'u16', 'u32', 'insert', 'delete', 'duplicate'] as const);
    const at = position(b.length);
    if (op === 'flip') {
      for (let j = 1 + int(8); j > 0; j--) { const p = position(b.length); b[p] ^= 1 << int(8); }
    } else if (op === 'truncate') {
      b = b.subarray(0, at);
    } else if (op === 'byte') {
      b[at] = pick([0, 1, 0x7f, 0x80, 0xff, int(256)]);
    } else if (op === 'u16' && at + 2 <= b.length) {
      const v = pick(INTERESTING_16);
      if (rand() < 0.5) b.writeUInt16BE(v, at); else b.writeUInt16LE(v, at);
    } else if (op === 'u32' && at + 4 <= b.length) {
      const v = pick(INTERESTING_32);
      if (rand() < 0.5) b.writeUInt32BE(v, at); else b.writeUInt32LE(v, at);
    } else if (op === 'insert') {
      const extra = Buffer.from(Array.from({ length: 1 + int(64) }, () => pick([0, 0xff, 0xd8, 0xda, int(256)])));
      b = Buffer.concat([b.subarray(0, at), extra, b.subarray(at)]);
    } else if (op === 'delete') {
      b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(256)))]);
    } else if (op === 'duplicate') {
      const length = 1 + int(Math.min(2048, b.length - at));
      b = Buffer.concat([b.subarray(0, at + length), b.subarray(at, at + length), b.subarray(at + length)]);
    }
    ops.push(`${op}@${at}`);
  }
  return { bytes: b, ops };
}

/** Real files to mutate: three UTKFace test chips as JPEG, one as 8-bit, 16-bit and interlaced PNG, GIF, BMP, TIFF and lossy and lossless WebP. */
async function fuzzSeeds(): Promise<FuzzSeed[]> {
  const chips = sampleTestChips(40);
  const jpegs = [3, 17, 29].map((i) => readChip(chips[i]));
  const image = await Jimp.fromBuffer(jpegs[0]);
  const rgba = { data: new Uint8Array(image.bitmap.data), width: image.bitmap.width, height: image.bitmap.height };
  const small = image.clone().resize({ w: 64, h: 64 });
  const grey = new Uint8Array(64 * 64).map((_, i) => small.bitmap.data[i * 4 + 1]);
  const rgb = Buffer.alloc(64 * 64 * 3);
  for (let i = 0; i < 64 * 64; i++) small.bitmap.data.copy(rgb, i * 3, i * 4, i * 4 + 3);
  return [
    ...jpegs.map((bytes, i) => ({ name: `chip${i}.jpg`, bytes })),
    { name: 'chip.png', bytes: await image.getBuffer('image/png') },
    { name: 'chip16.png', bytes: encodePng(rgba, { bitDepth: 16 }) },
    { name: 'interlaced.png', bytes: encodePng(rgba, { interlaced: true }) },
    { name: 'small.gif', bytes: encodeGif([grey, grey], 64, 64) },
    { name: 'small.bmp', bytes: await small.getBuffer('image/bmp') },
    { name: 'small.tiff', bytes: encodeTiff([tiffPage(64, 64, rgb.length)], rgb) },
    { name: 'chip.webp', bytes: await encodeWebp(rgba) },
    { name: 'lossless.webp', bytes: await encodeWebp(rgba, { lossless: true }) },
  ];
}

/** `count` cases from `seed`: each mutates one seed file (JPEG and PNG most often). */
function fuzzCases(seeds: FuzzSeed[], count: number, seed: number): FuzzCase[] {
  const rand = mulberry32(seed);
  const weights = seeds.map((s) => (/\.(jpg|png)$/.test(s.name) ? 3 : 1));
  const total = weights.reduce((a, b) => a + b, 0);
  return Array.from({ length: count }, (_, i) => {
    let r = rand() * total;
    const source = seeds[weights.findIndex((w) => (r -= w) < 0)] ?? seeds[0];
    const { bytes, ops } = mutate(source.bytes, rand);
    const fixCrc = source.name.endsWith('.png') && rand() < 0.5;
    return { label: `#${i} ${source.name} ${ops.join(',')}${fixCrc ? ',crc' : ''}`, bytes: fixCrc ? fixPngCrcs(bytes) : bytes, detect: rand() < 0.5 };
  });
}

/** The seed to use: FUZZ_SEED, or the fixed default. */
function fuzzSeedFromEnv(): number {
  const raw = process.env.FUZZ_SEED;
  return raw ? Number(raw) >>> 0 : DEFAULT_SEED;
}

/** A case count: FUZZ_CASES scales the default (e.g. FUZZ_CASES=20000 for a long run). */
function fuzzCountFromEnv(fallback: number): number {
  const raw = Number(process.env.FUZZ_CASES);
  return Number.isInteger(raw) && raw > 0 ? raw : fallback;
}

export { fuzzSeeds, fuzzCases, mutate, fixPngCrcs, fuzzSeedFromEnv, fuzzCountFromEnv, DEFAULT_SEED };
export type { FuzzSeed, FuzzCase };
