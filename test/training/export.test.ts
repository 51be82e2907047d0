/** training/export.ts: an export replaces its folder whole, and only a folder that holds an earlier export. */
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { saveModelForServing } from '../../training/export.js';
import { swapNames } from '../../training/atomicWrites.js';

const tinyModel = () => tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 1 })] });
const manifest = { task: 'gender', preprocessFingerprint: 'test' };

describe('saveModelForServing', () => {
  it('writes model.json, weights.bin and manifest.json, and replaces an earlier export', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'export-')), 'gender');
    await saveModelForServing(tinyModel(), dir, manifest);
    await saveModelForServing(tinyModel(), dir, manifest);
    expect(readdirSync(dir).sort()).toEqual(['manifest.json', 'model.json', 'weights.bin']);
    expect(readdirSync(join(dir, '..'))).toEqual(['gender']); // no .tmp or .old left beside it
  });

  it('does not count hidden files or a killed calibrate\'s temporary manifest as foreign', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'export-')), 'gender');
    await saveModelForServing(tinyModel(), dir, manifest);
    writeFileSync(join(dir, '.DS_Store'), '');
    writeFileSync(join(dir, 'manifest.json.tmp-4242'), '{');
    await saveModelForServing(tinyModel(), dir, manifest);
    expect(readdirSync(dir).sort()).toEqual(['manifest.json', 'model.json', 'weights.bin']);
  });

  // The swap replaces the whole folder: `--out=models` would have deleted blazeface/ and the card.
  it('refuses a folder that holds anything but an earlier export, and leaves it as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'export-'));
    writeFileSync(join(dir, 'README.md'), 'model card');
    await expect(saveModelForServing(tinyModel(), dir, manifest)).rejects.toThrow(/refusing to export into .*README\.md/);
    expect(readdirSync(dir)).toEqual(['README.md']);
    expect(existsSync(swapNames(dir).tmp)).toBe(false);
  });
});
