/**
 * training/checkpoint.ts: a resumed optimizer continues exactly where it stopped, and a
 * checkpoint swap killed at any point leaves a whole checkpoint behind.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { optimizerStateBytes, optimizerStateFrom } from '../../training/checkpoint.js';
import { recoverFolder, swapInFolder, swapNames } from '../../training/atomicWrites.js';

type Named = { name: string; tensor: tf.Tensor };

/** A tiny least-squares problem: w starts at `start`, Adam pulls it toward `target`. */
function problem(start: number[]) {
  const w = tf.variable(tf.tensor1d(start));
  const target = tf.tensor1d([3, -2, 0.5]);
  const loss = () => tf.sum(tf.square(tf.sub(w, target))) as tf.Scalar;
  return { w, loss };
}

describe('optimizer state', () => {
  /** Adam's step from `a`'s state restored into a fresh optimizer, against the uninterrupted step. */
  async function stepAfterResume(restore: (named: Named[]) => Named[]) {
    const a = problem([0, 0, 0]);
    const adam = tf.train.adam(0.05);
    for (let i = 0; i < 28; i++) adam.minimize(a.loss);
    // A new process: the same weights, a fresh Adam whose slots exist (one zero step), then the saved state.
    const b = problem(Array.from(a.w.dataSync()));
    const resumed = tf.train.adam(0.05);
    resumed.minimize(() => tf.mul(0, b.loss()) as tf.Scalar);
    b.w.assign(a.w);
    await resumed.setWeights(restore(await adam.getWeights()));
    const before = Array.from(a.w.dataSync());
    adam.minimize(a.loss);
    resumed.minimize(b.loss);
    const step = (w: tf.Variable) => Array.from(w.dataSync(), (v, i) => v - before[i]);
    return { uninterrupted: step(a.w), resumed: step(b.w) };
  }

  it('resumes Adam where it stopped: the next step matches the uninterrupted one', async () => {
    const { uninterrupted, resumed } = await stepAfterResume((named) => {
      const { index, bytes } = optimizerStateBytes(named);
      expect(index[0]).toMatchObject({ shape: [] }); // the step count, first
      expect(new Float32Array(bytes.buffer, bytes.byteOffset, 1)[0]).toBe(28);
      return optimizerStateFrom(index, bytes);
    });
    // Adam recomputes beta^t on setWeights where the running optimizer multiplied it up: float rounding only.
    resumed.forEach((v, i) => expect(v).toBeCloseTo(uninterrupted[i], 5));
  });

  // Adam then restarted its bias correction at step 1: here (step 29) a 1.8x larger step, in training
  // (hundreds of steps) a 1.6x and more smaller one, until its moments caught up.
  it('(the old format, read back as float32, made the step far from the uninterrupted one)', async () => {
    const { uninterrupted, resumed } = await stepAfterResume((named) => {
      const bytes = Buffer.concat(named.map((w) => Buffer.from(w.tensor.dataSync().buffer))); // as the old code wrote
      const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      let offset = 0;
      return named.map((w) => {
        const size = w.tensor.size;
        offset += size;
        return { name: w.name, tensor: tf.tensor(values.slice(offset - size, offset), w.tensor.shape) };
      });
    });
    resumed.forEach((v, i) => expect(Math.abs(v / uninterrupted[i] - 1)).toBeGreaterThan(0.5));
  });

  it('reads the step count of a checkpoint written before the fix (int32 bytes)', () => {
    const legacy = Buffer.concat([Buffer.from(Int32Array.of(28).buffer), Buffer.from(Float32Array.of(0.5, 0.25).buffer)]);
    const state = optimizerStateFrom([{ name: 'iter', shape: [] }, { name: 'm', shape: [2] }], legacy);
    expect(state[0].tensor.dataSync()[0]).toBe(28);
    expect(Array.from(state[1].tensor.dataSync())).toEqual([0.5, 0.25]);
  });
});

describe('swapInFolder', () => {
  const fresh = () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ckpt-')), 'run');
    mkdirSync(join(dir, 'best'), { recursive: true });
    mkdirSync(join(dir, 'epochs', '1'), { recursive: true });
    writeFileSync(join(dir, 'state.json'), '{"epoch":1}');
    writeFileSync(join(dir, 'best', 'model.json'), 'best of 1');
    writeFileSync(join(dir, 'epochs', '1', 'model.json'), 'epoch 1');
    return dir;
  };

  it('carries the kept folders over, adds the new files, and leaves no .tmp or .old', async () => {
    const dir = fresh();
    await swapInFolder(dir, ['epochs', 'best'], async (tmp) => {
      writeFileSync(join(tmp, 'state.json'), '{"epoch":2}');
      mkdirSync(join(tmp, 'epochs', '2'));
      writeFileSync(join(tmp, 'epochs', '2', 'model.json'), 'epoch 2');
    });
    expect(readFileSync(join(dir, 'state.json'), 'utf8')).toBe('{"epoch":2}');
    expect(readdirSync(join(dir, 'epochs')).sort()).toEqual(['1', '2']);
    expect(readFileSync(join(dir, 'best', 'model.json'), 'utf8')).toBe('best of 1');
    expect(existsSync(swapNames(dir).tmp) || existsSync(swapNames(dir).old)).toBe(false);
  });

  it('leaves the old checkpoint whole when the write dies half way (the old code had moved best/ and epochs/ out first)', async () => {
    const dir = fresh();
    await expect(swapInFolder(dir, ['epochs', 'best'], async (tmp) => {
      writeFileSync(join(tmp, 'state.json'), '{"epoch":2}');
      throw new Error('killed');
    })).rejects.toThrow('killed');
    recoverFolder(dir);
    expect(readFileSync(join(dir, 'state.json'), 'utf8')).toBe('{"epoch":1}');
    expect(readFileSync(join(dir, 'best', 'model.json'), 'utf8')).toBe('best of 1');
    expect(readFileSync(join(dir, 'epochs', '1', 'model.json'), 'utf8')).toBe('epoch 1');
    expect(existsSync(swapNames(dir).tmp)).toBe(false);
  });

  it('puts the old checkpoint back after a kill between the two renames', () => {
    const dir = fresh();
    renameSync(dir, swapNames(dir).old); // the swap's first rename done, its second not
    recoverFolder(dir);
    expect(readFileSync(join(dir, 'state.json'), 'utf8')).toBe('{"epoch":1}');
    expect(existsSync(swapNames(dir).old)).toBe(false);
  });
});
