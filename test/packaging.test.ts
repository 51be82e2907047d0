/**
 * The deployment zip (`serverless package`, built once by test/setup/offline.ts): small enough,
 * holding only the bundle, the wasm binaries and the models, and working on its own: unzipped
 * into a temp folder, far from node_modules, and called from a fresh Node process. This is
 * where a missing .wasm or model file shows up.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Jimp } from 'jimp';
import { encodeWebp } from './support/imageFixtures.js';
import { readChip, sampleTestChips } from './support/utkface.js';

const artifact = inject('artifact');
/** The limit for the zip, bytes. */
const MAX_ZIP_BYTES = 20 * 1024 * 1024;

/** Runs in the unzipped folder: imports the bundle, calls the handler like API Gateway would, prints the answers. */
const RUNNER = `
import { readFileSync } from 'node:fs';
const started = performance.now();
const { handler } = await import('./dist/http.mjs');
const initMs = performance.now() - started;
const context = { awsRequestId: 'packaging-test', getRemainingTimeInMillis: () => 10_000 };
const event = (method, path, body) => ({
  version: '2.0', routeKey: method + ' ' + path, rawPath: path, headers: { 'content-type': 'application/octet-stream' },
  body, isBase64Encoded: body !== undefined, requestContext: { requestId: 'r', http: { method, path } },
});
const health = await handler(event('GET', '/v1/health'), context);
const predictFile = async (file) => file ? handler(event('POST', '/v1/predict', readFileSync(file).toString('base64')), context) : undefined;
const predict = await predictFile(process.argv[2]);
const predictWebp = await predictFile(process.argv[3]); // libwebp's wasm must be in the zip too
process.stdout.write('RESULT ' + JSON.stringify({ initMs, health, predict, predictWebp }) + '\\n');
`;

describe('deployment package', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'face-age-gender-zip-'));
    execFileSync('unzip', ['-q', artifact, '-d', dir]);
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is under 20 MB', () => {
    expect(statSync(artifact).size).toBeLessThan(MAX_ZIP_BYTES);
  });

  it('holds the bundle, the wasm binaries and the three models, nothing else', () => {
    const entries = execFileSync('unzip', ['-Z1', artifact], { encoding: 'utf8' }).trim().split('\n').filter((e) => !e.endsWith('/'));
    const allowed = [
      /^dist\/[\w-]+\.mjs$/,
      /^dist\/wasm\/(tfjs-backend-wasm(-simd)?|webp_dec)\.wasm$/,
      /^models\/(age|gender)\/(manifest\.json|model\.json|weights\.bin)$/,
      /^models\/blazeface\/(blazeface-front\.json|blazeface-front\.bin|LICENSE)$/,
    ];
    expect(entries.filter((e) => !allowed.some((re) => re.test(e)))).toEqual([]);
    for (const required of [
      'dist/http.mjs', 'dist/wasm/tfjs-backend-wasm-simd.wasm', 'dist/wasm/tfjs-backend-wasm.wasm', 'dist/wasm/webp_dec.wasm',
      'models/age/weights.bin', 'models/gender/weights.bin', 'models/blazeface/blazeface-front.bin',
    ]) expect(entries).toContain(required);
  });

  it('answers health and a prediction (JPEG and WebP) from the unzipped folder in a fresh Node process', async () => {
    writeFileSync(join(dir, 'runner.mjs'), RUNNER);
    const chipPath = join(dir, 'chip.jpg');
    const chip = readChip(sampleTestChips(40)[0]);
    writeFileSync(chipPath, chip);
    const { data, width, height } = (await Jimp.fromBuffer(chip)).bitmap;
    writeFileSync(join(dir, 'chip.webp'), await encodeWebp({ data, width, height }));
    // A bare environment: no MODEL_DIR / TFJS_WASM_DIR, nothing pointing back at the repo.
    const out = execFileSync(process.execPath, ['runner.mjs', chipPath, join(dir, 'chip.webp')], {
      cwd: dir, encoding: 'utf8', timeout: 120_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LOG_LEVEL: 'warn' },
    });
    const line = out.split('\n').find((l) => l.startsWith('RESULT '));
    expect(line, out).toBeDefined();
    const { health, predict, predictWebp } = JSON.parse(line!.slice('RESULT '.length));
    expect(health.statusCode, health.body).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok', warm: true, backend: 'wasm' });
    expect(predict.statusCode, predict.body).toBe(200);
    const body = JSON.parse(predict.body);
    expect(body.faces.length).toBeGreaterThanOrEqual(1);
    expect(body.imageSize).toMatchObject({ width: 200, height: 200 });
    expect(predictWebp.statusCode, predictWebp.body).toBe(200);
    expect(JSON.parse(predictWebp.body).imageSize).toMatchObject({ width: 200, height: 200, format: 'webp' });
  });
});
