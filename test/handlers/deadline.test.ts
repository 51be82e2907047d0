/**
 * handlers/http.ts answers TIMEOUT (504) itself, before the Lambda timeout: its deadline is the
 * time budget cut short by context.getRemainingTimeInMillis() minus RESPONSE_MARGIN_MS, and an
 * image whose decode cannot finish by then is refused before the (uninterruptible) decode.
 */
import { describe, expect, it } from 'vitest';
import { RESPONSE_MARGIN_MS, requestDeadline } from '../../handlers/httpApi.js';
import { jpegBomb } from '../support/imageFixtures.js';

const context = (remainingMs: number) => ({ awsRequestId: 'deadline-test', getRemainingTimeInMillis: () => remainingMs }) as any;
const event = (body: Buffer) => ({
  version: '2.0', routeKey: 'POST /v1/predict', rawPath: '/v1/predict', headers: { 'content-type': 'application/octet-stream' },
  body: body.toString('base64'), isBase64Encoded: true, requestContext: { requestId: 'r1', http: { method: 'POST', path: '/v1/predict' } },
});

describe('request deadline', () => {
  it('is the time budget, or the Lambda time left minus the margin when that is sooner', () => {
    expect(requestDeadline(context(30_000), 8_000, 1_000)).toBe(9_000);
    expect(requestDeadline(context(5_000), 8_000, 1_000)).toBe(1_000 + 5_000 - RESPONSE_MARGIN_MS);
    expect(requestDeadline(context(RESPONSE_MARGIN_MS - 500), 8_000, 1_000)).toBe(500);
  });

  it('answers 504 TIMEOUT at once when a large image cannot be decoded in the time left', async () => {
    const { handler } = await import('../../handlers/http.js');
    const image = jpegBomb(4000, 3000); // a 12 MP header: decoding takes ~1.8 s
    const started = performance.now();
    const late = await handler(event(image), context(RESPONSE_MARGIN_MS + 200));
    expect(performance.now() - started).toBeLessThan(1_000); // a hang guard: decoding would take ~1.8 s
    expect(late.statusCode).toBe(504);
    expect(JSON.parse(late.body!)).toMatchObject({ error: { code: 'TIMEOUT' } });
    const early = await handler(event(image), context(30_000)); // time enough: the decoder gets it, and refuses it
    expect(early.statusCode).toBe(415);
  });
});
