/**
 * Bounded load test of POST /v1/predict through serverless-offline on localhost: a fixed number
 * of valid requests at a fixed concurrency (a small concurrent fetch loop), then GET /v1/health.
 * Starts its own `serverless offline start` on free ports (and its own S3 emulator folder) and
 * stops it afterwards, unless --url points at a running server.
 *   npx tsx bench/load.ts [--n=500] [--concurrency=4] [--image=bench/fixtures/face-640x480.jpg] [--url=http://localhost:3000]
 * Prints one line: bench=load ... non2xx=0 p50_ms=... p99_ms=... health_after=200 pass=true
 * (exit code 1 unless every request got a 2xx and health answered 200 afterwards).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseCommandLine } from '../training/overrides.js';
import { quantile } from '../training/metrics.js';
import { freePort } from '../test/support/freePort.js';

const ROOT = resolve(import.meta.dirname, '..');
/** Waiting for the server's first health answer includes loading the models, ms. */
const READY_TIMEOUT_MS = 180_000;
/** serverless-offline's own output. */
const LOG_FILE = join(ROOT, '.cache', 'load-offline.log');
/** One request may take this long before it counts as failed, ms. */
const REQUEST_TIMEOUT_MS = 30_000;

/** `serverless offline start` in its own process group, on free ports; resolves once health answers 200. */
async function startOffline(): Promise<{ url: string; stop: () => Promise<void> }> {
  const ports = Object.fromEntries(await Promise.all(['PORT', 'LAMBDA_PORT', 'WEBSOCKET_PORT', 'ALB_PORT', 'S3_LOCAL_PORT'].map(async (k) => [k, String(await freePort())])));
  const s3Dir = mkdtempSync(join(tmpdir(), 'load-s3-'));
  mkdirSync(join(ROOT, '.cache'), { recursive: true });
  const log = openSync(LOG_FILE, 'w');
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js'), 'offline', 'start'], {
    cwd: ROOT, detached: true, stdio: ['ignore', log, log],
    env: { ...process.env, ...ports, S3_LOCAL_DIR: s3Dir, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', LOG_LEVEL: 'warn' },
  });
  const stop = async () => {
    if (child.exitCode === null && child.pid !== undefined) {
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(-child.pid, 'SIGTERM');
      const timer = setTimeout(() => { if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL'); }, 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(s3Dir, { recursive: true, force: true });
  };
  const url = `http://localhost:${ports.PORT}`;
  const end = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < end) {
    if (child.exitCode !== null) break;
    const ok = await fetch(`${url}/v1/health`, { signal: AbortSignal.timeout(60_000) }).then((r) => r.status === 200, () => false);
    if (ok) return { url, stop };
    await new Promise((r) => setTimeout(r, 500));
  }
  await stop();
  throw new Error(`serverless offline did not answer GET /v1/health; see ${LOG_FILE}`);
}

async function predict(url: string, image: Buffer): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  try {
    const res = await fetch(`${url}/v1/predict`, {
      method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(image),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    await res.arrayBuffer();
    return { status: res.status, ms: performance.now() - started };
  } catch {
    return { status: 0, ms: performance.now() - started };
  }
}

/** `n` requests, `concurrency` in flight at a time. */
async function run(url: string, image: Buffer, n: number, concurrency: number): Promise<{ status: number; ms: number }[]> {
  const results: { status: number; ms: number }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      results.push(await predict(url, image));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

async function main(): Promise<void> {
  const config = parseCommandLine({ n: 500, concurrency: 4, image: 'bench/fixtures/face-640x480.jpg', url: '' });
  const image = readFileSync(resolve(ROOT, config.image));
  const server = config.url ? { url: config.url, stop: async () => undefined } : await startOffline();
  try {
    // Warm-up: serverless-offline starts a worker (and loads the models) per concurrent request.
    const warm = await run(server.url, image, config.concurrency * 2, config.concurrency);
    if (warm.some((r) => r.status !== 200)) throw new Error(`warm-up failed: ${warm.map((r) => r.status).join(',')}`);
    const started = performance.now();
    const results = await run(server.url, image, config.n, config.concurrency);
    const seconds = (performance.now() - started) / 1000;
    const health = await fetch(`${server.url}/v1/health`).then((r) => r.status, () => 0);
    const times = results.map((r) => r.ms).sort((a, b) => a - b);
    const q = (p: number) => quantile(times, p).toFixed(0);
    const non2xx = results.filter((r) => r.status < 200 || r.status > 299).length;
    const pass = non2xx === 0 && health === 200 && results.length === config.n;
    console.log(`bench=load target=${config.url ? 'url' : 'serverless-offline'} image=${basename(config.image)} n=${results.length} ` +
      `concurrency=${config.concurrency} non2xx=${non2xx} rps=${(results.length / seconds).toFixed(1)} p50_ms=${q(0.5)} p90_ms=${q(0.9)} ` +
      `p99_ms=${q(0.99)} max_ms=${times[times.length - 1].toFixed(0)} health_after=${health} pass=${pass}`);
    process.exitCode = pass ? 0 : 1;
  } finally {
    await server.stop();
  }
}

await main();
