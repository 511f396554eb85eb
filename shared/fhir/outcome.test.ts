import type { OperationOutcomeIssue } from 'fhir/r4.js';
import { invalidIssues, MAX_ISSUES, OperationOutcomeError } from './outcome.js';

const issue = (i: number): OperationOutcomeIssue => ({ severity: 'error', code: 'structure', details: { text: `problem ${i}` }, expression: [`Patient.name[${i}]`] });

describe('OperationOutcome size', () => {
  it(`lists at most ${MAX_ISSUES} issues, then one that counts the rest`, () => {
    const { outcome, status } = invalidIssues(Array.from({ length: 9_000 }, (_, i) => issue(i)));
    expect(status).toBe(422);
    expect(outcome.issue).toHaveLength(MAX_ISSUES + 1);
    expect(outcome.issue[MAX_ISSUES - 1]?.details?.text).toBe(`problem ${MAX_ISSUES - 1}`);
    expect(outcome.issue[MAX_ISSUES]).toMatchObject({ severity: 'information', details: { text: expect.stringMatching(/8900 more/) } });
  });

  it('counts problems a validator found but did not build', () => {
    const { outcome } = invalidIssues([issue(0)], 422, 41);
    expect(outcome.issue.map((i) => i.details?.text)).toEqual(['problem 0', '…and 41 more problem(s) not listed']);
  });

  it('keeps a list already capped as it is, and a short list untouched', () => {
    const capped = invalidIssues(Array.from({ length: 150 }, (_, i) => issue(i))).outcome;
    expect(new OperationOutcomeError(capped).outcome).toEqual(capped);
    const short = { resourceType: 'OperationOutcome' as const, issue: [issue(1)] };
    expect(new OperationOutcomeError(short).outcome).toBe(short);
  });

  it('cuts texts and expressions that quote a huge input', () => {
    const key = 'k'.repeat(900_000);
    const err = invalidIssues([{ severity: 'error', code: 'structure', details: { text: `Invalid additional property "${key}"` }, expression: [`Patient.${key}`] }]);
    expect(JSON.stringify(err.outcome).length).toBeLessThan(2_000);
    expect(err.message.length).toBeLessThan(1_000);
  });
});
