/** training/overrides.ts: the flags every training tool reads. */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
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

// A tool's typo used to print Node's source excerpt and a stack trace under the message.
describe('a tool given a bad command line', () => {
  const run = promisify(execFile);
  const ROOT = resolve(import.meta.dirname, '..', '..');
  const failureOf = (script: string, args: string[]) =>
    run(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, timeout: 60_000 })
      .then(() => undefined, (error: { code: number; stderr: string }) => error);

  it('prints the message alone and exits 2, whether the parser or the tool refuses it', async () => {
    const [unknownFlag, badCount] = await Promise.all([
      failureOf('training/data.ts', ['--bogus=1']),
      failureOf('training/train.ts', ['--task=age', '--batch=0']),
    ]);
    expect(unknownFlag?.code).toBe(2);
    expect(unknownFlag?.stderr.trim()).toBe('error: unknown option --bogus; known: data');
    expect(badCount?.code).toBe(2);
    expect(badCount?.stderr.trim()).toBe('error: --batch must be a whole number >= 1, got 0');
  }, 90_000);
});
