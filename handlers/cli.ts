/**
 * Command-line adapter: the same JSON as POST /v1/predict, one line per file, for trying the
 * models without a server.
 *   npm run predict -- photo.jpg [more.png ...] [--no-detect] [--max-faces N]
 * Exit code 0 when every file got an answer, 1 when any got an error (printed as {"error": ...}).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { getAnalyzer } from '../lib/analyzer.js';
import { AppError, toAppError } from '../lib/errors.js';

const USAGE = 'usage: npm run predict -- photo.jpg [more.png ...] [--no-detect] [--max-faces N]';
/** The command line, or null when it is not one this tool takes (unknown flag, no file, a bad count). */
function parseCommandLine(args: string[]): { files: string[]; detect: boolean; maxFaces: number } | null {
  try {
    // parseArgs takes both `--max-faces=3` and `--max-faces 3`, and refuses unknown flags.
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { 'no-detect': { type: 'boolean' }, 'max-faces': { type: 'string' } } });
    const maxFaces = values['max-faces'] === undefined ? 10 : Number(values['max-faces']);
    if (positionals.length === 0 || !Number.isInteger(maxFaces) || maxFaces < 1) return null;
    return { files: positionals, detect: !values['no-detect'], maxFaces };
  } catch {
    return null;
  }
}

const commandLine = parseCommandLine(process.argv.slice(2));
if (!commandLine) {
  console.error(USAGE);
  process.exit(2);
}
const { files, detect, maxFaces } = commandLine;

// Models that cannot load (a wrong MODEL_DIR) are every file's error, printed as any other.
const analyzer = await getAnalyzer().catch((error: unknown) => {
  for (const file of files) console.log(JSON.stringify({ file, error: toAppError(error).toJSON() }));
  process.exit(1);
});
let failures = 0;
for (const file of files) {
  try {
    // npm runs scripts from the package root; INIT_CWD is where `npm run predict` was typed.
    const bytes = await readFile(resolve(process.env.INIT_CWD ?? process.cwd(), file)).catch((cause) => {
      throw new AppError('INVALID_REQUEST', `cannot read ${file}: ${(cause as NodeJS.ErrnoException).code ?? cause}`, { cause });
    });
    console.log(JSON.stringify({ file, ...(await analyzer.analyze(bytes, { detect, maxFaces })) }));
  } catch (error) {
    failures++;
    console.log(JSON.stringify({ file, error: toAppError(error).toJSON() }));
  }
}
process.exit(failures ? 1 : 0);
