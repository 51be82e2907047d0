// Prints the last line CI reads: "N passed, N failed", from vitest's JSON report.
// A file that failed without a failing test (a crash in setup, an import error) counts as one
// failure, and so does a run that executed no test or never wrote its report.
import { readFileSync } from 'node:fs';

let passed = 0;
let failed = 1;
try {
  const report = JSON.parse(readFileSync('.cache/vitest-report.json', 'utf8'));
  passed = report.numPassedTests;
  const brokenFiles = (report.testResults ?? []).filter((file) => file.status === 'failed'
    && !(file.assertionResults ?? []).some((t) => t.status === 'failed')).length;
  failed = report.numFailedTests + brokenFiles + (report.numTotalTests === 0 ? 1 : 0);
} catch {
  console.error('no vitest report found: the test run did not complete');
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
