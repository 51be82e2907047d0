/** Shared training paths and defaults. Per-run hyperparameters live in training/train.ts. */
import { resolve } from 'node:path';

/**
 * The UTKFace folder (utkface.csv + utkface/) when a step gets no --data=...: UTKFACE_DIR, as
 * the tests read it, else ../shared/data. Steps take --data through parseCommandLine (overrides.ts).
 */
const DEFAULT_DATA_DIR = process.env.UTKFACE_DIR ?? '../shared/data';

/** Extracted features, one folder per input spec (never committed). */
const FEATURE_DIR = resolve('.cache/features');

export { DEFAULT_DATA_DIR, FEATURE_DIR };
