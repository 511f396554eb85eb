/**
 * A Patient of the plain shape agencies send in bulk loads — identifiers, names, telecom, gender, birth date,
 * addresses, a managing Organization, `active`, each with its `use` (and an address its `type`), each element as
 * plain as FHIR JSON allows — is recognised here as valid
 * without walking the R4 definitions (validate.ts). Medplum's structure validator takes ~0.2 ms per such Patient
 * (over a third of an MPI bulk load's CPU); this check a few microseconds.
 *
 * It only ever says "valid", and only for a shape where each check the full validation makes is known to pass:
 * anything else — another element, a period, an extension, `id` or `meta`, a value of another form — is left to the
 * full validation, which alone words problems. So the verdicts are the same by construction; a property test
 * (plain-patient.test.ts) holds it to that over generated Patients in and around the shape. What each check answers
 * for, in the full validation:
 *
 * - Only elements the R4 Patient and its types (Identifier, HumanName, ContactPoint, Address, Reference) define, none
 *   a choice element, none required (so nothing is missing), each with its JSON shape: an array of one or more where
 *   the element repeats, a single value where it does not; no empty object, array or string, no null (value-checks'
 *   JSON shape, FHIR JSON's rules; Medplum's cardinality, presence and null checks).
 * - Strings of R4's `string` characters (no control characters but none at all here: stricter than R4's pattern,
 *   which allows CR, LF and TAB) with some non-whitespace content (Medplum's `trim()` test), at most MAX_STRING long
 *   (R4 caps a string at 1 MB); a `uri` (Identifier.system) has no whitespace at all.
 * - Codes of required bindings: `gender`, each `use`, `ContactPoint.system`, `Address.type` (PLAIN_PATIENT_CODES).
 * - `birthDate` a full date that is a day of the calendar (R4's date pattern; value-checks' calendar check).
 * - Invariants of error severity over these elements: cpt-2 (a ContactPoint's value needs its system: one without a
 *   system is left to the full validation); the DomainResource invariants on `contained` (none here); ref-1 (a
 *   reference not starting with `#`).
 * - `managingOrganization` a relative reference to an Organization (value-checks' reference form and target type).
 */
import { isJsonObject } from '../json-object.js';
import { daysInMonth } from './value-checks.js';

/** Longer strings are left to the full validation (its limit is 1 MB; no name or identifier of a bulk load nears this). */
const MAX_STRING = 4096;
/** More repetitions of an element than this are left to the full validation. */
const MAX_REPEATS = 64;

/** A FHIR string: printable characters (U+0020 and up), not whitespace alone. */
const PRINTABLE = /^[\u0020-\uFFFF]+$/;
/** A FHIR uri without whitespace. */
const URI = /^\S+$/;
/** R4's date pattern, full dates only (datatypes.html#date). */
const FULL_DATE = /^(\d(\d(\d[1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2]\d|3[0-1])$/;
/** A relative reference to an Organization (R4's id: 1-64 of A-Z a-z 0-9 - .). */
const ORGANIZATION_REFERENCE = /^Organization\/[A-Za-z0-9\-.]{1,64}$/;

/**
 * The codes of the required bindings of the elements taken here, by element: the R4 value sets' own codes
 * (plain-patient.test.ts checks each against the definitions the full validation reads).
 */
export const PLAIN_PATIENT_CODES = {
  'Patient.gender': new Set(['male', 'female', 'other', 'unknown']),
  'Identifier.use': new Set(['usual', 'official', 'temp', 'secondary', 'old']),
  'HumanName.use': new Set(['usual', 'official', 'temp', 'nickname', 'anonymous', 'old', 'maiden']),
  'ContactPoint.system': new Set(['phone', 'fax', 'email', 'pager', 'url', 'sms', 'other']),
  'ContactPoint.use': new Set(['home', 'work', 'temp', 'old', 'mobile']),
  'Address.use': new Set(['home', 'work', 'temp', 'old', 'billing']),
  'Address.type': new Set(['postal', 'physical', 'both']),
} as const satisfies Record<string, ReadonlySet<string>>;

const GENDERS = PLAIN_PATIENT_CODES['Patient.gender'];
const CONTACT_POINT_SYSTEMS = PLAIN_PATIENT_CODES['ContactPoint.system'];

/** A code of `codes`. */
function codeOf(v: unknown, codes: ReadonlySet<string>): boolean {
  return typeof v === 'string' && codes.has(v);
}

/**
 * True when `value` is a Patient of the plain shape above, which the full validation finds valid (as
 * `expectedType`, when given). False says nothing: the full validation decides.
 */
export function isPlainValidPatient(value: unknown, expectedType?: string): boolean {
  if (expectedType !== undefined && expectedType !== 'Patient') return false;
  if (!isJsonObject(value) || value.resourceType !== 'Patient') return false;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) return false;
    const v = value[key];
    switch (key) {
      case 'resourceType':
        continue;
      case 'identifier':
        if (!eachOf(v, identifier)) return false;
        continue;
      case 'name':
        if (!eachOf(v, humanName)) return false;
        continue;
      case 'telecom':
        if (!eachOf(v, contactPoint)) return false;
        continue;
      case 'active':
        if (typeof v !== 'boolean') return false;
        continue;
      case 'gender':
        if (!codeOf(v, GENDERS)) return false;
        continue;
      case 'birthDate':
        if (!calendarDate(v)) return false;
        continue;
      case 'address':
        if (!eachOf(v, address)) return false;
        continue;
      case 'managingOrganization':
        if (!organizationReference(v)) return false;
        continue;
      default:
        return false;
    }
  }
  return true;
}

/** A non-empty array (of at most MAX_REPEATS) each of whose items passes `item`. */
function eachOf(v: unknown, item: (x: unknown) => boolean): boolean {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_REPEATS) return false;
  for (let i = 0; i < v.length; i++) if (!item(v[i])) return false;
  return true;
}

function text(v: unknown): boolean {
  return typeof v === 'string' && v.length <= MAX_STRING && PRINTABLE.test(v) && v.trim() !== '';
}

function uri(v: unknown): boolean {
  return typeof v === 'string' && v.length <= MAX_STRING && PRINTABLE.test(v) && URI.test(v);
}

/** An object with at least one key, every own key one of `allowed` and its value passing that check. */
function plainObject(v: unknown, check: (key: string, value: unknown) => boolean): boolean {
  if (!isJsonObject(v)) return false;
  let keys = 0;
  for (const key in v) {
    if (!Object.hasOwn(v, key) || !check(key, v[key])) return false;
    keys++;
  }
  return keys > 0;
}

function identifier(v: unknown): boolean {
  return plainObject(v, (key, x) => (key === 'system' ? uri(x) : key === 'value' ? text(x) : key === 'use' ? codeOf(x, PLAIN_PATIENT_CODES['Identifier.use']) : false));
}

function humanName(v: unknown): boolean {
  return plainObject(v, (key, x) =>
    key === 'family' || key === 'text' ? text(x) : key === 'given' || key === 'prefix' || key === 'suffix' ? eachOf(x, text) : key === 'use' ? codeOf(x, PLAIN_PATIENT_CODES['HumanName.use']) : false,
  );
}

/** cpt-2: a value needs a system, so a ContactPoint here has one. */
function contactPoint(v: unknown): boolean {
  return (
    isJsonObject(v) &&
    v.system !== undefined &&
    plainObject(v, (key, x) => (key === 'system' ? codeOf(x, CONTACT_POINT_SYSTEMS) : key === 'value' ? text(x) : key === 'use' ? codeOf(x, PLAIN_PATIENT_CODES['ContactPoint.use']) : false))
  );
}

function address(v: unknown): boolean {
  return plainObject(v, (key, x) => {
    switch (key) {
      case 'line':
        return eachOf(x, text);
      case 'use':
        return codeOf(x, PLAIN_PATIENT_CODES['Address.use']);
      case 'type':
        return codeOf(x, PLAIN_PATIENT_CODES['Address.type']);
      case 'text':
      case 'city':
      case 'district':
      case 'state':
      case 'postalCode':
      case 'country':
        return text(x);
      default:
        return false;
    }
  });
}

function organizationReference(v: unknown): boolean {
  return plainObject(v, (key, x) => key === 'reference' && typeof x === 'string' && ORGANIZATION_REFERENCE.test(x));
}

function calendarDate(v: unknown): boolean {
  if (typeof v !== 'string' || !FULL_DATE.test(v)) return false;
  const year = Number(v.slice(0, 4));
  const month = Number(v.slice(5, 7));
  const day = Number(v.slice(8, 10));
  return day <= daysInMonth(year, month);
}
