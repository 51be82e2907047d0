/**
 * Vitest globalSetup, listed before offline.ts: prepares the S3 server that serverless-s3-local
 * starts inside `sls offline start` (serverless.yml custom.s3) and points the functions at it.
 * Everything goes through process.env, which offline.ts passes on to serverless (and
 * serverless-offline passes its AWS_* variables on to the functions):
 * - S3_LOCAL_PORT: a free port for s3rver; S3_LOCAL_DIR: a fresh, empty folder for its objects;
 * - AWS_ENDPOINT_URL_S3 and s3rver's fixed credentials (S3RVER) for the functions' S3 client
 *   (serverless-offline hands every AWS_* variable of its own environment to the functions).
 * Tests get the endpoint and bucket with `inject('s3Local')`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort } from '../support/freePort.js';

interface S3Local {
  /** e.g. http://localhost:41235 (path-style, credentials S3RVER / S3RVER). */
  endpoint: string;
  /** The bucket with the s3 function's trigger (serverless.yml custom.imagesBucket at stage dev). */
  bucket: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    s3Local: S3Local;
  }
}

async function setup(project: TestProject): Promise<() => void> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 's3-local-'));
  const endpoint = `http://localhost:${port}`;
  Object.assign(process.env, {
    S3_LOCAL_PORT: String(port),
    S3_LOCAL_DIR: dir,
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    // The SDK warns once per process that its 2027 releases need Node 22; the stack is Node 20.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
  project.provide('s3Local', { endpoint, bucket: process.env.IMAGES_BUCKET ?? 'face-age-gender-dev-images' });
  return () => rmSync(dir, { recursive: true, force: true });
}

export { setup };
export type { S3Local };
