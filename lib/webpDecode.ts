/**
 * WebP decoding: libwebp compiled to wasm, as @jsquash/webp ships it (the decoder jimp 1.x's own
 * WebP plugin, @jimp/wasm-webp, wraps; called directly so the bundle carries the decoder only,
 * not the encoder). Its glue would fetch() the .wasm, which Node cannot do for a file, so the
 * module is compiled here from the file: next to the bundle in Lambda (dist/wasm/, copied by
 * scripts/serverlessBundle.cjs), from node_modules in the repo.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import decode, { init } from '@jsquash/webp/decode.js';
import { getConfig } from './config.js';

const WEBP_WASM_FILE = 'webp_dec.wasm';

function findWebpWasm(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [getConfig().wasmDir, join(here, 'wasm'), join(dirname(process.argv[1] ?? '.'), 'wasm')]
    .filter(Boolean).map((dir) => join(dir, WEBP_WASM_FILE));
  const found = candidates.find((file) => existsSync(file));
  if (found) return found;
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@jsquash/webp/package.json')), 'codec', 'dec', WEBP_WASM_FILE);
}

let compiled: WebAssembly.Module | undefined;
let instanceReady = false;

/**
 * Compiles and instantiates the decoder if it is not ready. Called before decoding, apart from it,
 * so that a missing or broken .wasm (a deployment fault) fails as itself, not as a bad image.
 */
async function prepareWebpDecoder(): Promise<void> {
  compiled ??= new WebAssembly.Module(readFileSync(findWebpWasm()));
  if (!instanceReady) {
    await init(compiled);
    instanceReady = true;
  }
}

/**
 * Decoded RGBA pixels of a WebP (still image; an animation is refused from its header first),
 * after prepareWebpDecoder. Throws on anything libwebp cannot decode. A fresh wasm instance
 * follows any failure: an emscripten module that aborted (out of memory, say) stays unusable,
 * and one bad upload must not break WebP for the rest of the container's life.
 */
async function decodeWebp(bytes: Uint8Array): Promise<{ data: Uint8Array; width: number; height: number }> {
  await prepareWebpDecoder();
  try {
    // The glue takes an ArrayBuffer and copies it into wasm memory.
    const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const image = await decode(copy);
    return { data: new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength), width: image.width, height: image.height };
  } catch (error) {
    instanceReady = false;
    throw error;
  }
}

export { decodeWebp, prepareWebpDecoder };
