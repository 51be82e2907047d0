/**
 * lib/backend.ts: starting the wasm backend leaves the process's error handling as it was. Its
 * loader's listeners rethrew every uncaught error, so each tool's error message came after a
 * ~39 KB minified line of the loader, with exit code 7.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..', '..');

describe('initBackend', () => {
  it('leaves an uncaught error after it to print its own message and exit 1', async () => {
    const failed = await run(process.execPath, ['--import', 'tsx', 'test/fixtures/throwAfterBackend.ts'], { cwd: ROOT, timeout: 60_000 })
      .then(() => undefined, (error: { code: number; stderr: string }) => error);
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('Error: boom after the backend started');
    expect(failed!.stderr.length).toBeLessThan(2_000);
  });
});
