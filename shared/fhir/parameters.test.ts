import type { Parameters, ParametersParameter } from 'fhir/r4.js';
import { parametersAsQuery, readParameters, type OperationDeclaration } from './parameters.js';
import { OperationOutcomeError } from './outcome.js';

const RESOLVE = {
  name: '$resolve',
  parameters: { decision: { kind: 'code', required: true, codes: ['link', 'not-link'] }, note: { kind: 'string' } },
} as const satisfies OperationDeclaration;

const MATCH = {
  name: '$match',
  parameters: {
    resource: { kind: 'resource', resourceType: 'Patient', required: true },
    count: { kind: 'integer', min: 1 },
    onlyCertainMatches: { kind: 'boolean' },
    target: { kind: 'reference' },
  },
} as const satisfies OperationDeclaration;

const params = (...parameter: ParametersParameter[]): Parameters => ({ resourceType: 'Parameters', parameter });

/** What reading refuses: status and the FHIRPath it names. */
function refusal(fn: () => unknown): { status: number; expression?: string[] } {
  try {
    fn();
  } catch (err) {
    if (err instanceof OperationOutcomeError) return { status: err.status, expression: err.outcome.issue[0]?.expression };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('readParameters', () => {
  it('reads each declared parameter by its kind (a code as valueCode or valueString)', () => {
    expect(readParameters(RESOLVE, params({ name: 'decision', valueCode: 'link' }, { name: 'note', valueString: 'same GP' }))).toEqual({ decision: 'link', note: 'same GP' });
    expect(readParameters(RESOLVE, params({ name: 'decision', valueString: 'not-link' }))).toEqual({ decision: 'not-link' });
    const patient = { resourceType: 'Patient' as const };
    expect(readParameters(MATCH, params({ name: 'resource', resource: patient }, { name: 'count', valuePositiveInt: 3 }, { name: 'target', valueReference: { reference: 'Person/p1' } }))).toEqual({
      resource: patient,
      count: 3,
      target: 'Person/p1',
    });
  });

  it('refuses a parameter the operation does not have with 400, naming it', () => {
    expect(refusal(() => readParameters(RESOLVE, params({ name: 'decision', valueCode: 'link' }, { name: 'priority', valueString: 'high' })))).toEqual({
      status: 400,
      expression: ['Parameters.parameter[1].name'],
    });
    // Not found through Object.prototype either.
    expect(refusal(() => readParameters(RESOLVE, params({ name: 'constructor', valueString: 'x' }))).status).toBe(400);
  });

  it('refuses a value of the wrong kind with 400: a note that is not a valueString, a count that is a decimal', () => {
    expect(refusal(() => readParameters(RESOLVE, params({ name: 'decision', valueCode: 'link' }, { name: 'note', valueInteger: 3 })))).toEqual({
      status: 400,
      expression: ['Parameters.parameter[1]'],
    });
    const patient = { resourceType: 'Patient' as const };
    expect(refusal(() => readParameters(MATCH, params({ name: 'resource', resource: patient }, { name: 'count', valueDecimal: 1.5 }))).status).toBe(400);
    expect(refusal(() => readParameters(MATCH, params({ name: 'resource', resource: patient }, { name: 'count', valueInteger: 2, valueString: '3' }))).status).toBe(400);
    expect(refusal(() => readParameters(RESOLVE, params({ name: 'decision', part: [{ name: 'x', valueString: 'y' }] }))).status).toBe(400);
  });

  it('refuses a parameter given twice (two contradictory decisions) with 400', () => {
    const twice = params({ name: 'decision', valueCode: 'link' }, { name: 'decision', valueCode: 'not-link' });
    expect(refusal(() => readParameters(RESOLVE, twice))).toEqual({ status: 400, expression: ['Parameters.parameter[1]'] });
  });

  it('refuses a missing required parameter with 400', () => {
    expect(refusal(() => readParameters(RESOLVE, params({ name: 'note', valueString: 'x' })))).toEqual({ status: 400, expression: ["Parameters.parameter.where(name='decision')"] });
    expect(refusal(() => readParameters(RESOLVE, { resourceType: 'Parameters' })).status).toBe(400);
  });

  it('refuses a value the operation cannot accept with 422: a code not in its list, a count below its minimum, another resource type', () => {
    expect(refusal(() => readParameters(RESOLVE, params({ name: 'decision', valueCode: 'maybe' })))).toEqual({ status: 422, expression: ['Parameters.parameter[0].valueCode'] });
    const patient = { resourceType: 'Patient' as const };
    expect(refusal(() => readParameters(MATCH, params({ name: 'resource', resource: patient }, { name: 'count', valueInteger: 0 }))).status).toBe(422);
    expect(refusal(() => readParameters(MATCH, params({ name: 'resource', resource: { resourceType: 'Person' } })))).toEqual({
      status: 422,
      expression: ['Parameters.parameter[0].resource.resourceType'],
    });
  });
});

describe('a reading operation POSTed with Parameters, as the query of its GET', () => {
  it('writes each simple value as the same parameter of the GET would be', () => {
    const query = parametersAsQuery(
      {
        resourceType: 'Parameters',
        parameter: [
          { name: 'sourceIdentifier', valueIdentifier: { system: 'https://example.org/id', value: 'A-1' } },
          { name: 'targetSystem', valueUri: 'urn:oid:1.2.3' },
          { name: 'count', valueInteger: 5 },
          { name: 'subject', valueReference: { reference: 'Patient/p1' } },
          { name: 'code', valueCoding: { code: 'x' } },
          { name: 'active', valueBoolean: false },
        ],
      },
      '$op',
    );
    expect([...query]).toEqual([
      ['sourceIdentifier', 'https://example.org/id|A-1'],
      ['targetSystem', 'urn:oid:1.2.3'],
      ['count', '5'],
      ['subject', 'Patient/p1'],
      ['code', 'x'],
      ['active', 'false'],
    ]);
    expect([...parametersAsQuery(undefined, '$op')]).toEqual([]);
    expect([...parametersAsQuery({ resourceType: 'Parameters' }, '$op')]).toEqual([]);
  });

  it('refuses with 400 what a URL cannot carry: a resource, parts, no value, two values, or a body that is not Parameters', () => {
    for (const parameter of [
      { name: 'p', resource: { resourceType: 'Patient' } },
      { name: 'p', part: [{ name: 'q', valueString: 'x' }] },
      { name: 'p' },
      { name: 'p', valueString: 'x', valueCode: 'y' },
      { valueString: 'x' },
      { name: 'p', valueInteger: 1.5 },
    ]) {
      expect(() => parametersAsQuery({ resourceType: 'Parameters', parameter: [parameter] }, '$op')).toThrow(expect.objectContaining({ status: 400 }));
    }
    expect(() => parametersAsQuery({ resourceType: 'Patient' }, '$op')).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => parametersAsQuery({ resourceType: 'Parameters', parameter: {} }, '$op')).toThrow(expect.objectContaining({ status: 400 }));
  });
});
