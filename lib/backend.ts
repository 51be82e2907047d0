import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { getConfig } from './config.js';

const WASM_FILE = 'tfjs-backend-wasm-simd.wasm';

/**
 * Where the tfjs wasm binaries live. In a Lambda bundle they sit in wasm/ next to the bundled
 * entry file (dist/wasm/, copied by the build; this module is inlined into that file, so
 * import.meta.url is the entry file); in the repo they come from node_modules.
 */
function findWasmDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    getConfig().wasmDir,
    join(here, 'wasm'),
    join(dirname(process.argv[1] ?? '.'), 'wasm'),
    join(process.cwd(), 'wasm'),
  ];
  for (const dir of candidates) {
    if (dir && existsSync(join(dir, WASM_FILE))) return dir;
  }
  try {
    const require = createRequire(import.meta.url);
    return dirname(require.resolve(`@tensorflow/tfjs-backend-wasm/dist/${WASM_FILE}`));
  } catch (cause) {
    throw new Error(`${WASM_FILE} not found in ${candidates.filter(Boolean).join(', ')} or node_modules`, { cause });
  }
}

let ready: Promise<void> | undefined;

const PROCESS_ERROR_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

/**
 * Runs `init` and then removes the process error listeners it added. The wasm module's
 * Emscripten loader adds listeners that rethrow every uncaught error, so Node then printed the
 * ~39 KB minified line of the loader before any error's message and exited with code 7; without
 * them an error anywhere (a bad flag, a missing model folder) prints its message and exits 1.
 */
async function withoutAddedErrorListeners(init: () => Promise<void>): Promise<void> {
  const emitter: NodeJS.EventEmitter = process; // one signature for both events
  const before = new Map(PROCESS_ERROR_EVENTS.map((event) => [event, new Set(emitter.listeners(event))]));
  try {
    await init();
  } finally {
    for (const event of PROCESS_ERROR_EVENTS) {
      for (const listener of emitter.listeners(event)) {
        if (!before.get(event)!.has(listener)) emitter.removeListener(event, listener as (...args: unknown[]) => void);
      }
    }
  }
}

/**
 * Selects the wasm backend once per process; concurrent callers share one promise.
 * Threads stay off: the threaded build cannot start its workers in Node.
 */
function initBackend(): Promise<void> {
  ready ??= withoutAddedErrorListeners(async () => {
    const dir = findWasmDir();
    setWasmPaths(dir.endsWith('/') ? dir : `${dir}/`);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error('tfjs wasm backend failed to initialise');
    await tf.ready();
  }).catch((error) => { ready = undefined; throw error; });
  return ready;
}

export { initBackend };
