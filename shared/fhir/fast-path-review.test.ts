import { OperationOutcomeError, validateResource } from '@medplum/core';
import type { Resource as MedplumResource } from '@medplum/fhirtypes';
import { alertMessage } from '../../bench/alerts/workload.js';
import { isPlainValidPatient, PLAIN_PATIENT_CODES } from './plain-patient.js';
import { structureErrorFree } from './structure-fast-path.js';
import { preloadFhirDefinitions, validityOf } from './validate.js';
import { valueProblems } from './value-checks.js';

/**
 * Session 28's review of the two validation shortcuts (plain-patient.ts, structure-fast-path.ts): hand-built bodies
 * aimed at each rule the full validation applies — the awkward strings, dates, numbers, codes, choice and null
 * cases, the invariants of error severity (pat-1 and the Bundle ones a shortcut answers for sure) — each judged three
 * ways: the hub (`validityOf`, shortcuts included), the full validation without either shortcut (value checks, then
 * Medplum's own walk), and each shortcut alone. A shortcut may only say "valid" where the full validation does, and
 * the hub's verdict is the full validation's. The bad ones are checked to be refused, so the corpus tests something.
 */
beforeAll(() => preloadFhirDefinitions());

/** The hub's verdict before session 28: value checks, then Medplum's walk (validate.ts without the shortcuts). */
function fullyValid(body: Record<string, unknown>): boolean {
  const checked = valueProblems(body);
  if (checked.issues.length > 0) return false;
  if (checked.misshapen) return checked.unknownElements.length === 0;
  return medplumErrorFree(body);
}

function medplumErrorFree(body: Record<string, unknown>): boolean {
  try {
    return !validateResource(body as unknown as MedplumResource).some((i) => i.severity === 'error' || i.severity === 'fatal');
  } catch (err) {
    if (err instanceof OperationOutcomeError) return false;
    throw err;
  }
}

const plainPatient = () => ({
  resourceType: 'Patient',
  identifier: [{ system: 'https://fhir.infoshare.scot/id/patient/nhs-lothian', value: 'L-000123' }],
  name: [{ family: 'McDonald', given: ['Rab'] }],
  telecom: [{ system: 'phone', value: '0131 496 0000' }],
  gender: 'male',
  birthDate: '2000-02-29',
  address: [{ line: ['1 Leith Walk'], city: 'Edinburgh', postalCode: 'EH6 8AB' }],
  managingOrganization: { reference: 'Organization/nhs-lothian' },
});
type Body = Record<string, unknown>;
type Path = readonly (string | number)[];

/** The object or array at `path` in `body` (the bodies here are built to have one there). */
function at(body: Body, path: Path): Record<string | number, unknown> {
  let here: unknown = body;
  for (const step of path) here = (here as Record<string | number, unknown>)[step];
  return here as Record<string | number, unknown>;
}
/** Sets (or, for `undefined`, deletes) the value at `path`. */
function put(body: Body, path: Path, value: unknown): void {
  const parent = at(body, path.slice(0, -1));
  const key = path[path.length - 1]!;
  if (value === undefined) delete parent[key];
  else parent[key] = value;
}
const patientWith = (...changes: [Path, unknown][]): Body => {
  const p: Body = plainPatient();
  for (const [path, value] of changes) put(p, path, value);
  return p;
};
const message = (...changes: [Path, unknown][]): Body => {
  const b = JSON.parse(JSON.stringify(alertMessage('edinburgh-education', 'child-wellbeing', 'review', 1, 1))) as Body;
  for (const [path, value] of changes) put(b, path, value);
  return b;
};

/** Strings aimed at R4's string rules (characters, whitespace content, length) — one in each string slot below. */
const STRINGS = ['\ud800', '\udfff', '\ufffe', '\uffff', '\u0085', '\u007f', '\u009f', '\u00a0', '\u2028', '\u3000', '\ufeff', '\u200b', ' x', 'x ', 'a\tb', 'a\nb', '\u0001', '', ' ', 'x'.repeat(4096), 'x'.repeat(4097)];
const SLOTS: ((s: string) => [Path, unknown])[] = [
  (s) => [['identifier', 0, 'value'], s],
  (s) => [['identifier', 0, 'system'], s],
  (s) => [['name', 0, 'family'], s],
  (s) => [['name', 0, 'given'], [s]],
  (s) => [['telecom', 0, 'value'], s],
  (s) => [['address', 0, 'line'], [s]],
  (s) => [['address', 0, 'postalCode'], s],
  (s) => [['managingOrganization', 'reference'], `Organization/${s}`],
];

/** Bodies the full validation refuses, each aimed at one rule. */
const BAD: Record<string, Body> = {
  'gender outside administrative-gender': patientWith([['gender'], 'Male']),
  'ContactPoint.system outside its value set': patientWith([['telecom', 0, 'system'], 'Phone']),
  'no such day (1900 is no leap year)': patientWith([['birthDate'], '1900-02-29']),
  'a partial date spelt without zeros': patientWith([['birthDate'], '1970-1-1']),
  'year 0000': patientWith([['birthDate'], '0000-01-01']),
  'an id of 65 characters in the reference': patientWith([['managingOrganization', 'reference'], `Organization/${'a'.repeat(65)}`]),
  'a reference to another type than Organization': patientWith([['managingOrganization', 'reference'], 'Patient/p1']),
  'a uri with a space': patientWith([['identifier', 0, 'system'], 'https://x.org/a b']),
  'null in an array': patientWith([['name', 0, 'given'], ['Rab', null]]),
  'null value': patientWith([['gender'], null]),
  'empty array': patientWith([['telecom'], []]),
  'empty object': patientWith([['name'], [{}]]),
  'single value where the element repeats': patientWith([['name'], { family: 'x' }]),
  'array where the element does not repeat': patientWith([['gender'], ['male']]),
  'an unknown key': patientWith([['nickname'], 'Rab']),
  'an unknown key in a datatype': patientWith([['name', 0, 'middle'], 'x']),
  'a control character': patientWith([['name', 0, 'family'], 'Mc\u0001Donald']),
  'two names of one choice element': patientWith([['deceasedBoolean'], false], [['deceasedDateTime'], '2020']),
  'a decimal where an integer is expected': patientWith([['multipleBirthInteger'], 1.5]),
  'an integer beyond 32 bits': patientWith([['multipleBirthInteger'], 2147483648]),
  'positiveInt 0': patientWith([['telecom', 0, 'rank'], 0]),
  'a boolean as a string': patientWith([['active'], 'true']),
  'pat-1: a contact with no details': patientWith([['contact'], [{ gender: 'female' }]]),
  'null resourceType inside a datatype': patientWith([['name', 0, 'resourceType'], null]),
  'a primitive extension with no value or extension': patientWith([['_gender'], {}]),
  'a dateTime without its zone': patientWith([['deceasedDateTime'], '2020-01-01T10:00:00']),
  'a contained resource with an unknown key': patientWith([['contained'], [{ resourceType: 'Organization', id: 'o', bogus: 1 }]]),
  'a contained resource of no known type': patientWith([['contained'], [{ resourceType: 'Bogus', id: 'o' }]]),
  'dom-2: a contained resource containing one': patientWith([['contained'], [{ resourceType: 'Organization', id: 'o', name: 'x', contained: [{ resourceType: 'Organization', id: 'p', name: 'y' }] }]]),
  'bdl-12: a message whose first entry is no MessageHeader': message([['entry'], [...(message().entry as unknown[])].reverse()]),
  'bdl-7: two entries of one fullUrl': message([['entry', 1, 'fullUrl'], 'urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e'], [['entry', 0, 'fullUrl'], 'urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e']),
  'bdl-8: a fullUrl with a version': message([['entry', 1, 'fullUrl'], 'http://x.org/fhir/Flag/f/_history/1']),
  'bdl-1: a total on a message': message([['total'], 4]),
  'bdl-2: a search on a message entry': message([['entry', 1, 'search'], { mode: 'match' }]),
  'bdl-3: a request on a message entry': message([['entry', 1, 'request'], { method: 'POST', url: 'Flag' }]),
  'bdl-4: a response on a message entry': message([['entry', 1, 'response'], { status: '201' }]),
  'bdl-5: an entry with nothing': message([['entry', 1], { fullUrl: 'urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e' }]),
  'bdl-9: a document without an identifier': message([['type'], 'document']),
  'a message with its type as an array': message([['type'], ['message']]),
  'an entry resource without resourceType': message([['entry', 1, 'resource', 'resourceType'], undefined]),
  'an entry resource of a datatype': message([['entry', 1, 'resource'], { resourceType: 'HumanName', family: 'x' }]),
  'a required element missing in a nested resource (Flag.code)': message([['entry', 1, 'resource', 'code'], undefined]),
  'a required element missing in a backbone element (Patient.link.type)': patientWith([['link'], [{ other: { reference: 'Patient/p2' } }]]),
};

/** Bodies the full validation accepts, close to the edges above (so "refused" is not the only answer). */
const GOOD: Record<string, Body> = {
  'a plain Patient': plainPatient(),
  'a leap day of 2000': patientWith([['birthDate'], '2000-02-29']),
  'an id of 64 characters in the reference': patientWith([['managingOrganization', 'reference'], `Organization/${'a'.repeat(64)}`]),
  'a message Bundle': message(),
  'a message Bundle of one MessageHeader': message([['entry'], (message().entry as unknown[]).slice(0, 1)]),
  'a collection Bundle (no MessageHeader first)': message([['type'], 'collection']),
  'a Patient with a contact with a name': patientWith([['contact'], [{ name: { family: 'x' } }]]),
};

function verdicts(body: Body) {
  return { hub: validityOf(body).valid, full: fullyValid(body), plain: isPlainValidPatient(body), structure: structureErrorFree(body as { resourceType: string }) };
}

describe('the validation shortcuts against the full validation (session 28 review)', () => {
  it.each(Object.entries(BAD))('refuses %s, as the full validation does, and no shortcut calls it valid', (_name, body) => {
    const v = verdicts(body);
    expect(v.full).toBe(false);
    expect(v.hub).toBe(false);
    expect(v.plain).toBe(false);
    if (v.structure) expect(medplumErrorFree(body)).toBe(true); // the structure shortcut answers for Medplum's walk alone
  });

  it.each(Object.entries(GOOD))('accepts %s, as the full validation does', (_name, body) => {
    expect(verdicts(body)).toMatchObject({ hub: true, full: true });
  });

  it('answers each code (and near misses of it) in each coded slot of a plain Patient as the full validation does', () => {
    const slots: Record<string, Path> = {
      'Patient.gender': ['gender'],
      'Identifier.use': ['identifier', 0, 'use'],
      'HumanName.use': ['name', 0, 'use'],
      'ContactPoint.system': ['telecom', 0, 'system'],
      'ContactPoint.use': ['telecom', 0, 'use'],
      'Address.use': ['address', 0, 'use'],
      'Address.type': ['address', 0, 'type'],
    };
    let recognised = 0;
    for (const [element, path] of Object.entries(slots)) {
      const codes = [...PLAIN_PATIENT_CODES[element as keyof typeof PLAIN_PATIENT_CODES]];
      for (const code of [...codes, ...codes.flatMap((c) => [c.toUpperCase(), `${c} `, ` ${c}`]), 'mobile', 'billing', 'nickname', 'both', 'maiden', 'secondary', 'pager', true]) {
        const body = patientWith([path, code]);
        const v = verdicts(body);
        expect({ element, code, hub: v.hub }).toEqual({ element, code, hub: v.full });
        if (v.plain) {
          recognised++;
          expect({ element, code, full: v.full }).toEqual({ element, code, full: true });
        }
      }
    }
    expect(recognised).toBeGreaterThan(30);
  });

  it('answers `active` as the full validation does', () => {
    for (const active of [true, false, 'true', 1, null]) {
      const v = verdicts(patientWith([['active'], active]));
      expect({ active, hub: v.hub }).toEqual({ active, hub: v.full });
      if (v.plain) expect(v.full).toBe(true);
    }
  });

  it('answers every awkward string in every string slot of a plain Patient as the full validation does', () => {
    let recognised = 0;
    for (const s of STRINGS) {
      for (const slot of SLOTS) {
        const body = patientWith(slot(s));
        const v = verdicts(body);
        expect({ string: JSON.stringify(s), body: JSON.stringify(body).slice(0, 200), hub: v.hub }).toEqual({ string: JSON.stringify(s), body: JSON.stringify(body).slice(0, 200), hub: v.full });
        if (v.plain) {
          recognised++;
          expect(v.full).toBe(true);
        }
        if (v.structure) expect(medplumErrorFree(body)).toBe(true);
      }
    }
    expect(recognised).toBeGreaterThan(20);
  });

  // Found by this review, older than either shortcut (the start build 5ba13b7 accepted each): keys Medplum's
  // additional-property check (`key in elements`) takes for elements without reading them. value-checks now says them.
  it.each([
    ['toString', 'x'],
    ['valueOf', { a: 1 }],
    ['isPrototypeOf', 'x'],
    ['__defineGetter__', 'x'],
    ['_constructor', 'x'],
    ['_toString', 'x'],
    ['deceased[x]', { evil: [1, 2] }],
    ['_deceased[x]', {}],
  ])('refuses the key %s, which Medplum takes for an element and never reads', (key, value) => {
    const body = patientWith([[key], value]);
    const verdict = validityOf(body);
    expect(verdict.valid).toBe(false);
    expect(verdict.valid ? [] : verdict.issues.map((i) => i.details?.text)).toContain(`Invalid additional property "${key}"`);
    expect(isPlainValidPatient(body)).toBe(false);
  });

  it('refuses resourceType inside a datatype, which Medplum skips in any object', () => {
    const verdict = validityOf(patientWith([['name', 0, 'resourceType'], 'Patient']));
    expect(verdict.valid ? [] : verdict.issues.map((i) => [i.expression?.[0], i.details?.text])).toEqual([['Patient.name[0].resourceType', 'Invalid additional property "resourceType"']]);
    // …and still takes it where it belongs: on a contained resource and a Bundle entry's resource.
    expect(validityOf(patientWith([['contained'], [{ resourceType: 'Organization', id: 'o', name: 'x' }]]))).toEqual({ valid: true });
    expect(validityOf(message())).toEqual({ valid: true });
  });
});
