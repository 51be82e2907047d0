/**
 * UTKFace holds byte-identical copies of some images under different names (and sometimes other
 * labels), and its split does not keep copies together: 69 test chips are copies of train or val
 * chips. A net may have learnt those faces, so evaluate reports the test figures without them too.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FaceRow } from './data.js';

/** The files of split `of` whose bytes equal those of a file in any other split. */
function copiesFromOtherSplits(dataDir: string, rows: FaceRow[], of: FaceRow['split']): Set<string> {
  const hashOf = (file: string) => createHash('sha256').update(readFileSync(join(dataDir, 'utkface', file))).digest('hex');
  const elsewhere = new Set(rows.filter((r) => r.split !== of).map((r) => hashOf(r.file)));
  return new Set(rows.filter((r) => r.split === of && elsewhere.has(hashOf(r.file))).map((r) => r.file));
}

export { copiesFromOtherSplits };
