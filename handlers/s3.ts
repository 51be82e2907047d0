/**
 * S3 trigger (s3:ObjectCreated:* under S3_INPUT_PREFIX): analyses each uploaded image and writes
 * results/<key>.json or results/<key>.error.json (lib/s3Results.ts). Throws, so Lambda retries
 * the event, only when a record could not be recorded at all; records already written are
 * rewritten identically by the retry.
 */
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { getAnalyzer } from '../lib/analyzer.js';
import type { FaceAnalyzer } from '../lib/analyzer.js';
import { getConfig } from '../lib/config.js';
import { createLogger } from '../lib/logger.js';
import { processS3Records } from '../lib/s3Results.js';
import type { RecordOutcome } from '../lib/s3Results.js';
import { createS3Client, s3ObjectStore } from './s3Store.js';
import { issuesMessage } from '../lib/validationMessage.js';

const S3EventSchema = z.object({
  Records: z.array(z.object({
    eventName: z.string(),
    s3: z.object({
      bucket: z.object({ name: z.string().min(1) }),
      object: z.object({ key: z.string().min(1), size: z.number().optional(), eTag: z.string().optional(), versionId: z.string().optional() }),
    }),
  })).min(1),
});

/** Stop starting new records this long before the Lambda timeout, ms. */
const SAFETY_MARGIN_MS = 1_000;

const config = getConfig();
const store = s3ObjectStore(createS3Client(config));
// Models load during Lambda's init phase. A failure here is not fatal: getAnalyzer() retries
// on the record that needs it, which then fails with MODEL_LOAD_FAILED and the event is retried.
await getAnalyzer().catch(() => undefined);
const analyzer = { analyze: async (...args: Parameters<FaceAnalyzer['analyze']>) => (await getAnalyzer()).analyze(...args) };

async function handler(event: unknown, context: Context): Promise<{ records: RecordOutcome[] }> {
  const log = createLogger('s3', config.logLevel, { requestId: context.awsRequestId });
  const parsed = S3EventSchema.safeParse(event);
  if (!parsed.success) {
    log.error('not an S3 event', { issues: issuesMessage(parsed.error.issues) });
    throw new Error('not an S3 event notification');
  }
  const records = parsed.data.Records.map((r) => ({
    eventName: r.eventName, bucket: r.s3.bucket.name, encodedKey: r.s3.object.key, size: r.s3.object.size, eTag: r.s3.object.eTag, versionId: r.s3.object.versionId,
  }));
  const routing = {
    inputPrefix: config.s3InputPrefix, resultsPrefix: config.s3ResultsPrefix, resultsBucket: config.s3ResultsBucket,
    maxObjectBytes: config.maxS3ImageBytes, timeBudgetMs: config.timeBudgetMs,
  };
  const deadline = Date.now() + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS;
  const outcomes = await processS3Records(records, { store, analyzer, routing, deadline, log });
  const counts = Object.fromEntries(['result', 'error', 'ignored', 'skipped', 'failed'].map((k) => [k, outcomes.filter((o) => o.outcome === k).length]));
  log.info('s3 event done', { records: outcomes.length, ...counts });
  const failed = outcomes.filter((o) => o.outcome === 'failed');
  if (failed.length > 0) throw new Error(`${failed.length} of ${outcomes.length} records could not be recorded; the event will be retried`);
  return { records: outcomes };
}

export { handler };
