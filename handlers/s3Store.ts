/**
 * The AWS SDK adapter for lib/objectStore.ts's port, shared by the s3 and verify handlers.
 * One GetObject per read: its headers (Content-Length, ETag) arrive before the body, so the
 * size limit is checked without downloading an oversize object.
 */
import { GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { Config } from '../lib/config.js';
import { bareETag } from '../lib/objectStore.js';
import type { GetResult, ObjectRef, ObjectStore } from '../lib/objectStore.js';

function createS3Client(config: Pick<Config, 's3Endpoint'>): S3Client {
  // A local S3 server (s3rver) needs path-style URLs; on AWS the SDK's defaults apply.
  return config.s3Endpoint ? new S3Client({ endpoint: config.s3Endpoint, forcePathStyle: true }) : new S3Client({});
}

function s3ObjectStore(client: S3Client): ObjectStore {
  return {
    async get(ref: ObjectRef): Promise<GetResult> {
      try {
        const out = await client.send(new GetObjectCommand({
          Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId, IfMatch: ref.eTag ? `"${bareETag(ref.eTag)}"` : undefined,
        }));
        const body = out.Body;
        if (!body) return { status: 'missing' };
        return {
          status: 'found',
          object: {
            size: out.ContentLength, eTag: bareETag(out.ETag), versionId: out.VersionId,
            read: async () => body.transformToByteArray(),
            discard: () => { (body as { destroy?: () => void }).destroy?.(); },
          },
        };
      } catch (error) {
        if (error instanceof S3ServiceException) {
          const status = error.$metadata.httpStatusCode;
          if (error.name === 'NoSuchKey' || error.name === 'NoSuchVersion' || status === 404) return { status: 'missing' };
          if (error.name === 'PreconditionFailed' || status === 412) return { status: 'changed' };
          if (error.name === 'AccessDenied' || status === 403) return { status: 'forbidden' };
        }
        throw error;
      }
    },
    async put(target, body, contentType) {
      await client.send(new PutObjectCommand({ Bucket: target.bucket, Key: target.key, Body: body, ContentType: contentType }));
    },
  };
}

export { createS3Client, s3ObjectStore };
