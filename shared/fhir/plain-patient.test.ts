import fc from 'fast-check';
import { getDataType } from '@medplum/core';
import { isPlainValidPatient, PLAIN_PATIENT_CODES } from './plain-patient.js';
import { preloadFhirDefinitions, validatedByDefinitions, validityOf, type Validity } from './validate.js';
import { valueSetCodes } from './terminology.js';
import { isOperationOutcomeError } from './outcome.js';

/**
 * The plain Patient's shortcut must give the verdicts of the full validation: it only ever says "valid", so every
 * Patient it recognises must be one the full validation (value checks and Medplum's structure validator over the R4
 * definitions) finds valid — and `validityOf`, which takes the shortcut, must answer every Patient exactly as the full
 * validation does. Held over Patients generated in the shape and at its edges (awkward characters, impossible
 * dates, codes outside the value sets, references of other forms, empty and null values, extra keys).
 */

/** The full validation's verdict, as `validityOf` words one. */
function fullVerdict(body: unknown): Validity {
  try {
    validatedByDefinitions(body as Record<string, unknown>);
    return { valid: true };
  } catch (err) {
    if (!isOperationOutcomeError(err)) throw err;
    return { valid: false, status: err.status, issues: err.outcome.issue };
  }
}

const awkward = fc.constantFrom(
  '', ' ', '  ', '\t', '\n', 'a\nb', 'a\tb', '\r', '\u0000', '\u0001x', '\u001f', '\u007f', '\u0085', '\u00a0', '\ufeff', '\u2028', '\u3000', 'x\u00a0',
  '\ud800', 'a\udc00b', '\ufffe', '\uffff', '😀', ' Smith', 'Smith ', "O'Neil", 'Ní Bhriain', 'ä', 'x'.repeat(4096), 'x'.repeat(4097),
);
const str = fc.oneof(fc.string({ maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 6 }), awkward, fc.constantFrom('Smith', 'Mary', 'EH6 8AB', 'GB', '0131 496 0000'));
/** Mostly strings, sometimes another JSON value where a string belongs. */
const val = fc.oneof({ weight: 8, arbitrary: str }, { weight: 1, arbitrary: fc.constantFrom(null, 0, 1, true, [], {}, ['x'], { value: 'x' }) });
const uri = fc.oneof(str, fc.constantFrom('https://fhir.infoshare.scot/id/patient/nhs-lothian', 'https://fhir.nhs.uk/scotland/Id/chi', 'urn:oid:1.2.3', 'http://x y', 'a\u0001b'));
const date = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 10000 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 })).map(
    ([y, m, d]) => `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`,
  ),
  fc.constantFrom('1970-01-01', '2024-02-29', '2023-02-29', '1900-02-29', '2000-02-29', '1970', '1970-01', '1970-1-1', '0000-01-01', '1970-01-01T00:00:00Z', ' 1970-01-01', '19700101'),
  val,
);
const code = (codes: readonly string[]) => fc.oneof(fc.constantFrom(...codes, 'Male', 'banana', '', ' male', 'e mail'), val);
const reference = fc.oneof(
  fc.constantFrom('Organization/nhs-lothian', 'Organization/x', 'Organization/', `Organization/${'a'.repeat(64)}`, `Organization/${'a'.repeat(65)}`, 'Organization/a_b', 'Patient/x',
    'Organisation/x', '#x', '#', 'https://example.org/Organization/x', 'urn:uuid:0c4f9f5e-6a51-4d4e-9a43-7d4e8a9e1a02', 'Organization/x/_history/1', 'Organization/x '),
  val,
);

/** An object of some of `fields`, sometimes with an extra key the shape does not take. */
function someOf(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
  const extra = fc.constantFrom('period', 'extension', 'id', 'type', 'assigner', '__proto__', 'bogus', 'valueString');
  return fc.tuple(fc.record(fields, { requiredKeys: [] }), fc.option(fc.tuple(extra, val), { freq: 8 })).map(([o, more]) => {
    const out = { ...o } as Record<string, unknown>;
    if (more) Object.defineProperty(out, more[0], { value: more[1], enumerable: true, writable: true, configurable: true });
    return out;
  });
}
const many = <T>(item: fc.Arbitrary<T>) => fc.oneof({ weight: 10, arbitrary: fc.array(item, { minLength: 1, maxLength: 3 }) }, { weight: 1, arbitrary: fc.constantFrom([], [null], 'x', {}) });

const patient = fc
  .record(
    {
      resourceType: fc.oneof({ weight: 20, arbitrary: fc.constant('Patient') }, { weight: 1, arbitrary: fc.constantFrom('Person', 'patient') }),
      identifier: many(someOf({ system: uri, value: val, use: code(['usual', 'official', 'secondary', 'home']) })),
      name: many(someOf({ family: val, given: many(val), text: val, prefix: many(val), suffix: many(val), use: code(['official', 'maiden', 'nickname', 'home']) })),
      telecom: many(someOf({ system: code(['phone', 'fax', 'email', 'pager', 'url', 'sms', 'other']), value: val, use: code(['home', 'mobile', 'work', 'maiden']) })),
      gender: code(['male', 'female', 'other', 'unknown']),
      birthDate: date,
      address: many(someOf({ line: many(val), city: val, district: val, state: val, postalCode: val, country: val, text: val, use: code(['home', 'billing', 'mobile']), type: code(['postal', 'both', 'home']) })),
      managingOrganization: fc.oneof({ weight: 10, arbitrary: someOf({ reference }) }, { weight: 1, arbitrary: val }),
      active: fc.oneof(fc.boolean(), val),
      deceasedBoolean: fc.boolean(),
    },
    { requiredKeys: ['resourceType'] },
  );

/** Mostly a plain string, sometimes an awkward one. */
const plainStr = fc.oneof({ weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) }, { weight: 1, arbitrary: awkward });
const plainDate = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.integer({ min: 1900, max: 2026 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 })).map(([y, m, d]) => `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`) },
  { weight: 1, arbitrary: date },
);

/** A Patient most of whose values are plain: the generator above with the odd values drawn less often. */
const mostlyPlain = fc.record(
  {
    resourceType: fc.constant('Patient'),
    identifier: fc.array(fc.record({ system: fc.constantFrom('https://fhir.infoshare.scot/id/patient/nhs-lothian', 'https://fhir.nhs.uk/scotland/Id/chi'), value: plainStr }), { minLength: 1, maxLength: 2 }),
    name: fc.array(fc.record({ use: fc.constantFrom('official', 'usual', 'maiden', 'nickname'), family: plainStr, given: fc.array(plainStr, { minLength: 1, maxLength: 2 }) }, { requiredKeys: [] }), { minLength: 1, maxLength: 2 }),
    telecom: fc.array(fc.record({ system: fc.constantFrom('phone', 'email', 'sms'), value: plainStr }), { minLength: 1, maxLength: 2 }),
    gender: fc.constantFrom('male', 'female', 'other', 'unknown'),
    active: fc.boolean(),
    birthDate: plainDate,
    address: fc.array(fc.record({ line: fc.array(plainStr, { minLength: 1, maxLength: 2 }), postalCode: fc.string({ minLength: 1, maxLength: 8 }), country: fc.constant('GB'), use: fc.constantFrom('home', 'work', 'old'), type: fc.constantFrom('postal', 'physical', 'both') }, { requiredKeys: [] }), { minLength: 1, maxLength: 2 }),
    managingOrganization: fc.record({ reference }),
  },
  { requiredKeys: ['resourceType'] },
);

describe('the plain Patient shortcut', () => {
  it('takes as codes of each required binding exactly the codes of its R4 value set', () => {
    preloadFhirDefinitions();
    for (const [path, codes] of Object.entries(PLAIN_PATIENT_CODES)) {
      const [type, name] = path.split('.') as [string, string];
      const binding = getDataType(type).elements[name]?.binding;
      expect({ path, strength: binding?.strength }).toEqual({ path, strength: 'required' });
      const valueSet = valueSetCodes(binding!.valueSet!);
      expect({ path, codes: [...new Set([...(valueSet?.values() ?? [])].flatMap((set) => [...set]))].sort() }).toEqual({ path, codes: [...codes].sort() });
    }
  });

  it('recognises a bulk load Patient, and leaves every other resource type to the full validation', () => {
    const p = {
      resourceType: 'Patient',
      identifier: [{ system: 'https://fhir.infoshare.scot/id/patient/nhs-lothian', value: 'L-000123' }, { system: 'https://fhir.nhs.uk/scotland/Id/chi', value: '0101701234' }],
      name: [{ use: 'official', family: 'McDonald', given: ['Rab', 'John'] }],
      telecom: [{ system: 'phone', value: '0131 496 0000', use: 'home' }],
      gender: 'male',
      active: true,
      birthDate: '1970-01-01',
      address: [{ line: ['1 Leith Walk'], postalCode: 'EH6 8AB', country: 'GB' }],
      managingOrganization: { reference: 'Organization/nhs-lothian' },
    };
    expect(isPlainValidPatient(p)).toBe(true);
    expect(isPlainValidPatient(p, 'Patient')).toBe(true);
    expect(isPlainValidPatient(p, 'Person')).toBe(false);
    expect(isPlainValidPatient({ ...p, resourceType: 'Person' })).toBe(false);
    expect(isPlainValidPatient({ ...p, birthDate: '2023-02-29' })).toBe(false);
    expect(fullVerdict(p)).toEqual({ valid: true });
  });

  it('recognises only Patients the full validation finds valid, and validityOf answers every Patient as the full validation does', () => {
    let recognised = 0;
    let withUse = 0;
    let invalid = 0;
    fc.assert(
      fc.property(fc.oneof({ weight: 1, arbitrary: patient }, { weight: 2, arbitrary: mostlyPlain }), (body) => {
        const full = fullVerdict(body);
        if (isPlainValidPatient(body)) {
          recognised++;
          if (/"use":/.test(JSON.stringify(body))) withUse++;
          expect(full).toEqual({ valid: true });
        }
        if (!full.valid) invalid++;
        expect(JSON.stringify(validityOf(body))).toBe(JSON.stringify(full));
      }),
      { seed: 20261208, numRuns: 4000 },
    );
    // Both sides of the shape were exercised.
    expect(recognised).toBeGreaterThan(250);
    expect(invalid).toBeGreaterThan(1000);
    expect(withUse).toBeGreaterThan(100);
  });
});
