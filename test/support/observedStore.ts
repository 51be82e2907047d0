/**
 * A real ObjectStore (the service's S3 adapter on s3rver) seen through a thin wrapper: it counts
 * body reads and makes writes to chosen keys fail, as S3 throttling would. Everything else goes
 * to the real store.
 */
import type { ObjectStore } from '../../lib/objectStore.js';

function observedStore(real: ObjectStore, failPutKeys: string[] = []): { store: ObjectStore; state: { reads: number } } {
  const state = { reads: 0 };
  const store: ObjectStore = {
    async get(ref) {
      const got = await real.get(ref);
      if (got.status !== 'found') return got;
      const { object } = got;
      return { status: 'found', object: { ...object, read: async () => { state.reads++; return object.read(); }, discard: () => object.discard() } };
    },
    async put(target, body, contentType) {
      if (failPutKeys.includes(target.key)) throw new Error('SlowDown');
      return real.put(target, body, contentType);
    },
  };
  return { store, state };
}

export { observedStore };
