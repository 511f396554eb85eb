import type { Organization } from 'fhir/r4.js';
import { CodeSystems, Extensions, agencyPatientSystem } from '../fhir/systems.js';
import { agencyFromOrganization, flowAgencyOf, publicKeysOf } from './agencies.js';

const jwk = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' };

function org(overrides: Partial<Organization> = {}, type = 'police'): Organization {
  return {
    resourceType: 'Organization',
    id: 'police-scotland-e-division',
    name: 'Police Scotland E Division',
    type: [{ coding: [{ system: CodeSystems.agencyType, code: type }] }],
    partOf: { reference: 'Organization/lothian-hscp' },
    extension: [{ url: Extensions.agencyPublicJwk, valueString: JSON.stringify(jwk) }],
    ...overrides,
  };
}

describe('agencyFromOrganization', () => {
  it('Reads agency type, partnership, key and patient identifier system', () => {
    expect(agencyFromOrganization(org())).toEqual({
      id: 'police-scotland-e-division',
      name: 'Police Scotland E Division',
      type: 'police',
      partnership: 'lothian-hscp',
      active: true,
      publicJwk: jwk,
      patientIdentifierSystem: agencyPatientSystem('police-scotland-e-division'),
    });
  });

  it('Uses the declared patient identifier system when there is one', () => {
    const withSystem = org({ extension: [{ url: Extensions.patientIdentifierSystem, valueUri: 'urn:example:police' }] });
    expect(agencyFromOrganization(withSystem)?.patientIdentifierSystem).toBe('urn:example:police');
  });

  it('Is not an agency without an agency-type coding', () => {
    expect(agencyFromOrganization(org({ type: [{ coding: [{ system: 'urn:other', code: 'police' }] }] }))).toBeUndefined();
  });

  it('Leaves out a key that is not a JSON object', () => {
    expect(agencyFromOrganization(org({ extension: [{ url: Extensions.agencyPublicJwk, valueString: '"a string"' }] }))?.publicJwk).toBeUndefined();
  });
});

describe('flowAgencyOf', () => {
  it('Gives the evaluator the agency type and partnership', () => {
    expect(flowAgencyOf(agencyFromOrganization(org())!)).toEqual({ id: 'police-scotland-e-division', type: 'police', partnership: 'lothian-hscp' });
  });

  it('Keeps partnerships, retired agencies and agencies outside any partnership out of every flow', () => {
    expect(flowAgencyOf(agencyFromOrganization(org({ id: 'lothian-hscp', partOf: undefined }, 'partnership'))!)).toBeUndefined();
    expect(flowAgencyOf(agencyFromOrganization(org({ active: false }))!)).toBeUndefined();
    expect(flowAgencyOf(agencyFromOrganization(org({ partOf: undefined }))!)).toBeUndefined();
  });
});

describe('publicKeysOf', () => {
  it('Maps each agency with a registered key to it', () => {
    const keys = publicKeysOf([agencyFromOrganization(org())!, agencyFromOrganization(org({ id: 'no-key', extension: [] }))!]);
    expect([...keys.keys()]).toEqual(['police-scotland-e-division']);
  });
});
