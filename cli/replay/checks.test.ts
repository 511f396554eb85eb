import { checkExpectation, contains } from './checks.js';

const forbidden = {
  status: 403,
  headers: {},
  body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'forbidden', details: { text: 'Scope system/CareTeam.read required' } }] },
};
const searchset = {
  status: 200,
  headers: { etag: 'W/"4"' },
  body: {
    resourceType: 'Bundle',
    type: 'searchset',
    entry: [
      { resource: { resourceType: 'CareTeam', id: 'ct1' } },
      { resource: { resourceType: 'PractitionerRole', id: 'np1', telecom: [{ system: 'phone', value: '0131 496 0001' }] } },
    ],
  },
};

describe('checking a response against a step expectation', () => {
  it('passes a 2xx when no status is expected', () => {
    expect(checkExpectation(undefined, searchset)).toEqual([]);
  });

  it('explains a wrong status with the OperationOutcome text', () => {
    expect(checkExpectation({ status: 200 }, forbidden)).toEqual([
      'status: expected 200, got 403 (OperationOutcome: Scope system/CareTeam.read required)',
    ]);
  });

  it('accepts any status from a list', () => {
    expect(checkExpectation({ status: [400, 401] }, { ...forbidden, status: 401 })).toEqual([]);
  });

  it('checks the OperationOutcome issue code and resource type', () => {
    expect(checkExpectation({ status: 403, resourceType: 'OperationOutcome', outcome: 'forbidden' }, forbidden)).toEqual([]);
    expect(checkExpectation({ status: 403, outcome: 'login' }, forbidden)).toEqual([
      'outcome: expected an OperationOutcome issue "login", got forbidden',
    ]);
  });

  it('evaluates equals, exists, contains and counts on body paths', () => {
    const reasons = checkExpectation(
      {
        checks: [
          { path: 'entry.length', equals: 2 },
          { path: 'entry.*.resource', contains: { resourceType: 'PractitionerRole', telecom: [{ system: 'phone' }] } },
          { path: 'entry[resource.resourceType=PractitionerRole].resource.telecom.*.value', contains: '0131 496 0001' },
          { path: 'total', exists: false },
          { path: '$headers.etag', matches: '^W/"\\d+"$' },
          { path: 'entry.length', atLeast: 1, atMost: 5 },
          { path: 'type', oneOf: ['searchset', 'history'] },
        ],
      },
      searchset,
    );
    expect(reasons).toEqual([]);
  });

  it('gives one reason per failed check, with what was found', () => {
    const reasons = checkExpectation(
      {
        checks: [
          { path: 'entry.length', equals: 3 },
          { path: 'entry.*.resource.resourceType', contains: 'Patient' },
          { path: 'entry.0.resource.id', notEquals: 'ct1' },
          { path: 'total', exists: true },
        ],
      },
      searchset,
    );
    expect(reasons).toEqual([
      'entry.length: expected 3, got 2',
      'entry.*.resource.resourceType: expected to contain "Patient", got ["CareTeam","PractitionerRole"]',
      'entry.0.resource.id: expected anything but "ct1", got "ct1"',
      'total: expected to exist',
    ]);
  });

  it('reports a bad path as a failure rather than throwing', () => {
    expect(checkExpectation({ checks: [{ path: 'entry[x', exists: true }] }, searchset)).toEqual([
      'Bad path "entry[x": unclosed [',
    ]);
  });
});

describe('contains', () => {
  it('matches substrings, list elements and partial objects', () => {
    expect(contains('Access token rejected: token expired', 'expired')).toBe(true);
    expect(contains([1, 2, 3], 2)).toBe(true);
    expect(contains([{ a: 1, b: 2 }], { a: 1 })).toBe(true);
    expect(contains({ a: { b: [1, 2] }, c: 3 }, { a: { b: [2] } })).toBe(true);
    expect(contains([{ a: 1 }], { a: 2 })).toBe(false);
    expect(contains(undefined, 'x')).toBe(false);
  });
});
