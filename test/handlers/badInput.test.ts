/**
 * The bad-input corpus (test/support/badInputs.ts) through real HTTP: serverless-offline from
 * test/setup/offline.ts, running handlers/http.ts. Every case gets its documented status and
 * error code, bombs answer quickly, and the service keeps answering afterwards.
 * test/lib/badInput.test.ts checks the same corpus at the lib entry points.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import { buildCorpus } from '../support/badInputs.js';
import type { BadInput, BadRequest } from '../support/badInputs.js';
import { readChip, sampleTestChips } from '../support/utkface.js';

const { baseUrl } = inject('offline');
/** A bomb's whole round trip through serverless-offline, ms (the refusal itself takes < 10 ms). */
const BOMB_MAX_MS = 2_000;

interface Answer {
  status: number;
  body: any;
  ms: number;
}

async function send(request: BadRequest): Promise<Answer> {
  const query = request.query ? `?${new URLSearchParams(request.query)}` : '';
  const headers: Record<string, string> = request.contentType ? { 'content-type': request.contentType } : {};
  const started = performance.now();
  const res = await fetch(`${baseUrl}/v1/predict${query}`, {
    method: 'POST', headers, body: typeof request.body === 'string' ? request.body : new Uint8Array(request.body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  const ms = performance.now() - started;
  let body: unknown = text;
  try { body = JSON.parse(text); } catch { /* keep the text for the failure message */ }
  return { status: res.status, body, ms };
}

describe('HTTP API: the bad-input corpus gets its documented status and code', async () => {
  const chip = readChip(sampleTestChips(40)[3]);
  let corpus: BadInput[] = [];
  const answers = new Map<string, Answer>();

  beforeAll(async () => {
    const health = await (await fetch(`${baseUrl}/v1/health`)).json();
    corpus = await buildCorpus(chip, { maxImageBytes: health.limits.maxImageBytes, maxJsonDepth: loadConfig().maxJsonDepth });
    for (const c of corpus) answers.set(c.name, await send(c.request));
  });

  it('answers every case with its documented status and error code', () => {
    const wrong = corpus.flatMap((c) => {
      const answer = answers.get(c.name)!;
      const ok = answer.status === c.status && (c.code ? answer.body?.error?.code === c.code : Array.isArray(answer.body?.faces));
      return ok ? [] : [`${c.name}: expected ${c.status} ${c.code ?? ''}, got ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`];
    });
    expect(wrong).toEqual([]);
    expect(answers.size).toBe(corpus.length);
  });

  it('answers a bomb quickly', () => {
    for (const c of corpus.filter((x) => x.bomb)) expect(answers.get(c.name)!.ms, c.name).toBeLessThan(BOMB_MAX_MS);
  });

  it('finds the face at the same place in all eight EXIF orientations', () => {
    const oriented = corpus.filter((c) => /EXIF orientation \d/.test(c.name)).map((c) => answers.get(c.name)!.body);
    expect(oriented).toHaveLength(8);
    const reference = oriented[0].faces[0];
    for (const [i, body] of oriented.entries()) {
      expect(body.imageSize, `orientation ${i + 1}`).toMatchObject({ width: 160, height: 200, format: 'jpeg' });
      for (const k of ['left', 'top', 'width', 'height']) expect(Math.abs(body.faces[0].box[k] - reference.box[k]), `orientation ${i + 1} ${k}`).toBeLessThan(0.03);
    }
  });

  it('still answers health and a prediction afterwards', async () => {
    const health = await fetch(`${baseUrl}/v1/health`);
    expect(health.status).toBe(200);
    const after = await send({ body: chip, contentType: 'application/octet-stream' });
    expect(after.status, JSON.stringify(after.body)).toBe(200);
  });
});
