/**
 * Bulk registration (an agency's initial load) through `POST /fhir` transaction
 * Bundles, against a real Redis: the six demo extracts (560 records) register
 * and match each other across Bundles, records in one Bundle match each other,
 * re-loading is stable, and a refused Bundle (invalid entry, another agency's
 * system, over the size limit) leaves nothing behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Bundle, OperationOutcome, Patient } from 'fhir/r4.js';
import request from 'supertest';
import type { DemographicsTruth } from '../../fixtures/generators/demographic-extracts.js';
import { PROJECT_ROOT } from '../../shared/config.js';
import { agencyPatient, criteriaOf, entityRefs, matchOutcomeOf, startTestMpi, testChi, transactionOf, type TestMpi } from '../../test/mpi.js';

const DEMOGRAPHICS = path.join(PROJECT_ROOT, 'fixtures', 'demographics');
/** Health agencies first, as a partnership would onboard them (their CHIs seed the others). */
const EXTRACTS = ['nhs-lothian', 'gp-leith-cluster', 'edinburgh-social-work', 'edinburgh-education', 'police-scotland-e-division', 'edinburgh-housing'];
const BULK_LIMIT = '400kb';

let mpi: TestMpi;

beforeAll(async () => {
  mpi = await startTestMpi({ bulkBodyLimit: BULK_LIMIT });
});

afterAll(async () => {
  await mpi.close();
});

const extract = (agencyId: string): Bundle => JSON.parse(fs.readFileSync(path.join(DEMOGRAPHICS, `${agencyId}.json`), 'utf8')) as Bundle;
const truth = (): DemographicsTruth => JSON.parse(fs.readFileSync(path.join(DEMOGRAPHICS, 'truth.json'), 'utf8')) as DemographicsTruth;

async function transaction(agencyId: string, bundle: unknown): Promise<request.Response> {
  return request(mpi.app).post('/fhir').set(await mpi.auth(agencyId)).type('application/fhir+json').send(bundle as object);
}

/** What a refused Bundle must not change. */
async function indexState() {
  const { redis } = mpi.dir;
  const [records, links, stats, tasks] = await Promise.all([
    mpi.store.countRecords(),
    redis.hlen(`${mpi.dir.keys.key('mpi', 'link')}`),
    mpi.store.getStats(),
    request(mpi.app).get('/fhir/Task?code=match-review').set(await mpi.auth('nhs-lothian')),
  ]);
  return { records, links, stats, tasks: (tasks.body as Bundle).entry?.length ?? 0 };
}

describe('loading the demo extracts', () => {
  const loaded = new Map<string, Bundle>();

  it('registers every record of each agency’s transaction Bundle, one audit record per Bundle listing them all', async () => {
    let total = 0;
    const criteria = new Map<string, string[]>();
    for (const agencyId of EXTRACTS) {
      const bundle = extract(agencyId);
      const res = await transaction(agencyId, bundle);
      expect(res.status).toBe(200);
      const response = res.body as Bundle<Patient>;
      expect(response.type).toBe('transaction-response');
      expect(response.entry).toHaveLength(bundle.entry!.length);
      for (const e of response.entry!) {
        expect(e.response!.status).toBe('201 Created');
        expect(e.response!.location).toMatch(new RegExp(`^Patient/${agencyId}\\.[^/]+/_history/1$`));
        expect(e.response!.outcome?.resourceType).toBe('OperationOutcome');
        expect(['new', 'linked', 'review']).toContain(matchOutcomeOf(e.resource!).outcome);
      }
      total += bundle.entry!.length;
      loaded.set(agencyId, response);

      const event = await mpi.auditOf(res);
      expect(event.subtype?.map((c) => c.code)).toContain('transaction');
      const records = entityRefs(event).filter((r) => r.startsWith('Patient/'));
      expect(new Set(records).size).toBe(bundle.entry!.length);
      criteria.set(agencyId, criteriaOf(event));
    }
    expect(total).toBe(560);
    expect(await mpi.store.countRecords()).toBe(560);
    // The first load only meets itself; later ones link to it — by CHI (MI-L2) and probabilistically (MI-L3).
    expect(criteria.get('gp-leith-cluster')).toEqual(['MI-L2', 'MI-L3', 'MI-L4']);
    expect(criteria.get('edinburgh-education')).toEqual(expect.arrayContaining(['MI-L3', 'MI-L4']));
  });

  it('links the records of one person across agencies: every same-CHI pair, and nearly all true pairs, never two different people', async () => {
    const { people, hardNegatives } = truth();
    const recordIds = people.flatMap((p) => p.records.map((r) => `${r.agencyId}.${r.value}`));
    const links = await mpi.store.getLinks(recordIds);
    const personOf = new Map(recordIds.map((id, i) => [id, links[i]?.personId]));
    expect([...personOf.values()].every(Boolean)).toBe(true);

    let truePairs = 0;
    let linkedPairs = 0;
    const trueIdOfPerson = new Map<string, Set<string>>();
    for (const p of people) {
      const ids = p.records.map((r) => `${r.agencyId}.${r.value}`);
      for (const id of ids) {
        const set = trueIdOfPerson.get(personOf.get(id)!) ?? new Set<string>();
        set.add(p.trueId);
        trueIdOfPerson.set(personOf.get(id)!, set);
      }
      for (let i = 0; i < ids.length; i++) {
        for (let j = i + 1; j < ids.length; j++) {
          truePairs++;
          if (personOf.get(ids[i]!) === personOf.get(ids[j]!)) linkedPairs++;
        }
      }
      // Health records carry the CHI: every pair of them is certain.
      const withChi = p.records.filter((r) => r.agencyId === 'nhs-lothian' || r.agencyId === 'gp-leith-cluster');
      const chiPersons = new Set(withChi.map((r) => personOf.get(`${r.agencyId}.${r.value}`)));
      if (withChi.length > 1 && !withChi.some((r) => r.variations.includes('missing-chi'))) expect(chiPersons.size).toBe(1);
    }
    expect(truePairs).toBeGreaterThan(250);
    expect(linkedPairs / truePairs).toBeGreaterThanOrEqual(0.9);

    // No index Person mixes two different people, twins and same-name strangers included.
    const mixed = [...trueIdOfPerson.values()].filter((s) => s.size > 1);
    expect(mixed).toEqual([]);
    for (const negative of hardNegatives) {
      const [a, b] = negative.trueIds.map((id) => people.find((p) => p.trueId === id)!);
      const personsA = new Set(a!.records.map((r) => personOf.get(`${r.agencyId}.${r.value}`)));
      for (const r of b!.records) expect(personsA.has(personOf.get(`${r.agencyId}.${r.value}`))).toBe(false);
    }
  });

  it('re-loading an unchanged extract writes nothing (200, still version 1) and leaves the index as it was', async () => {
    const bundle = extract('edinburgh-housing');
    const ids = bundle.entry!.map((e) => `edinburgh-housing.${(e.resource as Patient).identifier![0]!.value}`);
    const before = await mpi.store.getLinks(ids);
    const res = await transaction('edinburgh-housing', bundle);
    expect(res.status).toBe(200);
    for (const e of (res.body as Bundle).entry!) {
      expect(e.response!.status).toBe('200 OK');
      expect(e.response!.location).toMatch(/\/_history\/1$/);
    }
    expect(await mpi.store.countRecords()).toBe(560);
    expect((await mpi.store.getLinks(ids)).map((l) => l?.personId)).toEqual(before.map((l) => l?.personId));
  });
});

describe('records in one Bundle match each other', () => {
  it('an agency’s own duplicates in one load end up in one Person (by CHI and probabilistically)', async () => {
    const chi = testChi('1992-02-29', 'female', 64);
    const isla = { given: ['Isla'], family: 'Mackenzie', birthDate: '1992-02-29', gender: 'female' as const, postcode: 'KY1 2AB', line: '4 Links Street', city: 'Kirkcaldy' };
    const ross = { given: ['Ross'], family: 'Galloway', birthDate: '1987-12-12', gender: 'male' as const, postcode: 'KY2 5XW', line: '18 Bennochy Road', city: 'Kirkcaldy' };
    const res = await transaction(
      'nhs-fife',
      transactionOf([
        agencyPatient('nhs-fife', 'SCN-F-1', { ...isla, chi }),
        agencyPatient('nhs-fife', 'SCN-F-2', ross),
        agencyPatient('nhs-fife', 'SCN-F-3', { ...isla, given: ['Isla', 'Jane'], postcode: 'KY1 9ZZ', line: '1 Other Street', chi }),
        agencyPatient('nhs-fife', 'SCN-F-4', { ...ross, family: 'Galoway' }),
      ]),
    );
    expect(res.status).toBe(200);
    const outcomes = (res.body as Bundle<Patient>).entry!.map((e) => matchOutcomeOf(e.resource!));
    expect(outcomes.map((o) => o.outcome)).toEqual(['new', 'new', 'linked', 'linked']);
    expect(outcomes[2]).toMatchObject({ person: outcomes[0]!.person, assurance: 'level4' });
    expect(outcomes[3]).toMatchObject({ person: outcomes[1]!.person, assurance: 'level3' });
  });
});

describe('two agencies loading the same people at the same time', () => {
  it('links every person once: concurrent Bundles see each other’s records (no duplicate Persons)', async () => {
    const forenames = ['Aileen', 'Brodie', 'Catriona', 'Dougal', 'Eilidh', 'Fraser', 'Gregor', 'Heather', 'Innes', 'Jessie'];
    const people = Array.from({ length: 60 }, (_, i) => {
      const birthDate = `19${60 + (i % 30)}-0${1 + (i % 9)}-1${i % 10}`;
      const gender = i % 2 ? ('male' as const) : ('female' as const);
      return { given: [forenames[i % 10]!], family: `Concurrent${String.fromCharCode(65 + (i % 26))}${i}`, birthDate, gender, postcode: 'FK8 1AA', chi: testChi(birthDate, gender, 70 + (i % 20)) };
    });
    const fife = transactionOf(people.map((p, i) => agencyPatient('nhs-fife', `SCN-CC-F-${i}`, p)));
    const vhk = transactionOf(people.map((p, i) => agencyPatient('vhk-emergency', `SCN-CC-V-${i}`, p)));
    const [a, b] = await Promise.all([transaction('nhs-fife', fife), transaction('vhk-emergency', vhk)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const links = await mpi.store.getLinks([
      ...people.map((_, i) => `nhs-fife.SCN-CC-F-${i}`),
      ...people.map((_, i) => `vhk-emergency.SCN-CC-V-${i}`),
    ]);
    const persons = links.map((l) => l?.personId);
    people.forEach((_, i) => expect(persons[i]).toBe(persons[people.length + i]));
    expect(new Set(persons).size).toBe(people.length);
  });
});

describe('Prefer: return=minimal', () => {
  it('answers each entry with status, location and outcome but without the record (what a bulk loader needs)', async () => {
    const patient = agencyPatient('nhs-fife', 'SCN-MIN-1', { given: ['Euan'], family: 'Baird', birthDate: '1979-05-05', gender: 'male', postcode: 'KY3 9AA' });
    const res = await request(mpi.app)
      .post('/fhir')
      .set(await mpi.auth('nhs-fife'))
      .set('Prefer', 'return=minimal')
      .type('application/fhir+json')
      .send(transactionOf([patient]));
    expect(res.status).toBe(200);
    const [entry] = (res.body as Bundle).entry!;
    expect(entry!.resource).toBeUndefined();
    expect(entry!.response).toMatchObject({ status: '201 Created', location: 'Patient/nhs-fife.SCN-MIN-1/_history/1' });
    expect(entry!.response!.outcome?.resourceType).toBe('OperationOutcome');
  });
});

describe('a refused Bundle leaves no partial state', () => {
  const fresh = (n: number) =>
    Array.from({ length: n }, (_, i) =>
      agencyPatient('fife-social-work', `SCN-FSW-${i}`, { given: ['Test'], family: `Refusal${String.fromCharCode(65 + i)}`, birthDate: `1970-01-${String(i + 1).padStart(2, '0')}` }),
    );

  it('one invalid entry (bad CHI) is 422 naming Bundle.entry[i], and nothing is written', async () => {
    const before = await indexState();
    await mpi.token('fife-social-work');
    const audits = await mpi.auditCount();
    const patients = fresh(5);
    patients[3]!.identifier!.push({ system: 'urn:oid:2.16.840.1.113883.2.1.3.2.4.16.53', value: '0101701230' });
    const res = await transaction('fife-social-work', transactionOf(patients));
    expect(res.status).toBe(422);
    // Only the refusal itself was audited.
    expect(await mpi.auditCount()).toBe(audits + 1);
    const outcome = res.body as OperationOutcome;
    expect(outcome.issue.flatMap((i) => i.expression ?? [])).toContain('Bundle.entry[3].resource.identifier[1].value');
    expect(outcome.issue[0]!.details?.text).toMatch(/nothing was registered/);
    expect(await indexState()).toEqual(before);
    expect(await mpi.store.getRecord('fife-social-work.SCN-FSW-0')).toBeUndefined();
    expect((await mpi.auditOf(res)).outcome).toBe('4');
  });

  it('lists every invalid entry at once', async () => {
    const patients = fresh(4);
    patients[0]!.name = undefined;
    delete patients[0]!.birthDate;
    patients[2]!.identifier = [{ system: 'https://example.org/unknown', value: 'x' }];
    patients[3]!.identifier = patients[1]!.identifier;
    const res = await transaction('fife-social-work', transactionOf(patients));
    expect(res.status).toBe(422);
    const expressions = (res.body as OperationOutcome).issue.flatMap((i) => i.expression ?? []);
    expect(expressions).toEqual(
      expect.arrayContaining(['Bundle.entry[0].resource.name', 'Bundle.entry[2].resource.identifier[0].system', 'Bundle.entry[3].resource.identifier']),
    );
  });

  it('a record under another agency’s system refuses the whole Bundle (403), nothing written', async () => {
    const before = await indexState();
    const patients = [...fresh(2), agencyPatient('nhs-fife', 'SCN-F-9', { given: ['Other'], family: 'Agency', birthDate: '1970-02-02' })];
    const res = await transaction('fife-social-work', transactionOf(patients));
    expect(res.status).toBe(403);
    expect(criteriaOf(await mpi.auditOf(res))).toEqual(['SI-L3']);
    expect(await indexState()).toEqual(before);
  });

  it('entries other than POST Patient, and a Bundle that is not a transaction, are 422', async () => {
    const bundle = transactionOf(fresh(1));
    bundle.entry![0]!.request = { method: 'PUT', url: 'Patient/x' };
    expect((await transaction('fife-social-work', bundle)).status).toBe(422);
    expect((await transaction('fife-social-work', { ...transactionOf(fresh(1)), type: 'collection' })).status).toBe(422);
    // A batch is an interaction this base does not serve: 400 not-supported, as at every other base.
    const batch = await transaction('fife-social-work', { ...transactionOf(fresh(1)), type: 'batch' });
    expect([batch.status, batch.body.issue?.[0]?.code]).toEqual([400, 'not-supported']);
  });

  it('an empty transaction succeeds with an empty transaction-response (R4 allows it), audited, nothing written', async () => {
    const before = await indexState();
    for (const empty of [{ resourceType: 'Bundle', type: 'transaction', entry: [] }, { resourceType: 'Bundle', type: 'transaction' }]) {
      const res = await transaction('fife-social-work', empty);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ resourceType: 'Bundle', type: 'transaction-response' });
      expect((await mpi.auditOf(res)).outcome).toBe('0');
    }
    expect(await indexState()).toEqual(before);
  });

  it(`a Bundle over the bulk limit (${BULK_LIMIT}) is 413, audited, nothing written`, async () => {
    const before = await indexState();
    const text = JSON.stringify(transactionOf(fresh(3)));
    const padded = text + ' '.repeat(420 * 1024 - text.length);
    const res = await request(mpi.app).post('/fhir').set(await mpi.auth('fife-social-work')).type('application/fhir+json').send(padded);
    expect(res.status).toBe(413);
    expect((res.body as OperationOutcome).resourceType).toBe('OperationOutcome');
    expect((await mpi.auditOf(res)).outcome).toBe('4');
    expect(await indexState()).toEqual(before);
  });

  it('the ordinary body limit still applies to single registrations', async () => {
    const patient = agencyPatient('fife-social-work', 'SCN-FSW-big', { given: ['Big'], family: 'Body', birthDate: '1970-03-03' });
    const text = JSON.stringify(patient);
    const res = await request(mpi.app)
      .post('/fhir/Patient')
      .set(await mpi.auth('fife-social-work'))
      .type('application/fhir+json')
      .send(text + ' '.repeat(1024 * 1024 + 10 - text.length));
    expect(res.status).toBe(413);
  });
});
