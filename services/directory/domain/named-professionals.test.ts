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

  it('Reads an assignment ending at a leap second as ending at the last millisecond of that minute (shared/fhir/leap-second.ts)', () => {
    // Before, the end read as nothing and the Named Person was dropped at once, long before the assignment ended.
    const t = team({ participant: [{ role: role('named-person'), member: { reference: 'PractitionerRole/np-1' }, period: { start: '2016-01-01', end: '2016-12-31T23:59:60Z' } }] });
    expect(namedProfessionalsOf(t, new Date('2016-12-31T23:59:59.998Z')).map((p) => p.member)).toEqual(['PractitionerRole/np-1']);
    expect(namedProfessionalsOf(t, new Date('2017-01-01T00:00:00Z'))).toEqual([]);
  });

  it('Finds nobody in a CareTeam that is no longer active', () => {
    expect(namedProfessionalsOf(team({ status: 'inactive' }), now)).toEqual([]);
  });

  it('Lists each named PractitionerRole id once across teams', () => {
    expect(namedPractitionerRoleIds([team(), team({ id: 'ct-2' })], now)).toEqual(['np-1', 'lp-1']);
  });
});
