/**
 * Clients for the local AWS stand-ins the test setup starts with `sls offline start`:
 * serverless-offline's Lambda invoke endpoint and serverless-s3-local's s3rver
 * (test/setup/offline.ts and test/setup/s3Local.ts provide their addresses).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Jimp } from 'jimp';
import { inject } from 'vitest';

const { endpoint: S3_URL, bucket: BUCKET } = inject('s3Local');
const FUNCTION_PREFIX = 'face-age-gender-dev-';
const DATA_DIR = resolve(process.env.UTKFACE_DIR ?? '../shared/data');

const s3 = new S3Client({ endpoint: S3_URL, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
const lambda = new LambdaClient({ endpoint: inject('offline').lambdaEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });

/** Invokes a function synchronously; `functionError` is set when the handler threw. */
async function invoke<T = any>(name: 's3' | 'verify', payload: unknown): Promise<{ functionError?: string; payload: T }> {
  const out = await lambda.send(new InvokeCommand({ FunctionName: `${FUNCTION_PREFIX}${name}`, Payload: Buffer.from(JSON.stringify(payload)) }));
  if (out.StatusCode !== 200) throw new Error(`invoke ${name} answered ${out.StatusCode}`);
  return { functionError: out.FunctionError, payload: JSON.parse(new TextDecoder().decode(out.Payload)) as T };
}

async function listKeys(prefix: string, bucket = BUCKET): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(out.Contents ?? []).map((c) => c.Key!));
    token = out.NextContinuationToken;
  } while (token);
  return keys.sort();
}

async function readText(key: string, bucket = BUCKET): Promise<string> {
  return (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
}

/** Polls `check` every 250 ms until it returns a value or `timeoutMs` passes. */
async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined || Date.now() > end) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** UTKFace test-split chips (200x200, one face each, detection score ~0.9). */
const CHIPS = {
  youngWoman: '20_1_4_20170103201807368.jpg.chip.jpg',
  man: '28_0_1_20170113195927894.jpg.chip.jpg',
} as const;

function chip(name: keyof typeof CHIPS): Buffer {
  return readFileSync(join(DATA_DIR, 'utkface', CHIPS[name]));
}

/** A flat grey PNG: decodes fine, has no face. */
async function greyPng(): Promise<Buffer> {
  return new Jimp({ width: 200, height: 200, color: 0x808080ff }).getBuffer('image/png');
}

/** Both chips side by side on grey: two faces. */
async function twoFacesPng(): Promise<Buffer> {
  const image = new Jimp({ width: 440, height: 200, color: 0x808080ff });
  image.composite(await Jimp.read(chip('youngWoman')), 0, 0);
  image.composite(await Jimp.read(chip('man')), 240, 0);
  return image.getBuffer('image/png');
}

export { s3, lambda, invoke, listKeys, readText, waitFor, chip, greyPng, twoFacesPng, BUCKET };
