/**
 * Direct invocation (no HTTP): is a face photo consistent with a claimed age / date of birth
 * and sex? Input and output are described in README.md ("Verify (direct invoke)"). Every
 * failure comes back as `{ error: { code, message } }`, never as a thrown exception.
 */
import type { Context } from 'aws-lambda';
import { getAnalyzer } from '../lib/analyzer.js';
import { getConfig } from '../lib/config.js';
import { AppError } from '../lib/errors.js';
import { createLogger } from '../lib/logger.js';
import { VerifyRequestSchema, verifyClaim } from '../lib/verify.js';
import type { VerifyResult } from '../lib/verify.js';
import { errorResponse } from './errors.js';
import type { ErrorBody } from './errors.js';
import { createS3Client, s3ObjectStore } from './s3Store.js';
import { issuesMessage } from '../lib/validationMessage.js';

/** Answer this long before the Lambda timeout, ms. */
const SAFETY_MARGIN_MS = 1_000;

const config = getConfig();
const store = s3ObjectStore(createS3Client(config));
// Models load during Lambda's init phase. A failure here is not fatal: the handler's own
// getAnalyzer() retries and answers MODEL_LOAD_FAILED as a result, never an init error.
await getAnalyzer().catch(() => undefined);

async function handler(event: unknown, context: Context): Promise<(VerifyResult & { modelVersion: string }) | ErrorBody> {
  const log = createLogger('verify', config.logLevel, { requestId: context.awsRequestId });
  const started = Date.now();
  try {
    const parsed = VerifyRequestSchema.safeParse(event);
    if (!parsed.success) {
      throw new AppError('INVALID_REQUEST', issuesMessage(parsed.error.issues));
    }
    const request = parsed.data;
    const analyzer = await getAnalyzer();
    const deadline = Math.min(started + config.timeBudgetMs, started + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS);
    const result = await verifyClaim(request, { analyzer, store, config, now: new Date(), deadline });
    // The decision and checks are inferences about a person: returned to the caller, never logged.
    log.info('verify done', {
      source: request.image !== undefined ? 'inline' : 's3', imageChars: request.image?.length, modelVersion: result.modelVersion, ms: Date.now() - started,
    });
    return result;
  } catch (error) {
    const { body, appError } = errorResponse(error);
    const serverFault = appError.code === 'INTERNAL' || appError.code === 'MODEL_LOAD_FAILED';
    // A refused request's message can quote the claim (a date of birth) or the S3 key: personal
    // data, returned to the caller but kept out of the logs, which get the code only.
    log[serverFault ? 'error' : 'warn']('verify failed', {
      code: appError.code, ms: Date.now() - started,
      ...(serverFault ? { error: appError.message, cause: appError.cause instanceof Error ? appError.cause.message : undefined } : {}),
    });
    return body;
  }
}

export { handler, SAFETY_MARGIN_MS };
