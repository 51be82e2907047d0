// Prints the last line CI reads: "N passed, N failed", from vitest's JSON report, and exits
// non-zero unless every test ran and passed. Counted as one failure each, because each means
// something did not run or went wrong outside a test's own result:
// - a file that failed without a failing test (a crash in setup, an import error);
// - a skipped or todo test (an `it.skip` left in would otherwise vanish from the count);
// - a run that executed no test, or never wrote its report;
// - vitest exiting non-zero with no failure in the report (an error thrown outside any test,
//   e.g. from a timer after its test passed): vitest's exit code is this script's argument.
import { readFileSync } from 'node:fs';

const vitestExitCode = Number(process.argv[2] ?? 0);
// Overridable so test/summary.test.ts can feed it reports without touching the run's own.
const reportPath = process.env.VITEST_REPORT ?? '.cache/vitest-report.json';
let passed = 0;
let failed = 1;
try {
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  passed = report.numPassedTests;
  const brokenFiles = (report.testResults ?? []).filter((file) => file.status === 'failed'
    && !(file.assertionResults ?? []).some((t) => t.status === 'failed')).length;
  const notRun = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  if (notRun > 0) console.error(`${notRun} test(s) skipped or todo: counted as failed`);
  failed = report.numFailedTests + brokenFiles + notRun + (passed + report.numFailedTests === 0 ? 1 : 0);
  if (vitestExitCode !== 0 && failed === 0) {
    console.error(`vitest exited with code ${vitestExitCode} though every test passed (an error outside a test): counted as failed`);
    failed = 1;
  }
} catch {
  console.error('no vitest report found: the test run did not complete');
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
