/**
 * Looking up agency records and index Persons as an agency system does, with
 * fhir-kit-client over HTTP against a listening MPI: search by each parameter,
 * paging through Bundle links, `_summary=count` and `_total`, and the ISP deciding
 * what each agency may see — and count.
 */
import type { Bundle, OperationOutcome, Person } from 'fhir/r4.js';
import type { Client } from 'fhir-kit-client';
import { fhirClient, fhirErrorResponse } from '../../shared/client/fhir.js';
import { agencyPatientSystem, IdentifierSystems } from '../../shared/fhir/systems.js';
import { listen, reserveFreePorts, type Listening } from '../../shared/runtime/listen.js';
import { agencyPatient, criteriaOf, entityRefs, startTestMpi, testChi, type PersonDetails, type TestMpi } from '../../test/mpi.js';

let mpi: TestMpi;
let server: Listening;
const clients = new Map<string, Client>();

beforeAll(async () => {
  // Listening where the MPI says it is, so the paging links it answers with lead back to it.
  const [port] = await reserveFreePorts(1);
  mpi = await startTestMpi({}, { INFOSHARE_MPI_PORT: String(port) });
  server = await listen(mpi.app, port!, '127.0.0.1');
});

afterAll(async () => {
  await server.close();
  await mpi.close();
});

async function client(agencyId: string): Promise<Client> {
  let c = clients.get(agencyId);
  if (!c) clients.set(agencyId, (c = fhirClient(`${mpi.config.urls.mpi}/fhir`, await mpi.token(agencyId))));
  return c;
}

/** fhir-kit-client's search parameters: an array value repeats the parameter (`birthdate=ge…&birthdate=lt…`). */
type Params = Record<string, string | number | string[]>;

async function search(agencyId: string, resourceType: 'Patient' | 'Person' | 'Task', searchParams: Params, postSearch = false): Promise<Bundle> {
  const c = await client(agencyId);
  return (await c.search({ resourceType, searchParams, options: postSearch ? { postSearch: true } : {} })) as unknown as Bundle;
}

const ids = (bundle: Bundle) => (bundle.entry ?? []).map((e) => e.resource!.id!).sort();
const patients = (agencyId: string, searchParams: Params) => search(agencyId, 'Patient', searchParams);

async function failure(promise: Promise<unknown>): Promise<{ status: number; outcome: OperationOutcome }> {
  const response = fhirErrorResponse(await promise.then(() => undefined, (e: unknown) => e));
  if (!response) throw new Error('expected the request to fail');
  return { status: response.status, outcome: response.data as OperationOutcome };
}

// Housing's records of three people, and one Leith GP record; the Lothian–Fife ISP lets NHS
// Lothian's demographics reach NHS Fife, while the GP cluster is not a party to it.
const morag: PersonDetails = { given: ['Morag', 'Isla'], family: 'Searcher', birthDate: '1984-05-17', gender: 'female', postcode: 'EH6 5DT' };
const murdo: PersonDetails = { given: ['Murdo'], family: 'Searcher', birthDate: '1984-11-02', gender: 'male', postcode: 'EH6 8QQ' };
const ewan: PersonDetails = { given: ['Ewan'], family: 'MacSearcher', birthDate: '2001-05-17', gender: 'male', postcode: 'G41 2AB' };

describe('Patient search', () => {
  beforeAll(async () => {
    await mpi.registered('edinburgh-housing', 'SRCH-1', morag);
    await mpi.registered('edinburgh-housing', 'SRCH-2', murdo);
    await mpi.registered('edinburgh-housing', 'SRCH-3', ewan);
  });

  it('finds a record by its agency identifier (system|value), by the value alone, and by _id', async () => {
    const bySystem = await patients('edinburgh-housing', { identifier: `${agencyPatientSystem('edinburgh-housing')}|SRCH-2` });
    expect(ids(bySystem)).toEqual(['edinburgh-housing.SRCH-2']);
    expect(bySystem.total).toBe(1);
    expect(ids(await patients('edinburgh-housing', { identifier: 'SRCH-2' }))).toEqual(['edinburgh-housing.SRCH-2']);
    expect(ids(await patients('edinburgh-housing', { _id: 'edinburgh-housing.SRCH-1,edinburgh-housing.SRCH-3' }))).toEqual([
      'edinburgh-housing.SRCH-1',
      'edinburgh-housing.SRCH-3',
    ]);
    expect((await patients('edinburgh-housing', { identifier: `${agencyPatientSystem('edinburgh-housing')}|NOPE` })).total).toBe(0);
  });

  it('finds by family and given name: case- and accent-insensitive "starts with", or :exact', async () => {
    expect(ids(await patients('edinburgh-housing', { family: 'searcher' }))).toEqual(['edinburgh-housing.SRCH-1', 'edinburgh-housing.SRCH-2']);
    expect(ids(await patients('edinburgh-housing', { family: 'SEARCH' }))).toEqual(['edinburgh-housing.SRCH-1', 'edinburgh-housing.SRCH-2']);
    expect(ids(await patients('edinburgh-housing', { family: 'MacSear' }))).toEqual(['edinburgh-housing.SRCH-3']);
    expect(ids(await patients('edinburgh-housing', { given: 'isla' }))).toEqual(['edinburgh-housing.SRCH-1']);
    expect(ids(await patients('edinburgh-housing', { given: 'mür', family: 'Searcher' }))).toEqual(['edinburgh-housing.SRCH-2']);
    expect(ids(await patients('edinburgh-housing', { 'family:exact': 'Searcher' }))).toEqual(['edinburgh-housing.SRCH-1', 'edinburgh-housing.SRCH-2']);
    expect(ids(await patients('edinburgh-housing', { 'family:exact': 'searcher' }))).toEqual([]);
  });

  it('name matches the family or a given name; a one-letter prefix works', async () => {
    expect(ids(await patients('edinburgh-housing', { name: 'ewan' }))).toEqual(['edinburgh-housing.SRCH-3']);
    expect(ids(await patients('edinburgh-housing', { name: 'macsearcher' }))).toEqual(['edinburgh-housing.SRCH-3']);
    expect(ids(await patients('edinburgh-housing', { name: 'm', family: 'searcher' }))).toEqual(['edinburgh-housing.SRCH-1', 'edinburgh-housing.SRCH-2']);
  });

  it('finds by birthdate (a day, a month, a year, and ranges) and by postcode with or without the space', async () => {
    expect(ids(await patients('edinburgh-housing', { birthdate: '1984-05-17' }))).toEqual(['edinburgh-housing.SRCH-1']);
    expect(ids(await patients('edinburgh-housing', { birthdate: '1984', family: 'searcher' }))).toEqual(['edinburgh-housing.SRCH-1', 'edinburgh-housing.SRCH-2']);
    expect(ids(await patients('edinburgh-housing', { birthdate: '1984-11', family: 'searcher' }))).toEqual(['edinburgh-housing.SRCH-2']);
    const range = await patients('edinburgh-housing', { birthdate: ['ge1984-06-01', 'lt2001-05-18'], name: 'searcher,ewan' });
    expect(ids(range)).toEqual(['edinburgh-housing.SRCH-2', 'edinburgh-housing.SRCH-3']);
    expect(ids(await patients('edinburgh-housing', { 'address-postalcode': 'eh65dt' }))).toEqual(['edinburgh-housing.SRCH-1']);
    expect(ids(await patients('edinburgh-housing', { 'address-postalcode': 'EH6', family: 'Searcher' }))).toEqual(['edinburgh-housing.SRCH-1', 'edinburgh-housing.SRCH-2']);
  });

  it('reads a leap second (`:60`) in a birthdate search as the last moment of its day: born on 31 December 2016 is born at or after 23:59:60 that day', async () => {
    await mpi.registered('edinburgh-housing', 'SRCH-LEAP-1', { given: ['Hogmanay'], family: 'Leapsearcher', birthDate: '2016-12-31', gender: 'female', postcode: 'EH6 5DT' });
    await mpi.registered('edinburgh-housing', 'SRCH-LEAP-2', { given: ['Ne'], family: 'Leapsearcher', birthDate: '2017-01-01', gender: 'male', postcode: 'EH6 5DT' });
    // Before 2026-12-07 the leap second was rolled into 2017-01-01T00:00:00 and the first search missed the 31 December birth.
    expect(ids(await patients('edinburgh-housing', { birthdate: 'ge2016-12-31T23:59:60Z', family: 'leapsearcher' }))).toEqual(['edinburgh-housing.SRCH-LEAP-1', 'edinburgh-housing.SRCH-LEAP-2']);
    expect(ids(await patients('edinburgh-housing', { birthdate: 'lt2016-12-31T23:59:60Z', family: 'leapsearcher' }))).toEqual(['edinburgh-housing.SRCH-LEAP-1']);
  });

  it('gender narrows a search; alone it is refused as too costly (400)', async () => {
    expect(ids(await patients('edinburgh-housing', { family: 'searcher', gender: 'male' }))).toEqual(['edinburgh-housing.SRCH-2']);
    expect(ids(await patients('edinburgh-housing', { name: 'searcher,ewan', gender: 'male' }))).toEqual(['edinburgh-housing.SRCH-2', 'edinburgh-housing.SRCH-3']);
    const alone = await failure(patients('edinburgh-housing', { gender: 'male' }));
    expect(alone.status).toBe(400);
    expect(alone.outcome.issue[0]?.code).toBe('too-costly');
  });

  it('answers the same to a form-encoded POST _search', async () => {
    const posted = await search('edinburgh-housing', 'Patient', { family: 'searcher', birthdate: '1984-05-17' }, true);
    expect(ids(posted)).toEqual(['edinburgh-housing.SRCH-1']);
  });

  it('_summary=count gives the count alone; _total=none leaves it out', async () => {
    const counted = await patients('edinburgh-housing', { family: 'searcher', _summary: 'count' });
    expect(counted.total).toBe(2);
    expect(counted.entry).toBeUndefined();
    const untotalled = await patients('edinburgh-housing', { family: 'searcher', _total: 'none' });
    expect(untotalled.total).toBeUndefined();
    expect(ids(untotalled)).toHaveLength(2);
    expect((await patients('edinburgh-housing', { family: 'searcher', _total: 'accurate' })).total).toBe(2);
  });

  it('refuses, with a 400 OperationOutcome, parameters it does not serve', async () => {
    for (const params of [{ colour: 'blue' }, { 'family:contains': 'arch' }, { birthdate: 'ap1984' }, { identifier: `${agencyPatientSystem('edinburgh-housing')}|` }, { _sort: 'family' }] as Params[]) {
      const refused = await failure(patients('edinburgh-housing', params));
      expect(refused.status).toBe(400);
      expect(refused.outcome.resourceType).toBe('OperationOutcome');
    }
  });

  it('is audited as an identity-matching query naming the records returned (MI-L4)', async () => {
    const res = await mpi.get('edinburgh-housing', '/fhir/Patient?family=searcher&gender=female');
    expect(res.status).toBe(200);
    const event = await mpi.auditOf(res);
    expect(criteriaOf(event)).toEqual(['MI-L4']);
    expect(entityRefs(event)).toContain('Patient/edinburgh-housing.SRCH-1');
    expect(entityRefs(event)).not.toContain('Patient/edinburgh-housing.SRCH-2');
    const queries = (event.entity ?? []).filter((e) => e.query).map((e) => Buffer.from(e.query!, 'base64').toString('utf8'));
    expect(queries).toEqual(['Patient?family=searcher&gender=female']);
  });
});

describe('paging', () => {
  const family = 'Pagewright';
  beforeAll(async () => {
    const c = await client('edinburgh-education');
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: Array.from({ length: 7 }, (_, i) => ({
        resource: { ...agencyPatient('edinburgh-education', `PAGE-${i}`, { given: [`Kid${i}`], family, birthDate: `2015-01-0${i + 1}` }) },
        request: { method: 'POST', url: 'Patient' },
      })),
    };
    await c.transaction({ body: bundle });
  });

  it('follows next links to the last page and previous links back, every record once', async () => {
    const c = await client('edinburgh-education');
    const seen: string[] = [];
    let page: Bundle | undefined = await patients('edinburgh-education', { family, _count: 3 });
    expect(page.total).toBe(7);
    let last: Bundle = page;
    while (page) {
      seen.push(...ids(page));
      last = page;
      page = (await c.nextPage({ bundle: { ...page, link: page.link ?? [] } })) as unknown as Bundle | undefined;
    }
    expect(seen).toEqual(Array.from({ length: 7 }, (_, i) => `edinburgh-education.PAGE-${i}`));
    const previous = (await c.prevPage({ bundle: { ...last, link: last.link ?? [] } })) as unknown as Bundle;
    expect(ids(previous)).toEqual(['edinburgh-education.PAGE-3', 'edinburgh-education.PAGE-4', 'edinburgh-education.PAGE-5']);
  });
});

describe('what the ISP lets each agency see (and count)', () => {
  // The Lothian–Fife ISP lets NHS Lothian's demographics reach NHS Fife; the Leith GP cluster is not a party to it.
  const chi = testChi('1958-02-14', 'male', 71);
  const angus: PersonDetails = { given: ['Angus'], family: 'Hiddenfield', birthDate: '1958-02-14', gender: 'male', postcode: 'EH6 4AA', chi };
  let personRef: string;

  beforeAll(async () => {
    personRef = (await mpi.registered('nhs-lothian', 'ISP-N-1', angus)).outcome.person!;
    await mpi.registered('gp-leith-cluster', 'ISP-G-1', angus);
    await mpi.registered('gp-leith-cluster', 'ISP-G-2', { ...angus, given: ['Hamish'], birthDate: '1961-07-30', chi: undefined });
  });

  it('an agency the ISP keeps from a record neither finds it nor counts it', async () => {
    expect(ids(await patients('nhs-fife', { family: 'hiddenfield' }))).toEqual(['nhs-lothian.ISP-N-1']);
    expect((await patients('nhs-fife', { family: 'hiddenfield' })).total).toBe(1);
    expect((await patients('nhs-fife', { family: 'hiddenfield', _summary: 'count' })).total).toBe(1);
    expect((await patients('nhs-fife', { given: 'hamish', _summary: 'count' })).total).toBe(0);
    expect((await patients('nhs-fife', { identifier: `${agencyPatientSystem('gp-leith-cluster')}|ISP-G-2` })).total).toBe(0);
    const byChi = await patients('nhs-fife', { identifier: `${IdentifierSystems.chi}|${chi}` });
    expect(ids(byChi)).toEqual(['nhs-lothian.ISP-N-1']);
  });

  it('an agency the ISP lets see them finds and counts them all', async () => {
    expect(ids(await patients('edinburgh-housing', { family: 'hiddenfield' }))).toEqual(['gp-leith-cluster.ISP-G-1', 'gp-leith-cluster.ISP-G-2', 'nhs-lothian.ISP-N-1']);
    expect((await patients('edinburgh-housing', { family: 'hiddenfield', _summary: 'count' })).total).toBe(3);
  });

  it('Person search by link finds the Person of a record the caller may see, and nothing for one it may not', async () => {
    const found = await search('nhs-fife', 'Person', { link: 'Patient/nhs-lothian.ISP-N-1' });
    expect(ids(found)).toEqual([personRef.replace('Person/', '')]);
    const person = found.entry![0]!.resource as Person;
    expect(person.link?.map((l) => l.target.reference)).toEqual(['Patient/nhs-lothian.ISP-N-1']);
    expect((await search('nhs-fife', 'Person', { link: 'Patient/gp-leith-cluster.ISP-G-1' })).total).toBe(0);
    expect((await search('nhs-fife', 'Person', { link: 'gp-leith-cluster.ISP-G-1', _summary: 'count' })).total).toBe(0);
    expect(ids(await search('edinburgh-housing', 'Person', { link: 'gp-leith-cluster.ISP-G-1' }))).toEqual([personRef.replace('Person/', '')]);
  });

  it('Person search by identifier (the CHI) finds the Person; _summary=count counts it', async () => {
    const byChi = await search('nhs-fife', 'Person', { identifier: `${IdentifierSystems.chi}|${chi}` });
    expect(ids(byChi)).toEqual([personRef.replace('Person/', '')]);
    expect((byChi.entry![0]!.resource as Person).identifier).toEqual([{ system: IdentifierSystems.chi, value: chi }]);
    expect((await search('nhs-fife', 'Person', { identifier: chi, _summary: 'count' })).total).toBe(1);
    const refused = await failure(search('nhs-fife', 'Person', {}));
    expect(refused.status).toBe(400);
  });
});

describe('the MPI’s review Task search', () => {
  it('takes _summary=count and _total like every search', async () => {
    const all = await search('nhs-lothian', 'Task', { code: 'match-review', _count: 1000 });
    const counted = await search('nhs-lothian', 'Task', { code: 'match-review', _summary: 'count' });
    expect(counted.total).toBe(all.entry?.length ?? 0);
    expect(counted.entry).toBeUndefined();
    expect((await search('nhs-lothian', 'Task', { code: 'match-review', _total: 'none' })).total).toBeUndefined();
  });
});

describe('CapabilityStatement', () => {
  it('lists Patient and Person search with their parameters', async () => {
    const c = await client('edinburgh-housing');
    const statement = (await c.capabilityStatement()) as unknown as { rest: { resource: { type: string; interaction: { code: string }[]; searchParam?: { name: string }[] }[] }[] };
    const of = (type: string) => statement.rest[0]!.resource.find((r) => r.type === type)!;
    expect(of('Patient').interaction.map((i) => i.code)).toContain('search-type');
    expect(of('Patient').searchParam?.map((p) => p.name).sort()).toEqual(
      ['_id', 'address-postalcode', 'birthdate', 'family', 'gender', 'given', 'identifier', 'name'].sort(),
    );
    expect(of('Person').searchParam?.map((p) => p.name).sort()).toEqual(['_id', 'identifier', 'link']);
  });
});
