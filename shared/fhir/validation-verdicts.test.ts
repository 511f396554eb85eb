import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { validityOf } from './validate.js';
import { mutated as mutatedBy } from '../../test/structure-mutations.js';

/**
 * Validation's verdicts must not move when validation is made faster: every issue a client is sent — its text, its
 * FHIRPath, its order, the count of those left out — is part of the answer. This pins the verdicts on a fixed corpus
 * of generated mutations of the resources the hub validates most (an MPI bulk-load Patient, an alert message
 * Bundle, a CareTeam with a period) to those recorded at 8fbd269, as digests (`validation-verdicts.json`).
 *
 * Re-recorded once since, deliberately (session 28, datatype invariants on nested values): six mutations that drop a
 * ContactPoint's `system` now also carry cpt-2's issue; every other issue of theirs, and every other verdict, as before.
 *
 * A deliberate change of verdicts re-records them: RECORD_VERDICTS=1 node test/run-jest.js shared/fhir/validation-verdicts.test.ts
 */
const RECORDED = new URL('./validation-verdicts.json', import.meta.url);
const SEED = 20261207;
const CASES = 600;

interface Recorded {
  /** Digest of the corpus itself: if it moves, the generator changed (fast-check's version?), not validation. */
  readonly corpus: string;
  /** One digest per case of `JSON.stringify(validityOf(body, type))`, in order. */
  readonly verdicts: readonly string[];
}

const mpiPatient = {
  resourceType: 'Patient',
  identifier: [
    { system: 'https://fhir.infoshare.scot/id/patient/nhs-lothian', value: 'L-000123' },
    { system: 'https://fhir.nhs.uk/scotland/Id/chi', value: '0101701234' },
  ],
  name: [{ family: 'McDonald', given: ['Rab', 'John'] }],
  telecom: [{ system: 'phone', value: '0131 496 0000' }],
  gender: 'male',
  birthDate: '1970-01-01',
  address: [{ line: ['1 Leith Walk'], postalCode: 'EH6 8AB', country: 'GB' }],
  managingOrganization: { reference: 'Organization/nhs-lothian' },
};

const alertMessage = {
  resourceType: 'Bundle',
  type: 'message',
  timestamp: '2026-12-07T10:00:00Z',
  entry: [
    {
      fullUrl: 'urn:uuid:0c4f9f5e-6a51-4d4e-9a43-7d4e8a9e1a01',
      resource: {
        resourceType: 'MessageHeader',
        id: 'msg-1',
        eventCoding: { system: 'https://fhir.infoshare.scot/CodeSystem/alert-event', code: 'alert-raised' },
        source: { endpoint: 'Organization/edinburgh-education' },
        sender: { reference: 'Organization/edinburgh-education' },
        focus: [{ reference: 'Flag/flag-1' }],
      },
    },
    {
      fullUrl: 'urn:uuid:0c4f9f5e-6a51-4d4e-9a43-7d4e8a9e1a02',
      resource: {
        resourceType: 'Flag',
        id: 'flag-1',
        status: 'active',
        category: [{ coding: [{ system: 'https://fhir.infoshare.scot/CodeSystem/alert-category', code: 'child-wellbeing' }] }],
        code: { text: 'Wellbeing concern' },
        period: { start: '2026-12-01' },
        subject: { reference: 'Patient/subject-1' },
      },
    },
    {
      fullUrl: 'urn:uuid:0c4f9f5e-6a51-4d4e-9a43-7d4e8a9e1a03',
      resource: { resourceType: 'Patient', id: 'subject-1', identifier: [{ system: 'https://fhir.infoshare.scot/id/patient/edinburgh-education', value: 'S-1' }] },
    },
    {
      fullUrl: 'urn:uuid:0c4f9f5e-6a51-4d4e-9a43-7d4e8a9e1a04',
      resource: {
        resourceType: 'CareTeam',
        id: 'np-1',
        status: 'active',
        subject: { reference: 'Patient/subject-1' },
        participant: [{ role: [{ coding: [{ system: 'https://fhir.infoshare.scot/CodeSystem/care-team-role', code: 'named-person' }] }], member: { display: 'Callum Stewart' } }],
        telecom: [{ system: 'email', value: 'callum.stewart@example.org', use: 'work' }],
      },
    },
  ],
};

const careTeam = {
  resourceType: 'CareTeam',
  status: 'active',
  period: { start: '2026-06-01', end: '2026-06-30T12:00:00Z' },
  contained: [{ resourceType: 'Organization', id: 'o1', name: 'Team' }],
  managingOrganization: [{ reference: '#o1' }],
  extension: [{ url: 'http://example.org/x', valueString: 'y' }],
};

const SEEDS: readonly { body: unknown; type: string }[] = [
  { body: mpiPatient, type: 'Patient' },
  { body: alertMessage, type: 'Bundle' },
  { body: careTeam, type: 'CareTeam' },
];

const value = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('', ' ', 'male', 'banana', 'bogus', '2023-02-30', '2024-02-29', '2026', '2026-13', '2026-06-01T10:00:00', '2026-06-01T23:59:60Z', '25:00:00',
    'Patient/x', 'Patient/', 'Organization/o', '#', '#o1', '#nope', 'urn:uuid:0c4f9f5e-6a51-4d4e-9a43-7d4e8a9e1a02', 'not a ref', 'x'.repeat(70)),
  fc.constantFrom(0, -1, 2147483648, 1.5, 1e308, true, null, [], {}, [null], ['a', null], { extension: [{ url: 'http://x', valueString: 'y' }] }),
);
const key = fc.oneof(
  fc.constantFrom('id', 'meta', 'text', 'contained', 'extension', 'identifier', 'name', 'gender', 'birthDate', 'deceasedBoolean', 'deceasedDateTime', '_birthDate',
    'period', 'start', 'end', 'system', 'value', 'code', 'coding', 'reference', 'type', 'status', 'subject', 'entry', 'resource', 'fullUrl', 'valueInteger', 'bogus', '__proto__'),
  fc.string({ maxLength: 6 }),
);
const mutation = fc.record({ op: fc.nat(6), where: fc.nat(), value, key });

/** The pinned verdicts were recorded with each mutation's value used as generated (not copied). */
const mutated = (seed: unknown, mutations: Parameters<typeof mutatedBy>[1]) => mutatedBy(seed, mutations, { copyValues: false });

function corpus(): { body: unknown; type: string }[] {
  const runs = fc.sample(fc.tuple(fc.nat(SEEDS.length - 1), fc.array(mutation, { minLength: 1, maxLength: 3 })), { seed: SEED, numRuns: CASES });
  return [...SEEDS, ...runs.map(([s, mutations]) => ({ body: mutated(SEEDS[s]!.body, mutations), type: SEEDS[s]!.type }))];
}

const digest = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

describe('R4 validation verdicts', () => {
  it('are those recorded at 8fbd269 for every mutation of the resources the hub validates most (issue texts, paths, order)', () => {
    const cases = corpus();
    const corpusDigest = digest(cases.map((c) => `${c.type} ${JSON.stringify(c.body)}`).join('\n'));
    const verdicts = cases.map((c) => JSON.stringify(validityOf(c.body, c.type)));
    // The corpus is mostly invalid resources, and not only: both kinds of verdict are pinned.
    expect(verdicts.filter((v) => v === '{"valid":true}').length).toBeGreaterThan(10);
    expect(verdicts.filter((v) => v !== '{"valid":true}').length).toBeGreaterThan(CASES / 2);
    if (process.env.RECORD_VERDICTS === '1') {
      const recorded: Recorded = { corpus: corpusDigest, verdicts: verdicts.map(digest) };
      writeFileSync(RECORDED, `${JSON.stringify(recorded, null, 1)}\n`);
    }
    const recorded = JSON.parse(readFileSync(RECORDED, 'utf8')) as Recorded;
    expect({ corpus: corpusDigest, cases: cases.length }).toEqual({ corpus: recorded.corpus, cases: recorded.verdicts.length });
    const moved = verdicts.flatMap((v, i) => (digest(v) === recorded.verdicts[i] ? [] : [{ case: i, type: cases[i]!.type, body: JSON.stringify(cases[i]!.body).slice(0, 300), verdict: v.slice(0, 600) }]));
    expect(moved).toEqual([]);
  });
});
