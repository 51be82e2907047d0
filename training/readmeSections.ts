/**
 * Keeps the figures in the top-level README in step with the artifacts they come from: a
 * section between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->` is rewritten by the
 * script that measured it, instead of being copied by hand (and going stale after a retrain).
 */
import { readFileSync, writeFileSync } from 'node:fs';

function replaceSection(text: string, name: string, body: string): string {
  const start = `<!-- generated:${name} -->`;
  const end = `<!-- /generated:${name} -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README has no ${start} ... ${end} section`);
  return `${text.slice(0, from + start.length)}\n${body.trim()}\n${text.slice(to)}`;
}

function updateReadmeSection(path: string, name: string, body: string): void {
  writeFileSync(path, replaceSection(readFileSync(path, 'utf8'), name, body));
  console.log(`updated the ${name} section of ${path}`);
}

export { replaceSection, updateReadmeSection };
