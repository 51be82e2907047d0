/**
 * API Gateway HTTP API (payload v2) adapter: POST /v1/predict and GET /v1/health
 * (openapi.yaml). One structured log line per request; never the image or the body.
 */
import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { getConfig } from '../lib/config.js';
import { AppError } from '../lib/errors.js';
import { healthReport, predictFromHttp, warmUp } from '../lib/httpService.js';
import type { InputInfo } from '../lib/httpService.js';
import { createLogger } from '../lib/logger.js';
import { errorResult, httpEventSchema, jsonResponse, requestDeadline, requestParts, routeOf } from './httpApi.js';

const config = getConfig();
const log = createLogger('http', config.logLevel);
let invocations = 0;

// Load the models while Lambda initialises the container (full CPU, before the first request).
await warmUp();

async function handler(event: unknown, context: Context): Promise<APIGatewayProxyStructuredResultV2> {
  const started = Date.now();
  const coldStart = invocations++ === 0;
  const parsed = httpEventSchema.safeParse(event);
  if (!parsed.success) {
    const { response, appError } = errorResult(new AppError('INVALID_REQUEST', 'not an API Gateway HTTP API (v2) event'));
    log.warn('request', { requestId: context.awsRequestId, status: response.statusCode, errorCode: appError.code });
    return response;
  }
  const route = routeOf(parsed.data);
  let response: APIGatewayProxyStructuredResultV2;
  let fields: Record<string, unknown> = {};
  let failure: AppError | undefined;
  let input: InputInfo | undefined;
  if (route === 'GET /v1/health') {
    try {
      response = jsonResponse(200, await healthReport());
    } catch (error) {
      ({ response, appError: failure } = errorResult(error));
    }
  } else if (route === 'POST /v1/predict') {
    const outcome = await predictFromHttp(requestParts(parsed.data), requestDeadline(context, config.timeBudgetMs, started));
    input = outcome.input;
    if (outcome.ok) {
      response = jsonResponse(200, outcome.result);
      fields = { faces: outcome.result.faces.length, timingsMs: outcome.result.timingsMs, modelVersion: outcome.result.modelVersion };
    } else {
      ({ response, appError: failure } = errorResult(outcome.error));
    }
  } else {
    ({ response, appError: failure } = errorResult(new AppError('INVALID_REQUEST', `no route ${route}`)));
  }
  const status = response.statusCode ?? 200;
  (status >= 500 ? log.error : log.info)('request', {
    requestId: context.awsRequestId, apiRequestId: parsed.data.requestContext.requestId, route, status, coldStart,
    ...input, ...fields, errorCode: failure?.code, cause: status >= 500 ? causeOf(failure) : undefined,
    durationMs: Date.now() - started,
  });
  return response;
}

/** For 5xx only: the underlying error's stack, to find the bug (it never holds image data). */
function causeOf(error: AppError | undefined): string | undefined {
  const cause = error?.cause;
  return cause instanceof Error ? cause.stack : cause === undefined ? undefined : String(cause);
}

export { handler };
