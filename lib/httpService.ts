/**
 * What the HTTP API does, without AWS: read the request, analyse the image within a deadline,
 * and report what the one log line per request needs. Never throws for bad input: the outcome
 * carries an AppError that handlers/errors.ts maps to a status.
 */
import { getAnalyzer, isWarm } from './analyzer.js';
import type { AnalyzeResult, AnalyzerHealth } from './analyzer.js';
import { getConfig } from './config.js';
import type { Config } from './config.js';
import { AppError, toAppError } from './errors.js';
import { parseImageRequest } from './httpRequest.js';
import type { HttpRequestParts } from './httpRequest.js';
import { fingerprint } from './logger.js';

/** What may be logged about the input: never the bytes. */
interface InputInfo {
  /** Encoded image size, bytes. */
  byteLength: number;
  /** First 12 hex digits of the image's sha256, to correlate repeated inputs. */
  sha256: string;
}

type PredictOutcome =
  | { ok: true; result: AnalyzeResult; input: InputInfo }
  | { ok: false; error: AppError; input?: InputInfo };

interface HealthReport extends Omit<AnalyzerHealth, 'numTensors'> {
  status: 'ok';
  /** Models were already loaded when this request arrived (false: this request paid the load). */
  warm: boolean;
  /** What a client can check before sending: the request and image limits in force. */
  limits: {
    maxImageBytes: number; maxFaces: number; timeBudgetMs: number;
    maxImagePixels: number; maxImageSide: number; minImageSide: number; maxImageAspect: number;
  };
}

/**
 * Settles with `work`, or rejects with TIMEOUT at `deadline` (epoch ms). The timer fires only
 * between synchronous stages, so callers keep a margin for the longest one (decoding).
 */
function withDeadline<T>(work: Promise<T>, deadline: number): Promise<T> {
  const ms = deadline - Date.now();
  work.catch(() => undefined); // the loser of the race must not become an unhandled rejection
  if (ms <= 0) return Promise.reject(new AppError('TIMEOUT', 'no time left to analyse the image'));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AppError('TIMEOUT', `analysis did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** POST /v1/predict: request parts -> faces, or the AppError to answer with. */
async function predictFromHttp(parts: HttpRequestParts, deadline: number, config: Config = getConfig()): Promise<PredictOutcome> {
  let input: InputInfo | undefined;
  try {
    const request = parseImageRequest(parts, config);
    input = { byteLength: request.bytes.byteLength, sha256: fingerprint(request.bytes) };
    const analyze = getAnalyzer().then((analyzer) => analyzer.analyze(request.bytes, request.options, deadline));
    return { ok: true, result: await withDeadline(analyze, deadline), input };
  } catch (error) {
    return { ok: false, error: toAppError(error), input };
  }
}

/** GET /v1/health: loads the models if needed (a readiness check); throws MODEL_LOAD_FAILED. */
async function healthReport(config: Config = getConfig()): Promise<HealthReport> {
  const warm = await isWarm();
  const { numTensors: _, ...health } = (await getAnalyzer()).health();
  return {
    status: 'ok', warm, ...health,
    limits: {
      maxImageBytes: config.maxImageBytes, maxFaces: config.maxFacesLimit, timeBudgetMs: config.timeBudgetMs,
      maxImagePixels: config.maxImagePixels, maxImageSide: config.maxImageSide, minImageSide: config.minImageSide, maxImageAspect: config.maxImageAspect,
    },
  };
}

/** Starts loading the models (call at module load, so Lambda's init phase pays for it); never throws. */
async function warmUp(): Promise<void> {
  await getAnalyzer().catch(() => undefined); // a failure is retried and reported by the next request
}

export { predictFromHttp, healthReport, warmUp, withDeadline };
export type { PredictOutcome, InputInfo, HealthReport };
