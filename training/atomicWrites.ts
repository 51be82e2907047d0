/**
 * Writes a kill can interrupt without leaving a half-written file or folder behind: checkpoints
 * (train.ts), exported models and calibrated manifests, which the service then loads.
 */
import { existsSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Recreates `src`'s tree at `dst` with hard links: the files are immutable once written, so sharing them is safe and costs no copy. */
function linkTree(src: string, dst: string): void {
  mkdirSync(dst, { recursive: true });
  for (const entry of readdirSync(src)) {
    const from = join(src, entry);
    if (statSync(from).isDirectory()) linkTree(from, join(dst, entry));
    else linkSync(from, join(dst, entry));
  }
}

/**
 * The two names a swap uses beside `dir`: the new folder while it is written, and the old one
 * while the new one moves in. Named for the swap (not `.tmp`/`.old`), since recoverFolder deletes
 * or renames them: a user's own `models/age.old` backup must never look like one of ours.
 */
function swapNames(dir: string): { tmp: string; old: string } {
  return { tmp: `${dir}.swap-new`, old: `${dir}.swap-old` };
}

/**
 * Replaces the folder `dir` (a checkpoint, an exported model) by a new one that `write` fills in
 * `<dir>.swap-new`. `keep` names the subfolders of the old folder the new one carries over, hard-linked before `write`
 * runs: it may add files to them but must not rewrite one (that would change the old checkpoint's
 * copy too; delete it first). The old folder is only renamed, to `<dir>.swap-old`, until the new one
 * is in place: a kill before that leaves `dir` as it was; between the two renames, only
 * `<dir>.swap-old` exists, and recoverFolder puts it back.
 */
async function swapInFolder(dir: string, keep: string[], write: (tmp: string) => Promise<void>): Promise<void> {
  const { tmp, old } = swapNames(dir);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const sub of keep) if (existsSync(join(dir, sub))) linkTree(join(dir, sub), join(tmp, sub));
  await write(tmp);
  rmSync(old, { recursive: true, force: true });
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

/**
 * Before reading or replacing a swapped folder: a kill between swapInFolder's two renames left
 * only `<dir>.swap-old`, the last complete version; put it back. A `<dir>.swap-new` is an unfinished write.
 */
function recoverFolder(dir: string): void {
  const { tmp, old } = swapNames(dir);
  if (existsSync(old)) {
    if (existsSync(dir)) rmSync(old, { recursive: true, force: true });
    else renameSync(old, dir);
  }
  rmSync(tmp, { recursive: true, force: true });
}

/** Writes `path` whole or not at all: the bytes go to a temporary file beside it, then one rename. */
function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export { swapInFolder, recoverFolder, swapNames, writeFileAtomic };
