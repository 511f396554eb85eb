import type { CareTeam } from 'fhir/r4.js';
import { CodeSystems } from '../../../shared/fhir/systems.js';
import { namedPractitionerRoleIds, namedProfessionalsOf } from './named-professionals.js';

const now = new Date('2026-06-01T12:00:00Z');
const role = (code: string) => [{ coding: [{ system: CodeSystems.careTeamRole, code }] }];

function team(overrides: Partial<CareTeam> = {}): CareTeam {
  return {
    resourceType: 'CareTeam',
    id: 'ct-1',
    status: 'active',
    subject: { reference: 'Patient/p1' },
    participant: [
      { role: role('named-person'), member: { reference: 'PractitionerRole/np-1', display: 'Ms A Teacher' } },
      { role: role('lead-professional'), member: { reference: 'PractitionerRole/lp-1' } },
      { role: [{ text: 'school nurse' }], member: { reference: 'PractitionerRole/other' } },
    ],
    ...overrides,
  };
}

describe('namedProfessionalsOf', () => {
  it('Finds the Named Person and the Lead Professional by their role codes', () => {
    expect(namedProfessionalsOf(team(), now)).toEqual([
      { role: 'named-person', member: 'PractitionerRole/np-1', display: 'Ms A Teacher' },
      { role: 'lead-professional', member: 'PractitionerRole/lp-1' },
    ]);
  });

  it('Ignores participants whose assignment has ended or not yet begun', () => {
    const t = team({
      participant: [
        { role: role('named-person'), member: { reference: 'PractitionerRole/old' }, period: { end: '2026-05-31' } },
        { role: role('named-person'), member: { reference: 'PractitionerRole/new' }, period: { start: '2026-07-01' } },
        { role: role('named-person'), member: { reference: 'PractitionerRole/now' }, period: { start: '2026-01-01', end: '2026-06-01' } },
      ],
    });
    expect(namedProfessionalsOf(t, now).map((p) => p.member)).toEqual(['PractitionerRole/now']);
  });

  it('Finds nobody in a CareTeam that is no longer active', () => {
    expect(namedProfessionalsOf(team({ status: 'inactive' }), now)).toEqual([]);
  });

  it('Lists each named PractitionerRole id once across teams', () => {
    expect(namedPractitionerRoleIds([team(), team({ id: 'ct-2' })], now)).toEqual(['np-1', 'lp-1']);
  });
});
