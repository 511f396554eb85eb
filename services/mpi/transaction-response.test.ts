import type { OperationOutcome, Patient } from 'fhir/r4.js';
import type { RegistrationResult } from './registration.js';
import { transactionResponse } from './transaction-response.js';

const stored: Patient = { resourceType: 'Patient', id: 'nhs-lothian.N-1', meta: { versionId: '2', lastUpdated: '2026-11-25T10:00:00Z' } };

function result(overrides: Partial<RegistrationResult> = {}): RegistrationResult {
  return {
    recordId: 'nhs-lothian.N-1',
    stored,
    status: 200,
    plan: { outcome: 'linked', personId: 'per-a', assurance: 'level3', how: 'automatic', moves: false, keptManual: false },
    reviewTaskIds: [],
    response: () => stored,
    ...overrides,
  } as RegistrationResult;
}

const outcomeText = (r: RegistrationResult): string | undefined =>
  (transactionResponse([r], 'http://mpi/fhir', true).entry![0]!.response!.outcome as OperationOutcome).issue[0]?.details?.text;

describe('transactionResponse', () => {
  it('gives each entry its status, versioned location and outcome, without the record when minimal', () => {
    const entry = transactionResponse([result()], 'http://mpi/fhir', true).entry![0]!;
    expect(entry).toMatchObject({ fullUrl: 'http://mpi/fhir/Patient/nhs-lothian.N-1', response: { status: '200 OK', location: 'Patient/nhs-lothian.N-1/_history/2' } });
    expect(entry.resource).toBeUndefined();
    expect(transactionResponse([result()], 'http://mpi/fhir', false).entry![0]!.resource).toBe(stored);
    expect(outcomeText(result())).toBe('Linked to Person/per-a (level3)');
  });

  it('says when a linked record also raised possible-duplicate reviews, and where a record waits for review', () => {
    expect(outcomeText(result({ reviewTaskIds: ['mr-1', 'mr-2'] }))).toBe(
      'Linked to Person/per-a (level3); may bridge a person indexed twice: review Task/mr-1, Task/mr-2',
    );
    const inReview = result({ plan: { ...result().plan, outcome: 'review', assurance: 'level1' }, reviewTaskIds: ['mr-3'] });
    expect(outcomeText(inReview)).toBe('Queued for review as Task/mr-3; indexed as Person/per-a meanwhile');
  });
});
