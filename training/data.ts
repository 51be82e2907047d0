/**
 * Step 1, data collection: reads utkface.csv, validates every row against its image file
 * and file name, and prints a summary (per split counts, age histogram, gender and race balance).
 *   npm run data -- [--data=../shared/data]
 */
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_DATA_DIR } from './config.js';
import { parseCommandLine, UsageError } from './overrides.js';

type Split = 'train' | 'val' | 'test';
type Gender = 'male' | 'female';

interface FaceRow {
  file: string;
  age: number;
  gender: Gender;
  /** 0 White, 1 Black, 2 Asian, 3 Indian, 4 Others (UTKFace coding). */
  race: number;
  split: Split;
}

const RACE_NAMES = ['White', 'Black', 'Asian', 'Indian', 'Others'] as const;
const SPLITS: readonly Split[] = ['train', 'val', 'test'];

/** Parses and validates utkface.csv; throws listing every bad row. */
function loadRows(dir: string, checkFiles = true): FaceRow[] {
  const csvPath = join(dir, 'utkface.csv');
  // Most often a mistyped --data (or UTKFACE_DIR): said plainly, as a usage error, not as ENOENT's stack.
  if (!existsSync(csvPath)) throw new UsageError(`no utkface.csv in ${dir}: point --data (or UTKFACE_DIR) at the UTKFace folder (../shared/data/README.md)`);
  const lines = readFileSync(csvPath, 'utf8').trim().split(/\r?\n/);
  if (lines[0] !== 'file,age,gender,race,split') throw new Error(`unexpected CSV header: ${lines[0]}`);
  const rows: FaceRow[] = [];
  const problems: string[] = [];
  for (const [i, line] of lines.slice(1).entries()) {
    const [file, ageText, gender, raceText, split] = line.split(',');
    const age = Number(ageText);
    const race = Number(raceText);
    const [nameAge, nameGender, nameRace] = file.split('_');
    const where = `row ${i + 2} (${file})`;
    if (!Number.isInteger(age) || age < 1 || age > 116) problems.push(`${where}: age ${ageText}`);
    else if (gender !== 'male' && gender !== 'female') problems.push(`${where}: gender ${gender}`);
    else if (!Number.isInteger(race) || race < 0 || race > 4) problems.push(`${where}: race ${raceText}`);
    else if (!SPLITS.includes(split as Split)) problems.push(`${where}: split ${split}`);
    else if (Number(nameAge) !== age || Number(nameGender) !== (gender === 'female' ? 1 : 0) || Number(nameRace) !== race)
      problems.push(`${where}: labels disagree with the file name`);
    else if (checkFiles && !existsSync(join(dir, 'utkface', file))) problems.push(`${where}: image missing`);
    else rows.push({ file, age, gender: gender as Gender, race, split: split as Split });
  }
  if (problems.length) throw new Error(`${problems.length} bad rows:\n${problems.slice(0, 20).join('\n')}`);
  return rows;
}

function summarise(rows: FaceRow[]): string {
  const out: string[] = [];
  for (const split of SPLITS) {
    const part = rows.filter((r) => r.split === split);
    const female = part.filter((r) => r.gender === 'female').length;
    const races = RACE_NAMES.map((name, k) => `${name} ${part.filter((r) => r.race === k).length}`).join(', ');
    out.push(`${split.padEnd(5)} n=${part.length}  female ${(100 * female / part.length).toFixed(1)}%  race: ${races}`);
  }
  out.push('age histogram (all splits, 10-year bins):');
  const bins = new Array(12).fill(0);
  for (const r of rows) bins[Math.min(11, Math.floor(r.age / 10))]++;
  const max = Math.max(...bins);
  bins.forEach((n, k) => out.push(`  ${String(k * 10).padStart(3)}-${k === 11 ? '116' : String(k * 10 + 9).padStart(3)} ${String(n).padStart(5)} ${'#'.repeat(Math.round(40 * n / max))}`));
  return out.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = resolve(parseCommandLine({ data: DEFAULT_DATA_DIR }).data);
  const rows = loadRows(dir);
  console.log(`${rows.length} valid rows in ${dir}`);
  console.log(summarise(rows));
}

export { loadRows, summarise, RACE_NAMES, SPLITS };
export type { FaceRow, Split, Gender };
