import { jsonReport, stepLines, summaryLine, type Style } from './report.js';
import type { RunReport, StepResult } from './runner.js';

const plain: Style = { green: (s) => s, red: (s) => s, dim: (s) => s, bold: (s) => s };

const passed: StepResult = {
  name: 'Education looks up the Named Person',
  outcome: 'passed',
  durationMs: 12,
  status: 200,
  reasons: [],
  criteriaExpected: ['PD-L3'],
  criteriaFound: ['PD-L2', 'PD-L3'],
  attempts: 1,
  requestId: 'replay-ab.1.1.',
};
const failed: StepResult = {
  ...passed,
  name: 'Verify the ISP',
  outcome: 'failed',
  status: 403,
  request: 'operation $verify Contract/isp-lothian → http://localhost:4000/fhir',
  reasons: ['status: expected 200, got 403 (OperationOutcome: Scope system/Contract.read required)'],
  criteriaFound: [],
};
const skipped: StepResult = { ...passed, name: 'Later step', outcome: 'skipped', status: undefined, criteriaFound: [], attempts: 0 };

describe('the replay report', () => {
  it('shows a passed step with its time, status and the criteria found', () => {
    expect(stepLines(passed, plain)).toEqual(['  ✔ Education looks up the Named Person (12 ms) — 200, criteria PD-L2, PD-L3']);
  });

  it('shows a failed step with what was sent and every reason', () => {
    expect(stepLines(failed, plain)).toEqual([
      '  ✘ Verify the ISP (12 ms) — 403',
      '      operation $verify Contract/isp-lothian → http://localhost:4000/fhir',
      '      status: expected 200, got 403 (OperationOutcome: Scope system/Contract.read required)',
    ]);
    expect(stepLines(skipped, plain)).toEqual(['  – Later step (not run: an earlier step failed)']);
  });

  it('sums scenarios and steps, and the JSON says whether everything passed', () => {
    const report: RunReport = {
      runId: 'ab',
      passed: false,
      durationMs: 1500,
      scenarios: [
        { file: 'a.json', name: 'A', passed: true, durationMs: 10, steps: [passed] },
        { file: 'b.json', name: 'B', passed: false, durationMs: 10, steps: [passed, failed, skipped] },
      ],
    };
    expect(summaryLine(report, plain)).toBe('✘ 2 scenarios: 1 passed, 1 failed; steps: 2 passed, 1 failed, 1 not run (1.5 s, run ab)');
    const json = JSON.parse(jsonReport(report, [])) as { passed: boolean; scenarios: unknown[] };
    expect(json.passed).toBe(false);
    expect(json.scenarios).toHaveLength(2);
    expect(JSON.parse(jsonReport({ ...report, passed: true }, [{ file: 'c.json', problems: ['not valid JSON'] }])).passed).toBe(false);
  });
});
