/**
 * Command-line adapter: the same JSON as POST /v1/predict, one line per file, for trying the
 * models without a server.
 *   npm run predict -- photo.jpg [more.png ...] [--no-detect] [--max-faces=N]
 * Exit code 0 when every file got an answer, 1 when any got an error (printed as {"error": ...}).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { getAnalyzer } from '../lib/analyzer.js';
import { AppError, toAppError } from '../lib/errors.js';

const args = process.argv.slice(2);
const files = args.filter((a) => !a.startsWith('--'));
const detect = !args.includes('--no-detect');
const maxFacesFlag = args.find((a) => a.startsWith('--max-faces='));
const maxFaces = maxFacesFlag ? Number(maxFacesFlag.split('=')[1]) : 10;
const unknown = args.filter((a) => a.startsWith('--') && a !== '--no-detect' && !a.startsWith('--max-faces='));
if (files.length === 0 || unknown.length || !Number.isInteger(maxFaces) || maxFaces < 1) {
  console.error('usage: npm run predict -- photo.jpg [more.png ...] [--no-detect] [--max-faces=N]');
  process.exit(2);
}

const analyzer = await getAnalyzer();
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
