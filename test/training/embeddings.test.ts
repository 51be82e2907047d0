/** Reading face-recognition descriptor shards (training/faceEmbeddings.ts output) for the teacher and the hint head. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEmbeddings, standardisedEmbeddings } from '../../training/embeddings.js';

function writeShard(dir: string, stem: string, files: string[], vectors: number[][]): void {
  writeFileSync(join(dir, `${stem}.json`), JSON.stringify({ dim: vectors[0].length, files }));
  writeFileSync(join(dir, `${stem}.f32`), Buffer.from(Float32Array.from(vectors.flat()).buffer));
}

describe('face embeddings', () => {
  it('joins the shards by file name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'emb-'));
    writeShard(dir, '0of2', ['a.jpg', 'c.jpg'], [[1, 2], [5, 6]]);
    writeShard(dir, '1of2', ['b.jpg'], [[3, 4]]);
    const { dim, byFile } = loadEmbeddings(dir);
    expect(dim).toBe(2);
    expect([...byFile.keys()].sort()).toEqual(['a.jpg', 'b.jpg', 'c.jpg']);
    expect(Array.from(byFile.get('b.jpg')!)).toEqual([3, 4]);
  });

  it('refuses a shard whose floats do not match its file list', () => {
    const dir = mkdtempSync(join(tmpdir(), 'emb-'));
    writeShard(dir, '0of1', ['a.jpg', 'b.jpg'], [[1, 2]]);
    expect(() => loadEmbeddings(dir)).toThrow(/0of1.json: 2 floats for 2 x 2/);
  });

  it('standardises each dimension over the given files, in their order, and names a missing one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'emb-'));
    writeShard(dir, '0of1', ['a.jpg', 'b.jpg', 'c.jpg'], [[1, 10], [2, 10], [3, 40]]);
    const { dim, table } = standardisedEmbeddings(['c.jpg', 'a.jpg', 'b.jpg'], dir);
    expect(dim).toBe(2);
    const s = Math.sqrt(2 / 3); // sd of 1, 2, 3
    const t = Math.sqrt(200); // sd of 10, 10, 40 (mean 20)
    const expected = [1 / s, 20 / t, -1 / s, -10 / t, 0, -10 / t];
    Array.from(table).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    expect(() => standardisedEmbeddings(['a.jpg', 'z.jpg'], dir)).toThrow(/no embedding for z.jpg/);
  });
});
