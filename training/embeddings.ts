/**
 * Reads the face-recognition descriptors training/faceEmbeddings.ts wrote (one file pair per
 * shard), by chip file name. Used at training time only: by the gender teacher's probe
 * (embeddingTeacher.ts) and by train.ts's --auxEmbedding hint head.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from './overrides.js';

const EMBEDDING_DIR = resolve(import.meta.dirname, '..', '.cache', 'embeddings', 'dlib');

function loadEmbeddings(dir = EMBEDDING_DIR): { dim: number; byFile: Map<string, Float32Array> } {
  const byFile = new Map<string, Float32Array>();
  let dim = 0;
  if (!existsSync(dir)) throw new UsageError(`no face descriptors in ${dir}: run training/faceEmbeddings.ts (--shard=0/2 and --shard=1/2) first`);
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const meta = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { dim: number; files: string[] };
    const bin = readFileSync(join(dir, name.replace(/\.json$/, '.f32')));
    const all = new Float32Array(bin.buffer, bin.byteOffset, bin.byteLength / 4);
    if (all.length !== meta.files.length * meta.dim) throw new Error(`${name}: ${all.length} floats for ${meta.files.length} x ${meta.dim}`);
    dim = meta.dim;
    meta.files.forEach((f, i) => byFile.set(f, all.slice(i * dim, (i + 1) * dim)));
  }
  return { dim, byFile };
}

/** The descriptors of `files`, in that order, as one n x dim table; names a file that has none. */
function embeddingTable(files: string[], byFile: Map<string, Float32Array>, dim: number): Float32Array {
  const table = new Float32Array(files.length * dim);
  files.forEach((f, i) => {
    const e = byFile.get(f);
    if (!e) throw new UsageError(`no embedding for ${f}: run training/faceEmbeddings.ts on every shard`);
    table.set(e, i * dim);
  });
  return table;
}

/**
 * One descriptor per file, in `files` order, standardised per dimension with the mean and sd over
 * `files` (the training set), so a regression onto them weighs every dimension alike.
 */
function standardisedEmbeddings(files: string[], dir = EMBEDDING_DIR): { dim: number; table: Float32Array } {
  const { dim, byFile } = loadEmbeddings(dir);
  const table = embeddingTable(files, byFile, dim);
  for (let j = 0; j < dim; j++) {
    let mean = 0;
    let sq = 0;
    for (let i = 0; i < files.length; i++) mean += table[i * dim + j] / files.length;
    for (let i = 0; i < files.length; i++) sq += (table[i * dim + j] - mean) ** 2 / files.length;
    const sd = Math.sqrt(sq) || 1;
    for (let i = 0; i < files.length; i++) table[i * dim + j] = (table[i * dim + j] - mean) / sd;
  }
  return { dim, table };
}

export { EMBEDDING_DIR, loadEmbeddings, embeddingTable, standardisedEmbeddings };
