/**
 * The README quotes the model figures; these tests fail when a retrain or re-evaluation
 * changed models/metrics.json or models/verify-metrics.json but the README was not rewritten.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { featureCommands, inputsLabel, modelCard, readmeGlance } from '../../training/modelCard.js';
import { replaceSection } from '../../training/readmeSections.js';
import { verifyTables } from '../../training/verifyReport.js';

const readme = readFileSync('README.md', 'utf8');
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

describe('README figures', () => {
  it('the "Models at a glance" section is what npm run evaluate writes from models/metrics.json', () => {
    expect(replaceSection(readme, 'glance', readmeGlance(json('models/metrics.json')))).toBe(readme);
  });

  it('the model card is what npm run evaluate (or training/renderCard.ts) writes from models/metrics.json', () => {
    expect(readFileSync('models/README.md', 'utf8')).toBe(modelCard(json('models/metrics.json')));
  });

  it('the verify tables are what training/verifyEval.ts writes from models/verify-metrics.json', () => {
    expect(replaceSection(readme, 'verify', verifyTables(json('models/verify-metrics.json')))).toBe(readme);
  });

  it('quotes the version of the committed models', () => {
    const metrics = json('models/metrics.json');
    const verify = json('models/verify-metrics.json');
    expect(verify.modelVersion).toBe(metrics.modelVersion);
    expect(readme).toContain(`\`${metrics.modelVersion}\``);
  });

  it('example responses carry the version of the committed models, so they read as current', () => {
    const quoted = [...readme.matchAll(/"modelVersion": "([^"]+)"/g)].map((m) => m[1]);
    expect(quoted.length).toBeGreaterThan(0);
    expect(new Set(quoted)).toEqual(new Set([json('models/metrics.json').modelVersion]));
  });
});

describe('the inputs named in the card and the README', () => {
  const rgb64 = { size: 64, channels: 3 as const };
  const rgb80 = { size: 80, channels: 3 as const };
  it('name one input when both models share it, each model\'s when they differ', () => {
    expect(inputsLabel(rgb64, rgb64)).toBe('64x64 RGB');
    expect(inputsLabel(rgb80, rgb64)).toBe('gender 80x80 RGB, age 64x64 RGB');
    expect(inputsLabel({ size: 48, channels: 1 }, rgb64)).toBe('gender 48x48 grey, age 64x64 RGB');
  });
  it('give one extraction command per distinct input', () => {
    expect(featureCommands(rgb64, rgb64)).toBe('`npm run features -- --size=64 --channels=3`');
    expect(featureCommands(rgb80, rgb64)).toBe('`npm run features -- --size=80 --channels=3` and `npm run features -- --size=64 --channels=3`');
  });
});

describe('replaceSection', () => {
  it('rewrites only the text between the markers', () => {
    const text = 'a\n<!-- generated:x -->\nold\n<!-- /generated:x -->\nb\n';
    expect(replaceSection(text, 'x', 'new')).toBe('a\n<!-- generated:x -->\nnew\n<!-- /generated:x -->\nb\n');
  });

  it('refuses a README without the section', () => {
    expect(() => replaceSection('no markers', 'x', 'new')).toThrow(/no <!-- generated:x -->/);
  });
});
