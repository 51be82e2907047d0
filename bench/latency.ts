/**
 * End-to-end latency of the service core on JPEG photos (200x200, 640x480, 1920x1080), split
 * into decode / detect / predict; peak RSS; cold start of the bundled Lambda handler (new
 * process -> first answer); and @vladmandic/face-api (wasm) on the same images in the same run,
 * as ratios.
 *   npx tsx bench/latency.ts [--runs=50] [--faceApi=1]
 * Needs the bundle for the cold start: `node scripts/serverlessBundle.cjs` (npm run package does it).
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createAnalyzer } from '../lib/analyzer.js';
import { parseCommandLine } from '../training/overrides.js';
import { quantile } from '../training/metrics.js';

const config = parseCommandLine({ runs: 50, warmup: 5, coldRuns: 3, faceApi: 1 });
const FIXTURES = [
  { size: '200x200', file: 'bench/fixtures/face-200.jpg' },
  { size: '640x480', file: 'bench/fixtures/face-640x480.jpg' },
  { size: '1920x1080', file: 'bench/fixtures/face-1920x1080.jpg' },
];


// --- warm end-to-end ---------------------------------------------------------------------------
const analyzer = await createAnalyzer();
const ours: Record<string, { p50: number; p95: number; decode: number; detect: number; predict: number }> = {};
for (const f of FIXTURES) {
  const bytes = readFileSync(f.file);
  for (let i = 0; i < config.warmup; i++) await analyzer.analyze(bytes);
  const total: number[] = []; const decode: number[] = []; const detect: number[] = []; const predict: number[] = [];
  for (let i = 0; i < config.runs; i++) {
    const t0 = performance.now();
    const r = await analyzer.analyze(bytes);
    total.push(performance.now() - t0);
    decode.push(r.timingsMs.decode); detect.push(r.timingsMs.detect); predict.push(r.timingsMs.predict);
    if (r.faces.length !== 1) throw new Error(`${f.file}: expected one face, got ${r.faces.length}`);
  }
  ours[f.size] = { p50: quantile(total, 0.5), p95: quantile(total, 0.95), decode: quantile(decode, 0.5), detect: quantile(detect, 0.5), predict: quantile(predict, 0.5) };
  const o = ours[f.size];
  console.log(`bench=e2e size=${f.size} n=${config.runs} p50_ms=${o.p50.toFixed(1)} p95_ms=${o.p95.toFixed(1)} decode_p50_ms=${o.decode.toFixed(1)} detect_p50_ms=${o.detect.toFixed(1)} predict_p50_ms=${o.predict.toFixed(1)}`);
}
const peakRssMb = process.resourceUsage().maxRSS / 1024;
console.log(`bench=e2e peak_rss_mb=${peakRssMb.toFixed(0)}`);

// --- cold start: the bundled handler in a new process -------------------------------------------
/** A cold start: total ms from spawning node to the first answer, and its part in the handler module's init (import + models). */
interface ColdStart { total: number; init: number }
function coldStartOnce(): Promise<ColdStart> {
  const body = readFileSync('bench/fixtures/face-640x480.jpg').toString('base64');
  const script = `
    const t0 = performance.now();
    const { handler } = await import(${JSON.stringify(resolve('dist/http.mjs'))});
    const initMs = performance.now() - t0;
    const event = { version: '2.0', routeKey: 'POST /v1/predict', rawPath: '/v1/predict', rawQueryString: '',
      headers: { 'content-type': 'application/octet-stream' }, isBase64Encoded: true, body: process.env.BODY,
      requestContext: { http: { method: 'POST', path: '/v1/predict' }, requestId: 'cold' } };
    const res = await handler(event, { getRemainingTimeInMillis: () => 10000, awsRequestId: 'cold' });
    if (res.statusCode !== 200) { console.error(res.body); process.exit(1); }
    process.stdout.write('done ' + initMs.toFixed(1) + '\\n');`;
  return new Promise((done, fail) => {
    const start = performance.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, BODY: body, LOG_LEVEL: 'error' }, stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (line: Buffer) => done({ total: performance.now() - start, init: Number(String(line).split(' ')[1]) }));
    child.on('exit', (code) => { if (code) fail(new Error(`cold child exited ${code}`)); });
  });
}
if (!existsSync('dist/http.mjs')) execFileSync(process.execPath, ['scripts/serverlessBundle.cjs'], { stdio: 'inherit' });
const coldRuns: ColdStart[] = [];
for (let i = 0; i < config.coldRuns; i++) coldRuns.push(await coldStartOnce());
const colds = coldRuns.map((c) => c.total);
// init: importing the handler module, which loads the wasm backend and the three models (Lambda's
// init phase); the rest is node's own start and the first request on the fresh process.
// --coldRuns=0 skips the line (there is no median of nothing).
if (colds.length) console.log(`bench=cold-start what=bundled-handler n=${colds.length} ms=${colds.map((c) => c.toFixed(0)).join(',')} median_ms=${quantile(colds, 0.5).toFixed(0)} ` +
  `init_ms=${coldRuns.map((c) => c.init.toFixed(0)).join(',')} init_median_ms=${quantile(coldRuns.map((c) => c.init), 0.5).toFixed(0)}`);

// --- face-api on the same images, same run ----------------------------------------------------------
if (config.faceApi) {
  execFileSync('npx', ['tsx', 'bench/faceApiPeer.ts', '--part=speed'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const peer = JSON.parse(readFileSync(join('bench/results/face-api-peer.json'), 'utf8'));
  for (const e of peer.speed.e2e as { size: string; p50_ms: number }[]) {
    const o = ours[e.size];
    if (o) console.log(`bench=vs-face-api size=${e.size} ours_p50_ms=${o.p50.toFixed(1)} face_api_p50_ms=${e.p50_ms.toFixed(1)} speedup=${(e.p50_ms / o.p50).toFixed(1)}x`);
  }
}
