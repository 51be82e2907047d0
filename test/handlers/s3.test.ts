/**
 * The s3 function end to end on real parts: objects go into serverless-s3-local's s3rver with
 * the AWS SDK; its ObjectCreated notification runs the bundled handler in serverless-offline,
 * which reads and writes s3rver through the SDK. Re-delivery and multi-record events are sent
 * through the Lambda invoke endpoint, with keys URL-encoded as S3 encodes them (s3rver's own
 * notifications carry raw keys, so they cannot show the decoding).
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createLogger } from '../../lib/logger.js';
import { encodeS3Key, processS3Records } from '../../lib/s3Results.js';
import { s3ObjectStore } from '../../handlers/s3Store.js';
import { startIfMatchProxy } from '../support/ifMatchProxy.js';
import { BUCKET, chip, greyPng, invoke, listKeys, readText, s3, waitFor } from './localAws.js';

const run = `t${Date.now().toString(36)}`;
/** Uploads under the input prefix and the record each must produce. */
const UPLOADS = {
  [`uploads/${run}/face.jpg`]: { record: 'json' },
  [`uploads/${run}/my photo été 😀 (1).jpg`]: { record: 'json' },
  [`uploads/${run}/notes.txt`]: { record: 'error', code: 'UNSUPPORTED_IMAGE' },
  [`uploads/${run}/wall.png`]: { record: 'error', code: 'NO_FACE' },
  [`uploads/${run}/huge.jpg`]: { record: 'error', code: 'IMAGE_TOO_LARGE' },
} as const;
const OUTSIDE = `other/${run}/face.jpg`;
const resultKey = (key: string) => `results/${key}.${UPLOADS[key].record === 'json' ? 'json' : 'error.json'}`;

async function put(key: string, body: Uint8Array | string, bucket = BUCKET): Promise<string> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  return (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ETag!.replace(/"/g, '');
}

const sha256 = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex');

/**
 * A key of exactly `bytes` UTF-8 bytes under `folder`, mostly in 101-byte folders of 'é' (2 bytes
 * each): s3rver stores a key as a file path, and no part of a path may exceed 255 bytes.
 */
function longKey(folder: string, bytes: number, ext: string): string {
  let key = folder;
  while (Buffer.byteLength(key) + 101 + ext.length + 10 < bytes) key += `${'é'.repeat(50)}/`;
  return `${key}${'a'.repeat(bytes - Buffer.byteLength(key) - ext.length)}${ext}`;
}

/** An S3 notification record as AWS sends it: URL-encoded key, bare ETag. */
function s3Record(key: string, eTag: string, size: number, bucket = BUCKET) {
  return {
    eventVersion: '2.1', eventSource: 'aws:s3', awsRegion: 'us-east-1', eventTime: new Date().toISOString(), eventName: 'ObjectCreated:Put',
    s3: { s3SchemaVersion: '1.0', configurationId: 'test', bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` }, object: { key: encodeS3Key(key), size, eTag, sequencer: '0' } },
  };
}

describe('s3 handler', () => {
  const bodies: Record<string, Uint8Array | string> = {};
  const eTags: Record<string, string> = {};
  const firstRecords: Record<string, string> = {};

  beforeAll(async () => {
    bodies[`uploads/${run}/face.jpg`] = chip('man');
    bodies[`uploads/${run}/my photo été 😀 (1).jpg`] = chip('youngWoman');
    bodies[`uploads/${run}/notes.txt`] = 'not an image';
    bodies[`uploads/${run}/wall.png`] = await greyPng();
    bodies[`uploads/${run}/huge.jpg`] = new Uint8Array(15 * 1024 * 1024 + 1); // MAX_S3_IMAGE_BYTES + 1
    bodies[OUTSIDE] = chip('man');
    for (const [key, body] of Object.entries(bodies)) eTags[key] = await put(key, body);
  });

  it('writes exactly one record per upload through the S3 trigger, and none for other prefixes', async () => {
    const expected = Object.keys(UPLOADS).map(resultKey).sort();
    const keys = await waitFor(async () => {
      const found = await listKeys(`results/uploads/${run}/`);
      return found.length >= expected.length ? found : undefined;
    }, 90_000);
    expect(keys).toEqual(expected);
    // Give a looping trigger time to show itself: nothing more may appear.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await listKeys(`results/uploads/${run}/`)).toEqual(expected);
    expect(await listKeys(`results/other/${run}/`)).toEqual([]);
    expect(await listKeys('results/results/')).toEqual([]);
    for (const key of expected) firstRecords[key] = await readText(key);
  });

  it('records faces, and error codes for a non-image, no face and an oversize object', async () => {
    for (const [key, want] of Object.entries(UPLOADS)) {
      const record = JSON.parse(firstRecords[resultKey(key)]);
      expect(record.source).toMatchObject({ bucket: BUCKET, key, eTag: eTags[key] });
      if (want.record === 'json') {
        expect(record.faces).toHaveLength(1);
        expect(record.faces[0].age.value).toBeGreaterThan(0);
        expect(record.modelVersion).toMatch(/^age-\w+\+gender-\w+$/);
        expect(record).not.toHaveProperty('timingsMs');
      } else {
        expect(record.error.code).toBe(want.code);
      }
    }
  });

  it('gives identical records when the event is delivered again with several URL-encoded records', async () => {
    const keys = [...Object.keys(UPLOADS), OUTSIDE];
    const event = { Records: keys.map((k) => s3Record(k, eTags[k], typeof bodies[k] === 'string' ? bodies[k].length : bodies[k].byteLength)) };
    expect(event.Records[1].s3.object.key).toBe(`uploads/${run}/my+photo+%C3%A9t%C3%A9+%F0%9F%98%80+%281%29.jpg`);
    const { functionError, payload } = await invoke('s3', event);
    expect(functionError).toBeUndefined();
    expect(payload.records.map((r: { outcome: string }) => r.outcome)).toEqual(['result', 'result', 'error', 'error', 'error', 'ignored']);
    for (const [key, text] of Object.entries(firstRecords)) expect(await readText(key)).toBe(text);
    expect(await listKeys(`results/uploads/${run}/`)).toEqual(Object.keys(firstRecords).sort());
  });

  it('fails the invocation for a record it cannot record, after recording the others', async () => {
    // A bucket without a trigger, so only this invocation writes its results.
    const quiet = `face-age-gender-quiet-${run}`;
    await s3.send(new CreateBucketCommand({ Bucket: quiet }));
    const key = `uploads/${run}/face.jpg`;
    const eTag = await put(key, chip('man'), quiet);
    const malformed = s3Record(key, eTag, 1, quiet);
    malformed.s3.object.key = 'uploads/%E0%A4%A.jpg';
    const { functionError, payload } = await invoke('s3', { Records: [malformed, s3Record(key, eTag, 1, quiet)] });
    expect(functionError).toBe('Unhandled');
    expect(payload.errorMessage).toMatch(/1 of 2 records could not be recorded/);
    expect(await listKeys('results/', quiet)).toEqual([`results/${key}.json`]);
  });

  it('writes the records of a key too long to copy into a record key under results/_long/<SHA-256 of the key>', async () => {
    const face = longKey(`uploads/${run}-long/`, 1020, '.jpg');
    const text = longKey(`uploads/${run}-long/`, 1020, '.txt');
    // results/<key>.json would be 1033 bytes: S3 refuses keys over 1024 (s3rver does not check).
    expect(Buffer.byteLength(face)).toBe(1020);
    const want = { [face]: `results/_long/${sha256(face)}.json`, [text]: `results/_long/${sha256(text)}.error.json` };
    const longETags = { [face]: await put(face, chip('man')), [text]: await put(text, 'not an image') };
    const keys = await waitFor(async () => {
      const found = await listKeys('results/_long/');
      return found.length >= 2 ? found : undefined;
    }, 90_000);
    expect(keys).toEqual(Object.values(want).sort());
    expect(await listKeys(`results/uploads/${run}-long/`)).toEqual([]);
    const records = Object.fromEntries(await Promise.all(Object.values(want).map(async (k) => [k, await readText(k)])));
    expect(JSON.parse(records[want[face]])).toMatchObject({ source: { key: face, eTag: longETags[face] }, faces: [{ gender: {} }] });
    expect(JSON.parse(records[want[text]])).toMatchObject({ source: { key: text, eTag: longETags[text] }, error: { code: 'UNSUPPORTED_IMAGE' } });
    // Re-delivered: the same names, the same bytes.
    const { functionError, payload } = await invoke('s3', { Records: [s3Record(face, longETags[face], 1), s3Record(text, longETags[text], 1)] });
    expect(functionError).toBeUndefined();
    expect(payload.records).toMatchObject([{ outcome: 'result', resultKey: want[face] }, { outcome: 'error', resultKey: want[text] }]);
    for (const [key, text] of Object.entries(records)) expect(await readText(key)).toBe(text);
    expect(await listKeys('results/_long/')).toEqual(Object.values(want).sort());
  });

  it('fails an event that is not an S3 notification', async () => {
    expect((await invoke('s3', { hello: 'world' })).functionError).toBe('Unhandled');
  });
});

describe('s3 handler, an event for an object replaced since (README: skipped, the newer upload\'s event writes the record)', () => {
  // A bucket without a trigger: only the invocations below write records.
  const bucket = `face-age-gender-replaced-${run}`;
  const key = `uploads/${run}/replaced.jpg`;
  const record = `results/${key}.json`;
  const old = chip('man');
  let oldETag: string;
  let newETag: string;
  let current: string;

  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    oldETag = await put(key, old, bucket);
    newETag = await put(key, chip('youngWoman'), bucket);
    expect(newETag).not.toBe(oldETag);
    const { functionError, payload } = await invoke('s3', { Records: [s3Record(key, newETag, 1, bucket)] });
    expect(functionError).toBeUndefined();
    expect(payload.records[0].outcome).toBe('result');
    current = await readText(record, bucket);
    expect(JSON.parse(current).source.eTag).toBe(newETag);
  });

  it('through the Lambda on s3rver, which ignores If-Match: the stale event still leaves only the current object\'s record', async () => {
    // s3rver 3.7 answers GetObject with a stale If-Match with the current object, where S3
    // answers 412; so here the handler cannot see the replacement and cannot skip.
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: `"${oldETag}"` }));
    await got.Body!.transformToByteArray();
    expect(got.ETag).toBe(`"${newETag}"`);
    const { functionError, payload } = await invoke('s3', { Records: [s3Record(key, oldETag, old.byteLength, bucket)] });
    expect(functionError).toBeUndefined();
    // Not 'skipped' on this server (see above); the record is still not stale, because its
    // source.eTag and faces come from the object actually read, never from the event.
    expect(payload.records[0].outcome).toBe('result');
    expect(await readText(record, bucket)).toBe(current);
    expect(await listKeys('results/', bucket)).toEqual([record]);
  });

  it('is skipped without being analysed or writing anything when If-Match is answered as S3 does', async () => {
    const proxy = await startIfMatchProxy(inject('s3Local').endpoint);
    try {
      const client = new S3Client({ endpoint: proxy.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
      const store = s3ObjectStore(client);
      // The adapter sends the event's ETag as If-Match and reads S3's 412 as 'changed'.
      expect(await store.get({ bucket, key, eTag: oldETag })).toEqual({ status: 'changed' });
      const found = await store.get({ bucket, key, eTag: newETag });
      expect(found).toMatchObject({ status: 'found', object: { eTag: newETag } });
      if (found.status === 'found') found.object.discard();
      const analyzer = { analyze: async (): Promise<never> => { throw new Error('a replaced object must not be analysed'); } };
      const routing = { inputPrefix: 'uploads/', resultsPrefix: 'results/', resultsBucket: '', maxObjectBytes: 15 * 1024 * 1024, timeBudgetMs: 20_000 };
      const stale = { eventName: 'ObjectCreated:Put', bucket, encodedKey: encodeS3Key(key), size: old.byteLength, eTag: oldETag };
      const outcomes = await processS3Records([stale], { store, analyzer, routing, deadline: Date.now() + 60_000, log: createLogger('test', 'error') });
      expect(outcomes).toEqual([{ key, outcome: 'skipped', reason: 'object was replaced by a newer upload' }]);
      expect(await readText(record, bucket)).toBe(current);
      expect(await listKeys('results/', bucket)).toEqual([record]);
      client.destroy();
    } finally {
      await proxy.close();
    }
  });
});
