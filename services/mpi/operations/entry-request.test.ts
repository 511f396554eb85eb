import type { BundleEntry } from 'fhir/r4.js';
import { OperationOutcomeError } from '../../../shared/fhir/outcome.js';
import { entryRequest } from './update.js';

const refusal = (entry: BundleEntry): { status: number; expression?: string } | undefined => {
  try {
    entryRequest(entry, 'Bundle.entry[0]');
    return undefined;
  } catch (err) {
    if (!(err instanceof OperationOutcomeError)) throw err;
    return { status: err.status, ...(err.outcome.issue[0]?.expression?.[0] ? { expression: err.outcome.issue[0].expression[0] } : {}) };
  }
};

describe('What a transaction entry asks of the MPI', () => {
  it('takes a create and the two kinds of update', () => {
    expect(entryRequest({ request: { method: 'POST', url: 'Patient' } }, 'e')).toEqual({});
    expect(entryRequest({ request: { method: 'PUT', url: 'Patient/a.b', ifMatch: 'W/"2"' } }, 'e')).toEqual({ target: { id: 'a.b' }, ifMatch: 'W/"2"' });
    const conditional = entryRequest({ request: { method: 'PUT', url: 'Patient?identifier=s|v' } }, 'e').target;
    expect(conditional && 'query' in conditional ? conditional.query.get('identifier') : undefined).toBe('s|v');
  });

  it('refuses a conditional create (ifNoneExist) rather than ignore it, on a create or an update', () => {
    expect(refusal({ request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=s|v' } })).toEqual({ status: 422, expression: 'Bundle.entry[0].request.ifNoneExist' });
    expect(refusal({ request: { method: 'PUT', url: 'Patient/x', ifNoneExist: 'identifier=s|v' } })).toEqual({ status: 422, expression: 'Bundle.entry[0].request.ifNoneExist' });
  });

  it('refuses If-Match on a create, which has no version to match', () => {
    expect(refusal({ request: { method: 'POST', url: 'Patient', ifMatch: 'W/"1"' } })).toEqual({ status: 422, expression: 'Bundle.entry[0].request.ifMatch' });
  });
});
