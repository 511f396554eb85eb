import { evalFhirPathTyped, getAllDataTypes, getDataType, toTypedValue, UCUM, type InternalSchemaElement } from '@medplum/core';
import type { OperationOutcomeIssue } from 'fhir/r4.js';
import fc from 'fast-check';
import { datatypeInvariants } from './datatype-invariants.js';
import { isPlainValidPatient } from './plain-patient.js';
import { preloadFhirDefinitions, validityOf } from './validate.js';

beforeAll(() => preloadFhirDefinitions());

function issues(resource: unknown): OperationOutcomeIssue[] {
  const v = validityOf(resource);
  return v.valid ? [] : v.issues;
}

const ucum = 'http://unitsofmeasure.org';
const observation = (value: Record<string, unknown>) => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, ...value });
const parameter = (value: Record<string, unknown>) => ({ resourceType: 'Parameters', parameter: [{ name: 'p', ...value }] });
const structureDefinition = (element: Record<string, unknown>) => ({
  resourceType: 'StructureDefinition',
  url: 'http://example.org/StructureDefinition/x',
  name: 'X',
  status: 'draft',
  kind: 'resource',
  abstract: false,
  type: 'Patient',
  baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient',
  derivation: 'constraint',
  differential: { element: [{ id: 'Patient', path: 'Patient', ...element }] },
});
const dosage = (maxDosePerAdministration: Record<string, unknown>) => ({
  resourceType: 'MedicationRequest',
  status: 'active',
  intent: 'order',
  subject: { reference: 'Patient/1' },
  medicationCodeableConcept: { text: 'x' },
  dosageInstruction: [{ maxDosePerAdministration }],
});

/** For each invariant: a body failing it (and nothing else), where it fails, and the same body mended. */
const CASES: { key: string; failing: unknown; path: string; passing: unknown }[] = [
  { key: 'cpt-2', failing: { resourceType: 'Patient', telecom: [{ value: '0131' }] }, path: 'Patient.telecom[0]', passing: { resourceType: 'Patient', telecom: [{ system: 'phone', value: '0131' }] } },
  { key: 'qty-3', failing: observation({ valueQuantity: { value: 1, code: 'mg' } }), path: 'Observation.valueQuantity', passing: observation({ valueQuantity: { value: 1, code: 'mg', system: ucum } }) },
  { key: 'rng-2', failing: observation({ valueRange: { low: { value: 5 }, high: { value: 1 } } }), path: 'Observation.valueRange', passing: observation({ valueRange: { low: { value: 1 }, high: { value: 5 } } }) },
  { key: 'att-1', failing: { resourceType: 'Patient', photo: [{ data: 'AAAA' }] }, path: 'Patient.photo[0]', passing: { resourceType: 'Patient', photo: [{ data: 'AAAA', contentType: 'image/png' }] } },
  { key: 'rat-1', failing: observation({ valueRatio: { numerator: { value: 1 } } }), path: 'Observation.valueRatio', passing: observation({ valueRatio: { numerator: { value: 1 }, denominator: { value: 2 } } }) },
  { key: 'age-1', failing: parameter({ valueAge: { value: -1, code: 'a', system: ucum } }), path: 'Parameters.parameter[0].valueAge', passing: parameter({ valueAge: { value: 3, code: 'a', system: ucum } }) },
  { key: 'cnt-3', failing: parameter({ valueCount: { value: 2.5, code: '1', system: ucum } }), path: 'Parameters.parameter[0].valueCount', passing: parameter({ valueCount: { value: 2, code: '1', system: ucum } }) },
  { key: 'dis-1', failing: parameter({ valueDistance: { value: 2, system: 'http://example.org/units' } }), path: 'Parameters.parameter[0].valueDistance', passing: parameter({ valueDistance: { value: 2, code: 'km', system: ucum } }) },
  { key: 'drt-1', failing: { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, length: { code: 'min', system: ucum } }, path: 'Encounter.length', passing: { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, length: { value: 5, code: 'min', system: ucum } } },
  { key: 'exp-1', failing: parameter({ valueExpression: { language: 'text/fhirpath', name: 'x' } }), path: 'Parameters.parameter[0].valueExpression', passing: parameter({ valueExpression: { language: 'text/fhirpath', expression: 'true' } }) },
  { key: 'trd-1', failing: parameter({ valueTriggerDefinition: { type: 'data-changed', data: [{ type: 'Patient' }], timingDate: '2026-01-01' } }), path: 'Parameters.parameter[0].valueTriggerDefinition', passing: parameter({ valueTriggerDefinition: { type: 'data-changed', data: [{ type: 'Patient' }] } }) },
  { key: 'trd-3', failing: parameter({ valueTriggerDefinition: { type: 'named-event' } }), path: 'Parameters.parameter[0].valueTriggerDefinition', passing: parameter({ valueTriggerDefinition: { type: 'named-event', name: 'admission' } }) },
  { key: 'sqty-1', failing: dosage({ value: 1, comparator: '<' }), path: 'MedicationRequest.dosageInstruction[0].maxDosePerAdministration', passing: dosage({ value: 1 }) },
  { key: 'eld-2', failing: structureDefinition({ min: 2, max: '1' }), path: 'StructureDefinition.differential.element[0]', passing: structureDefinition({ min: 0, max: '1' }) },
];

describe('R4 invariants of datatypes, on values nested in a resource (Medplum evaluates a type’s own only at the root)', () => {
  it.each(CASES)('$key: refused with 422 where it fails, worded as Medplum words an invariant; accepted once mended', ({ key, failing, path, passing }) => {
    const v = validityOf(failing);
    expect(v).toMatchObject({ valid: false, status: 422 });
    const found = issues(failing).filter((i) => i.code === 'invariant');
    expect(found).toEqual([{ severity: 'error', code: 'invariant', details: { text: expect.stringMatching(new RegExp(`^Constraint ${key} not met: .+`)) as unknown }, expression: [path], diagnostics: expect.stringContaining('fhirpath') as unknown }]);
    expect(issues(passing)).toEqual([]);
  });

  it('says every failing value, in an array and deep in a Bundle, each once', () => {
    const patient = { resourceType: 'Patient', telecom: [{ system: 'phone', value: '1' }, { value: '2' }, { value: '3' }] };
    expect(issues(patient).map((i) => i.expression?.[0])).toEqual(['Patient.telecom[1]', 'Patient.telecom[2]']);
    const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'urn:uuid:0c4f9f5e-6a51-4d4e-9a43-7d4e8a9e1a01', resource: patient }] };
    expect(issues(bundle).map((i) => i.expression?.[0])).toEqual(['Bundle.entry[0].resource.telecom[1]', 'Bundle.entry[0].resource.telecom[2]']);
    // In a contained resource, and in a datatype inside a datatype (an Identifier's Period is per-1's, an Organization's contact's telecom cpt-2's).
    const contained = { resourceType: 'Patient', contained: [{ resourceType: 'Organization', id: 'o', contact: [{ telecom: [{ value: 'x' }] }] }], managingOrganization: { reference: '#o' } };
    expect(issues(contained).map((i) => [i.expression?.[0], i.details?.text?.slice(0, 24)])).toEqual([['Patient.contained[0].contact[0].telecom[0]', 'Constraint cpt-2 not met']]);
  });

  it('ext-1 stays the structure validator’s (an element invariant it evaluates): one issue, not two', () => {
    const body = { resourceType: 'Patient', name: [{ extension: [{ url: 'http://example.org/x', valueString: 'a', extension: [{ url: 'http://example.org/y', valueString: 'b' }] }] }] };
    expect(issues(body).map((i) => i.details?.text?.slice(0, 24))).toEqual(['Constraint ext-1 not met']);
  });

  it('evaluates every error invariant R4 sets on a complex datatype but those checked elsewhere or skipped by Medplum', () => {
    const evaluated = new Set<string>();
    const onTypes = new Set<string>();
    for (const schema of Object.values(getAllDataTypes())) {
      if (schema.kind === 'complex-type') for (const c of schema.constraints ?? []) if (c.severity === 'error') onTypes.add(`${schema.name}:${c.key}`);
      for (const inner of [schema, ...(schema.innerTypes ?? [])]) {
        for (const element of Object.values<InternalSchemaElement>(inner.elements)) {
          for (const t of element.type) for (const i of datatypeInvariants(element, t.code)) evaluated.add(i.key);
        }
      }
    }
    // ele-1: skipped by Medplum; ext-1: the extension elements' own (Medplum evaluates it); per-1, ref-1: value-checks' own checks;
    // mqty-1: no element of base R4 takes the MoneyQuantity profile.
    const notHere = new Set(['ele-1', 'ext-1', 'per-1', 'ref-1', 'mqty-1']);
    const expected = new Set([...onTypes].map((k) => k.split(':')[1]!).filter((k) => !notHere.has(k)));
    expect([...evaluated].sort()).toEqual([...expected].sort());
    expect(expected.size).toBeGreaterThan(25);
  });

  it('the plain Patient shortcut admits no datatype with an invariant but ContactPoint (with its system: cpt-2 holds) and Reference (not #: ref-1 holds)', () => {
    const withInvariants = new Set(
      Object.values(getAllDataTypes())
        .filter((s) => s.kind === 'complex-type' && (s.constraints ?? []).some((c) => c.severity === 'error' && c.key !== 'ele-1'))
        .map((s) => s.name),
    );
    // The datatypes of the elements plain-patient.ts takes: Patient.identifier/name/telecom/address/managingOrganization.
    const patient = getDataType('Patient').elements;
    const admitted = ['identifier', 'name', 'telecom', 'address', 'managingOrganization'].map((e) => patient[e]!.type[0]!.code);
    expect(admitted.filter((t) => withInvariants.has(t)).sort()).toEqual(['ContactPoint', 'Reference']);
    expect(isPlainValidPatient({ resourceType: 'Patient', telecom: [{ value: '0131' }] })).toBe(false);
    expect(isPlainValidPatient({ resourceType: 'Patient', telecom: [{ system: 'phone', value: '0131' }] })).toBe(true);
    expect(isPlainValidPatient({ resourceType: 'Patient', managingOrganization: { reference: '#o' } })).toBe(false);
  });

  it('a "surely holds" test never says so where the expression is not true', () => {
    const elements = {
      ContactPoint: getDataType('Patient').elements.telecom!,
      Quantity: getDataType('Observation').elements['value[x]']!,
      Attachment: getDataType('Patient').elements.photo!,
      SimpleQuantity: getDataType('Dosage').elements.maxDosePerAdministration!,
    };
    const sure = Object.entries(elements).flatMap(([name, element]) =>
      datatypeInvariants(element, name === 'SimpleQuantity' ? 'Quantity' : name)
        .filter((i) => i.surely)
        .map((i) => ({ type: name === 'SimpleQuantity' ? 'Quantity' : name, invariant: i })),
    );
    expect(sure.map((s) => s.invariant.key).sort()).toEqual(['att-1', 'cpt-2', 'qty-3', 'qty-3', 'sqty-1']);
    const text = fc.option(fc.constantFrom('', ' ', 'x', 'phone', 'image/png', '<'), { nil: undefined });
    const extension = fc.option(fc.constant({ extension: [{ url: 'http://example.org/x', valueString: 'a' }] }), { nil: undefined });
    const value = fc.record({ value: text, _value: extension, system: text, _system: extension, code: text, _code: extension, data: text, _data: extension, contentType: text, comparator: text, _comparator: extension }, { requiredKeys: [] });
    fc.assert(
      fc.property(value, (raw) => {
        const v = Object.fromEntries(Object.entries(raw).filter(([, x]) => x !== undefined));
        for (const { type, invariant } of sure) {
          if (!invariant.surely!(v)) continue;
          const typed = { type, value: v };
          const result = evalFhirPathTyped(invariant.atom, [typed], { '%context': typed, '%ucum': toTypedValue(UCUM) });
          if (result.length !== 1 || result[0]!.value !== true) return false;
        }
        return true;
      }),
      { seed: 20261208, numRuns: 3000 },
    );
  });
});
