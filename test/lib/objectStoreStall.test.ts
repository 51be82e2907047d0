/**
 * An S3 endpoint that stalls must not hold an invocation until Lambda kills it. A real HTTP
 * server that accepts GetObject and then goes quiet (before its headers, or halfway through the
 * body), read through the service's own S3 adapter (handlers/s3Store.ts, the real AWS SDK):
 * readImageObject gives up at its deadline with TIMEOUT, which verify returns as a result and the
 * S3 trigger treats as a retryable failure.
 */
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client, s3ObjectStore } from '../../handlers/s3Store.js';
import { AppError } from '../../lib/errors.js';
import { readImageObject } from '../../lib/objectStore.js';

const BODY_BYTES = 1000;
let server: Server;
const held: ServerResponse[] = [];
let endpoint = '';

beforeAll(async () => {
  // What Lambda's environment gives the adapter's default S3Client (this file's worker only).
  Object.assign(process.env, { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'stall', AWS_SECRET_ACCESS_KEY: 'stall' });
  server = createServer((req, res) => {
    held.push(res);
    // /headers-then-stall/...: headers and half the body, then nothing; anything else: nothing at all.
    if (req.url?.includes('headers-then-stall')) {
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': String(BODY_BYTES), etag: '"abc"' });
      res.write(Buffer.alloc(BODY_BYTES / 2));
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  held.forEach((res) => res.destroy());
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
});

async function readingFails(key: string): Promise<{ error: unknown; ms: number }> {
  const store = s3ObjectStore(createS3Client({ s3Endpoint: endpoint }));
  const started = Date.now();
  const error = await readImageObject(store, { bucket: 'stall', key }, 10_000, started + 400).then((r) => new Error(`read: ${JSON.stringify(r)}`), (e: unknown) => e);
  return { error, ms: Date.now() - started };
}

describe('readImageObject against a stalling S3 endpoint', () => {
  it('fails with TIMEOUT at its deadline when no headers come', async () => {
    const { error, ms } = await readingFails('uploads/no-headers.jpg');
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('TIMEOUT');
    expect(ms).toBeGreaterThanOrEqual(380);
    expect(ms).toBeLessThan(5_000);
  });

  it('fails with TIMEOUT when the body stops halfway, and lets go of the connection', async () => {
    const before = held.length;
    const { error, ms } = await readingFails('uploads/headers-then-stall.jpg');
    expect((error as AppError).code).toBe('TIMEOUT');
    expect(ms).toBeLessThan(5_000);
    expect(held.length).toBe(before + 1);
    // The discarded body closes the client's socket: the server sees its response end.
    const res = held[held.length - 1];
    await expect.poll(() => res.destroyed || res.socket === null || res.socket.destroyed, { timeout: 2_000 }).toBe(true);
  });
});
