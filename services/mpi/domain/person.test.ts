import type { Patient } from 'fhir/r4.js';
import { agencyPatientSystem, IdentifierSystems } from '../../../shared/fhir/systems.js';
import type { PersonLink } from './links.js';
import { agencyOfRecord, buildPerson, chiOfRecord } from './person.js';

function record(id: string, overrides: Partial<Patient> = {}): Patient {
  const agency = id.split('.')[0]!;
  return {
    resourceType: 'Patient',
    id,
    identifier: [{ system: agencyPatientSystem(agency), value: id.split('.')[1] }],
    managingOrganization: { reference: `Organization/${agency}` },
    ...overrides,
  };
}

const nhs = record('nhs-lothian.N1', {
  identifier: [
    { system: agencyPatientSystem('nhs-lothian'), value: 'N1' },
    { system: IdentifierSystems.chi, value: '0703146018' },
  ],
  name: [{ given: ['Robert'], family: 'McDonald' }],
  birthDate: '2014-03-07',
  gender: 'male',
});
const education = record('edinburgh-education.E1', { name: [{ given: ['Rab'], family: 'MacDonald' }], birthDate: '2014-03-07' });
const police = record('police-scotland-e-division.P1', { name: [{ given: ['Rab'], family: 'Mcdonald' }] });

const members = new Map<string, PersonLink>([
  ['edinburgh-education.E1', { personId: 'per-1', assurance: 'level3', how: 'auto' }],
  ['nhs-lothian.N1', { personId: 'per-1', assurance: 'level4', how: 'chi' }],
  ['police-scotland-e-division.P1', { personId: 'per-1', assurance: 'level2', how: 'manual' }],
]);

describe('buildPerson', () => {
  it('links every record the reader may see, with its assurance, most assured first', () => {
    const person = buildPerson({ personId: 'per-1', members, visibleRecords: [education, police, nhs], chi: '0703146018' });
    expect(person).toMatchObject({ resourceType: 'Person', id: 'per-1', active: true });
    expect(person.link).toEqual([
      { target: { reference: 'Patient/nhs-lothian.N1' }, assurance: 'level4' },
      { target: { reference: 'Patient/edinburgh-education.E1' }, assurance: 'level3' },
      { target: { reference: 'Patient/police-scotland-e-division.P1' }, assurance: 'level2' },
    ]);
    // Demographics come from the best-assured record.
    expect(person.name).toEqual(nhs.name);
    expect(person.gender).toBe('male');
    expect(person.birthDate).toBe('2014-03-07');
    expect(person.identifier).toEqual([{ system: IdentifierSystems.chi, value: '0703146018' }]);
  });

  it('hides links (and their demographics) the reader may not see', () => {
    const person = buildPerson({ personId: 'per-1', members, visibleRecords: [police] });
    expect(person.link).toEqual([{ target: { reference: 'Patient/police-scotland-e-division.P1' }, assurance: 'level2' }]);
    expect(JSON.stringify(person)).not.toContain('nhs-lothian');
    expect(JSON.stringify(person)).not.toContain('edinburgh-education');
    expect(person.identifier).toBeUndefined();
    expect(person.birthDate).toBeUndefined();
    expect(person.name).toEqual(police.name);
  });

  it('shows a merged-away Person as inactive, pointing at the survivor', () => {
    const person = buildPerson({ personId: 'per-old', members: new Map(), visibleRecords: [], replacedBy: 'per-1' });
    expect(person.active).toBe(false);
    expect(person.link).toEqual([{ target: { reference: 'Person/per-1' }, assurance: 'level4' }]);
  });
});

describe('record helpers', () => {
  it('reads the CHI a record carries', () => {
    expect(chiOfRecord(nhs)).toBe('0703146018');
    expect(chiOfRecord(education)).toBeUndefined();
  });

  it('names the owning agency from managingOrganization, else from the record id', () => {
    expect(agencyOfRecord(nhs)).toBe('nhs-lothian');
    expect(agencyOfRecord({ resourceType: 'Patient', id: 'edinburgh-housing.H9' })).toBe('edinburgh-housing');
  });
});
