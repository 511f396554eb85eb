// A Jest reporter that appends one JSON line per event to the file named by
// INFOSHARE_TEST_PROGRESS, so test/run-jest.js can tell a stalled run from a
// slow one. Plain JS: Jest loads reporters itself, without ts-jest.
import fs from 'node:fs';

export default class ProgressReporter {
  constructor() {
    this.file = process.env.INFOSHARE_TEST_PROGRESS;
  }

  write(event) {
    if (!this.file) return;
    fs.appendFileSync(this.file, `${JSON.stringify({ ...event, at: Date.now() })}\n`);
  }

  onTestFileStart(test) {
    this.write({ event: 'start', path: test.path });
  }

  // Each test's result, as it finishes: a suite whose tests keep finishing is slow, not stuck (test/run-jest.js).
  onTestCaseResult(test) {
    this.write({ event: 'test', path: test.path });
  }

  onTestFileResult(test, result) {
    this.write({ event: 'done', path: test.path, failed: result.numFailingTests > 0 || result.testExecError !== undefined });
  }

  onRunComplete(_contexts, results) {
    this.write({ event: 'complete', success: results.numFailedTestSuites === 0 && results.numRuntimeErrorTestSuites === 0 });
  }
}
