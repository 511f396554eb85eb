import fc from 'fast-check';
import { evalFhirPathTyped, getAllDataTypes, OperationOutcomeError, toTypedValue, UCUM, validateResource } from '@medplum/core';
import type { Resource as MedplumResource } from '@medplum/fhirtypes';
import { alertMessage as benchAlert } from '../../bench/alerts/workload.js';
import { structureErrorFree, SURE_INVARIANTS } from './structure-fast-path.js';
import { preloadFhirDefinitions } from './validate.js';
import { mutated } from '../../test/structure-mutations.js';

/**
 * The fast walk may only ever say "no errors" where Medplum's own walk finds none (validate.ts then skips Medplum's):
 * checked against Medplum directly — not through value-checks, which would hide most of the corpus — on the resources
 * the hub validates, the tricky shapes Medplum reads its own way, and thousands of generated mutations of them.
 */
beforeAll(() => preloadFhirDefinitions());

type Medplum = { errors: number } | { threw: string };

/** What Medplum's validator says: its count of error issues, or that it threw (a body it cannot walk). */
function medplum(body: unknown): Medplum {
  try {
    return { errors: validateResource(body as MedplumResource).filter((i) => i.severity === 'error' || i.severity === 'fatal').length };
  } catch (err) {
    if (err instanceof OperationOutcomeError) return { errors: (err.outcome.issue ?? []).filter((i) => i.severity === 'error' || i.severity === 'fatal').length };
    return { threw: String(err) };
  }
}

const isResourceLike = (body: unknown): body is { resourceType: string } =>
  body !== null && typeof body === 'object' && !Array.isArray(body) && typeof (body as { resourceType?: unknown }).resourceType === 'string';

/** The property: fast "no errors" implies Medplum's no errors (and no throw). */
function unsound(body: unknown): { body: string; medplum: Medplum } | undefined {
  if (!isResourceLike(body) || !structureErrorFree(body)) return undefined;
  const verdict = medplum(body);
  return 'errors' in verdict && verdict.errors === 0 ? undefined : { body: JSON.stringify(body).slice(0, 400), medplum: verdict };
}

const patient = {
  resourceType: 'Patient',
  id: 'p1',
  meta: { lastUpdated: '2026-12-01T10:00:00Z', profile: ['http://example.org/StructureDefinition/p'] },
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Rab McDonald</div>' },
  extension: [{ url: 'http://example.org/ext', valueCodeableConcept: { coding: [{ system: 'http://example.org/cs', code: 'a' }] } }],
  identifier: [{ use: 'official', system: 'https://fhir.nhs.uk/scotland/Id/chi', value: '0101701234', period: { start: '2020-01-01' } }],
  active: true,
  name: [{ use: 'official', family: 'McDonald', given: ['Rab', 'John'], prefix: ['Mr'] }],
  telecom: [{ system: 'phone', value: '0131 496 0000', use: 'home', rank: 1 }],
  gender: 'male',
  birthDate: '1970-01-01',
  deceasedBoolean: false,
  address: [{ line: ['1 Leith Walk'], city: 'Edinburgh', postalCode: 'EH6 8AB', country: 'GB' }],
  multipleBirthInteger: 2,
  contact: [{ relationship: [{ text: 'mother' }], name: { family: 'McDonald', given: ['Morag'] }, telecom: [{ system: 'phone', value: '0131 496 0001' }] }],
  communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'en-GB' }] }, preferred: true }],
  managingOrganization: { reference: 'Organization/nhs-lothian', display: 'NHS Lothian' },
  link: [{ other: { reference: 'Patient/p2' }, type: 'seealso' }],
};

const careTeam = {
  resourceType: 'CareTeam',
  status: 'active',
  period: { start: '2026-06-01', end: '2026-06-30T12:00:00Z' },
  contained: [{ resourceType: 'Organization', id: 'o1', name: 'Team' }],
  managingOrganization: [{ reference: '#o1' }],
  extension: [{ url: 'http://example.org/x', valueString: 'y' }],
  participant: [{ role: [{ coding: [{ system: 'https://fhir.infoshare.scot/CodeSystem/care-team-role', code: 'named-person', display: 'Named Person' }] }], member: { display: 'Callum Stewart' } }],
  telecom: [{ system: 'email', value: 'callum.stewart@example.org', use: 'work' }],
};

const provenance = {
  resourceType: 'Provenance',
  target: [{ reference: 'Flag/f1' }],
  recorded: '2026-12-01T10:00:00.123+00:00',
  occurredDateTime: '2026-12-01',
  agent: [{ who: { reference: 'Organization/edinburgh-education' }, type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code: 'author' }] } }],
};

const parameters = {
  resourceType: 'Parameters',
  parameter: [
    { name: 'resource', resource: { resourceType: 'Patient', name: [{ family: 'Kerr' }], birthDate: '2014-03-07' } },
    { name: 'count', valueInteger: 5 },
    { name: 'onlyCertainMatches', valueBoolean: false },
    { name: 'nested', part: [{ name: 'x', valueString: 'y' }] },
  ],
};

const transaction = {
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [
    { fullUrl: 'urn:uuid:0c4f9f5e-6a51-4d4e-9a43-7d4e8a9e1a03', resource: { resourceType: 'Patient', gender: 'female' }, request: { method: 'POST', url: 'Patient' } },
    { resource: { resourceType: 'Patient', birthDate: '2010-02-03' }, request: { method: 'PUT', url: 'Patient/a1', ifMatch: 'W/"1"' } },
  ],
};

const message = benchAlert('edinburgh-education', 'child-wellbeing', 'run1', 1, 1);
const messageWithProvenance = { ...message, entry: [...(message.entry ?? []), { fullUrl: 'urn:uuid:0c4f9f5e-6a51-4d4e-9a43-7d4e8a9e1a09', resource: provenance }] };

const SEEDS: readonly unknown[] = [patient, careTeam, provenance, parameters, transaction, message, messageWithProvenance];

describe('the fast structure walk', () => {
  const value = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom('', ' ', 'male', 'banana', '2023-02-30', '2026', '2026-13', '2026-06-01T10:00:00', '25:00:00', 'Patient/x', '#o1', '#nope', 'urn:uuid:x', 'x'.repeat(70)),
    fc.constantFrom(0, -1, 2147483648, 1.5, true, false, null, [], {}, [null], ['a', null], { extension: [{ url: 'http://x', valueString: 'y' }] }, { resourceType: 'Patient' }, { reference: 'Patient/x' }),
  );
  const key = fc.oneof(
    fc.constantFrom('id', 'meta', 'text', 'contained', 'extension', 'modifierExtension', 'identifier', 'name', 'gender', 'birthDate', 'deceasedBoolean', 'deceasedDateTime', '_birthDate',
      'period', 'start', 'end', 'system', 'value', 'valueString', 'valueInteger', 'code', 'coding', 'reference', 'type', 'status', 'subject', 'entry', 'resource', 'fullUrl', 'resourceType', 'eventUri', 'url', 'bogus'),
    fc.string({ maxLength: 6 }),
  );
  const mutation = fc.record({ op: fc.nat(6), where: fc.nat(), value, key });

  it('says "no errors" for the valid resources the hub validates most (so it is the path taken), as Medplum does', () => {
    for (const seed of SEEDS) {
      expect(medplum(seed)).toEqual({ errors: 0 });
      expect(structureErrorFree(seed as { resourceType: string })).toBe(true);
    }
  });

  it('leaves to Medplum the shapes Medplum reads its own way, and never says "no errors" where it finds one', () => {
    const tricky: unknown[] = [
      { ...patient, _birthDate: { extension: [{ url: 'http://x', valueString: 'y' }] } },
      { ...patient, birthDate: { extension: [{ url: 'http://x', valueString: 'y' }] } },
      { ...patient, deceasedDateTime: '2026-01-01' },
      { ...patient, deceasedBoolean: '' },
      { ...patient, deceasedFoo: true },
      { ...patient, gender: '' },
      { ...patient, name: [] },
      { ...patient, name: [{}] },
      { ...patient, name: [null] },
      { ...patient, name: { family: 'x' } },
      { ...patient, gender: ['male'] },
      { ...patient, gender: 'not a code ' },
      { ...patient, multipleBirthInteger: 1.5 },
      { ...patient, bogus: 1 },
      { ...patient, extension: [{ url: 'http://x' }] },
      { ...patient, extension: [{ url: 'http://x', valueString: 'y', extension: [{ url: 'http://z', valueString: 'w' }] }] },
      { ...patient, contact: [{}] },
      { ...patient, link: [{ other: { reference: 'Patient/p2' } }] },
      { ...careTeam, contained: [{ resourceType: 'Organization', id: 'o1', name: 'Team', contained: [{ resourceType: 'Organization' }] }] },
      { ...careTeam, period: { start: '2026-13-01' } },
      { ...message, entry: [{ resource: { resourceType: 'Nope' } }] },
      { ...message, entry: [{ resource: { resourceType: null } }] },
      { ...message, entry: [{ resource: { id: 'x' } }] },
      { ...message, entry: [{ fullUrl: 'urn:uuid:x' }] },
      { ...message, entry: [{ resource: 'Patient' }] },
      { ...message, type: 'document' },
      { ...message, entry: [...(message.entry ?? []).slice(1), (message.entry ?? [])[0]] },
      { ...parameters, parameter: [{ name: 'x', valueString: 'a', valueInteger: 1 }] },
      { ...parameters, parameter: [{ name: 'x', valueString: 'a', part: [{ name: 'y' }] }] },
      { ...provenance, recorded: '2026-12-01' },
      { ...provenance, target: undefined },
      { resourceType: 'Patient', meta: { tag: [{ code: 'x', resourceType: 'Patient' }] } },
    ];
    expect(tricky.map(unsound).filter(Boolean)).toEqual([]);
  });


  it('takes its sure answers for invariants that R4 defines where they are keyed, and each only where the expression evaluates to true', () => {
    const defined = new Set<string>();
    for (const schema of Object.values(getAllDataTypes())) {
      for (const c of schema.constraints ?? []) defined.add(`${schema.path}|${c.expression}`);
      for (const element of Object.values(schema.elements)) for (const c of element.constraints ?? []) defined.add(`${element.path}|${c.expression}`);
    }
    expect([...SURE_INVARIANTS.keys()].filter((k) => !defined.has(k))).toEqual([]);
    let sure = 0;
    const wrong: string[] = [];
    const bundles = [message, messageWithProvenance, transaction, { resourceType: 'Bundle', type: 'document', entry: [{ resource: { resourceType: 'Composition' } }] }];
    fc.assert(
      fc.property(fc.nat(bundles.length - 1), fc.array(mutation, { minLength: 0, maxLength: 3 }), (s, mutations) => {
        const bundle = mutated(bundles[s], mutations);
        if (!isResourceLike(bundle)) return;
        const root = toTypedValue(bundle);
        const variables = { '%resource': root, '%rootResource': root, '%ucum': toTypedValue(UCUM) };
        const entry = (bundle as { entry?: unknown }).entry;
        const entries: unknown[] = Array.isArray(entry) ? entry : [];
        for (const [key, surely] of SURE_INVARIANTS) {
          const [where, expression] = [key.slice(0, key.indexOf('|')), key.slice(key.indexOf('|') + 1)];
          const values = where === 'Bundle' ? [root] : entries.map((e) => ({ type: 'BundleEntry', value: e }));
          for (const v of values) {
            if (!surely(v.value, bundle)) continue;
            sure++;
            let result: unknown;
            try {
              result = evalFhirPathTyped(expression, [v], { ...variables, '%context': v });
            } catch (err) {
              result = String(err);
            }
            if (!(Array.isArray(result) && result.length === 1 && (result[0] as { value: unknown }).value === true)) wrong.push(`${key} on ${JSON.stringify(v.value).slice(0, 200)}: ${JSON.stringify(result)}`);
          }
        }
      }),
      { seed: 20261208, numRuns: 1500 },
    );
    expect(wrong).toEqual([]);
    expect(sure).toBeGreaterThan(1000);
  });

  it('never says "no errors" where Medplum finds one, over generated mutations of those resources (fast-check)', () => {
    let fast = 0;
    let valid = 0;
    fc.assert(
      fc.property(fc.nat(SEEDS.length - 1), fc.array(mutation, { minLength: 1, maxLength: 3 }), (s, mutations) => {
        const body = mutated(SEEDS[s], mutations);
        if (isResourceLike(body) && structureErrorFree(body)) fast++;
        const verdict = medplum(body);
        if ('errors' in verdict && verdict.errors === 0) valid++;
        expect(unsound(body)).toBeUndefined();
      }),
      { seed: 20261208, numRuns: 4000 },
    );
    // Not vacuous: the mutations Medplum finds valid mostly take the fast path.
    // (The rest hold shapes left to Medplum: empty values it reads as absent, primitive extensions, …)
    expect(fast).toBeGreaterThan(valid / 2);
  });
});

