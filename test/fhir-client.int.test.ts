/**
 * A real FHIR client against a whole hub: fhir-kit-client reads each service's
 * CapabilityStatement and exercises what it claims — read, vread, `_history`,
 * search with paging (`nextPage` / `prevPage`), POST `_search`, create and update
 * with `If-Match`, conditional update, transaction, operations — checking what
 * such a client relies on: `application/fhir+json`, `ETag: W/"<versionId>"`,
 * `Last-Modified`, `Location` of the new version, 201 / 200, `Bundle.link`
 * relations and `total`, `Prefer: return=minimal | representation |
 * OperationOutcome`, `_format=json`, and errors as OperationOutcomes.
 */
import type { Bundle, CapabilityStatement, FhirResource, Organization, Parameters as FhirParameters, Patient, Resource } from 'fhir/r4.js';
import { Client } from 'fhir-kit-client';

/** fhir-kit-client's own resource type (an index signature over `resourceType`): what its paging and `httpFor` take. */
type KitResource = Parameters<Client['nextPage']>[0]['bundle'];
import { issueAccessToken } from '../shared/auth/access-token.js';
import { loadTokenSigningKey } from '../shared/auth/keys.js';
import { fhirErrorResponse } from '../shared/client/fhir.js';
import type { RunningHub } from '../services/hub.js';
import { uniquePrefix } from './redis.js';
import { startTestHub, stopTestHub } from './in-process-hub.js';

const AGENCY = 'nhs-lothian';
const SERVICES = ['directory', 'mpi', 'alerts', 'plans', 'audit'] as const;
type Service = (typeof SERVICES)[number];

const prefix = uniquePrefix('fhir-client');
let hub: RunningHub;
let token: string;

/** The fetch Response behind a fhir-kit-client result (headers and status a client reads). */
const responseOf = (result: unknown): Response => (Client.httpFor(result as KitResource) as { response: Response }).response;
const clientOf = (service: Service, headers: Record<string, string> = {}) =>
  new Client({ baseUrl: `${hub.config.urls[service] ?? ''}/fhir`, bearerToken: token, customHeaders: headers });
const as = <T>(value: unknown) => value as T;

/** What every answer carrying a resource must have for a client that caches and updates. */
function expectVersionHeaders(result: unknown, resource: Resource): void {
  const res = responseOf(result);
  expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
  expect(res.headers.get('etag')).toBe(`W/"${resource.meta?.versionId ?? ''}"`);
  expect(new Date(res.headers.get('last-modified') ?? '').toISOString().slice(0, 19)).toBe(new Date(resource.meta?.lastUpdated ?? '').toISOString().slice(0, 19));
}

const lothianPatient = (value: string, given = 'Ann'): Patient => ({
  resourceType: 'Patient',
  identifier: [{ system: `https://fhir.infoshare.scot/id/patient/${AGENCY}`, value }],
  name: [{ family: 'Clientpass', given: [given] }],
  birthDate: '2012-02-02',
  gender: 'female',
});

beforeAll(async () => {
  hub = await startTestHub(prefix, { loadDemoPeople: false });
  const key = await loadTokenSigningKey(hub.config.token);
  token = issueAccessToken({ clientId: AGENCY, agency: AGENCY, partnership: 'lothian-hscp', scopes: ['system/*.*', 'system/AuditEvent.attest'] }, key, hub.config.token).token;
}, 120_000);

afterAll(() => stopTestHub(hub, prefix));

describe('a FHIR client (fhir-kit-client) against every service of a running hub', () => {
  it.each(SERVICES)('%s: publishes a CapabilityStatement of FHIR R4 in JSON, also with _format=json', async (service) => {
    const client = clientOf(service);
    const cap = as<CapabilityStatement>(await client.capabilityStatement());
    expect(cap).toMatchObject({ resourceType: 'CapabilityStatement', status: 'active', kind: 'instance' });
    expect(cap.fhirVersion).toMatch(/^4\.0\./);
    expect(cap.format).toEqual(expect.arrayContaining([expect.stringMatching(/json/)]));
    expect(cap.rest?.[0]?.mode).toBe('server');
    expect(cap.rest?.[0]?.security).toBeDefined();
    expect(responseOf(cap).headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect(as<CapabilityStatement>(await client.request('metadata?_format=json')).resourceType).toBe('CapabilityStatement');
  });

  it('directory: create answers 201 with Location, ETag and Last-Modified; read, vread and _history agree', async () => {
    const client = clientOf('directory');
    const created = as<Organization>(await client.create({ resourceType: 'Organization', body: { resourceType: 'Organization', name: 'Client pass' } }));
    const res = responseOf(created);
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`${hub.config.urls.directory}/fhir/Organization/${created.id}/_history/1`);
    expectVersionHeaders(created, created);

    const read = as<Organization>(await client.read({ resourceType: 'Organization', id: created.id! }));
    expect(read).toEqual(created);
    expectVersionHeaders(read, read);

    const updated = as<Organization>(
      await client.update({ resourceType: 'Organization', id: created.id!, body: { ...created, name: 'Client pass, renamed' }, options: { headers: { 'if-match': 'W/"1"' } } }),
    );
    expect(responseOf(updated).status).toBe(200);
    expect(updated.meta?.versionId).toBe('2');
    expectVersionHeaders(updated, updated);

    const stale = await client.update({ resourceType: 'Organization', id: created.id!, body: { ...created, name: 'stale' }, options: { headers: { 'if-match': 'W/"1"' } } }).catch(fhirErrorResponse);
    expect(stale).toMatchObject({ status: 412, data: { resourceType: 'OperationOutcome' } });

    const v1 = as<Organization>(await client.vread({ resourceType: 'Organization', id: created.id!, version: '1' }));
    expect(v1.name).toBe('Client pass');
    expectVersionHeaders(v1, v1);
    const history = as<Bundle<Organization>>(await client.history({ resourceType: 'Organization', id: created.id! }));
    expect(history).toMatchObject({ type: 'history', total: 2 });
    expect(history.entry?.map((e) => [e.request?.method, e.response?.status])).toEqual([
      ['PUT', '200 OK'],
      ['POST', '201 Created'],
    ]);
    // Newest first (FHIR R4 §3.1.0.11).
    expect(history.entry?.map((e) => e.resource?.meta?.versionId)).toEqual(['2', '1']);

    const unknown = await client.read({ resourceType: 'Organization', id: 'no-such-organisation' }).catch(fhirErrorResponse);
    expect(unknown).toMatchObject({ status: 404, data: { resourceType: 'OperationOutcome' } });
  });

  it('directory: a conditional create (If-None-Exist) creates once, then answers the match (200), and 412 when several match', async () => {
    const client = clientOf('directory');
    const cap = as<CapabilityStatement>(await client.capabilityStatement());
    expect(cap.rest?.[0]?.resource?.find((r) => r.type === 'Organization')?.conditionalCreate).toBe(true);
    const body = { resourceType: 'Organization', identifier: [{ system: 'https://example.org/org', value: 'IF-NONE-1' }], name: 'Conditional' };
    const ifNoneExist = { 'if-none-exist': 'identifier=https://example.org/org|IF-NONE-1' };
    const first = as<Organization>(await client.create({ resourceType: 'Organization', body, options: { headers: ifNoneExist } }));
    expect(responseOf(first).status).toBe(201);
    const again = as<Organization>(await client.create({ resourceType: 'Organization', body, options: { headers: ifNoneExist } }));
    expect(responseOf(again).status).toBe(200);
    expect(again).toEqual(first);
    await client.create({ resourceType: 'Organization', body: { ...body, name: 'A second one' } });
    const ambiguous = await client.create({ resourceType: 'Organization', body, options: { headers: ifNoneExist } }).catch(fhirErrorResponse);
    expect(ambiguous).toMatchObject({ status: 412, data: { resourceType: 'OperationOutcome' } });
    // Identical conditional creates at once (a client retrying, two replicas of an agency system): one resource.
    const raced = { ...body, identifier: [{ system: 'https://example.org/org', value: 'IF-NONE-RACE' }] };
    const racing = await Promise.all(
      Array.from({ length: 12 }, () => client.create({ resourceType: 'Organization', body: raced, options: { headers: { 'if-none-exist': 'identifier=https://example.org/org|IF-NONE-RACE' } } })),
    );
    expect(racing.map((r) => responseOf(r).status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(racing.map((r) => as<Organization>(r).id)).size).toBe(1);
    expect(as<Bundle>(await client.search({ resourceType: 'Organization', searchParams: { identifier: 'https://example.org/org|IF-NONE-RACE' } })).total).toBe(1);
    // Where the create route does not serve it, the header is refused rather than ignored.
    const mpi = await clientOf('mpi').create({ resourceType: 'Patient', body: { ...lothianPatient('IF-NONE') }, options: { headers: { 'if-none-exist': 'identifier=x|y' } } }).catch(fhirErrorResponse);
    expect(mpi).toMatchObject({ status: 400, data: { resourceType: 'OperationOutcome' } });
  });

  it('directory: Prefer return=minimal answers no body, return=OperationOutcome an outcome, representation the resource', async () => {
    const client = clientOf('directory');
    const body = { resourceType: 'Organization', name: 'Client pass, preferred' };
    const minimal = await client.create({ resourceType: 'Organization', body, options: { headers: { prefer: 'return=minimal' } } });
    expect(minimal).toEqual({});
    expect(responseOf(minimal).status).toBe(201);
    expect(responseOf(minimal).headers.get('location')).toMatch(/\/fhir\/Organization\/[^/]+\/_history\/1$/);
    expect(responseOf(minimal).headers.get('etag')).toBe('W/"1"');
    const outcome = as<Resource>(await client.create({ resourceType: 'Organization', body, options: { headers: { prefer: 'return=OperationOutcome' } } }));
    expect(outcome.resourceType).toBe('OperationOutcome');
    const representation = as<Organization>(await client.create({ resourceType: 'Organization', body, options: { headers: { prefer: 'return=representation' } } }));
    expect(representation).toMatchObject(body);
  });

  it('directory: pages through a search with nextPage and prevPage, every match once, as many as total; POST _search agrees', async () => {
    const client = clientOf('directory');
    const first = as<Bundle<Organization>>(await client.search({ resourceType: 'Organization', searchParams: { _count: '4' } }));
    expect(first.type).toBe('searchset');
    expect(first.link?.map((l) => l.relation)).toEqual(expect.arrayContaining(['self', 'next']));
    const ids: string[] = [];
    let page: Bundle<Organization> | undefined = first;
    let last: Bundle<Organization> = first;
    while (page) {
      last = page;
      ids.push(...(page.entry ?? []).filter((e) => e.search?.mode !== 'include').map((e) => e.resource!.id!));
      page = as<Bundle<Organization> | undefined>(await client.nextPage({ bundle: page as unknown as KitResource }));
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(first.total);
    const previous = as<Bundle<Organization>>(await client.prevPage({ bundle: last as unknown as KitResource }));
    expect(previous.type).toBe('searchset');
    expect(previous.entry?.length).toBe(4);
    const posted = as<Bundle<Organization>>(await client.search({ resourceType: 'Organization', searchParams: { _count: '4' }, options: { postSearch: true } }));
    expect(posted.total).toBe(first.total);
    expect(posted.entry?.map((e) => e.resource?.id)).toEqual(first.entry?.map((e) => e.resource?.id));
  });

  it('mpi: create, conditional update, read/vread/_history, transaction, $match and $ihe-pix as a client calls them', async () => {
    const client = clientOf('mpi');
    const created = as<Patient>(await client.create({ resourceType: 'Patient', body: { ...lothianPatient('CLIENT-1') } }));
    expect(responseOf(created).status).toBe(201);
    expect(responseOf(created).headers.get('location')).toBe(`${hub.config.urls.mpi}/fhir/Patient/${created.id}/_history/1`);
    expectVersionHeaders(created, created);

    const updated = as<Patient>(
      await client.update({ resourceType: 'Patient', searchParams: { identifier: `https://fhir.infoshare.scot/id/patient/${AGENCY}|CLIENT-1` }, body: { ...lothianPatient('CLIENT-1', 'Anne') } }),
    );
    expect(responseOf(updated).status).toBe(200);
    expect(updated.meta?.versionId).toBe('2');
    expectVersionHeaders(updated, updated);
    const v1 = as<Patient>(await client.vread({ resourceType: 'Patient', id: created.id!, version: '1' }));
    expect(v1.name?.[0]?.given).toEqual(['Ann']);
    const history = as<Bundle<Patient>>(await client.history({ resourceType: 'Patient', id: created.id! }));
    expect(history.entry?.map((e) => e.resource?.meta?.versionId)).toEqual(['2', '1']);

    const transaction = as<Bundle>(
      await client.transaction({ body: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { ...lothianPatient('CLIENT-2') }, request: { method: 'POST', url: 'Patient' } }] } }),
    );
    expect(transaction.type).toBe('transaction-response');
    expect(transaction.entry?.[0]?.response?.status).toMatch(/^20[01]/);

    const found = as<Bundle<Patient>>(await client.search({ resourceType: 'Patient', searchParams: { identifier: `https://fhir.infoshare.scot/id/patient/${AGENCY}|CLIENT-2` } }));
    expect(found.total).toBe(1);
    const match = as<Bundle>(await client.operation({ resourceType: 'Patient', name: '$match', input: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { ...lothianPatient('CLIENT-3', 'Anne') } }] } }));
    expect(match).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    const pix = as<FhirParameters>(await client.operation({ resourceType: 'Patient', name: '$ihe-pix', method: 'GET', input: { sourceIdentifier: `https://fhir.infoshare.scot/id/patient/${AGENCY}|CLIENT-1` } }));
    expect(pix.resourceType).toBe('Parameters');
    // The client's default: POST with Parameters (FHIR lets every operation be POSTed) — the same answer as the GET.
    const posted = as<FhirParameters>(
      await client.operation({
        resourceType: 'Patient',
        name: '$ihe-pix',
        input: { resourceType: 'Parameters', parameter: [{ name: 'sourceIdentifier', valueIdentifier: { system: `https://fhir.infoshare.scot/id/patient/${AGENCY}`, value: 'CLIENT-1' } }] },
      }),
    );
    expect(posted).toEqual(pix);
    // A client (or proxy) that percent-encodes the `$` reaches the same operation: it was the `:id` routes' 405.
    const sourceIdentifier = encodeURIComponent(`https://fhir.infoshare.scot/id/patient/${AGENCY}|CLIENT-1`);
    const encoded = as<FhirParameters>(await client.request(`Patient/%24ihe-pix?sourceIdentifier=${sourceIdentifier}`));
    expect(responseOf(encoded).url).toContain('/Patient/%24ihe-pix?');
    expect(encoded).toEqual(pix);
    const matchInput = { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { ...lothianPatient('CLIENT-3', 'Anne') } }] };
    const encodedMatch = as<Bundle>(await client.request('Patient/%24match', { method: 'POST', body: matchInput, options: { headers: { 'content-type': 'application/fhir+json' } } }));
    expect(encodedMatch).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    // An empty change set is not an error (R4): an empty transaction-response, nothing written.
    const empty = as<Bundle>(await client.transaction({ body: { resourceType: 'Bundle', type: 'transaction', entry: [] } }));
    expect(responseOf(empty).status).toBe(200);
    expect(empty).toMatchObject({ resourceType: 'Bundle', type: 'transaction-response' });
    expect(empty.entry).toBeUndefined();
  });

  it('plans: create and update a CarePlan with If-Match, and read it back through read, vread and _history', async () => {
    await clientOf('mpi').create({ resourceType: 'Patient', body: { ...lothianPatient('CLIENT-PLAN') } });
    const client = clientOf('plans');
    const plan = {
      resourceType: 'CarePlan',
      status: 'active',
      intent: 'plan',
      title: 'Client pass plan',
      subject: { identifier: { system: `https://fhir.infoshare.scot/id/patient/${AGENCY}`, value: 'CLIENT-PLAN' } },
    };
    const created = as<FhirResource>(await client.create({ resourceType: 'CarePlan', body: plan }));
    expect(responseOf(created).status).toBe(201);
    expect(responseOf(created).headers.get('location')).toBe(`${hub.config.urls.plans}/fhir/CarePlan/${created.id}/_history/1`);
    expectVersionHeaders(created, created);
    const updated = as<FhirResource>(await client.update({ resourceType: 'CarePlan', id: created.id!, body: { ...created, title: 'Client pass plan, v2' }, options: { headers: { 'if-match': 'W/"1"' } } }));
    expect(updated.meta?.versionId).toBe('2');
    expectVersionHeaders(updated, updated);
    const read = as<FhirResource>(await client.read({ resourceType: 'CarePlan', id: created.id! }));
    expectVersionHeaders(read, read);
    const history = as<Bundle>(await client.history({ resourceType: 'CarePlan', id: created.id! }));
    expect(history.entry?.map((e) => e.resource?.meta?.versionId)).toEqual(['2', '1']);
    const searched = as<Bundle>(await client.search({ resourceType: 'CarePlan', searchParams: { _id: created.id! } }));
    expect(searched.total).toBe(1);
  });

  /** A raw exchange: the body as text both ways (JSON.stringify would write 1.50 as 1.5, JSON.parse read it so). */
  const raw = async (service: Service, path: string, method = 'GET', body?: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${hub.config.urls[service] ?? ''}/fhir${path ? `/${path}` : ''}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...headers, ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }) },
      ...(body === undefined ? {} : { body }),
    });
    return { status: res.status, text: await res.text(), headers: res.headers };
  };

  it('plans and directory: a decimal comes back with the precision it was written with (1.50, not 1.5) from create, read, vread, search and _history', async () => {
    await clientOf('mpi').create({ resourceType: 'Patient', body: { ...lothianPatient('CLIENT-DECIMAL') } });
    const plan =
      '{"resourceType":"CarePlan","status":"active","intent":"plan","title":"Decimal pass",' +
      `"subject":{"identifier":{"system":"https://fhir.infoshare.scot/id/patient/${AGENCY}","value":"CLIENT-DECIMAL"}},` +
      '"activity":[{"detail":{"status":"scheduled","quantity":{"value":1.50,"unit":"h"},"dailyAmount":{"value":2.0,"unit":"h"}}}]}';
    const created = await raw('plans', 'CarePlan', 'POST', plan);
    expect(created.status).toBe(201);
    const id = (JSON.parse(created.text) as Resource).id!;
    const written = ['"quantity":{"value":1.50,', '"dailyAmount":{"value":2.0,'];
    for (const answer of [created, await raw('plans', `CarePlan/${id}`), await raw('plans', `CarePlan/${id}/_history/1`), await raw('plans', `CarePlan?_id=${id}`), await raw('plans', `CarePlan/${id}/_history`)]) {
      for (const text of written) expect(answer.text).toContain(text);
    }
    // A client that changes the value gets its own number back; one that leaves it, the precision as written.
    const read = as<FhirResource & { activity: { detail: { quantity: { value: number } } }[] }>(JSON.parse((await raw('plans', `CarePlan/${id}`)).text));
    read.activity[0]!.detail.quantity.value = 1.25;
    const updated = await raw('plans', `CarePlan/${id}`, 'PUT', JSON.stringify(read).replace('"dailyAmount":{"value":2,', '"dailyAmount":{"value":2.0,'), { 'if-match': 'W/"1"' });
    expect(updated.status).toBe(200);
    expect(updated.text).toContain('"quantity":{"value":1.25,');
    expect(updated.text).toContain('"dailyAmount":{"value":2.0,');
    const organization = await raw('directory', 'Organization', 'POST', '{"resourceType":"Organization","name":"Decimal pass","extension":[{"url":"https://example.org/fhir/StructureDefinition/share","valueDecimal":0.10}]}');
    expect(organization.status).toBe(201);
    expect((await raw('directory', `Organization/${(JSON.parse(organization.text) as Resource).id!}`)).text).toContain('"valueDecimal":0.10}');
  });

  it('mpi: a Patient\'s decimal (an extension\'s 1.50, 1.0e2) comes back as written from create, update, transaction (also in the background), read, vread, _history, search and $match', async () => {
    const system = `https://fhir.infoshare.scot/id/patient/${AGENCY}`;
    const patient = (value: string, given: string, decimals: string) =>
      `{"resourceType":"Patient","identifier":[{"system":"${system}","value":"${value}"}],"name":[{"family":"Decimalpass","given":["${given}"]}],` +
      `"birthDate":"2011-01-01","gender":"female","extension":[{"url":"https://example.org/fhir/StructureDefinition/weight","valueDecimal":${decimals}}]}`;
    const created = await raw('mpi', 'Patient', 'POST', patient('CLIENT-DEC-1', 'Ida', '1.50'));
    expect(created.status).toBe(201);
    const id = (JSON.parse(created.text) as Resource).id!;
    for (const answer of [created, await raw('mpi', `Patient/${id}`), await raw('mpi', `Patient/${id}/_history/1`), await raw('mpi', `Patient?identifier=${system}|CLIENT-DEC-1`)]) {
      expect(answer.text).toContain('"valueDecimal":1.50}');
    }
    // A new version: both it and the version it replaced (kept in _history) as written.
    const updated = await raw('mpi', `Patient/${id}`, 'PUT', patient('CLIENT-DEC-1', 'Ida', '1.0e2').replace('{', `{"id":"${id}",`));
    expect(updated.status).toBe(200);
    expect(updated.text).toContain('"valueDecimal":1.0e2}');
    const history = await raw('mpi', `Patient/${id}/_history`);
    expect(history.text).toContain('"valueDecimal":1.0e2}');
    expect(history.text).toContain('"valueDecimal":1.50}');
    expect((await raw('mpi', `Patient/${id}/_history/1`)).text).toContain('"valueDecimal":1.50}');
    // A transaction (the bulk load's path): the answer and the stored record.
    const transaction = await raw('mpi', '', 'POST', `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":${patient('CLIENT-DEC-2', 'Una', '0.10')},"request":{"method":"POST","url":"Patient"}}]}`, { prefer: 'return=representation' });
    expect(transaction.status).toBe(200);
    expect(transaction.text).toContain('"valueDecimal":0.10}');
    const second = (JSON.parse(transaction.text) as Bundle).entry?.[0]?.response?.location?.split('/')[1];
    expect((await raw('mpi', `Patient/${second ?? ''}`)).text).toContain('"valueDecimal":0.10}');
    const match = await raw('mpi', 'Patient/$match', 'POST', `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":${patient('CLIENT-DEC-3', 'Una', '7')}}]}`);
    expect(match.status).toBe(200);
    expect(match.text).toContain('"valueDecimal":0.10}');
    // A load registered in the background (Prefer: respond-async): its records are kept as sent until the worker runs.
    const background = await raw('mpi', '', 'POST', `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":${patient('CLIENT-DEC-4', 'Isla', '2.50')},"request":{"method":"POST","url":"Patient"}}]}`, { prefer: 'respond-async' });
    expect(background.status).toBe(202);
    const statusPath = (background.headers.get('content-location') ?? '').split('/fhir/')[1] ?? '';
    let status = await raw('mpi', statusPath);
    for (let tries = 0; status.status === 202 && tries < 600; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = await raw('mpi', statusPath);
    }
    expect(status.status).toBe(200);
    expect((await raw('mpi', `Patient/${AGENCY}.CLIENT-DEC-4`)).text).toContain('"valueDecimal":2.50}');
  });

  it('audit: searches the log with paging links, reads an AuditEvent by id, and takes POST _search on DocumentReference', async () => {
    const client = clientOf('audit');
    const page = as<Bundle>(await client.search({ resourceType: 'AuditEvent', searchParams: { _count: '2' } }));
    expect(page.type).toBe('searchset');
    expect(page.link?.map((l) => l.relation)).toEqual(expect.arrayContaining(['self', 'next']));
    const next = as<Bundle>(await client.nextPage({ bundle: page as unknown as KitResource }));
    expect(next.entry?.length).toBe(2);
    // The client's own searches are logged meanwhile; the links name entries, so nothing shifts.
    const back = as<Bundle>(await client.prevPage({ bundle: next as unknown as KitResource }));
    expect(back.entry?.map((e) => e.resource?.id)).toEqual(page.entry?.map((e) => e.resource?.id));
    const id = page.entry?.[0]?.resource?.id;
    const event = as<Resource>(await client.read({ resourceType: 'AuditEvent', id: id! }));
    expect(event.resourceType).toBe('AuditEvent');
    expect(responseOf(event).headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    const documents = as<Bundle>(await client.search({ resourceType: 'DocumentReference', searchParams: { _count: '5' }, options: { postSearch: true } }));
    expect(documents.type).toBe('searchset');
    // The self link is the search as asked, replayable as a GET (the form body's `_count` included).
    const self = documents.link?.find((l) => l.relation === 'self')?.url ?? '';
    expect(new URL(self).searchParams.get('_count')).toBe('5');
    expect(as<Bundle>(await client.request(self)).total).toBe(documents.total);
  });

  it('alerts: searches Flags by subject and answers a refusal a client can read', async () => {
    const client = clientOf('alerts');
    const flags = as<Bundle>(await client.search({ resourceType: 'Flag', searchParams: { subject: `https://fhir.infoshare.scot/id/patient/${AGENCY}|CLIENT-1` } }));
    expect(flags.type).toBe('searchset');
    const refused = await client.search({ resourceType: 'Flag', searchParams: {} }).catch(fhirErrorResponse);
    expect(refused).toMatchObject({ status: 400, data: { resourceType: 'OperationOutcome' } });
  });
});
