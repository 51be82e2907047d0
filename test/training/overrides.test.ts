/** training/overrides.ts: the flags every training tool reads. */
import { describe, expect, it } from 'vitest';
import { parseOverrides } from '../../training/overrides.js';

const defaults = { task: 'gender', epochs: 20, out: '' };

describe('parseOverrides', () => {
  it('takes --key=value and --key value', () => {
    expect(parseOverrides(defaults, ['--task=age', '--epochs', '8'])).toEqual({ task: 'age', epochs: 8, out: '' });
  });

  it('refuses unknown keys, non-numbers for numbers, stray arguments and missing values', () => {
    expect(() => parseOverrides(defaults, ['--tsk=age'])).toThrow(/unknown option --tsk/);
    expect(() => parseOverrides(defaults, ['--epochs=ten'])).toThrow(/must be a number/);
    expect(() => parseOverrides(defaults, ['age'])).toThrow(/unexpected argument/);
    expect(() => parseOverrides(defaults, ['--epochs'])).toThrow(/needs a value/);
  });

  // `--epochs=` used to read as 0 epochs, and train's `--out=` fell back to models/<task>.
  it('refuses an empty value', () => {
    expect(() => parseOverrides(defaults, ['--epochs='])).toThrow(/--epochs needs a value/);
    expect(() => parseOverrides(defaults, ['--out='])).toThrow(/--out needs a value/);
  });
});
