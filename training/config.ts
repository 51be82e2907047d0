/** Shared training paths and defaults. Per-run hyperparameters live in training/train.ts. */
import { resolve } from 'node:path';

/** The UTKFace folder (utkface.csv + utkface/); overridable by --data=... or UTKFACE_DIR. */
function dataDir(argv: string[] = process.argv): string {
  const flag = argv.find((a) => a.startsWith('--data='));
  return resolve(flag ? flag.slice('--data='.length) : process.env.UTKFACE_DIR ?? '../shared/data');
}

/** Extracted features, one folder per input spec (never committed). */
const FEATURE_DIR = resolve('.cache/features');

export { dataDir, FEATURE_DIR };
