/**
 * The port between lib/ and an object store (S3 in production, s3rver in tests, a Map in unit
 * tests). lib/ code reads and writes objects only through this interface; handlers/s3Store.ts
 * adapts the AWS SDK to it. Also the one place that turns an object into image bytes, so the
 * size limit is checked from the object's metadata before its body is read.
 */
import { AppError } from './errors.js';

interface ObjectRef {
  bucket: string;
  key: string;
  /** Read exactly this version (versioned buckets). */
  versionId?: string;
  /** Read only if the object still has this ETag (quotes optional); otherwise `changed`. */
  eTag?: string;
}

/** An object whose metadata has arrived but whose body has not been read yet. */
interface StoredObject {
  /** Content-Length in bytes, when the store reports it. */
  size: number | undefined;
  /** ETag without quotes. */
  eTag: string | undefined;
  versionId: string | undefined;
  /** Reads the whole body. */
  read(): Promise<Uint8Array>;
  /** Releases the body without reading it (frees the connection). */
  discard(): void;
}

type GetResult =
  | { status: 'found'; object: StoredObject }
  /** No such key. */
  | { status: 'missing' }
  /** Access denied (without s3:ListBucket, S3 also answers this for a missing key). */
  | { status: 'forbidden' }
  /** The object exists but no longer has the requested ETag: a newer upload replaced it. */
  | { status: 'changed' };

interface ObjectStore {
  get(ref: ObjectRef): Promise<GetResult>;
  /** Writes (replaces) a small UTF-8 text object. */
  put(target: { bucket: string; key: string }, body: string, contentType: string): Promise<void>;
}

type ImageObject =
  | { status: 'found'; bytes: Uint8Array; size: number; eTag: string | undefined; versionId: string | undefined }
  | { status: 'missing' }
  | { status: 'forbidden' }
  | { status: 'changed' };

/**
 * Reads an image object, refusing one over `maxBytes` from its Content-Length before the body
 * is fetched (and again from the bytes, in case the store did not report a length).
 * A store that stalls (no headers, or a body that stops arriving) fails with TIMEOUT at
 * `deadline` (epoch ms) instead of holding the invocation until Lambda kills it: the SDK sets no
 * timeout of its own, and a caller must get a result (verify) or a retry (S3 trigger), not a
 * function timeout. The abandoned body is discarded, freeing its connection.
 */
async function readImageObject(store: ObjectStore, ref: ObjectRef, maxBytes: number, deadline = Number.POSITIVE_INFINITY): Promise<ImageObject> {
  let inFlight: StoredObject | undefined;
  const reading = readWithinLimit(store, ref, maxBytes, (object) => { inFlight = object; });
  if (deadline === Number.POSITIVE_INFINITY) return reading;
  // Once the deadline wins the race, a later failure of the read must not become an unhandled rejection.
  reading.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      inFlight?.discard();
      reject(new AppError('TIMEOUT', 'the object store did not deliver the image within the time budget'));
    }, Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([reading, expired]);
  } finally {
    clearTimeout(timer);
  }
}

async function readWithinLimit(store: ObjectStore, ref: ObjectRef, maxBytes: number, onBodyPending: (object: StoredObject) => void): Promise<ImageObject> {
  const got = await store.get(ref);
  if (got.status !== 'found') return got;
  const { object } = got;
  onBodyPending(object);
  if (object.size !== undefined && object.size > maxBytes) {
    object.discard();
    throw new AppError('IMAGE_TOO_LARGE', `object is ${object.size} bytes, over the ${maxBytes} byte limit`, { details: { size: object.size, maxBytes } });
  }
  const bytes = await object.read();
  if (bytes.byteLength > maxBytes) {
    throw new AppError('IMAGE_TOO_LARGE', `object is ${bytes.byteLength} bytes, over the ${maxBytes} byte limit`, { details: { size: bytes.byteLength, maxBytes } });
  }
  return { status: 'found', bytes, size: bytes.byteLength, eTag: object.eTag, versionId: object.versionId };
}

/** ETags arrive quoted from GetObject and bare in S3 events; compare them bare. */
function bareETag(eTag: string | undefined): string | undefined {
  return eTag === undefined ? undefined : eTag.replace(/^"|"$/g, '');
}

export { readImageObject, bareETag };
export type { ObjectStore, ObjectRef, StoredObject, GetResult, ImageObject };
