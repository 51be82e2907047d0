/**
 * A checkpoint resumes only under the options it was trained with (training/resumeCheck.ts):
 * same options (the resume-after-kill path) pass; a changed --lr, --epochs, --init, ... is listed.
 */
import { describe, expect, it } from 'vitest';
import { configDifferences, resumeRefusal } from '../../training/resumeCheck.js';

const defaults = { task: 'gender', seed: 1337, epochs: 20, lr: 2e-3, maxSteps: 0, init: '', teacher: '', name: '', out: '', data: '../shared/data' };
// A checkpoint's config went through JSON.stringify/parse (state.json).
const savedFrom = (config: Record<string, unknown>) => JSON.parse(JSON.stringify(config));

describe('configDifferences', () => {
  it('finds none when the run is resumed with its own options', () => {
    const config = { ...defaults, task: 'age', epochs: 8, lr: 5e-4, init: 'models/age' };
    expect(configDifferences(savedFrom(config), config, defaults)).toEqual([]);
  });

  it('lists every option that shapes the weights, with both values', () => {
    const saved = savedFrom({ ...defaults, epochs: 8, lr: 5e-4, init: 'models/age' });
    const now = { ...defaults, epochs: 12, lr: 5e-4, init: '', seed: 1 };
    expect(configDifferences(saved, now, defaults)).toEqual([
      { key: 'seed', saved: 1337, current: 1 },
      { key: 'epochs', saved: 8, current: 12 },
      { key: 'init', saved: 'models/age', current: '' },
    ]);
  });

  it('lets the checkpoint folder name, export folder and data folder differ: they change no weight', () => {
    const saved = savedFrom(defaults);
    expect(configDifferences(saved, { ...defaults, name: 'ours-gender', out: '/tmp/x', data: '/elsewhere' }, defaults)).toEqual([]);
  });

  it('counts --maxSteps: a capped run saved a part-trained epoch as done', () => {
    expect(configDifferences(savedFrom({ ...defaults, maxSteps: 3 }), defaults, defaults)).toEqual([{ key: 'maxSteps', saved: 3, current: 0 }]);
  });

  it('reads an option the checkpoint predates as its default, and a dropped option as a difference', () => {
    const { teacher: _, ...older } = defaults;
    expect(configDifferences(savedFrom(older), defaults, defaults)).toEqual([]);
    expect(configDifferences(savedFrom(older), { ...defaults, teacher: 'models/gender' }, defaults))
      .toEqual([{ key: 'teacher', saved: '', current: 'models/gender' }]);
    expect(configDifferences(savedFrom({ ...defaults, oldKnob: 2 }), defaults, defaults)).toEqual([{ key: 'oldKnob', saved: 2, current: undefined }]);
  });
});

describe('resumeRefusal', () => {
  it('names the checkpoint, each differing option, the original command and the ways forward', () => {
    const text = resumeRefusal('/r/checkpoints/ours-age', [{ key: 'lr', saved: 0.0005, current: 0.001 }, { key: 'oldKnob', saved: 2, current: undefined }],
      'npm run train -- --task=age --lr=5e-4');
    expect(text).toBe([
      '/r/checkpoints/ours-age was trained with other options; resuming would mix two recipes into one model:',
      '  --lr: checkpoint 0.0005, this run 0.001',
      '  --oldKnob: checkpoint 2, this run (no such option)',
      'Resume with the checkpoint\'s options (npm run train -- --task=age --lr=5e-4), or start a new run: another --name, or delete /r/checkpoints/ours-age.',
    ].join('\n'));
  });
});
