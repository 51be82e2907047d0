import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors.js';
import { checkS3Prefixes, loadConfig } from '../../lib/config.js';
import { createLogger } from '../../lib/logger.js';
import { decodeS3Key, encodeS3Key, processS3Records, resultKeyFor } from '../../lib/s3Results.js';
import type { S3Deps, S3ObjectRecord } from '../../lib/s3Results.js';
import type { AnalyzeResult } from '../../lib/analyzer.js';
import type { ObjectStore } from '../../lib/objectStore.js';

/**
 * An in-memory ObjectStore that counts body reads and can be told to fail writes. Every object's
 * ETag is 'abc'; a read pinned to another ETag is 'changed', as S3 answers If-Match with 412.
 */
function memoryStore(objects: Record<string, Uint8Array>) {
  const written = new Map<string, string>();
  const state = { reads: 0, failPuts: false, failPutKeys: new Set<string>() };
  const store: ObjectStore = {
    async get(ref) {
      const bytes = objects[`${ref.bucket}/${ref.key}`];
      if (!bytes) return { status: 'missing' };
      if (ref.eTag !== undefined && ref.eTag !== 'abc') return { status: 'changed' };
      return { status: 'found', object: { size: bytes.length, eTag: 'abc', versionId: undefined, read: async () => { state.reads++; return bytes; }, discard: () => undefined } };
    },
    async put(target, body) {
      if (state.failPuts || state.failPutKeys.has(target.key)) throw new Error('SlowDown');
      written.set(`${target.bucket}/${target.key}`, body);
    },
  };
  return { store, written, state };
}

const FACE_BYTES = new Uint8Array([1, 2, 3]);
const NOT_IMAGE = new Uint8Array([9, 9, 9]);
const NO_FACE_BYTES = new Uint8Array([7]);

const analyzer: S3Deps['analyzer'] = {
  async analyze(bytes) {
    if (bytes === NOT_IMAGE) throw new AppError('UNSUPPORTED_IMAGE', 'not a JPEG, PNG, GIF, BMP or TIFF image');
    if (bytes === NO_FACE_BYTES) throw new AppError('NO_FACE', 'no face found in the image');
    return {
      faces: [{ box: { left: 0, top: 0, width: 1, height: 1 }, detectionScore: 0.9, age: { value: 30, low: 25, high: 35, level: 0.8 }, gender: { value: 'male', confidence: 0.9 } }],
      imageSize: { width: 200, height: 200, format: 'jpeg' }, modelVersion: 'v1', timingsMs: { decode: Math.random(), detect: 1, predict: 1, total: 2 },
    } satisfies AnalyzeResult;
  },
};

const routing = { inputPrefix: 'uploads/', resultsPrefix: 'results/', resultsBucket: '', maxObjectBytes: 10, timeBudgetMs: 5_000 };
const silent = createLogger('test', 'error');
const record = (key: string, extra: Partial<S3ObjectRecord> = {}): S3ObjectRecord => ({ eventName: 'ObjectCreated:Put', bucket: 'b', encodedKey: encodeS3Key(key), ...extra });
const deps = (store: ObjectStore, overrides: Partial<S3Deps> = {}): S3Deps => ({ store, analyzer, routing, deadline: Date.now() + 60_000, log: silent, ...overrides });

describe('S3 key encoding', () => {
  it('decodes keys the way S3 encodes them in events', () => {
    expect(decodeS3Key('uploads/my+photo+%C3%A9t%C3%A9.jpg')).toBe('uploads/my photo été.jpg');
    expect(decodeS3Key('uploads/a%2Bb.jpg')).toBe('uploads/a+b.jpg');
    expect(encodeS3Key('uploads/my photo été+1.jpg')).toBe('uploads/my+photo+%C3%A9t%C3%A9%2B1.jpg');
  });
});

describe('resultKeyFor', () => {
  const sha256 = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex');
  const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
  // 'é' is 2 UTF-8 bytes: S3's 1024 limit counts bytes, not characters.
  const keyOfBytes = (n: number) => `uploads/${'é'.repeat((n - 'uploads/'.length) >> 1)}${(n - 'uploads/'.length) % 2 ? 'x' : ''}`;

  it('copies the key into the record name while the .error.json name fits in 1024 bytes', () => {
    expect(resultKeyFor('uploads/a b.jpg', 'results/', 'result')).toBe('results/uploads/a b.jpg.json');
    expect(resultKeyFor('uploads/a b.jpg', 'results/', 'error')).toBe('results/uploads/a b.jpg.error.json');
    const longest = keyOfBytes(1024 - bytes('results/.error.json'));
    expect(bytes(longest)).toBe(1005);
    expect(resultKeyFor(longest, 'results/', 'error')).toBe(`results/${longest}.error.json`);
    expect(bytes(resultKeyFor(longest, 'results/', 'error'))).toBe(1024);
    expect(resultKeyFor(longest, 'results/', 'result')).toBe(`results/${longest}.json`);
  });

  it('names both records of a longer key by the SHA-256 of the key, under _long/', () => {
    const key = keyOfBytes(1006);
    expect(key.length).toBeLessThan(1006); // characters; the bytes decide
    expect(resultKeyFor(key, 'results/', 'result')).toBe(`results/_long/${sha256(key)}.json`);
    expect(resultKeyFor(key, 'results/', 'error')).toBe(`results/_long/${sha256(key)}.error.json`);
    const longest = keyOfBytes(1024);
    expect(resultKeyFor(longest, 'out/', 'result')).toBe(`out/_long/${sha256(longest)}.json`);
    expect(resultKeyFor(longest, 'out/', 'result')).not.toBe(resultKeyFor(`${longest.slice(0, -1)}y`, 'out/', 'result'));
  });
});

describe('processS3Records', () => {
  it('writes a result for a face and error records for a non-image, an oversize object and no face', async () => {
    const { store, written } = memoryStore({
      'b/uploads/face one.jpg': FACE_BYTES, 'b/uploads/notes.txt': NOT_IMAGE, 'b/uploads/big.jpg': new Uint8Array(11), 'b/uploads/wall.jpg': NO_FACE_BYTES,
    });
    const outcomes = await processS3Records(['uploads/face one.jpg', 'uploads/notes.txt', 'uploads/big.jpg', 'uploads/wall.jpg'].map((k) => record(k)), deps(store));
    expect(outcomes.map((o) => o.outcome)).toEqual(['result', 'error', 'error', 'error']);
    expect([...written.keys()].sort()).toEqual([
      'b/results/uploads/big.jpg.error.json', 'b/results/uploads/face one.jpg.json', 'b/results/uploads/notes.txt.error.json', 'b/results/uploads/wall.jpg.error.json',
    ]);
    const result = JSON.parse(written.get('b/results/uploads/face one.jpg.json')!);
    expect(result).toMatchObject({ source: { bucket: 'b', key: 'uploads/face one.jpg', eTag: 'abc', size: 3 }, modelVersion: 'v1', faces: [{ age: { value: 30 } }] });
    expect(result).not.toHaveProperty('timingsMs');
    expect(JSON.parse(written.get('b/results/uploads/notes.txt.error.json')!).error.code).toBe('UNSUPPORTED_IMAGE');
    expect(JSON.parse(written.get('b/results/uploads/big.jpg.error.json')!).error).toMatchObject({ code: 'IMAGE_TOO_LARGE', details: { size: 11, maxBytes: 10 } });
    expect(JSON.parse(written.get('b/results/uploads/wall.jpg.error.json')!).error.code).toBe('NO_FACE');
  });

  it('checks the size before reading the body', async () => {
    const { store, state } = memoryStore({ 'b/uploads/big.jpg': new Uint8Array(11) });
    await processS3Records([record('uploads/big.jpg')], deps(store));
    expect(state.reads).toBe(0);
  });

  it('writes identical bytes when an event is delivered twice', async () => {
    const { store, written } = memoryStore({ 'b/uploads/a.jpg': FACE_BYTES, 'b/uploads/x.txt': NOT_IMAGE });
    const event = [record('uploads/a.jpg'), record('uploads/x.txt')];
    await processS3Records(event, deps(store));
    const first = new Map(written);
    await processS3Records(event, deps(store));
    expect(written).toEqual(first);
  });

  it('ignores keys outside the input prefix, results and non-create events', async () => {
    const { store, written, state } = memoryStore({ 'b/results/uploads/a.jpg.json': FACE_BYTES, 'b/other/a.jpg': FACE_BYTES, 'b/uploads/a.jpg': FACE_BYTES });
    const outcomes = await processS3Records([
      record('results/uploads/a.jpg.json'), record('other/a.jpg'), record('uploads/a.jpg', { eventName: 'ObjectRemoved:Delete' }),
    ], deps(store));
    expect(outcomes.map((o) => o.outcome)).toEqual(['ignored', 'ignored', 'ignored']);
    expect(written.size).toBe(0);
    expect(state.reads).toBe(0);
  });

  it('skips an object deleted before it was processed', async () => {
    const { store, written } = memoryStore({});
    expect((await processS3Records([record('uploads/gone.jpg')], deps(store)))[0].outcome).toBe('skipped');
    expect(written.size).toBe(0);
  });

  it('skips an object replaced since the event (another ETag) without reading or writing anything', async () => {
    const { store, written, state } = memoryStore({ 'b/uploads/a.jpg': FACE_BYTES });
    const outcomes = await processS3Records([record('uploads/a.jpg', { eTag: '"old"' }), record('uploads/a.jpg', { eTag: 'abc' })], deps(store));
    expect(outcomes).toMatchObject([{ outcome: 'skipped', reason: 'object was replaced by a newer upload' }, { outcome: 'result' }]);
    expect(state.reads).toBe(1);
    expect([...written.keys()]).toEqual(['b/results/uploads/a.jpg.json']);
  });

  it('marks a record failed when even its error record cannot be written, and still processes the others', async () => {
    const { store, written, state } = memoryStore({ 'b/uploads/x.txt': NOT_IMAGE, 'b/uploads/a.jpg': FACE_BYTES });
    state.failPutKeys.add('results/uploads/x.txt.error.json');
    const outcomes = await processS3Records([record('uploads/x.txt'), record('uploads/a.jpg')], deps(store));
    expect(outcomes.map((o) => o.outcome)).toEqual(['failed', 'result']);
    expect([...written.keys()]).toEqual(['b/results/uploads/a.jpg.json']);
  });

  it('fails, without an error record, on errors a retry may fix', async () => {
    const { store, written } = memoryStore({ 'b/uploads/a.jpg': FACE_BYTES });
    const broken: S3Deps['analyzer'] = { analyze: async () => { throw new AppError('MODEL_LOAD_FAILED', 'weights missing'); } };
    const outcomes = await processS3Records([record('uploads/a.jpg')], deps(store, { analyzer: broken }));
    expect(outcomes[0]).toMatchObject({ outcome: 'failed', code: 'MODEL_LOAD_FAILED' });
    expect(written.size).toBe(0);
  });

  it('fails a malformed key instead of guessing it', async () => {
    const { store } = memoryStore({});
    const outcomes = await processS3Records([{ eventName: 'ObjectCreated:Put', bucket: 'b', encodedKey: 'uploads/%E0%A4%A.jpg' }], deps(store));
    expect(outcomes[0]).toMatchObject({ outcome: 'failed', code: 'INVALID_REQUEST' });
  });

  it('writes the records of an over-long key under the hashed name, with the whole key inside, the same on re-delivery', async () => {
    const face = `uploads/${'f'.repeat(1000)}.jpg`;
    const text = `uploads/${'t'.repeat(1000)}.txt`;
    const { store, written } = memoryStore({ [`b/${face}`]: FACE_BYTES, [`b/${text}`]: NOT_IMAGE });
    const event = [record(face), record(text)];
    const outcomes = await processS3Records(event, deps(store));
    const hash = (key: string) => createHash('sha256').update(key).digest('hex');
    expect(outcomes).toMatchObject([
      { outcome: 'result', resultKey: `results/_long/${hash(face)}.json` },
      { outcome: 'error', resultKey: `results/_long/${hash(text)}.error.json` },
    ]);
    expect(JSON.parse(written.get(`b/results/_long/${hash(face)}.json`)!).source.key).toBe(face);
    expect(JSON.parse(written.get(`b/results/_long/${hash(text)}.error.json`)!).source.key).toBe(text);
    const first = new Map(written);
    await processS3Records(event, deps(store));
    expect(written).toEqual(first);
  });

  it('writes to the results bucket when one is configured', async () => {
    const { store, written } = memoryStore({ 'b/uploads/a.jpg': FACE_BYTES });
    await processS3Records([record('uploads/a.jpg')], deps(store, { routing: { ...routing, resultsBucket: 'out' } }));
    expect([...written.keys()]).toEqual(['out/results/uploads/a.jpg.json']);
  });
});

describe('S3 prefix configuration', () => {
  const saved = { ...process.env };
  beforeEach(() => { delete process.env.S3_INPUT_PREFIX; delete process.env.S3_RESULTS_PREFIX; });
  afterEach(() => { process.env = { ...saved }; });

  it('refuses a results prefix inside the input prefix, and the reverse', () => {
    expect(() => checkS3Prefixes('uploads/', 'uploads/results/')).toThrow(/overlap/);
    expect(() => checkS3Prefixes('data/uploads/', 'data/')).toThrow(/overlap/);
    expect(() => checkS3Prefixes('uploads/', 'uploads/')).toThrow(/overlap/);
    expect(() => checkS3Prefixes('', 'results/')).toThrow(/S3_INPUT_PREFIX/);
    expect(() => checkS3Prefixes('uploads/', 'results/')).not.toThrow();
  });

  it('refuses an input prefix overlapping _long/, where the records of over-long keys go', () => {
    expect(() => checkS3Prefixes('_long/in/', 'results/')).toThrow(/_long/);
    expect(() => checkS3Prefixes('_', 'results/')).toThrow(/_long/);
    expect(() => checkS3Prefixes('_longer/', 'results/')).not.toThrow();
  });

  it('throws ConfigError naming the variables when the environment overlaps them', () => {
    process.env.S3_INPUT_PREFIX = 'in/';
    process.env.S3_RESULTS_PREFIX = 'in/out/';
    expect(() => loadConfig()).toThrow(/S3_RESULTS_PREFIX.*S3_INPUT_PREFIX/);
  });

  it('defaults to uploads/ and results/', () => {
    expect(loadConfig()).toMatchObject({ s3InputPrefix: 'uploads/', s3ResultsPrefix: 'results/', s3ResultsBucket: '' });
  });
});
