import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

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
