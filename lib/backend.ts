import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

/**
 * Where the tfjs wasm binaries live. In a Lambda bundle they sit next to the code
 * (copied by the build); in the repo they come from node_modules.
 */
function findWasmDir(): string {
  const bundled = join(dirname(process.argv[1] ?? '.'), 'wasm');
  const candidates = [process.env.TFJS_WASM_DIR, bundled, join(process.cwd(), 'wasm')];
  for (const dir of candidates) {
    if (dir && existsSync(join(dir, 'tfjs-backend-wasm-simd.wasm'))) return dir;
  }
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'));
}

let ready: Promise<void> | undefined;

/**
 * Selects the wasm backend once per process; concurrent callers share one promise.
 * Threads stay off: the threaded build cannot start its workers in Node.
 */
function initBackend(): Promise<void> {
  ready ??= (async () => {
    const dir = findWasmDir();
    setWasmPaths(dir.endsWith('/') ? dir : `${dir}/`);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error('tfjs wasm backend failed to initialise');
    await tf.ready();
  })();
  return ready;
}

export { initBackend, findWasmDir };
