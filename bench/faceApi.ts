/**
 * @vladmandic/face-api on our tfjs engine, without tfjs-node or a canvas: its CJS wasm build
 * (which `require`s our `@tensorflow/tfjs` and `-backend-wasm`), the folder its weights load
 * from with `nets.*.loadFromDisk`, and the input form it takes here (int32 RGB tensors).
 * Shared by the peer bench (bench/faceApiPeer.ts) and the training-time face descriptors
 * (training/faceEmbeddings.ts). Call lib/backend.ts `initBackend()` before loading a net.
 */
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type * as FaceApi from '@vladmandic/face-api/dist/face-api.node-wasm.js';

const require = createRequire(import.meta.url);
const faceapi: typeof FaceApi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const FACE_API_VERSION: string = require('@vladmandic/face-api/package.json').version;
const FACE_API_MODEL_DIR = join(resolve(import.meta.dirname, '..'), 'node_modules', '@vladmandic', 'face-api', 'model');

/** RGBA bitmap → int32 [h, w, 3] RGB tensor, the form face-api takes without a canvas. */
function toRgbTensor(bitmap: { data: Uint8Array | Buffer; width: number; height: number }): tf.Tensor3D {
  const { data, width, height } = bitmap;
  const rgb = new Int32Array(width * height * 3);
  for (let i = 0, j = 0; i < width * height * 4; i += 4, j += 3) {
    rgb[j] = data[i]; rgb[j + 1] = data[i + 1]; rgb[j + 2] = data[i + 2];
  }
  return tf.tensor3d(rgb, [height, width, 3], 'int32');
}

/** face-api's .d.ts bundles its own copy of the tfjs types; at run time the tensor is ours. */
function asInput(t: tf.Tensor3D | tf.Tensor3D[]): FaceApi.TNetInput {
  return t as unknown as FaceApi.TNetInput;
}

export { faceapi, FACE_API_VERSION, FACE_API_MODEL_DIR, toRgbTensor, asInput };
