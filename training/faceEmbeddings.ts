/**
 * Face embeddings from a public-domain face-recognition net, for use as a training-time teacher.
 *
 * The net is dlib's ResNet face descriptor (Davis King, public domain; trained on ~3 M faces
 * of 7,485 identities from FaceScrub, VGG-Face and web images, not UTKFace), in the tfjs port
 * that @vladmandic/face-api ships as `face_recognition_model`. It never runs in serving: its
 * 128-d descriptors feed a probe (training/embeddingTeacher.ts) whose outputs become soft
 * targets for our gender net (`npm run train -- --teacherFile=...`), and the hint head of
 * `npm run train -- --auxEmbedding=...`.
 *
 *   npx tsx training/faceEmbeddings.ts [--data=../shared/data] [--shard=0/2]
 * Writes .cache/embeddings/dlib/<shard>.f32 (n x 128 float32) and <shard>.json (file names),
 * over all splits; run one process per core with --shard=0/2 and --shard=1/2.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Jimp } from 'jimp';
import { initBackend } from '../lib/backend.js';
import { faceapi, FACE_API_MODEL_DIR, asInput, toRgbTensor } from '../bench/faceApi.js';
import { DEFAULT_DATA_DIR } from './config.js';
import { loadRows } from './data.js';
import { EMBEDDING_DIR } from './embeddings.js';
import { parseCommandLine, UsageError } from './overrides.js';
import { ProgressBar } from './progress.js';

const config = parseCommandLine({ data: DEFAULT_DATA_DIR, shard: '0/1', batch: 16 });
const DIM = 128;

const [shardIndex, shardCount] = String(config.shard).split('/').map(Number);
if (!(shardCount >= 1 && shardIndex >= 0 && shardIndex < shardCount)) throw new UsageError(`--shard=${config.shard}: expected i/n`);

await initBackend();
await faceapi.nets.faceRecognitionNet.loadFromDisk(FACE_API_MODEL_DIR);

const dataDir = resolve(String(config.data));
const rows = loadRows(dataDir, false).filter((_, i) => i % shardCount === shardIndex);
const descriptors = new Float32Array(rows.length * DIM);
const bar = new ProgressBar(`embeddings ${shardIndex}/${shardCount}`, Math.ceil(rows.length / config.batch));

const chipTensor = async (file: string) => toRgbTensor((await Jimp.read(join(dataDir, 'utkface', file))).bitmap);

for (let start = 0; start < rows.length; start += config.batch) {
  const batch = rows.slice(start, start + config.batch);
  const chips = await Promise.all(batch.map((r) => chipTensor(r.file)));
  const out = await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(asInput(chips));
  const list = Array.isArray(out) ? out : [out];
  list.forEach((d, k) => descriptors.set(d, (start + k) * DIM));
  tf.dispose(chips);
  bar.tick();
}
bar.done();

mkdirSync(EMBEDDING_DIR, { recursive: true });
const stem = join(EMBEDDING_DIR, `${shardIndex}of${shardCount}`);
writeFileSync(`${stem}.f32`, Buffer.from(descriptors.buffer));
writeFileSync(`${stem}.json`, JSON.stringify({ model: 'face-api face_recognition_model (dlib ResNet, public domain)', dim: DIM, files: rows.map((r) => r.file) }));
console.log(`wrote ${rows.length} descriptors to ${stem}.f32`);
