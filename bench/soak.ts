/**
 * Soak: many warm FaceAnalyzer.analyze calls in one process on one face photo. Checks what a
 * long-lived Lambda container needs: the tfjs tensor count stays constant, resident memory
 * stops growing after warm-up, and latency does not drift (p50 of the first and last 200).
 *   npx tsx --expose-gc bench/soak.ts [--n=2000] [--warmup=50] [--image=bench/fixtures/face-640x480.jpg] [--detect=true]
 * Prints one line: bench=soak ... pass=true|false (exit code 1 when false).
 * test/lib/soak.test.ts runs a short version (200 calls) in `npm test`.
 */
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { getAnalyzer } from '../lib/analyzer.js';
import { parseCommandLine } from '../training/overrides.js';
import { quantile } from '../training/metrics.js';

interface SoakOptions {
  /** Timed calls. */
  n: number;
  /** Untimed calls first: compiles kernels, fills allocator pools. */
  warmup: number;
  image: Buffer;
  detect: boolean;
}

interface SoakResult {
  n: number;
  p50Ms: number;
  p95Ms: number;
  /** p50 of the first and the last `window` timed calls. */
  p50FirstMs: number;
  p50LastMs: number;
  window: number;
  rssStartMb: number;
  rssEndMb: number;
  rssMaxMb: number;
  rssGrowthPct: number;
  tensorsStart: number;
  tensorsEnd: number;
  faces: number;
}

/** Acceptance limits of issue 5. */
const MAX_RSS_GROWTH_PCT = 5;
/** p50 of the last window over the first, %: drift beyond noise (training may share the cores). */
const MAX_DRIFT_PCT = 25;
const WINDOW = 200;

const mb = (bytes: number) => bytes / 2 ** 20;

/** Collects garbage when node runs with --expose-gc, so RSS reflects live memory rather than GC timing. */
function settle(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function soak(options: SoakOptions): Promise<SoakResult> {
  const analyzer = await getAnalyzer();
  let faces = 0;
  for (let i = 0; i < options.warmup; i++) faces = (await analyzer.analyze(options.image, { detect: options.detect })).faces.length;
  settle();
  const rssStart = process.memoryUsage().rss;
  const tensorsStart = tf.memory().numTensors;
  let rssMax = rssStart;
  const times: number[] = [];
  for (let i = 0; i < options.n; i++) {
    const t0 = performance.now();
    await analyzer.analyze(options.image, { detect: options.detect });
    times.push(performance.now() - t0);
    if (i % 50 === 0) rssMax = Math.max(rssMax, process.memoryUsage().rss);
  }
  settle();
  const rssEnd = process.memoryUsage().rss;
  const window = Math.min(WINDOW, Math.floor(options.n / 2));
  return {
    n: options.n,
    p50Ms: quantile(times, 0.5),
    p95Ms: quantile(times, 0.95),
    p50FirstMs: quantile(times.slice(0, window), 0.5),
    p50LastMs: quantile(times.slice(-window), 0.5),
    window,
    rssStartMb: mb(rssStart),
    rssEndMb: mb(rssEnd),
    rssMaxMb: mb(Math.max(rssMax, rssEnd)),
    rssGrowthPct: ((rssEnd - rssStart) / rssStart) * 100,
    tensorsStart,
    tensorsEnd: tf.memory().numTensors,
    faces,
  };
}

/** Whether a soak result meets the limits above, and the drift it shows, %. */
function judge(r: SoakResult): { pass: boolean; driftPct: number } {
  const driftPct = ((r.p50LastMs - r.p50FirstMs) / r.p50FirstMs) * 100;
  return { pass: r.tensorsEnd === r.tensorsStart && r.rssGrowthPct < MAX_RSS_GROWTH_PCT && driftPct < MAX_DRIFT_PCT, driftPct };
}

async function main(): Promise<void> {
  const config = parseCommandLine({ n: 2000, warmup: 50, image: 'bench/fixtures/face-640x480.jpg', detect: 'true' });
  const image = readFileSync(resolve(config.image));
  const r = await soak({ n: config.n, warmup: config.warmup, image, detect: config.detect !== 'false' });
  const { pass, driftPct } = judge(r);
  const f = (x: number, d = 1) => x.toFixed(d);
  console.log(`bench=soak backend=${tf.getBackend()} image=${basename(config.image)} detect=${config.detect} n=${r.n} warmup=${config.warmup} ` +
    `faces=${r.faces} p50_ms=${f(r.p50Ms)} p95_ms=${f(r.p95Ms)} rss_start_mb=${f(r.rssStartMb, 0)} rss_end_mb=${f(r.rssEndMb, 0)} ` +
    `rss_max_mb=${f(r.rssMaxMb, 0)} rss_growth_pct=${f(r.rssGrowthPct, 2)} tensors_start=${r.tensorsStart} tensors_end=${r.tensorsEnd} ` +
    `p50_first_ms=${f(r.p50FirstMs)} p50_last_ms=${f(r.p50LastMs)} drift_pct=${f(driftPct)} gc=${typeof (globalThis as { gc?: unknown }).gc === 'function'} pass=${pass}`);
  process.exitCode = pass ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();

export { soak, judge, MAX_RSS_GROWTH_PCT, MAX_DRIFT_PCT };
export type { SoakOptions, SoakResult };
