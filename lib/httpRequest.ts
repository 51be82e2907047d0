/**
 * Turns an HTTP request (body, Content-Type, query) into image bytes and analysis options,
 * refusing bad input with AppErrors (400/413/415 through handlers/errors.ts, never a 500).
 * No AWS types: handlers pass the few event fields. Sizes are checked before anything is
 * decoded or parsed, so an oversized body costs no memory beyond the event itself.
 */
import { z } from 'zod';
import { AppError } from './errors.js';
import { decodeBase64Image } from './imageDecode.js';
import type { AnalyzeOptions } from './analyzer.js';
import { issuesMessage } from './validationMessage.js';

interface HttpRequestParts {
  /** The body as API Gateway delivers it: text, or base64 text when isBase64Encoded. */
  body: string | undefined;
  isBase64Encoded: boolean;
  /** The Content-Type header as sent, parameters included. */
  contentType: string | undefined;
  /** Query string parameters; options for raw (non-JSON) bodies. */
  query: Record<string, string | undefined> | undefined;
}

interface RequestLimits {
  /** Encoded image size limit, bytes. */
  maxImageBytes: number;
  /** Upper bound for options.maxFaces. */
  maxFacesLimit: number;
  /** Nesting depth of arrays and objects a JSON body may have. */
  maxJsonDepth: number;
}

interface ImageRequest {
  bytes: Buffer;
  options: Partial<AnalyzeOptions>;
}

/** Room in a JSON body for the options, a data URL prefix and whitespace, bytes. */
const JSON_OVERHEAD_BYTES = 64 * 1024;

/**
 * Raw image bodies: any image/* type API Gateway base64-encoded (under serverless-offline only
 * octet-stream survives). The type is not trusted or checked against the bytes: clients send
 * aliases such as image/jpg, and the decoder tells the format from the bytes anyway.
 */
const isImageMediaType = (type: string) => type.startsWith('image/');

/** `options` of a JSON body. Unknown keys are refused, so a typo is a 400 and not silently ignored. */
function analyzeOptionsSchema(maxFacesLimit: number) {
  return z.strictObject({
    detect: z.boolean().optional(),
    maxFaces: z.number().int().min(1).max(maxFacesLimit).optional(),
  });
}

/** The same options as query parameters (`?detect=false&maxFaces=3`), for raw bodies. */
function queryOptionsSchema(maxFacesLimit: number) {
  return z.strictObject({
    detect: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
    maxFaces: z.string().regex(/^\d{1,4}$/, 'must be a whole number').transform(Number)
      .pipe(z.number().int().min(1).max(maxFacesLimit)).optional(),
  });
}

function predictBodySchema(maxFacesLimit: number) {
  return z.strictObject({
    image: z.string({ error: 'image must be a base64 string or data URL' }),
    options: analyzeOptionsSchema(maxFacesLimit).optional(),
  });
}

/** "application/json; charset=utf-8" -> "application/json"; undefined when absent. */
function mediaType(contentType: string | undefined): string | undefined {
  const type = contentType?.split(';')[0].trim().toLowerCase();
  return type || undefined;
}

/** Bytes a base64 text decodes to, without decoding it. */
function base64DecodedLength(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return Math.floor((text.length * 3) / 4) - padding;
}

/** Checks a zod result, turning a failure into a 400 INVALID_REQUEST naming the first problem. */
function checked<T>(result: { success: true; data: T } | { success: false; error: z.ZodError }, where: string): T {
  if (!result.success) throw new AppError('INVALID_REQUEST', issuesMessage(result.error.issues.slice(0, 1), where));
  return result.data;
}

/** The body as bytes (undoing API Gateway's base64), refusing it above `maxBytes` before decoding. */
function bodyBytes(parts: HttpRequestParts, maxBytes: number): Buffer {
  const body = parts.body ?? '';
  const size = parts.isBase64Encoded ? base64DecodedLength(body) : Buffer.byteLength(body, 'utf8');
  if (size > maxBytes) {
    throw new AppError('IMAGE_TOO_LARGE', `request body is ${size} bytes, over the ${maxBytes} byte limit`, { details: { maxBytes } });
  }
  return parts.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
}

/**
 * Deepest nesting of arrays and objects in a JSON text, stopping once past `max`. Strings are
 * skipped with a native search, so a body that is mostly one base64 string costs ~1 ms per MB.
 */
function jsonDepth(text: string, max: number): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) { // a string: jump to its closing quote (one not escaped by an odd run of backslashes)
      do {
        i = text.indexOf('"', i + 1);
        let slashes = 0;
        while (i > 0 && text.charCodeAt(i - 1 - slashes) === 0x5c) slashes++;
        if (slashes % 2 === 0) break;
      } while (i !== -1);
      if (i === -1) return deepest;
    } else if (c === 0x5b || c === 0x7b) {
      deepest = Math.max(deepest, ++depth);
      if (deepest > max) return deepest;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return deepest;
}

/**
 * A JSON body parsed against `schema`; 413 above `maxBytes`, 400 for bad JSON, nesting deeper
 * than `maxDepth` (refused before parsing: 5 MB of brackets costs JSON.parse 0.6 s and 180 MB),
 * or a schema mismatch.
 */
function parseJsonBody<T>(parts: HttpRequestParts, maxBytes: number, schema: z.ZodType<T>, maxDepth = Infinity): T {
  const text = bodyBytes(parts, maxBytes).toString('utf8');
  if (text.trim() === '') throw new AppError('INVALID_REQUEST', 'request body is empty');
  if (jsonDepth(text, maxDepth) > maxDepth) {
    throw new AppError('INVALID_REQUEST', `request body nests arrays or objects deeper than ${maxDepth} levels`, { details: { maxJsonDepth: maxDepth } });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new AppError('INVALID_REQUEST', 'request body is not valid JSON', { cause });
  }
  return checked(schema.safeParse(json), 'body');
}

/**
 * POST /v1/predict input: a JSON body `{image, options}` or the raw image bytes
 * (application/octet-stream, or image/* when API Gateway base64-encoded them) with options in
 * the query string. Throws AppError: INVALID_REQUEST / INVALID_BASE64 (400),
 * IMAGE_TOO_LARGE (413), UNSUPPORTED_IMAGE (415) for a Content-Type we do not take.
 */
function parseImageRequest(parts: HttpRequestParts, limits: RequestLimits): ImageRequest {
  const type = mediaType(parts.contentType);
  if (type === 'application/json') {
    // Options go in the body here; a `?detect=false` beside it was silently ignored (detection ran).
    const queryKeys = Object.keys(parts.query ?? {});
    if (queryKeys.length) {
      throw new AppError('INVALID_REQUEST', `query options (${queryKeys.join(', ')}) apply to raw bodies only: with a JSON body put them in its "options"`);
    }
    const jsonLimit = Math.ceil((limits.maxImageBytes * 4) / 3) + JSON_OVERHEAD_BYTES;
    const body = parseJsonBody(parts, jsonLimit, predictBodySchema(limits.maxFacesLimit), limits.maxJsonDepth);
    const bytes = decodeBase64Image(body.image, limits.maxImageBytes);
    return { bytes: checkSize(bytes, limits.maxImageBytes), options: body.options ?? {} };
  }
  const raw = type === 'application/octet-stream' || (type !== undefined && isImageMediaType(type));
  if (!raw) {
    throw new AppError('UNSUPPORTED_IMAGE', `Content-Type ${type ?? '(none)'} is not supported: send application/json or application/octet-stream`);
  }
  if (type !== 'application/octet-stream' && !parts.isBase64Encoded) {
    throw new AppError('UNSUPPORTED_IMAGE', `the ${type} body arrived as text and its bytes are lost: send application/octet-stream`);
  }
  const options = checked(queryOptionsSchema(limits.maxFacesLimit).safeParse(parts.query ?? {}), 'query');
  const bytes = bodyBytes(parts, limits.maxImageBytes);
  if (bytes.byteLength === 0) throw new AppError('INVALID_REQUEST', 'request body is empty');
  return { bytes, options };
}

function checkSize(bytes: Buffer, maxBytes: number): Buffer {
  if (bytes.byteLength > maxBytes) {
    throw new AppError('IMAGE_TOO_LARGE', `image is ${bytes.byteLength} bytes, over the ${maxBytes} byte limit`, { details: { maxBytes } });
  }
  return bytes;
}

export { parseImageRequest, jsonDepth };
export type { HttpRequestParts, RequestLimits, ImageRequest };
