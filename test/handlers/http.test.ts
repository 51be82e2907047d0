/**
 * handlers/http.ts through serverless-offline (test/setup/offline.ts): real HTTP requests.
 * Accuracy is compared with models/metrics.json within sampling error, never with fixed numbers,
 * so the test holds for whichever models are committed, once `npm run evaluate` has measured them.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Jimp } from 'jimp';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { composePhoto, loadMetrics, readChip, sampleTestChips, testChips } from '../support/utkface.js';
import type { Chip, Placement } from '../support/utkface.js';

const { baseUrl, logFile } = inject('offline');
const metrics = loadMetrics();
/** Chips in the accuracy sample. */
const SAMPLE_SIZE = 40;
/** One-sided z for "within sampling error": a correct model fails with probability ~0.1%. */
const Z = 3.1;

interface Face {
  box: { left: number; top: number; width: number; height: number };
  detectionScore: number | null;
  age: { value: number; low: number; high: number; level: number };
  gender: { value: 'female' | 'male'; confidence: number };
}
interface Prediction { faces: Face[]; imageSize: { width: number; height: number; format: string }; modelVersion: string; timingsMs: Record<string, number> }
interface Answer { status: number; body: any }

async function post(body: string | Buffer, contentType: string | undefined, query = ''): Promise<Answer> {
  const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {};
  const res = await fetch(`${baseUrl}/v1/predict${query}`, { method: 'POST', headers, body: typeof body === 'string' ? body : new Uint8Array(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try { parsed = JSON.parse(text); } catch { /* keep the text for the failure message */ }
  return { status: res.status, body: parsed };
}

const postJson = (value: unknown) => post(JSON.stringify(value), 'application/json');
const postRaw = (bytes: Buffer, query = '') => post(bytes, 'application/octet-stream', query);

async function health(): Promise<Answer> {
  const res = await fetch(`${baseUrl}/v1/health`);
  return { status: res.status, body: await res.json() };
}

function expectValidFace(face: Face): void {
  for (const k of ['left', 'top', 'width', 'height'] as const) {
    expect(face.box[k]).toBeGreaterThanOrEqual(0);
    expect(face.box[k]).toBeLessThanOrEqual(1);
  }
  expect(face.age.low).toBeLessThanOrEqual(face.age.value);
  expect(face.age.high).toBeGreaterThanOrEqual(face.age.value);
  expect(['female', 'male']).toContain(face.gender.value);
  expect(face.gender.confidence).toBeGreaterThanOrEqual(0.5);
  expect(face.gender.confidence).toBeLessThanOrEqual(1);
}

/** Is the centre of `face`'s box (fractions of a width x height photo) inside the placed chip? */
function centredIn(face: Face, p: Placement, width: number, height: number): boolean {
  const cx = (face.box.left + face.box.width / 2) * width;
  const cy = (face.box.top + face.box.height / 2) * height;
  return cx >= p.x && cx <= p.x + p.size && cy >= p.y && cy <= p.y + p.size;
}

const area = (f: Face) => f.box.width * f.box.height;
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)) * xs.length / Math.max(1, xs.length - 1));

describe('HTTP API: POST /v1/predict on test-split chips', () => {
  const sample = sampleTestChips(SAMPLE_SIZE);
  const on: { chip: Chip; answer: Answer }[] = [];
  const off: { chip: Chip; answer: Answer }[] = [];

  beforeAll(async () => {
    for (const chip of sample) {
      const bytes = readChip(chip);
      on.push({ chip, answer: await postJson({ image: bytes.toString('base64'), options: { detect: true, maxFaces: 10 } }) });
      off.push({ chip, answer: await postRaw(bytes, '?detect=false') });
    }
  });

  it('finds a face in (nearly) every chip with detection on, as JSON base64', () => {
    const found = on.filter(({ answer }) => answer.status === 200);
    for (const { answer } of on) expect([200, 422], JSON.stringify(answer.body)).toContain(answer.status);
    const minRate = Math.min(0.95, metrics.service?.detectOn?.faceFoundRate ?? 1);
    expect(found.length).toBeGreaterThanOrEqual(Math.floor(minRate * sample.length));
    for (const { answer } of found) {
      const body = answer.body as Prediction;
      expect(body.imageSize).toEqual({ width: 200, height: 200, format: 'jpeg' });
      expect(body.modelVersion).toMatch(/^age-[0-9a-f]{8}\+gender-[0-9a-f]{8}$/);
      body.faces.forEach(expectValidFace);
      expect(body.faces[0].detectionScore).toBeGreaterThanOrEqual(0.5);
      expect(body.faces[0].box.width).toBeGreaterThan(0.5); // the chip's face fills most of it
    }
  });

  it('treats the whole chip as the face with detection off, as a raw octet-stream body', () => {
    for (const { answer } of off) {
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      const body = answer.body as Prediction;
      expect(body.faces).toHaveLength(1);
      expect(body.faces[0].box).toEqual({ left: 0, top: 0, width: 1, height: 1 });
      expect(body.faces[0].detectionScore).toBeNull();
      expectValidFace(body.faces[0]);
    }
  });

  /** Gender accuracy and age MAE on the sample, against metrics.json with a sampling-error margin. */
  function checkAccuracy(results: { chip: Chip; answer: Answer }[], reference: { genderAccuracy: number; ageMae: number }) {
    const answered = results.filter(({ answer }) => answer.status === 200);
    const n = answered.length;
    const correct = answered.filter(({ chip, answer }) => answer.body.faces[0].gender.value === chip.gender).length;
    const absErrors = answered.map(({ chip, answer }) => Math.abs(answer.body.faces[0].age.value - chip.age));
    const p = reference.genderAccuracy;
    const minAccuracy = p - Z * Math.sqrt((p * (1 - p)) / n);
    const maxMae = reference.ageMae + Z * sd(absErrors) / Math.sqrt(n);
    const summary = `n=${n} accuracy=${(correct / n).toFixed(3)} (min ${minAccuracy.toFixed(3)}) mae=${mean(absErrors).toFixed(2)} (max ${maxMae.toFixed(2)})`;
    console.info(`accuracy vs metrics.json: ${summary}`);
    expect(correct / n, summary).toBeGreaterThanOrEqual(minAccuracy);
    expect(mean(absErrors), summary).toBeLessThanOrEqual(maxMae);
  }

  it('agrees with the labels at the accuracy in models/metrics.json, detection on', () => {
    const ref = metrics.service?.detectOn ?? { genderAccuracy: metrics.test.gender.accuracy, ageMae: metrics.test.age.mae };
    checkAccuracy(on, ref);
  });

  it('agrees with the labels at the accuracy in models/metrics.json, detection off', () => {
    const ref = metrics.service?.detectOff ?? { genderAccuracy: metrics.test.gender.accuracy, ageMae: metrics.test.age.mae };
    checkAccuracy(off, ref);
  });

  it('logs one line per request with its size, hash and timings, and never the image', () => {
    const chip = sample[0];
    const bytes = readChip(chip);
    const sha = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
    const log = readFileSync(logFile, 'utf8');
    const lines = log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const mine = lines.filter((l) => l.message === 'request' && l.sha256 === sha);
    expect(mine.length).toBeGreaterThanOrEqual(2); // detect on and off
    for (const line of mine) {
      expect(line).toMatchObject({ route: 'POST /v1/predict', status: 200, byteLength: bytes.byteLength, faces: 1 });
      expect(line.requestId).toEqual(expect.any(String));
      expect(line.timingsMs.total).toEqual(expect.any(Number));
    }
    const base64 = bytes.toString('base64');
    expect(log).not.toContain(base64.slice(1000, 1060));
  });
});

describe('HTTP API: composed photos', () => {
  it('finds three faces on a 1200x800 background and sorts them by size', async () => {
    const chips = testChips();
    const placements: Placement[] = [
      { chip: chips[129], x: 20, y: 60, size: 360 },
      { chip: chips[929], x: 410, y: 330, size: 440 },
      { chip: chips[1729], x: 880, y: 40, size: 300 },
    ];
    const answer = await postRaw(await composePhoto(1200, 800, 0x2f6f9fff, placements));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const { faces, imageSize } = answer.body as Prediction;
    expect(imageSize).toMatchObject({ width: 1200, height: 800 });
    expect(faces).toHaveLength(3);
    faces.forEach(expectValidFace);
    for (let i = 1; i < faces.length; i++) expect(area(faces[i - 1])).toBeGreaterThanOrEqual(area(faces[i]));
    const bySize = [...placements].sort((a, b) => b.size - a.size);
    faces.forEach((face, i) => expect(centredIn(face, bySize[i], 1200, 800), `face ${i}`).toBe(true));
  });

  it('analyses a 1920x1080 photo', async () => {
    const chips = testChips();
    const placements: Placement[] = [
      { chip: chips[929], x: 300, y: 200, size: 640 },
      { chip: chips[129], x: 1200, y: 420, size: 480 },
    ];
    const photo = await composePhoto(1920, 1080, 0xc8a050ff, placements);
    const answer = await postJson({ image: `data:image/jpeg;base64,${photo.toString('base64')}`, options: { maxFaces: 5 } });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const { faces, imageSize, timingsMs } = answer.body as Prediction;
    expect(imageSize).toMatchObject({ width: 1920, height: 1080, format: 'jpeg' });
    expect(faces).toHaveLength(2);
    faces.forEach((face, i) => expect(centredIn(face, placements[i], 1920, 1080), `face ${i}`).toBe(true));
    expect(timingsMs.total).toBeGreaterThan(0);
  });

  it('returns at most maxFaces faces, the largest', async () => {
    const chips = testChips();
    const placements: Placement[] = [
      { chip: chips[129], x: 20, y: 60, size: 360 },
      { chip: chips[929], x: 410, y: 330, size: 440 },
    ];
    const answer = await postRaw(await composePhoto(1200, 800, 0x2f6f9fff, placements), '?maxFaces=1');
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.faces).toHaveLength(1);
    expect(centredIn(answer.body.faces[0], placements[1], 1200, 800)).toBe(true);
  });
});

describe('HTTP API: bad input gets its documented 4xx, and the service keeps answering', () => {
  let chip: Buffer;
  let before: Answer;
  let maxImageBytes: number;
  let maxFaces: number;

  beforeAll(async () => {
    chip = readChip(sampleTestChips(SAMPLE_SIZE)[3]);
    before = await postRaw(chip);
    const h = await health();
    maxImageBytes = h.body.limits.maxImageBytes;
    maxFaces = h.body.limits.maxFaces;
  });

  /** A PNG header claiming width x height: a decompression bomb if anyone decoded it. */
  function pngHeader(width: number, height: number): Buffer {
    const b = Buffer.alloc(33);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
    b.writeUInt32BE(13, 8);
    b.write('IHDR', 12, 'latin1');
    b.writeUInt32BE(width, 16);
    b.writeUInt32BE(height, 20);
    b.set([8, 6, 0, 0, 0], 24);
    return b;
  }

  const cases: { name: string; send: () => Promise<Answer>; status: number; code: string }[] = [
    { name: 'malformed JSON', send: () => post('{"image": "abc', 'application/json'), status: 400, code: 'INVALID_REQUEST' },
    { name: 'a JSON array', send: () => postJson([1, 2]), status: 400, code: 'INVALID_REQUEST' },
    { name: 'JSON without image', send: () => postJson({ options: { detect: true } }), status: 400, code: 'INVALID_REQUEST' },
    { name: 'an empty body', send: () => postRaw(Buffer.alloc(0)), status: 400, code: 'INVALID_REQUEST' },
    { name: 'invalid base64', send: () => postJson({ image: 'this is *not* base64!' }), status: 400, code: 'INVALID_BASE64' },
    { name: 'an unknown option', send: () => postJson({ image: chip.toString('base64'), options: { detect: true, crop: 'tight' } }), status: 400, code: 'INVALID_REQUEST' },
    { name: 'maxFaces 0', send: () => postJson({ image: chip.toString('base64'), options: { maxFaces: 0 } }), status: 400, code: 'INVALID_REQUEST' },
    { name: 'maxFaces above the limit', send: () => postJson({ image: chip.toString('base64'), options: { maxFaces: maxFaces + 1 } }), status: 400, code: 'INVALID_REQUEST' },
    { name: 'detect as a string', send: () => postJson({ image: chip.toString('base64'), options: { detect: 'yes' } }), status: 400, code: 'INVALID_REQUEST' },
    { name: 'an unknown query option', send: () => postRaw(chip, '?detect=false&faces=2'), status: 400, code: 'INVALID_REQUEST' },
    { name: 'a raw body over the limit', send: () => postRaw(Buffer.concat([chip, Buffer.alloc(maxImageBytes + 1 - chip.length)])), status: 413, code: 'IMAGE_TOO_LARGE' },
    { name: 'a base64 image over the limit', send: () => postJson({ image: Buffer.alloc(maxImageBytes + 3000).toString('base64') }), status: 413, code: 'IMAGE_TOO_LARGE' },
    { name: 'a PNG claiming 30000x30000 pixels', send: () => postRaw(pngHeader(30_000, 30_000)), status: 413, code: 'IMAGE_TOO_LARGE' },
    { name: 'text sent as an image', send: () => postRaw(Buffer.from('hello, this is not an image')), status: 415, code: 'UNSUPPORTED_IMAGE' },
    { name: 'a PDF as a data URL', send: () => postJson({ image: `data:application/pdf;base64,${Buffer.from('%PDF-1.4 not an image').toString('base64')}` }), status: 415, code: 'UNSUPPORTED_IMAGE' },
    { name: 'a corrupt JPEG', send: () => postRaw(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(500, 7)])), status: 415, code: 'UNSUPPORTED_IMAGE' },
    { name: 'a text/plain Content-Type', send: () => post(chip, 'text/plain'), status: 415, code: 'UNSUPPORTED_IMAGE' },
    { name: 'a multipart form', send: () => post(chip, 'multipart/form-data; boundary=x'), status: 415, code: 'UNSUPPORTED_IMAGE' },
    { name: 'a 16x16 image', send: async () => postRaw(await new Jimp({ width: 16, height: 16, color: 0x808080ff }).getBuffer('image/png')), status: 422, code: 'IMAGE_TOO_SMALL' },
    { name: 'a plain background', send: async () => postRaw(await composePhoto(1200, 800, 0x2f6f9fff, [])), status: 422, code: 'NO_FACE' },
  ];

  it.each(cases)('answers $status $code to $name', async ({ send, status, code }) => {
    const answer = await send();
    expect(answer.body, JSON.stringify(answer.body)).toMatchObject({ error: { code, message: expect.any(String) } });
    expect(answer.status).toBe(status);
  });

  it('answers a body of 100,000 unknown fields with a short 400 that names a few (zod listed them all)', async () => {
    const fields = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`field${i}`, 1]));
    const answer = await postJson({ image: chip.toString('base64'), ...fields });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/unknown fields "field0", .* and 99995 more/) });
    expect(JSON.stringify(answer.body).length).toBeLessThan(2_000);
  });

  it('still answers health and predictions the same way afterwards', async () => {
    expect(before.status).toBe(200);
    const h = await health();
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ status: 'ok', warm: true, backend: 'wasm' });
    const after = await postRaw(chip);
    expect(after.status).toBe(200);
    expect(after.body.faces).toEqual(before.body.faces);
  });
});

describe('HTTP API: GET /v1/health', () => {
  it('reports model versions, the backend and that the models are loaded', async () => {
    const { status, body } = await health();
    expect(status).toBe(200);
    expect(body).toMatchObject({
      status: 'ok', warm: true, backend: 'wasm',
      modelVersion: expect.stringMatching(/^age-[0-9a-f]{8}\+gender-[0-9a-f]{8}$/),
      models: { age: { name: expect.any(String) }, gender: { name: expect.any(String) }, detector: { name: 'blazeface-front' } },
      limits: {
        maxImageBytes: expect.any(Number), maxFaces: expect.any(Number), timeBudgetMs: expect.any(Number),
        // serverless.yml leaves these at lib/config.ts's defaults for the http function
        maxImagePixels: 25_000_000, maxImageSide: 10_000, minImageSide: 32, maxImageAspect: 10,
      },
    });
  });
});

describe('handlers/http.ts in-process', () => {
  const context = (remainingMs: number) => ({ awsRequestId: 'in-process', getRemainingTimeInMillis: () => remainingMs }) as any;
  const event = (body: string, headers: Record<string, string> = { 'content-type': 'application/octet-stream' }) => ({
    version: '2.0', routeKey: 'POST /v1/predict', rawPath: '/v1/predict', headers,
    body, isBase64Encoded: true, requestContext: { requestId: 'r1', http: { method: 'POST', path: '/v1/predict' } },
  });

  it('answers 504 TIMEOUT before the Lambda timeout', async () => {
    const { handler } = await import('../../handlers/http.js');
    const { RESPONSE_MARGIN_MS } = await import('../../handlers/httpApi.js');
    const chips = testChips();
    const photo = await composePhoto(1920, 1080, 0xc8a050ff, [{ chip: chips[929], x: 300, y: 200, size: 640 }]);
    const ok = await handler(event(photo.toString('base64')), context(30_000));
    expect(ok.statusCode).toBe(200);
    // 30 ms left before the margin: decoding alone takes longer, so the handler must give up.
    const late = await handler(event(photo.toString('base64')), context(RESPONSE_MARGIN_MS + 30));
    expect(late.statusCode).toBe(504);
    expect(JSON.parse(late.body!)).toMatchObject({ error: { code: 'TIMEOUT' } });
  });

  // serverless-offline fills in application/json when Content-Type is missing; API Gateway does not.
  it('answers 415 to a body without Content-Type', async () => {
    const { handler } = await import('../../handlers/http.js');
    const res = await handler(event(readChip(sampleTestChips(SAMPLE_SIZE)[0]).toString('base64'), {}), context(30_000));
    expect(res.statusCode).toBe(415);
    expect(JSON.parse(res.body!)).toMatchObject({ error: { code: 'UNSUPPORTED_IMAGE' } });
  });

  // API Gateway base64-encodes any image/* body; clients send aliases such as image/jpg.
  it('reads a base64-encoded image/* body by its bytes, whatever the image type says', async () => {
    const { handler } = await import('../../handlers/http.js');
    const chip = readChip(sampleTestChips(SAMPLE_SIZE)[0]).toString('base64');
    for (const type of ['image/jpg', 'image/pjpeg', 'image/png']) {
      const res = await handler(event(chip, { 'content-type': type }), context(30_000));
      expect(res.statusCode, type).toBe(200);
      expect(JSON.parse(res.body!).faces, type).toHaveLength(1);
    }
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"/>').toString('base64');
    const refused = await handler(event(svg, { 'content-type': 'image/svg+xml' }), context(30_000));
    expect(refused.statusCode).toBe(415);
    expect(JSON.parse(refused.body!)).toMatchObject({ error: { code: 'UNSUPPORTED_IMAGE' } });
  });

  it('answers 400 to an event that is not from an HTTP API', async () => {
    const { handler } = await import('../../handlers/http.js');
    const res = await handler({ Records: [] }, context(30_000));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body!)).toMatchObject({ error: { code: 'INVALID_REQUEST' } });
  });
});
