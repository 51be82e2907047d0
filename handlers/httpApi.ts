/**
 * Shared pieces for API Gateway HTTP API (payload v2) handlers: the event schema, JSON and
 * error responses through the one status table (handlers/errors.ts), and the request deadline.
 */
import { z } from 'zod';
import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { errorResponse } from './errors.js';
import type { AppError } from '../lib/errors.js';
import type { HttpRequestParts } from '../lib/httpRequest.js';

/**
 * Time kept back from the Lambda timeout to answer TIMEOUT ourselves, ms. The deadline is
 * checked only between synchronous stages; the longest, decoding, is refused up front when its
 * estimate does not fit (lib/imageDecode.ts), so the margin covers the estimate's error (a 20 MP
 * JPEG: 1.8-2.7 s measured against 3 s estimated, serverless.yml) and writing the answer.
 */
const RESPONSE_MARGIN_MS = 2_000;

/** The fields of an HTTP API v2 event we use; anything else in the event is ignored. */
const httpEventSchema = z.object({
  routeKey: z.string(),
  rawPath: z.string(),
  headers: z.record(z.string(), z.string()).nullish(),
  queryStringParameters: z.record(z.string(), z.string()).nullish(),
  body: z.string().nullish(),
  isBase64Encoded: z.boolean().default(false),
  requestContext: z.object({
    requestId: z.string().optional(),
    http: z.object({ method: z.string(), path: z.string() }),
  }),
});
type HttpEvent = z.infer<typeof httpEventSchema>;

/** "POST /v1/predict", from the routeKey, or from method and path behind a $default route. */
function routeOf(event: HttpEvent): string {
  return event.routeKey === '$default' ? `${event.requestContext.http.method} ${event.rawPath}` : event.routeKey;
}

/** The parts lib/httpRequest.ts reads; header names are matched case-insensitively. */
function requestParts(event: HttpEvent): HttpRequestParts {
  const contentType = Object.entries(event.headers ?? {}).find(([name]) => name.toLowerCase() === 'content-type')?.[1];
  return {
    body: event.body ?? undefined,
    isBase64Encoded: event.isBase64Encoded,
    contentType,
    query: event.queryStringParameters ?? undefined,
  };
}

function jsonResponse(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** `{"error": {code, message}}` with the status from the table. */
function errorResult(error: unknown): { response: APIGatewayProxyStructuredResultV2; appError: AppError } {
  const { status, body, appError } = errorResponse(error);
  return { response: jsonResponse(status, body), appError };
}

/** Epoch ms by which the handler must answer: the time budget, cut short by the Lambda timeout. */
function requestDeadline(context: Pick<Context, 'getRemainingTimeInMillis'>, budgetMs: number, started = Date.now()): number {
  return started + Math.min(budgetMs, context.getRemainingTimeInMillis() - RESPONSE_MARGIN_MS);
}

export { httpEventSchema, routeOf, requestParts, jsonResponse, errorResult, requestDeadline, RESPONSE_MARGIN_MS };
export type { HttpEvent };
