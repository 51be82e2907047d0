/**
 * What the S3 trigger does, without AWS: for each created object under the input prefix, read
 * it through an ObjectStore, analyse it, and write `<resultsPrefix><key>.json`, or
 * `<resultsPrefix><key>.error.json` when the object itself is the problem (not an image, too
 * large, no face); for a key too long for that, or ending in `.error`, under
 * `<resultsPrefix>_long/` (resultKeyFor).
 * Records are independent: one failure never stops the others.
 *
 * Idempotent: a record's output is a pure function of the object's bytes and the model
 * version (no timestamps, no timings), written to a key derived from the object key, so a
 * re-delivered event rewrites the same bytes. Reads pin the event's ETag (If-Match), so a late
 * delivery never analyses a newer upload under an older event.
 */
import { createHash } from 'node:crypto';
import { LONG_KEYS_FOLDER, MAX_S3_KEY_BYTES } from './config.js';
import { AppError, toAppError } from './errors.js';
import type { ErrorCode } from './errors.js';
import { bareETag, readImageObject } from './objectStore.js';
import type { ObjectStore } from './objectStore.js';
import type { AnalyzeOptions, AnalyzeResult } from './analyzer.js';
import { fingerprint } from './logger.js';
import type { Logger } from './logger.js';

/** One S3 event record, as the handler extracts it (key still URL-encoded, as S3 sends it). */
interface S3ObjectRecord {
  eventName: string;
  bucket: string;
  /** URL-encoded key: spaces as '+', other bytes as %XX (UTF-8). */
  encodedKey: string;
  size?: number;
  eTag?: string;
  versionId?: string;
}

interface S3Routing {
  /** Only keys under this prefix are processed. */
  inputPrefix: string;
  /** Result records go to `<resultsPrefix><key>.json` / `.error.json` (resultKeyFor). */
  resultsPrefix: string;
  /** Bucket for result records; '' = the object's own bucket. */
  resultsBucket: string;
  /** Objects larger than this (bytes) get an IMAGE_TOO_LARGE error record without being read. */
  maxObjectBytes: number;
  /** Per-object analysis budget, ms. */
  timeBudgetMs: number;
}

interface S3Deps {
  store: ObjectStore;
  analyzer: { analyze(bytes: Uint8Array, options?: Partial<AnalyzeOptions>, deadline?: number): Promise<AnalyzeResult> };
  routing: S3Routing;
  /** Epoch ms by which every record must be done (the Lambda deadline less a margin). */
  deadline: number;
  log: Logger;
}

type RecordOutcome =
  /** results/<key>.json written. */
  | { key: string; outcome: 'result'; resultKey: string; faces: number }
  /** results/<key>.error.json written: the object cannot be analysed, retrying will not help. */
  | { key: string; outcome: 'error'; resultKey: string; code: ErrorCode }
  /** Not ours: not an ObjectCreated event, or a key outside the input prefix. */
  | { key: string; outcome: 'ignored'; reason: string }
  /** The object is gone or was replaced by a newer upload (whose own event will be processed). */
  | { key: string; outcome: 'skipped'; reason: string }
  /** Nothing written; the invocation should fail so Lambda retries the event. */
  | { key: string; outcome: 'failed'; code: ErrorCode; message: string };

/** Codes that describe the object itself: recorded in an error record, never retried. */
const PERMANENT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['IMAGE_TOO_LARGE', 'UNSUPPORTED_IMAGE', 'IMAGE_TOO_SMALL', 'NO_FACE']);

/** S3 event keys are form-URL-encoded: '+' is a space, %XX are UTF-8 bytes. Throws URIError on a malformed key. */
function decodeS3Key(encodedKey: string): string {
  return decodeURIComponent(encodedKey.replace(/\+/g, ' '));
}

/** The inverse, as S3 encodes keys in event notifications ('/' kept, spaces as '+', "(" as %28). */
function encodeS3Key(key: string): string {
  return encodeURIComponent(key).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%2F/g, '/').replace(/%20/g, '+');
}


/**
 * `<resultsPrefix><key>.json` / `.error.json`, or `<resultsPrefix>_long/<sha256 hex of key>.json`
 * / `.error.json` for a key that cannot be copied into its record's name:
 * - when the `.error.json` name would exceed S3's key limit (decided on the longer name, so both
 *   kinds of record of a key are in the same place);
 * - when the key ends in `.error`: the result of `a.jpg.error` would otherwise be named
 *   `a.jpg.error.json`, the error record of `a.jpg`, and one of the two would be lost.
 * The hash keeps the name deterministic, so a re-delivered event still rewrites the same record;
 * the record holds the full key in `source.key`. lib/config.ts keeps the input prefix off
 * `_long/`, so a hashed name is never also the direct name of some upload.
 */
function resultKeyFor(key: string, resultsPrefix: string, kind: 'result' | 'error'): string {
  const suffix = kind === 'error' ? '.error.json' : '.json';
  const fits = Buffer.byteLength(`${resultsPrefix}${key}.error.json`, 'utf8') <= MAX_S3_KEY_BYTES;
  if (fits && !key.endsWith('.error')) return `${resultsPrefix}${key}${suffix}`;
  return `${resultsPrefix}${LONG_KEYS_FOLDER}${createHash('sha256').update(key, 'utf8').digest('hex')}${suffix}`;
}

/** Processes every record, one at a time (bounded memory), each independently of the others. */
async function processS3Records(records: S3ObjectRecord[], deps: S3Deps): Promise<RecordOutcome[]> {
  const outcomes: RecordOutcome[] = [];
  for (const record of records) {
    try {
      outcomes.push(await processRecord(record, deps));
    } catch (error) {
      // Only a failed write of the result or error record gets here.
      const appError = toAppError(error);
      deps.log.error('s3 record failed', { bucket: record.bucket, encodedKey: record.encodedKey, code: appError.code, error: describe(error) });
      outcomes.push({ key: record.encodedKey, outcome: 'failed', code: appError.code, message: appError.message });
    }
  }
  return outcomes;
}

async function processRecord(record: S3ObjectRecord, deps: S3Deps): Promise<RecordOutcome> {
  const { routing, log } = deps;
  let key: string;
  try {
    key = decodeS3Key(record.encodedKey);
  } catch {
    log.error('s3 record has a malformed key', { bucket: record.bucket, encodedKey: record.encodedKey });
    return { key: record.encodedKey, outcome: 'failed', code: 'INVALID_REQUEST', message: 'malformed URL-encoded key' };
  }
  if (!record.eventName.startsWith('ObjectCreated:')) return ignored(log, key, `event ${record.eventName}`);
  if (!key.startsWith(routing.inputPrefix)) return ignored(log, key, `outside the input prefix ${routing.inputPrefix}`);
  // The S3 console's "Create folder" writes an empty object named like a folder: not an upload.
  if (key.endsWith('/') && record.size === 0) return ignored(log, key, 'a folder marker (empty key ending in /)');

  const source = { bucket: record.bucket, key, eTag: bareETag(record.eTag), versionId: record.versionId };
  const target = (kind: 'result' | 'error') => ({ bucket: routing.resultsBucket || record.bucket, key: resultKeyFor(key, routing.resultsPrefix, kind) });
  const started = Date.now();
  try {
    if (started > deps.deadline) throw new AppError('TIMEOUT', 'no time left in this invocation');
    // Pinned to the event's ETag rather than its versionId: reading a version needs
    // s3:GetObjectVersion, and an object replaced since the event is skipped either way.
    const recordDeadline = Math.min(started + routing.timeBudgetMs, deps.deadline);
    // A stalled read ends in TIMEOUT, which is not permanent: this record fails and the event is retried.
    const object = await readImageObject(deps.store, { bucket: record.bucket, key, eTag: source.eTag }, routing.maxObjectBytes, recordDeadline);
    // Denied is a deployment problem (IAM), not the object's: fail and let the retry/DLQ show it.
    if (object.status === 'forbidden') throw new AppError('INTERNAL', `access denied reading s3://${record.bucket}/${key}`);
    if (object.status !== 'found') {
      log.warn('s3 object skipped', { bucket: record.bucket, key, reason: object.status });
      return { key, outcome: 'skipped', reason: object.status === 'missing' ? 'object no longer exists' : 'object was replaced by a newer upload' };
    }
    const analysis = await deps.analyzer.analyze(object.bytes, {}, recordDeadline);
    const body = {
      source: { ...source, eTag: object.eTag ?? source.eTag, versionId: object.versionId ?? source.versionId, size: object.size },
      modelVersion: analysis.modelVersion,
      imageSize: analysis.imageSize,
      faces: analysis.faces,
    };
    const out = target('result');
    await deps.store.put(out, `${JSON.stringify(body, null, 2)}\n`, 'application/json');
    log.info('s3 result written', {
      bucket: record.bucket, key, resultKey: out.key, bytes: object.size, sha256: fingerprint(object.bytes),
      faces: analysis.faces.length, modelVersion: analysis.modelVersion, timingsMs: analysis.timingsMs, ms: Date.now() - started,
    });
    return { key, outcome: 'result', resultKey: out.key, faces: analysis.faces.length };
  } catch (error) {
    const appError = toAppError(error);
    if (!PERMANENT_CODES.has(appError.code)) {
      log.error('s3 object failed; the event will be retried', { bucket: record.bucket, key, code: appError.code, error: describe(error) });
      return { key, outcome: 'failed', code: appError.code, message: appError.message };
    }
    const out = target('error');
    // A failure here propagates: with no record written, only a retry can produce one.
    await deps.store.put(out, `${JSON.stringify({ source, error: appError.toJSON() }, null, 2)}\n`, 'application/json');
    log.info('s3 error record written', { bucket: record.bucket, key, resultKey: out.key, code: appError.code, ms: Date.now() - started });
    return { key, outcome: 'error', resultKey: out.key, code: appError.code };
  }
}

function ignored(log: Logger, key: string, reason: string): RecordOutcome {
  log.info('s3 record ignored', { key, reason });
  return { key, outcome: 'ignored', reason };
}

/** An error as loggable text, with its cause (never data). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (cause: ${error.cause.name}: ${error.cause.message})` : '';
  return `${error.name}: ${error.message}${cause}`;
}

export { processS3Records, decodeS3Key, encodeS3Key, resultKeyFor, PERMANENT_CODES, MAX_S3_KEY_BYTES, LONG_KEYS_FOLDER };
export type { S3ObjectRecord, S3Routing, S3Deps, RecordOutcome };
