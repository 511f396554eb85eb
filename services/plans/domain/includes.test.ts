import type { CarePlan, ServiceRequest } from 'fhir/r4.js';
import { isOperationOutcomeError } from '../../../shared/fhir/outcome.js';
import { includesOf, linkedReferences, supportedFor } from './includes.js';

const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    if (isOperationOutcomeError(err) && err.status === 400) return JSON.stringify(err.outcome.issue);
    throw err;
  }
  throw new Error('not refused');
};

describe('includesOf', () => {
  it('takes the includes out of the query and leaves every other parameter to the search', () => {
    const { query, includes } = includesOf('CarePlan', new URLSearchParams('status=active&_include=CarePlan:activity-reference&_revinclude=ServiceRequest:based-on,QuestionnaireResponse:based-on&_count=5'));
    expect(query.toString()).toBe('status=active&_count=5');
    expect(includes).toEqual([
      { kind: '_include', source: 'CarePlan', param: 'activity-reference', targets: ['ServiceRequest'] },
      { kind: '_revinclude', source: 'ServiceRequest', param: 'based-on', targets: ['CarePlan'] },
      { kind: '_revinclude', source: 'QuestionnaireResponse', param: 'based-on', targets: ['CarePlan'] },
    ]);
  });

  it('narrows an include to its target type, and asks each include once', () => {
    const { includes } = includesOf('ServiceRequest', new URLSearchParams('_include=ServiceRequest:based-on:CarePlan&_include=ServiceRequest:based-on:CarePlan'));
    expect(includes).toEqual([{ kind: '_include', source: 'ServiceRequest', param: 'based-on', targets: ['CarePlan'] }]);
  });

  it('refuses the subject (the MPI keeps people), types the service does not keep, wildcards and modifiers, naming what it serves', () => {
    expect(refusal(() => includesOf('CarePlan', new URLSearchParams('_include=CarePlan:patient')))).toContain('the MPI');
    expect(refusal(() => includesOf('CarePlan', new URLSearchParams('_revinclude=Provenance:target')))).toContain('keeps no Provenance');
    expect(refusal(() => includesOf('CarePlan', new URLSearchParams('_include=CarePlan:*')))).toContain('wildcards');
    expect(refusal(() => includesOf('CarePlan', new URLSearchParams('_revinclude:iterate=ServiceRequest:based-on')))).toContain(':iterate');
    expect(refusal(() => includesOf('QuestionnaireResponse', new URLSearchParams('_revinclude=CarePlan:activity-reference')))).toContain("'_revinclude' is not supported on QuestionnaireResponse search");
  });
});

describe('linkedReferences', () => {
  it('reads the relative references of the link parameter to the types asked for', () => {
    const plan: CarePlan = { resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: {}, activity: [{ reference: { reference: 'ServiceRequest/a' } }, { reference: { reference: 'Appointment/b' } }, {}] };
    expect(linkedReferences(plan, 'activity-reference', ['ServiceRequest'])).toEqual([{ type: 'ServiceRequest', id: 'a' }]);
    const request: ServiceRequest = { resourceType: 'ServiceRequest', status: 'active', intent: 'order', subject: {}, basedOn: [{ reference: 'CarePlan/p' }, { reference: 'http://elsewhere/CarePlan/q' }] };
    expect(linkedReferences(request, 'based-on', ['CarePlan', 'ServiceRequest'])).toEqual([{ type: 'CarePlan', id: 'p' }]);
  });
});

describe('supportedFor', () => {
  it('lists what each search serves (the CapabilityStatement and the refusals say the same)', () => {
    expect(supportedFor('ServiceRequest', '_revinclude')).toEqual(['CarePlan:activity-reference', 'QuestionnaireResponse:based-on', 'ServiceRequest:based-on']);
    expect(supportedFor('QuestionnaireResponse', '_revinclude')).toEqual([]);
  });
});
