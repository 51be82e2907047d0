import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAnalyzer, modelVersionOf } from '../../lib/analyzer.js';
import { checkS3Prefixes, getConfig, loadConfig } from '../../lib/config.js';
import { createLogger } from '../../lib/logger.js';
import { decodeS3Key, encodeS3Key, processS3Records, resultKeyFor } from '../../lib/s3Results.js';
import type { S3Deps, S3ObjectRecord } from '../../lib/s3Results.js';
import type { ObjectStore } from '../../lib/objectStore.js';
import { s3ObjectStore } from '../../handlers/s3Store.js';
import { chip, greyPng, listKeys, readText, s3 } from '../handlers/localAws.js';
import { observedStore } from '../support/observedStore.js';

/**
 * processS3Records on real parts: s3rver (serverless-s3-local, started by the test setup) through
 * the service's own S3 adapter, and the analyzer with the committed models. A thin wrapper
 * around the real store (test/support/observedStore.ts) counts body reads and fails chosen writes.
 */
const run = `lib${Date.now().toString(36)}`;
const bucket = `face-age-gender-lib-${run}`;
const s3Store = s3ObjectStore(s3);
const analyzer = await createAnalyzer();

const observed = (failPutKeys: string[] = []) => observedStore(s3Store, failPutKeys);

async function upload(key: string, body: Uint8Array | string, to = bucket): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: to, Key: key, Body: body }));
}

/** Every object under `prefix` with its text. */
async function recordsUnder(prefix: string, from = bucket): Promise<Map<string, string>> {
  const keys = await listKeys(prefix, from);
  return new Map(await Promise.all(keys.map(async (k) => [k, await readText(k, from)] as [string, string])));
}

const face = chip('man');
const routing = { inputPrefix: 'uploads/', resultsPrefix: 'results/', resultsBucket: '', maxObjectBytes: face.byteLength, timeBudgetMs: 20_000 };
const silent = createLogger('test', 'error');
const record = (key: string, extra: Partial<S3ObjectRecord> = {}): S3ObjectRecord => ({ eventName: 'ObjectCreated:Put', bucket, encodedKey: encodeS3Key(key), ...extra });
const deps = (store: ObjectStore, overrides: Partial<S3Deps> = {}): S3Deps => ({ store, analyzer, routing, deadline: Date.now() + 60_000, log: silent, ...overrides });

beforeAll(async () => {
  // A bucket without a trigger: only these calls write its records.
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await upload('uploads/face one.jpg', face);
  await upload('uploads/notes.txt', 'not an image');
  await upload('uploads/big.jpg', Buffer.concat([face, Buffer.alloc(1)])); // one byte over maxObjectBytes
  await upload('uploads/wall.png', await greyPng());
  await upload('results/uploads/a.jpg.json', face);
  await upload('other/a.jpg', face);
});

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

  it('gives no two keys the same record name: a key ending in .error is named by its hash', () => {
    // Copied, the result of a.jpg.error would be a.jpg's error record.
    expect(resultKeyFor('uploads/a.jpg', 'results/', 'error')).toBe('results/uploads/a.jpg.error.json');
    expect(resultKeyFor('uploads/a.jpg.error', 'results/', 'result')).toBe(`results/_long/${sha256('uploads/a.jpg.error')}.json`);
    expect(resultKeyFor('uploads/a.jpg.error', 'results/', 'error')).toBe(`results/_long/${sha256('uploads/a.jpg.error')}.error.json`);
    expect(resultKeyFor('uploads/a.error.jpg', 'results/', 'result')).toBe('results/uploads/a.error.jpg.json');
    const keys = ['uploads/a.jpg', 'uploads/a.jpg.error', 'uploads/a.jpg.error.error', 'uploads/a.jpg.json', 'uploads/a', 'uploads/a.error', keyOfBytes(1006), keyOfBytes(1005)];
    const names = keys.flatMap((k) => [resultKeyFor(k, 'results/', 'result'), resultKeyFor(k, 'results/', 'error')]);
    expect(new Set(names).size).toBe(names.length);
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
    const keys = ['uploads/face one.jpg', 'uploads/notes.txt', 'uploads/big.jpg', 'uploads/wall.png'];
    const outcomes = await processS3Records(keys.map((k) => record(k)), deps(s3Store, { routing: { ...routing, resultsPrefix: 'r1/' } }));
    expect(outcomes.map((o) => o.outcome)).toEqual(['result', 'error', 'error', 'error']);
    const written = await recordsUnder('r1/');
    expect([...written.keys()]).toEqual(['r1/uploads/big.jpg.error.json', 'r1/uploads/face one.jpg.json', 'r1/uploads/notes.txt.error.json', 'r1/uploads/wall.png.error.json']);
    const result = JSON.parse(written.get('r1/uploads/face one.jpg.json')!);
    expect(result).toMatchObject({ source: { bucket, key: 'uploads/face one.jpg', size: face.byteLength }, modelVersion: modelVersionOf(getConfig().modelDir) });
    expect(result.faces).toHaveLength(1);
    expect(result.faces[0].gender.value).toBe('male'); // the chip's label (28, male)
    expect(result.faces[0].age.low).toBeLessThanOrEqual(result.faces[0].age.value);
    expect(result).not.toHaveProperty('timingsMs');
    expect(JSON.parse(written.get('r1/uploads/notes.txt.error.json')!).error.code).toBe('UNSUPPORTED_IMAGE');
    expect(JSON.parse(written.get('r1/uploads/big.jpg.error.json')!).error).toMatchObject({ code: 'IMAGE_TOO_LARGE', details: { size: face.byteLength + 1, maxBytes: face.byteLength } });
    expect(JSON.parse(written.get('r1/uploads/wall.png.error.json')!).error.code).toBe('NO_FACE');
  });

  it('checks the size before reading the body', async () => {
    const { store, state } = observed();
    const outcomes = await processS3Records([record('uploads/big.jpg')], deps(store, { routing: { ...routing, resultsPrefix: 'r2/' } }));
    expect(outcomes[0]).toMatchObject({ outcome: 'error', code: 'IMAGE_TOO_LARGE' });
    expect(state.reads).toBe(0);
  });

  it('writes identical bytes when an event is delivered twice', async () => {
    const event = [record('uploads/face one.jpg'), record('uploads/notes.txt')];
    const again = { routing: { ...routing, resultsPrefix: 'r3/' } };
    await processS3Records(event, deps(s3Store, again));
    const first = await recordsUnder('r3/');
    expect(first.size).toBe(2);
    await processS3Records(event, deps(s3Store, again));
    expect(await recordsUnder('r3/')).toEqual(first);
  });

  it('ignores keys outside the input prefix, results and non-create events, without reading them', async () => {
    const { store, state } = observed();
    const outcomes = await processS3Records([
      record('results/uploads/a.jpg.json'), record('other/a.jpg'), record('uploads/face one.jpg', { eventName: 'ObjectRemoved:Delete' }),
    ], deps(store, { routing: { ...routing, resultsPrefix: 'results/' } }));
    expect(outcomes.map((o) => o.outcome)).toEqual(['ignored', 'ignored', 'ignored']);
    expect(await listKeys('results/', bucket)).toEqual(['results/uploads/a.jpg.json']); // the upload itself, nothing written
    expect(state.reads).toBe(0);
  });

  it('ignores the empty folder marker the S3 console creates, but not an empty upload', async () => {
    await upload('uploads/team/', '');
    await upload('uploads/empty.jpg', '');
    const { store, state } = observed();
    const outcomes = await processS3Records([record('uploads/team/', { size: 0 }), record('uploads/empty.jpg', { size: 0 })],
      deps(store, { routing: { ...routing, resultsPrefix: 'r9/' } }));
    expect(outcomes.map((o) => o.outcome)).toEqual(['ignored', 'error']);
    expect(await listKeys('r9/', bucket)).toEqual(['r9/uploads/empty.jpg.error.json']);
    expect(state.reads).toBe(1);
  });

  it('skips an object deleted before it was processed', async () => {
    const outcomes = await processS3Records([record('uploads/gone.jpg')], deps(s3Store, { routing: { ...routing, resultsPrefix: 'r4/' } }));
    expect(outcomes[0].outcome).toBe('skipped');
    expect(await listKeys('r4/', bucket)).toEqual([]);
  });

  it('marks a record failed when even its error record cannot be written, and still processes the others', async () => {
    const { store } = observed(['r5/uploads/notes.txt.error.json']);
    const outcomes = await processS3Records([record('uploads/notes.txt'), record('uploads/face one.jpg')], deps(store, { routing: { ...routing, resultsPrefix: 'r5/' } }));
    expect(outcomes.map((o) => o.outcome)).toEqual(['failed', 'result']);
    expect(await listKeys('r5/', bucket)).toEqual(['r5/uploads/face one.jpg.json']);
  });

  it('fails, without an error record, on errors a retry may fix (models that cannot load)', async () => {
    // As handlers/s3.ts does: the analyzer is created on first use; here from a folder without models.
    const broken: S3Deps['analyzer'] = { analyze: async (...args) => (await createAnalyzer({ ...getConfig(), modelDir: join(tmpdir(), `no-models-${run}`) })).analyze(...args) };
    const outcomes = await processS3Records([record('uploads/face one.jpg')], deps(s3Store, { analyzer: broken, routing: { ...routing, resultsPrefix: 'r6/' } }));
    expect(outcomes[0]).toMatchObject({ outcome: 'failed', code: 'MODEL_LOAD_FAILED' });
    expect(await listKeys('r6/', bucket)).toEqual([]);
  });

  it('fails a malformed key instead of guessing it', async () => {
    const outcomes = await processS3Records([{ eventName: 'ObjectCreated:Put', bucket, encodedKey: 'uploads/%E0%A4%A.jpg' }], deps(s3Store));
    expect(outcomes[0]).toMatchObject({ outcome: 'failed', code: 'INVALID_REQUEST' });
  });

  it('keeps both records of a key and the same key + .error (a review found one overwriting the other)', async () => {
    await upload('uploads/c.jpg', 'not an image');
    await upload('uploads/c.jpg.error', face);
    const outcomes = await processS3Records([record('uploads/c.jpg'), record('uploads/c.jpg.error')], deps(s3Store, { routing: { ...routing, resultsPrefix: 'r8/' } }));
    expect(outcomes.map((o) => o.outcome)).toEqual(['error', 'result']);
    const written = await recordsUnder('r8/');
    expect(written.size).toBe(2);
    expect(JSON.parse(written.get('r8/uploads/c.jpg.error.json')!)).toMatchObject({ source: { key: 'uploads/c.jpg' }, error: { code: 'UNSUPPORTED_IMAGE' } });
    const hashed = `r8/_long/${createHash('sha256').update('uploads/c.jpg.error').digest('hex')}.json`;
    expect(JSON.parse(written.get(hashed)!)).toMatchObject({ source: { key: 'uploads/c.jpg.error' }, faces: [{ gender: { value: 'male' } }] });
  });

  it('writes to the results bucket when one is configured', async () => {
    const out = `${bucket}-out`;
    await s3.send(new CreateBucketCommand({ Bucket: out }));
    await processS3Records([record('uploads/face one.jpg')], deps(s3Store, { routing: { ...routing, resultsPrefix: 'r7/', resultsBucket: out } }));
    expect(await listKeys('r7/', out)).toEqual(['r7/uploads/face one.jpg.json']);
    expect(await listKeys('r7/', bucket)).toEqual([]);
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
