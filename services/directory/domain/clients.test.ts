import type { CareTeam, Organization, PractitionerRole } from 'fhir/r4.js';
import { generateKeyPair } from '../../../shared/auth/keys.js';
import { hasScope, HubScopes } from '../../../shared/auth/scopes.js';
import { CodeSystems, Extensions } from '../../../shared/fhir/systems.js';
import { allowedScopesFor } from './agency-scopes.js';
import { personSupportedByAgency, registeredClientOf, roleBelongsToAgency } from './clients.js';

const jwk = generateKeyPair('ES256').publicJwk;

function agencyOrg(overrides: Partial<Organization> = {}, type = 'social-work'): Organization {
  return {
    resourceType: 'Organization',
    id: 'edinburgh-social-work',
    active: true,
    name: 'City of Edinburgh Council Social Work',
    type: [{ coding: [{ system: CodeSystems.agencyType, code: type }] }],
    partOf: { reference: 'Organization/lothian-hscp' },
    extension: [{ url: Extensions.agencyPublicJwk, valueString: JSON.stringify(jwk) }],
    ...overrides,
  };
}

describe('registeredClientOf', () => {
  it('Registers an agency as a client under its own id, with its partnership, key and its type’s scopes', () => {
    const client = registeredClientOf(agencyOrg());
    expect(client).toEqual({
      clientId: 'edinburgh-social-work',
      agency: 'edinburgh-social-work',
      partnership: 'lothian-hscp',
      publicJwk: jwk,
      allowedScopes: allowedScopesFor('social-work'),
    });
  });

  it('Refuses a partnership, a retired agency, one without a partnership and one without a key', () => {
    expect(registeredClientOf(agencyOrg({ partOf: undefined }, 'partnership'))).toBeUndefined();
    expect(registeredClientOf(agencyOrg({ active: false }))).toBeUndefined();
    expect(registeredClientOf(agencyOrg({ partOf: undefined }))).toBeUndefined();
    expect(registeredClientOf(agencyOrg({ extension: [] }))).toBeUndefined();
    expect(registeredClientOf(agencyOrg({ extension: [{ url: Extensions.agencyPublicJwk, valueString: '{not json' }] }))).toBeUndefined();
  });

  it('Refuses an Organization that carries no agency type', () => {
    expect(registeredClientOf(agencyOrg({ type: [{ text: 'GP practice' }] }))).toBeUndefined();
  });
});

describe('allowedScopesFor', () => {
  it('Lets every agency read the directory and sign the ISP', () => {
    for (const type of ['police', 'education', 'emergency-department', 'nhs-board'] as const) {
      const scopes = allowedScopesFor(type);
      expect(hasScope(scopes, 'system/CareTeam.read')).toBe(true);
      expect(hasScope(scopes, 'system/Contract.read')).toBe(true);
      expect(hasScope(scopes, HubScopes.contractSign)).toBe(true);
    }
  });

  it('Lets only the statutory partners register agencies and amend the ISP', () => {
    expect(hasScope(allowedScopesFor('nhs-board'), 'system/Organization.write')).toBe(true);
    expect(hasScope(allowedScopesFor('social-work'), 'system/Contract.write')).toBe(true);
    for (const type of ['police', 'education', 'gp-cluster', 'housing'] as const) {
      expect(hasScope(allowedScopesFor(type), 'system/Organization.write')).toBe(false);
      expect(hasScope(allowedScopesFor(type), 'system/Contract.write')).toBe(false);
    }
  });

  it('Lets agencies that hold Named Person / Lead Professional roles assign them, but not the police or A&E', () => {
    expect(hasScope(allowedScopesFor('education'), 'system/CareTeam.write')).toBe(true);
    expect(hasScope(allowedScopesFor('community-nursing'), 'system/CareTeam.write')).toBe(true);
    expect(hasScope(allowedScopesFor('police'), 'system/CareTeam.write')).toBe(false);
    expect(hasScope(allowedScopesFor('emergency-department'), 'system/CareTeam.write')).toBe(false);
  });

  it('Gives a partnership Organization no scopes at all', () => {
    expect(allowedScopesFor('partnership')).toEqual([]);
  });

  it('Lists each scope once and only valid scopes', () => {
    const scopes = allowedScopesFor('nhs-board');
    expect(new Set(scopes).size).toBe(scopes.length);
    for (const s of scopes) expect(s).toMatch(/^system\/[A-Z][A-Za-z]+\.[a-z]+$/);
  });
});

describe('roleBelongsToAgency', () => {
  const now = new Date('2026-06-01T12:00:00Z');
  const role = (overrides: Partial<PractitionerRole> = {}): PractitionerRole => ({
    resourceType: 'PractitionerRole',
    id: 'pr-1',
    active: true,
    organization: { reference: 'Organization/edinburgh-education' },
    ...overrides,
  });

  it('Accepts an active role of the agency', () => {
    expect(roleBelongsToAgency(role(), 'edinburgh-education', now)).toBe(true);
  });

  it('Refuses a role of another agency, an inactive one, or none', () => {
    expect(roleBelongsToAgency(role(), 'nhs-lothian', now)).toBe(false);
    expect(roleBelongsToAgency(role({ active: false }), 'edinburgh-education', now)).toBe(false);
    expect(roleBelongsToAgency(undefined, 'edinburgh-education', now)).toBe(false);
  });

  it('Honours the role period, counting a plain end date as the whole day', () => {
    expect(roleBelongsToAgency(role({ period: { end: '2026-06-01' } }), 'edinburgh-education', now)).toBe(true);
    expect(roleBelongsToAgency(role({ period: { end: '2026-05-31' } }), 'edinburgh-education', now)).toBe(false);
    expect(roleBelongsToAgency(role({ period: { start: '2026-06-02' } }), 'edinburgh-education', now)).toBe(false);
    expect(roleBelongsToAgency(role({ period: { start: 'soon' } }), 'edinburgh-education', now)).toBe(false);
  });
});

describe('personSupportedByAgency', () => {
  const now = new Date('2026-12-06T12:00:00Z');
  const team: CareTeam = {
    resourceType: 'CareTeam',
    id: 'careteam-demo-child-1',
    status: 'active',
    subject: { reference: 'Patient/demo-child-1' },
    managingOrganization: [{ reference: 'Organization/nhs-lothian' }],
    participant: [
      {
        role: [{ coding: [{ system: CodeSystems.careTeamRole, code: 'lead-professional' }] }],
        member: { reference: 'PractitionerRole/role-ross-campbell' },
      },
    ],
  };
  const roles: PractitionerRole[] = [{ resourceType: 'PractitionerRole', id: 'role-ross-campbell', organization: { reference: 'Organization/edinburgh-social-work' } }];

  it("Lets a person sign in through the agency managing their team or employing their Named Person / Lead Professional", () => {
    expect(personSupportedByAgency([team], roles, 'nhs-lothian', now)).toBe(true);
    expect(personSupportedByAgency([team], roles, 'edinburgh-social-work', now)).toBe(true);
  });

  it('Refuses any other agency, a person with no team, and a team that is no longer active', () => {
    expect(personSupportedByAgency([team], roles, 'police-scotland-e-division', now)).toBe(false);
    expect(personSupportedByAgency([], roles, 'nhs-lothian', now)).toBe(false);
    expect(personSupportedByAgency([{ ...team, status: 'inactive' }], roles, 'nhs-lothian', now)).toBe(false);
  });
});
