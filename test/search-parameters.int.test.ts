/**
 * Every search of every service, as a FHIR client sends it (fhir-kit-client, one hub): the result parameters
 * every search takes (`_summary=count`, `_total=none`, `_count` with its `next` link), FHIR's own parameters the
 * hub does not serve (`_sort`, `_elements`) refused as *not supported* — not as "unknown" — with a 400
 * OperationOutcome naming them and what the search does take, an unknown name refused as unknown, and `Prefer:
 * handling=lenient` (R4 §3.1.1.4) having both ignored: 200, `Preference-Applied`, and a self link without them.
 */
import type { AuditEvent, Bundle, CapabilityStatement, OperationOutcome, Resource } from 'fhir/r4.js';
import { Client } from 'fhir-kit-client';
import { issueAccessToken } from '../shared/auth/access-token.js';
import { loadTokenSigningKey } from '../shared/auth/keys.js';
import { HubScopes } from '../shared/auth/scopes.js';
import { fhirErrorResponse } from '../shared/client/fhir.js';
import type { RunningHub } from '../services/hub.js';
import { startTestHub, stopTestHub } from './in-process-hub.js';
import { uniquePrefix } from './redis.js';

type Service = 'directory' | 'mpi' | 'alerts' | 'plans' | 'audit';
type KitResource = Parameters<Client['nextPage']>[0]['bundle'];

const AGENCY = 'nhs-lothian';

/** Each search the hub serves, with the criteria it needs to run at all. */
const SEARCHES: ReadonlyArray<{ service: Service; type: string; criteria: Record<string, string> }> = [
  { service: 'directory', type: 'Organization', criteria: {} },
  { service: 'directory', type: 'CareTeam', criteria: {} },
  { service: 'mpi', type: 'Task', criteria: {} },
  { service: 'mpi', type: 'Patient', criteria: { family: 'Nosuchname' } },
  { service: 'mpi', type: 'Person', criteria: { _id: 'no-such-person' } },
  { service: 'alerts', type: 'Flag', criteria: { subject: `https://fhir.infoshare.scot/id/patient/${AGENCY}|NO-SUCH` } },
  { service: 'plans', type: 'CarePlan', criteria: {} },
  { service: 'audit', type: 'AuditEvent', criteria: {} },
  { service: 'audit', type: 'DocumentReference', criteria: {} },
];
const CONSENT = { service: 'plans' as const, type: 'Consent', criteria: { patient: 'Patient/no-such-person' } };
/** Searches whose results come in id order (the generic store, the MPI's index): `_sort=_id` is what they serve, `-_id` its reverse. */
const ID_ORDERED = new Set(['Organization', 'CareTeam', 'Task', 'Patient', 'Person', 'CarePlan', 'Consent']);
/** The order each sorted search serves and its reverse, as `_sort` values: AuditEvent's index is in recorded time, newest first. */
const orderOf = (type: string): { by: string; reverse: string } | undefined =>
  ID_ORDERED.has(type) ? { by: '_id', reverse: '-_id' } : type === 'AuditEvent' ? { by: '-date', reverse: 'date' } : undefined;

const prefix = uniquePrefix('search-parameters');
let hub: RunningHub;
let token: string;

const clientOf = (service: Service, headers: Record<string, string> = {}) =>
  new Client({ baseUrl: `${hub.config.urls[service] ?? ''}/fhir`, bearerToken: token, customHeaders: headers });
const responseOf = (result: unknown): Response => (Client.httpFor(result as KitResource) as { response: Response }).response;
const selfOf = (bundle: Bundle) => new URL(bundle.link?.find((l) => l.relation === 'self')?.url ?? '');

async function refusal(service: Service, type: string, searchParams: Record<string, string>): Promise<{ status: number; outcome: OperationOutcome }> {
  const failed = await clientOf(service)
    .search({ resourceType: type, searchParams })
    .then(() => undefined, fhirErrorResponse);
  return { status: failed?.status ?? 200, outcome: failed?.data as OperationOutcome };
}

/** Every result of a search, following the `next` links (each must keep the search's `_sort`). */
async function everyPage(service: Service, type: string, searchParams: Record<string, string>): Promise<Resource[]> {
  const client = clientOf(service);
  const resources: Resource[] = [];
  let page = (await client.search({ resourceType: type, searchParams })) as unknown as Bundle;
  for (;;) {
    resources.push(...(page.entry ?? []).map((e) => e.resource!));
    const next = page.link?.find((l) => l.relation === 'next');
    if (!next) return resources;
    expect(new URL(next.url).searchParams.get('_sort')).toBe(searchParams._sort ?? null);
    page = (await client.nextPage({ bundle: page as unknown as KitResource })) as unknown as Bundle;
  }
}

beforeAll(async () => {
  hub = await startTestHub(prefix, { loadDemoPeople: false });
  const key = await loadTokenSigningKey(hub.config.token);
  token = issueAccessToken({ clientId: AGENCY, agency: AGENCY, partnership: 'lothian-hscp', scopes: ['system/*.*', ...Object.values(HubScopes)] }, key, hub.config.token).token;
}, 120_000);

afterAll(() => stopTestHub(hub, prefix));

const label = (s: { service: Service; type: string }) => `${s.service} ${s.type}`;

describe('result parameters on every search', () => {
  it.each(SEARCHES.map((s) => [label(s), s] as const))('%s: _summary=count answers the total alone; _total=none leaves it out', async (_l, { service, type, criteria }) => {
    const client = clientOf(service);
    const counted = (await client.search({ resourceType: type, searchParams: { ...criteria, _summary: 'count' } })) as unknown as Bundle;
    expect(counted).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    expect(typeof counted.total).toBe('number');
    expect(counted.entry).toBeUndefined();
    const untotalled = (await client.search({ resourceType: type, searchParams: { ...criteria, _total: 'none', _count: '1' } })) as unknown as Bundle;
    expect(untotalled.total).toBeUndefined();
  });

  it('Consent: takes _summary=count like every other search (it was refused as a parameter Consent search does not take)', async () => {
    const { status, outcome } = await refusal(CONSENT.service, CONSENT.type, { ...CONSENT.criteria, _summary: 'count' });
    // The search runs: the person is the one thing wrong here.
    expect(status).toBe(404);
    expect(outcome.issue[0]?.code).toBe('not-found');
  });

  it('Flag: pages with _count and its next link, as many matches as total (it refused _count)', async () => {
    const client = clientOf('alerts');
    const first = (await client.search({ resourceType: 'Flag', searchParams: { ...SEARCHES[5]!.criteria, _count: '1' } })) as unknown as Bundle;
    expect(first.type).toBe('searchset');
    expect(selfOf(first).searchParams.get('_count')).toBe('1');
    expect(first.total).toBe(0);
  });
});

describe('FHIR parameters the hub does not serve, and unknown ones', () => {
  it.each([...SEARCHES, CONSENT].flatMap((s) => (['_sort', '_elements'] as const).map((p) => [label(s), p, s] as const)))(
    '%s: %s is a 400 "not supported" naming it and what the search takes',
    async (_l, param, { service, type, criteria }) => {
      const { status, outcome } = await refusal(service, type, { ...criteria, [param]: param === '_sort' ? '-_lastUpdated' : 'id' });
      expect(status).toBe(400);
      expect(outcome.resourceType).toBe('OperationOutcome');
      expect(outcome.issue[0]).toMatchObject({ severity: 'error', code: 'not-supported', expression: [param] });
      const text = outcome.issue[0]?.details?.text ?? '';
      // A sorted search honours its order and the reverse, and names both when refusing another sort.
      const order = orderOf(type);
      if (param === '_sort' && order) {
        expect(text).toContain(`'_sort=-_lastUpdated' is not supported on ${type} search here: results come in ${order.by} order, which _sort=${order.by} asks for, or in the reverse, _sort=${order.reverse}`);
      } else expect(text).toContain(`'${param}' is not supported on ${type} search`);
      expect(text).not.toMatch(/unknown/i);
      expect(text).toContain('_count');
    },
  );

  it.each([...SEARCHES, CONSENT].map((s) => [label(s), s] as const))('%s: an unknown parameter is a 400 naming it as unknown', async (_l, { service, type, criteria }) => {
    const { status, outcome } = await refusal(service, type, { ...criteria, 'no-such-param': '1' });
    expect(status).toBe(400);
    expect(outcome.issue[0]).toMatchObject({ code: 'not-supported', expression: ['no-such-param'] });
    expect(outcome.issue[0]?.details?.text).toContain(`Unknown search parameter 'no-such-param' for ${type}`);
  });
});

describe('_sort: the order each search serves, and its reverse', () => {
  it.each([...SEARCHES, CONSENT].map((s) => [label(s), s] as const))('%s: its order and the reverse are honoured where it has one, every _sort refused elsewhere; the CapabilityStatement says which', async (_l, { service, type, criteria }) => {
    const order = orderOf(type);
    const statement = (await clientOf(service).capabilityStatement()) as unknown as CapabilityStatement;
    const documentation = statement.rest?.[0]?.resource?.find((r) => r.type === type)?.documentation ?? '';
    if (!order) {
      const { status, outcome } = await refusal(service, type, { ...criteria, _sort: '_id' });
      expect(status).toBe(400);
      expect(outcome.issue[0]).toMatchObject({ code: 'not-supported', expression: ['_sort'] });
      expect(documentation).toContain('every _sort is refused');
      return;
    }
    // Served (Consent's person is unknown here: the search runs and says so).
    for (const sort of [order.by, order.reverse]) {
      expect([type, sort, (await refusal(service, type, { ...criteria, _sort: sort })).status]).toEqual([type, sort, type === 'Consent' ? 404 : 200]);
    }
    expect(documentation).toContain(`_sort=${order.by} asks for it, _sort=${order.reverse} for the reverse; any other _sort is refused`);
  });

  it('directory Organization: _sort=-_id pages every organization in descending id order — the ascending walk reversed — the next link keeping it', async () => {
    const walk = async (sort: string) => (await everyPage('directory', 'Organization', { _sort: sort, _count: '4' })).map((r) => r.id!);
    const ascending = await walk('_id');
    expect(ascending.length).toBeGreaterThan(4);
    expect(await walk('-_id')).toEqual([...ascending].reverse());
    // With criteria (the matching ids, not the live set): the same.
    const filtered = (sort: string) => clientOf('directory').search({ resourceType: 'Organization', searchParams: { partof: 'Organization/lothian-hscp', _sort: sort } }) as unknown as Promise<Bundle>;
    const up = ((await filtered('_id')).entry ?? []).map((e) => e.resource!.id!);
    expect(up.length).toBeGreaterThan(1);
    expect(((await filtered('-_id')).entry ?? []).map((e) => e.resource!.id!)).toEqual([...up].reverse());
  });

  it('AuditEvent: _sort=date walks the trail oldest first — the newest-first walk reversed — through the cursor links', async () => {
    // Some exchanges of its own to walk over (the file's earlier tests add more), then a fixed stretch of the trail:
    // everything recorded before now, once the search index has caught up with it (this test's own searches come after).
    for (let i = 0; i < 12; i++) await clientOf('directory').search({ resourceType: 'Organization', searchParams: { _count: '1' } });
    const before = new Date().toISOString();
    const indexed = async () => ((await clientOf('audit').search({ resourceType: 'AuditEvent', searchParams: { date: `lt${before}`, _summary: 'count' } })) as unknown as Bundle).total ?? 0;
    let [last, now] = [-1, await indexed()];
    while (now !== last) {
      await new Promise((r) => setTimeout(r, 500));
      [last, now] = [now, await indexed()];
    }
    const walk = async (sort: string) => (await everyPage('audit', 'AuditEvent', { date: `lt${before}`, _sort: sort, _count: '5' })) as AuditEvent[];
    const oldestFirst = await walk('date');
    expect(oldestFirst.length).toBeGreaterThanOrEqual(12);
    const times = oldestFirst.map((e) => Date.parse(e.recorded));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect((await walk('-date')).map((e) => e.id)).toEqual(oldestFirst.map((e) => e.id).reverse());
  });

  it('directory Organization: _sort=_id pages every organization in id order, the next link keeping it', async () => {
    const client = clientOf('directory');
    const ids: string[] = [];
    let page = (await client.search({ resourceType: 'Organization', searchParams: { _sort: '_id', _count: '3' } })) as unknown as Bundle;
    expect(selfOf(page).searchParams.get('_sort')).toBe('_id');
    for (;;) {
      ids.push(...(page.entry ?? []).map((e) => e.resource!.id!));
      const next = page.link?.find((l) => l.relation === 'next');
      if (!next) break;
      expect(new URL(next.url).searchParams.get('_sort')).toBe('_id');
      page = (await client.nextPage({ bundle: page as unknown as KitResource })) as unknown as Bundle;
    }
    expect(ids.length).toBeGreaterThan(3);
    expect(ids.length).toBe(page.total);
    expect(ids).toEqual([...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  });

  it('_sort given twice is refused like any repeated result parameter', async () => {
    const res = await fetch(`${hub.config.urls.directory ?? ''}/fhir/Organization?_sort=_id&_sort=_id`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(400);
  });
});

describe('Prefer: handling=lenient', () => {
  it.each(SEARCHES.map((s) => [label(s), s] as const))('%s: _sort, _elements and an unknown parameter are ignored; the self link shows what was used', async (_l, { service, type, criteria }) => {
    const client = clientOf(service, { prefer: 'handling=lenient' });
    const bundle = (await client.search({
      resourceType: type,
      searchParams: { ...criteria, _sort: '-_lastUpdated', _elements: 'id', 'no-such-param': '1', _count: '2' },
    })) as unknown as Bundle;
    expect(bundle.type).toBe('searchset');
    expect(responseOf(bundle).headers.get('preference-applied')).toBe('handling=lenient');
    const self = selfOf(bundle);
    expect([...self.searchParams.keys()].sort()).toEqual([...Object.keys(criteria), '_count'].sort());
    // Replayable as it stands, without the preference: the self link is a search the hub serves strictly too.
    expect(((await clientOf(service).request(self.toString())) as unknown as Bundle).type).toBe('searchset');
  });

  it('Consent: the unknown parameter is dropped and the search goes on (to the person it names)', async () => {
    const failed = await clientOf('plans', { prefer: 'handling=lenient' })
      .search({ resourceType: 'Consent', searchParams: { ...CONSENT.criteria, _sort: 'date' } })
      .then(() => undefined, fhirErrorResponse);
    expect(failed?.status).toBe(404);
  });

  it('without it (or with handling=strict) the same search is refused, and a bad value is refused even when lenient', async () => {
    expect((await refusal('directory', 'Organization', { _sort: 'name' })).status).toBe(400);
    const strict = await clientOf('directory', { prefer: 'handling=strict' })
      .search({ resourceType: 'Organization', searchParams: { _sort: 'name' } })
      .then(() => undefined, fhirErrorResponse);
    expect(strict?.status).toBe(400);
    const badValue = await clientOf('directory', { prefer: 'handling=lenient' })
      .search({ resourceType: 'Organization', searchParams: { _count: 'many' } })
      .then(() => undefined, fhirErrorResponse);
    expect(badValue?.status).toBe(400);
  });
});
