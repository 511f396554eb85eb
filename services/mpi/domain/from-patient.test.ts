import type { Patient } from 'fhir/r4.js';
import { isOperationOutcomeError, type OperationOutcomeError } from '../../../shared/fhir/outcome.js';
import { agencyPatientSystem, IdentifierSystems } from '../../../shared/fhir/systems.js';
import { parseRegistration, recordIdFor, type SubmittingAgency } from './from-patient.js';

const socialWork: SubmittingAgency = {
  agencyId: 'edinburgh-social-work',
  system: agencyPatientSystem('edinburgh-social-work'),
  systemsByAgency: new Map([
    [agencyPatientSystem('edinburgh-social-work'), 'edinburgh-social-work'],
    [agencyPatientSystem('nhs-lothian'), 'nhs-lothian'],
  ]),
};

function patient(overrides: Partial<Patient> = {}): Patient {
  return {
    resourceType: 'Patient',
    identifier: [{ system: agencyPatientSystem('edinburgh-social-work'), value: 'SW-1001' }],
    name: [{ given: ['Robert', 'James'], family: 'McDonald' }],
    birthDate: '2014-03-07',
    gender: 'male',
    address: [{ line: ['14 Leith Walk'], city: 'Edinburgh', postalCode: 'EH6 5DT' }],
    ...overrides,
  };
}

function refusal(fn: () => unknown): OperationOutcomeError {
  try {
    fn();
  } catch (e) {
    if (isOperationOutcomeError(e)) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('parseRegistration', () => {
  it('reads the local identifier and the demographics the engine compares', () => {
    const parsed = parseRegistration(patient(), socialWork);
    expect(parsed.localIdentifier).toEqual({ system: socialWork.system, value: 'SW-1001' });
    expect(parsed.demographics).toMatchObject({
      agency: 'edinburgh-social-work',
      given: ['Robert', 'James'],
      family: 'McDonald',
      birthDate: '2014-03-07',
      postcode: 'EH6 5DT',
      addressLine: '14 Leith Walk',
      town: 'Edinburgh',
    });
    expect(parsed.chi).toBeUndefined();
  });

  it('accepts a valid CHI and records which check-digit scheme validated it', () => {
    const parsed = parseRegistration(
      patient({ identifier: [...patient().identifier!, { system: IdentifierSystems.chi, value: '0703140019' }] }),
      socialWork,
    );
    expect(parsed.chi).toEqual({ value: '0703140019', scheme: 'mod11' });
  });

  it('rejects a CHI with a bad check digit with 422 pointing at the identifier', () => {
    const e = refusal(() =>
      parseRegistration(patient({ identifier: [...patient().identifier!, { system: IdentifierSystems.chi, value: '0703140014' }] }), socialWork),
    );
    expect(e.status).toBe(422);
    expect(e.outcome.issue[0]?.expression).toEqual(['Patient.identifier[1].value']);
    expect(e.message).toMatch(/check digit/);
  });

  it('rejects a CHI whose first six digits are not a real date', () => {
    const e = refusal(() =>
      parseRegistration(patient({ identifier: [...patient().identifier!, { system: IdentifierSystems.chi, value: '3102991234' }] }), socialWork),
    );
    expect(e.status).toBe(422);
    expect(e.message).toMatch(/not a real date/);
  });

  it('refuses with 403 a record filed under another agency’s identifier system', () => {
    const e = refusal(() => parseRegistration(patient({ identifier: [{ system: agencyPatientSystem('nhs-lothian'), value: 'X1' }] }), socialWork));
    expect(e.status).toBe(403);
  });

  it('rejects an unknown identifier system with 422', () => {
    const e = refusal(() =>
      parseRegistration(patient({ identifier: [...patient().identifier!, { system: 'urn:example:other', value: '1' }] }), socialWork),
    );
    expect(e.status).toBe(422);
    expect(e.message).toMatch(/Unknown identifier system/);
  });

  it('rejects a record without the agency identifier', () => {
    const e = refusal(() => parseRegistration(patient({ identifier: [] }), socialWork));
    expect(e.status).toBe(422);
    expect(e.message).toMatch(/Missing the agency identifier/);
  });

  it('rejects a record with neither name nor birth date', () => {
    const e = refusal(() => parseRegistration(patient({ name: undefined, birthDate: undefined }), socialWork));
    expect(e.status).toBe(422);
    expect(e.outcome.issue[0]?.expression).toEqual(['Patient.name', 'Patient.birthDate']);
  });
});

describe('recordIdFor', () => {
  const hash = (s: string) => Buffer.from(s).toString('hex');

  it('keeps a readable id when the local identifier is a valid FHIR id', () => {
    expect(recordIdFor('nhs-lothian', 'A123', hash)).toBe('nhs-lothian.A123');
  });

  it('hashes identifiers that cannot appear in a FHIR id', () => {
    const id = recordIdFor('nhs-lothian', 'A 123/4', hash);
    expect(id).toMatch(/^nhs-lothian\.h[0-9a-f]+$/);
    expect(id.length).toBeLessThanOrEqual(64);
  });
});
