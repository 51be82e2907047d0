/**
 * A training checkpoint's optimizer state as bytes (the folder swap that a kill leaves whole is
 * atomicWrites.ts's swapInFolder).
 */
import * as tf from '@tensorflow/tfjs';

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

export { optimizerStateBytes, optimizerStateFrom };
export type { OptimizerIndexEntry };
