/**
 * The whole project type-checks (lib, handlers, training, bench, test). vitest strips types
 * without checking them, so without this a merge that breaks a type would pass CI.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('tsc --noEmit', () => {
  it('reports no type errors', async () => {
    const run = promisify(execFile);
    const result = await run(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', '.'], { timeout: 240_000 })
      .then(() => ({ ok: true, output: '' }))
      .catch((error: { stdout?: string; stderr?: string }) => ({ ok: false, output: `${error.stdout ?? ''}${error.stderr ?? ''}` }));
    expect(result.output).toBe('');
    expect(result.ok).toBe(true);
  }, 250_000);
});
