import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { composePhoto, sampleTestChips } from './support/utkface.js';

const run = promisify(execFile);

describe('npm run predict (CLI)', () => {
  it('prints one JSON line per file: faces for a photo, a coded error for a non-image', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-'));
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'not an image');
    const result = await run(process.execPath, ['--import', 'tsx', 'handlers/cli.ts', 'bench/fixtures/face-640x480.jpg', text])
      .catch((error: { stdout: string; code: number }) => error);
    expect(result).toHaveProperty('code', 1); // one file failed
    const [photo, bad] = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(photo.file).toBe('bench/fixtures/face-640x480.jpg');
    expect(photo.faces).toHaveLength(1);
    expect(photo.faces[0].age.low).toBeLessThanOrEqual(photo.faces[0].age.value);
    expect(['female', 'male']).toContain(photo.faces[0].gender.value);
    expect(photo.imageSize).toMatchObject({ width: 640, height: 480 });
    expect(bad).toEqual({ file: text, error: { code: 'UNSUPPORTED_IMAGE', message: expect.any(String) } });
  });

  // npm runs the script from the package root and says where it was typed in INIT_CWD.
  it('reads relative paths from the folder `npm run predict` was typed in', async () => {
    const env = { ...process.env, INIT_CWD: join(process.cwd(), 'bench') };
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'handlers/cli.ts', 'fixtures/face-640x480.jpg'], { env });
    expect(JSON.parse(stdout.trim()).faces).toHaveLength(1);
  });
});

describe('npm run predict flags', () => {
  const runCli = (args: string[], env = process.env) => run(process.execPath, ['--import', 'tsx', 'handlers/cli.ts', ...args], { env })
    .then((r) => ({ code: 0, ...r }), (error: { code: number; stdout: string; stderr: string }) => error);

  // `--max-faces 1` (a space, as most tools take it) used to be read as a file named "1".
  it('takes --max-faces N and --max-faces=N alike, and refuses unknown flags and bad counts with usage', async () => {
    const [a, b] = sampleTestChips(2);
    const image = join(mkdtempSync(join(tmpdir(), 'cli-')), 'two-faces.jpg');
    writeFileSync(image, await composePhoto(440, 200, 0x808080ff, [{ chip: a, x: 0, y: 0, size: 200 }, { chip: b, x: 240, y: 0, size: 200 }]));
    const [spaced, joined, unknown, zero] = await Promise.all([
      runCli([image, '--max-faces', '1']), runCli([image, '--max-faces=1']), runCli([image, '--maxfaces=1']), runCli([image, '--max-faces=0']),
    ]);
    expect(spaced.code).toBe(0);
    expect(JSON.parse((await runCli([image])).stdout).faces).toHaveLength(2);
    expect(JSON.parse(spaced.stdout).faces).toHaveLength(1);
    expect(JSON.parse(joined.stdout).faces).toEqual(JSON.parse(spaced.stdout).faces);
    for (const refused of [unknown, zero]) {
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/^usage: npm run predict/);
    }
  });

  // It printed an uncaught AppError's stack instead of the documented line per file.
  it('gives every file MODEL_LOAD_FAILED when the models cannot load', async () => {
    const failed = await runCli(['bench/fixtures/face-640x480.jpg'], { ...process.env, MODEL_DIR: '/nonexistent' });
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ file: 'bench/fixtures/face-640x480.jpg', error: { code: 'MODEL_LOAD_FAILED' } });
  });
});
