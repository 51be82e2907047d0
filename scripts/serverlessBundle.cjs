/**
 * Bundles the Lambda handlers with esbuild into dist/, as a local Serverless Framework v3
 * plugin (CommonJS and a default export because that is how v3 loads plugins) and as a CLI:
 *
 *   node scripts/serverlessBundle.cjs [name ...]   # default: every handlers/<name>.ts in serverless.yml
 *
 * Every function's handler must read `dist/<name>.handler`; its source is handlers/<name>.ts.
 * Output: dist/<name>.mjs (ESM, shared code split into dist/chunk-*.mjs) and dist/wasm/ with the
 * tfjs wasm binaries and libwebp's decoder, which lib/backend.ts finds next to the bundle. The models are not copied:
 * the zip takes them from models/ (serverless.yml `package.patterns`), where the bundle's
 * lib/config.ts looks (`<bundle dir>/../models`).
 *
 * Runs before `serverless package` / `deploy` and before `serverless offline start`, so
 * `npm start` and the deployed zip run the same bundle.
 */
'use strict';

const { cpSync, mkdirSync, rmSync, existsSync, statSync } = require('node:fs');
const { join, dirname } = require('node:path');

const ROOT = join(__dirname, '..');
const OUT_DIR = join(ROOT, 'dist');
const HANDLER_PATTERN = /^dist\/(\w+)\.handler$/;
/** SIMD build first; the plain build is the fallback tfjs picks where SIMD is missing. No threads (no workers in Lambda). */
const WASM_FILES = ['tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm.wasm'];
/**
 * esbuild turns CommonJS `require` in dependencies (jimp, tfjs's emscripten glue) into a shim
 * that needs a real `require` in ESM output; the glue also reads `__dirname`.
 */
const BANNER = [
  "import { createRequire as __bundleCreateRequire } from 'node:module';",
  "import { fileURLToPath as __bundleFileURLToPath } from 'node:url';",
  "import { dirname as __bundleDirname } from 'node:path';",
  'const require = __bundleCreateRequire(import.meta.url);',
  'const __filename = __bundleFileURLToPath(import.meta.url);',
  'const __dirname = __bundleDirname(__filename);',
].join('\n');

/** Bundles handlers/<name>.ts for each name into dist/ and copies the wasm binaries; returns the bundle sizes. */
async function bundle(names) {
  const esbuild = require('esbuild');
  if (names.length === 0) throw new Error('no handlers to bundle');
  const entryPoints = {};
  for (const name of names) {
    const source = join(ROOT, 'handlers', `${name}.ts`);
    if (!existsSync(source)) throw new Error(`handler source ${source} does not exist`);
    entryPoints[name] = source;
  }
  rmSync(OUT_DIR, { recursive: true, force: true });
  const result = await esbuild.build({
    entryPoints,
    outdir: OUT_DIR,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunk-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    banner: { js: BANNER },
    // Whitespace and syntax only: identifiers stay readable in Lambda stack traces.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  const wasmDir = join(OUT_DIR, 'wasm');
  mkdirSync(wasmDir, { recursive: true });
  const wasmSource = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm', { paths: [ROOT] }));
  for (const file of WASM_FILES) cpSync(join(wasmSource, file), join(wasmDir, file));
  // libwebp's decoder (lib/webpDecode.ts compiles it from here in Lambda).
  const webpSource = join(dirname(require.resolve('@jsquash/webp/package.json', { paths: [ROOT] })), 'codec', 'dec', 'webp_dec.wasm');
  cpSync(webpSource, join(wasmDir, 'webp_dec.wasm'));
  return Object.keys(result.metafile.outputs).map((file) => ({ file, bytes: statSync(join(ROOT, file)).size }));
}

/** Function names from serverless.yml handlers (`dist/<name>.handler`). */
function handlerNames(service) {
  return [...new Set(service.getAllFunctions().map((fn) => {
    const { handler } = service.getFunction(fn);
    const match = HANDLER_PATTERN.exec(handler ?? '');
    if (!match) throw new Error(`function ${fn}: handler "${handler}" must be dist/<name>.handler (source handlers/<name>.ts)`);
    return match[1];
  }))];
}

class ServerlessBundle {
  constructor(serverless, _options, { log } = {}) {
    const run = async () => {
      const started = Date.now();
      const outputs = await bundle(handlerNames(serverless.service));
      const total = outputs.reduce((sum, o) => sum + o.bytes, 0);
      const message = `bundled ${outputs.length} files (${(total / 1e6).toFixed(1)} MB) into dist/ in ${Date.now() - started} ms`;
      if (log) log.notice(message); else console.log(message);
    };
    this.hooks = {
      'before:package:createDeploymentArtifacts': run,
      'before:deploy:function:packageFunction': run,
      'before:offline:start': run,
      'before:offline:start:init': run,
      'before:invoke:local:invoke': run,
    };
  }
}

module.exports = ServerlessBundle;
module.exports.bundle = bundle;

if (require.main === module) {
  const names = process.argv.slice(2);
  bundle(names.length ? names : ['http'])
    .then((outputs) => { for (const o of outputs) console.log(`${o.file} ${o.bytes}`); })
    .catch((error) => { console.error(error); process.exit(1); });
}
