/**
 * A training checkpoint on disk: the optimizer's state as bytes, and a folder swap that a kill at
 * any moment leaves whole (the old checkpoint or the new one, never a mix or nothing).
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** What an optimizer's getWeights gives and setWeights takes. */
interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

interface OptimizerIndexEntry {
  name: string;
  shape: number[];
}

/**
 * The optimizer's weights as an index and float32 bytes. Every value is written as float32,
 * including Adam's int32 step count: its int32 bytes read back as float32 were a denormal (step
 * 28 -> 3.9e-44), so a resumed Adam restarted its bias correction at step 0 and took wrongly
 * sized steps until its moments caught up (1.8x too large at step 29 in the test; too small
 * after hundreds of steps).
 */
function optimizerStateBytes(named: NamedTensor[]): { index: OptimizerIndexEntry[]; bytes: Buffer } {
  const index = named.map((w) => ({ name: w.name, shape: w.tensor.shape }));
  const bytes = Buffer.concat(named.map((w) => Buffer.from(Float32Array.from(w.tensor.dataSync()).buffer)));
  return { index, bytes };
}

/**
 * The inverse of optimizerStateBytes. A checkpoint written before the fix above holds its step
 * count as int32 bytes: a scalar first value that reads as a positive denormal is one of those.
 */
function optimizerStateFrom(index: OptimizerIndexEntry[], bytes: Buffer): NamedTensor[] {
  const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  if (index[0]?.shape.length === 0 && values[0] > 0 && values[0] < 1e-30) {
    values[0] = new Int32Array(values.buffer, 0, 1)[0];
  }
  let offset = 0;
  return index.map((w) => {
    const size = w.shape.reduce((a, b) => a * b, 1);
    offset += size;
    return { name: w.name, tensor: tf.tensor(values.slice(offset - size, offset), w.shape) };
  });
}

/** Recreates `src`'s tree at `dst` with hard links: the files are immutable once written, so sharing them is safe and costs no copy. */
function linkTree(src: string, dst: string): void {
  mkdirSync(dst, { recursive: true });
  for (const entry of readdirSync(src)) {
    const from = join(src, entry);
    if (statSync(from).isDirectory()) linkTree(from, join(dst, entry));
    else linkSync(from, join(dst, entry));
  }
}

/**
 * Replaces the checkpoint folder `dir` by a new one that `write` fills in `<dir>.tmp`. `keep`
 * names the subfolders of the old checkpoint the new one carries over, hard-linked before `write`
 * runs: it may add files to them but must not rewrite one (that would change the old checkpoint's
 * copy too; delete it first). The old folder is only renamed, to `<dir>.old`, until the new one
 * is in place: a kill before that leaves `dir` as it was; between the two renames, only
 * `<dir>.old` exists, and recoverCheckpoint puts it back.
 */
async function swapInCheckpoint(dir: string, keep: string[], write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${dir}.tmp`;
  const old = `${dir}.old`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const sub of keep) if (existsSync(join(dir, sub))) linkTree(join(dir, sub), join(tmp, sub));
  await write(tmp);
  rmSync(old, { recursive: true, force: true });
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

/**
 * Before reading a checkpoint: a kill between swapInCheckpoint's two renames left only
 * `<dir>.old`, the last complete checkpoint; put it back. A `<dir>.tmp` is an unfinished write.
 */
function recoverCheckpoint(dir: string): void {
  const old = `${dir}.old`;
  if (existsSync(old)) {
    if (existsSync(dir)) rmSync(old, { recursive: true, force: true });
    else renameSync(old, dir);
  }
  rmSync(`${dir}.tmp`, { recursive: true, force: true });
}

export { optimizerStateBytes, optimizerStateFrom, swapInCheckpoint, recoverCheckpoint };
export type { OptimizerIndexEntry };
