import { refusalReason } from './http.js';

describe('refusalReason (what a CLI prints when a service refuses)', () => {
  it('is the OperationOutcome’s text', () => {
    const body = JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found', details: { text: 'Task/mr-1 is not known' } }] });
    expect(refusalReason(body)).toBe('Task/mr-1 is not known');
  });

  it('falls back to the issue’s diagnostics, then to the start of a body that is not an OperationOutcome', () => {
    expect(refusalReason(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', diagnostics: 'bad date' }] }))).toBe('bad date');
    expect(refusalReason(`<html>${'x'.repeat(500)}</html>`)).toHaveLength(200);
  });

  it('says so when the answer had no body', () => {
    expect(refusalReason('')).toBe('no reason given');
  });
});
