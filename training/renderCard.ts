/**
 * Re-renders the model card (models/README.md) and the README's glance table from the committed
 * models/metrics.json, without re-evaluating: for when only the card's text (training/modelCard.ts)
 * changed. `npm run evaluate` writes both itself after measuring.
 *   npx tsx training/renderCard.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { modelCard, readmeGlance } from './modelCard.js';
import { updateReadmeSection } from './readmeSections.js';

const metrics = JSON.parse(readFileSync('models/metrics.json', 'utf8'));
writeFileSync('models/README.md', modelCard(metrics));
updateReadmeSection('README.md', 'glance', readmeGlance(metrics));
console.log('rendered models/README.md from models/metrics.json');
