/** CI's last line (test/summary.mjs): every way a run can fail to run or pass must count as failed. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'summary-'));

/** Runs summary.mjs on `report` (undefined: no report file) with vitest's exit code; returns its last line and exit status. */
function summarise(report: object | undefined, vitestExitCode = 0): { line: string; status: number } {
  const path = join(dir, `${Math.random()}.json`);
  if (report) writeFileSync(path, JSON.stringify(report));
  try {
    const out = execFileSync('node', ['test/summary.mjs', String(vitestExitCode)], { env: { ...process.env, VITEST_REPORT: path }, stdio: ['ignore', 'pipe', 'ignore'] });
    return { line: out.toString().trim(), status: 0 };
  } catch (error) {
    const { stdout, status } = error as { stdout: Buffer; status: number };
    return { line: stdout.toString().trim(), status };
  }
}

const passingFile = { status: 'passed', assertionResults: [{ status: 'passed' }, { status: 'passed' }] };
const report = (over: object) => ({ numPassedTests: 2, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0, numTotalTests: 2, testResults: [passingFile], ...over });

describe('test/summary.mjs', () => {
  it('passes a run where every test ran and passed', () => {
    expect(summarise(report({}))).toEqual({ line: '2 passed, 0 failed', status: 0 });
  });

  it('counts failed tests', () => {
    expect(summarise(report({ numPassedTests: 1, numFailedTests: 1 }), 1)).toEqual({ line: '1 passed, 1 failed', status: 1 });
  });

  it('counts a file that crashed before its tests (import error, failing hook) as one failure', () => {
    const crashed = { status: 'failed', assertionResults: [] };
    expect(summarise(report({ testResults: [passingFile, crashed] }), 1)).toEqual({ line: '2 passed, 1 failed', status: 1 });
  });

  it('counts skipped and todo tests as failures, so none vanishes from the count', () => {
    expect(summarise(report({ numPendingTests: 1, numTodoTests: 1, numTotalTests: 4 }))).toEqual({ line: '2 passed, 2 failed', status: 1 });
    expect(summarise(report({ numPassedTests: 0, numPendingTests: 2, numTotalTests: 2 }))).toEqual({ line: '0 passed, 3 failed', status: 1 });
  });

  it('fails a run that executed no test', () => {
    expect(summarise(report({ numPassedTests: 0, numTotalTests: 0, testResults: [] }))).toEqual({ line: '0 passed, 1 failed', status: 1 });
  });

  it('fails when vitest exited non-zero though the report shows no failure (an error outside any test)', () => {
    expect(summarise(report({}), 1)).toEqual({ line: '2 passed, 1 failed', status: 1 });
  });

  it('fails when the run never wrote its report', () => {
    expect(summarise(undefined)).toEqual({ line: '0 passed, 1 failed', status: 1 });
  });
});
