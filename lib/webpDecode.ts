/**
 * WebP decoding: libwebp compiled to wasm, as @jsquash/webp ships it (the decoder jimp 1.x's own
 * WebP plugin, @jimp/wasm-webp, wraps). Its emscripten factory is called directly, not through
 * the package's init/decode helpers: their init does not wait for the instance (a broken .wasm
 * then looked like a bad image) and they give no hold on the module's memory, which must be
 * capped (below). The .wasm is compiled from a file: next to the bundle in Lambda (dist/wasm/,
 * copied by scripts/serverlessBundle.cjs), from node_modules in the repo.
 *
 * libwebp here is 1.1.0 (the build @jsquash/webp 1.5.0 ships), older than the fix for
 * CVE-2023-4863 (a heap overflow in lossless Huffman tables). In wasm an overflow stays inside
 * the module's own linear memory: at worst a failed or garbled decode, after which the instance
 * is replaced. README "Limits" says so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import webpDecoderFactory from '@jsquash/webp/codec/dec/webp_dec.js';
import type { WebPModule } from '@jsquash/webp/codec/dec/webp_dec.js';
import { getConfig } from './config.js';

const WEBP_WASM_FILE = 'webp_dec.wasm';

/**
 * The module's memory may grow to this much beyond what the largest allowed image needs (input
 * copy, libwebp's working rows, the RGBA output: ~10 bytes a pixel). A lossless WebP can ask for
 * up to 65,536 Huffman table groups, ~20 KB each whatever its size: a 295 KB file grew the heap
 * to 1.38 GB and a 15 MB one took 7 s (a review). With growth refused libwebp fails cleanly.
 */
const HEAP_BASE_BYTES = 64 * 2 ** 20;
const HEAP_BYTES_PER_PIXEL = 10;
/** After a decode leaves the heap larger than this, the instance is dropped so the memory goes back. */
const KEEP_HEAP_BYTES = 256 * 2 ** 20;

function findWebpWasm(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [getConfig().wasmDir, join(here, 'wasm'), join(dirname(process.argv[1] ?? '.'), 'wasm')]
    .filter(Boolean).map((dir) => join(dir, WEBP_WASM_FILE));
  const found = candidates.find((file) => existsSync(file));
  if (found) return found;
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@jsquash/webp/package.json')), 'codec', 'dec', WEBP_WASM_FILE);
}

interface Decoder {
  module: WebPModule;
  memory: () => number;
}

let compiled: WebAssembly.Module | undefined;
let decoder: Promise<Decoder> | undefined;

/** A new instance whose heap may not grow past `maxHeapBytes`. */
async function instantiate(maxHeapBytes: number): Promise<Decoder> {
  compiled ??= new WebAssembly.Module(readFileSync(findWebpWasm()));
  const wasm = compiled;
  let memory: WebAssembly.Memory | undefined;
  const module = await webpDecoderFactory({
    noInitialRun: true,
    instantiateWasm: (imports: Record<string, Record<string, unknown>>, receive: (instance: WebAssembly.Instance) => void) => {
      let capped = 0;
      for (const namespace of Object.values(imports)) {
        for (const [name, value] of Object.entries(namespace)) {
          if (typeof value === 'function' && value.name === '_emscripten_resize_heap') {
            const grow = value as (size: number) => number;
            namespace[name] = (size: number) => ((size >>> 0) > maxHeapBytes ? 0 : grow(size));
            capped++;
          }
        }
      }
      // Found by name: a glue build or bundler that renamed it would drop the cap without a word.
      if (capped !== 1) throw new Error(`the WebP decoder's heap-growth import was found ${capped} times, not once: its memory cannot be capped`);
      const instance = new WebAssembly.Instance(wasm, imports as WebAssembly.Imports);
      memory = Object.values(instance.exports).find((v): v is WebAssembly.Memory => v instanceof WebAssembly.Memory);
      receive(instance);
      return instance.exports;
    },
  } as Parameters<typeof webpDecoderFactory>[0]);
  if (!memory) throw new Error('the WebP decoder exports no memory');
  const heap = memory;
  return { module, memory: () => heap.buffer.byteLength };
}

/**
 * Compiles and instantiates the decoder if it is not ready. Called before decoding, apart from it,
 * so that a missing or broken .wasm (a deployment fault) fails as itself, not as a bad image.
 */
async function prepareWebpDecoder(maxPixels: number): Promise<void> {
  decoder ??= instantiate(HEAP_BASE_BYTES + HEAP_BYTES_PER_PIXEL * maxPixels);
  try {
    await decoder;
  } catch (error) {
    decoder = undefined;
    throw error;
  }
}

/**
 * Decoded RGBA pixels of a WebP (still image; an animation is refused from its header first),
 * after prepareWebpDecoder. Throws on anything libwebp cannot decode within the heap cap. A fresh
 * instance follows any failure (an emscripten module that aborted stays unusable, and one bad
 * upload must not break WebP for the rest of the container's life) and any decode that left the
 * heap large.
 */
async function decodeWebp(bytes: Uint8Array, maxPixels: number): Promise<{ data: Uint8Array; width: number; height: number }> {
  await prepareWebpDecoder(maxPixels);
  const { module, memory } = await decoder!;
  let image: ImageData | null = null;
  try {
    image = module.decode(bytes as Uint8Array<ArrayBuffer>); // embind copies the bytes in and the pixels out
  } finally {
    if (!image || memory() > KEEP_HEAP_BYTES) decoder = undefined;
  }
  if (!image) throw new Error('libwebp could not decode it');
  return { data: new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength), width: image.width, height: image.height };
}

export { decodeWebp, prepareWebpDecoder };
