// Prints the last line CI reads: "N passed, N failed", from vitest's JSON report.
// A run that executed no test (or crashed before reporting) prints "0 passed, 1 failed".
import { readFileSync } from 'node:fs';

let passed = 0;
let failed = 1;
try {
  const report = JSON.parse(readFileSync('.cache/vitest-report.json', 'utf8'));
  passed = report.numPassedTests;
  failed = report.numFailedTests + (report.numTotalTests === 0 ? 1 : 0) + (report.success ? 0 : report.numFailedTestSuites ?? 0);
} catch {
  console.error('no vitest report found: the test run did not complete');
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
