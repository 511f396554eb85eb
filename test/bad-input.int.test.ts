/**
 * Bad input, thrown at every route of the directory, the MPI and alerts as a hostile
 * or broken client would (real services, real signed tokens, real Redis):
 * generated malformed JSON, Parameters and ids. Whatever comes in, the answer
 * is never a 5xx, a refusal is a FHIR OperationOutcome, and every exchange is
 * in the audit stream under its request id.
 *
 * The routes are read from the apps' own routers, so a route added later is
 * covered without touching this file.
 */
import type { Express } from 'express';
import fc from 'fast-check';
import request from 'supertest';
import { readAuditEntries } from '../shared/audit/audit-client.js';
import { routerOf, type LayerView } from '../shared/http/methods.js';
import { alertMessage, startTestAlerts, type TestAlerts } from './alerts.js';
import { loadPlansConfig } from '../services/plans/config.js';
import { plansService } from '../services/plans/module.js';
import type { ServiceInstance } from '../shared/runtime/deps.js';
import type { TestMpi } from './mpi.js';

/** A statutory partner: every scope, so requests get past authorisation to the parsing and validation under test. */
const AGENCY = 'nhs-lothian';
const RUNS = 60;

interface RouteTemplate {
  readonly method: string;
  readonly path: string;
}

interface Target {
  readonly service: string;
  readonly app: Express;
  readonly routes: readonly RouteTemplate[];
}

/** Operational probes for load balancers and Prometheus: answered on every service, not FHIR exchanges, not audited. */
const PROBES = new Set(['/health', '/ready', '/metrics']);

/** Every route of an app as `METHOD /path/:param` (mounted routers included; probes left out). */
function routeTemplates(app: Express): RouteTemplate[] {
  const found: RouteTemplate[] = [];
  const walk = (stack: readonly LayerView[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const method of layer.route._methods()) {
          const m = method.toUpperCase();
          if (m === 'HEAD' || m === 'OPTIONS' || m === '_ALL') continue;
          for (const p of paths) if (!PROBES.has(`${prefix}${p}`)) found.push({ method: m, path: `${prefix}${p}` });
        }
        continue;
      }
      const nested = (layer.handle as { stack?: readonly LayerView[] } | undefined)?.stack;
      if (!Array.isArray(nested)) continue;
      // The mount point is not kept on the layer; the routers here are mounted at the root or at /fhir.
      const probe = layer.match('/fhir');
      if (!probe) throw new Error('A router is mounted at a path this test does not know; teach routeTemplates about it');
      walk(nested, `${prefix}${probe.path}`);
    }
  };
  walk(routerOf(app).stack, '');
  return found;
}

/** The text percent-encoded as UTF-8 ("x" for text that has none: empty, or a lone surrogate). */
function encodedOrX(text: string): string {
  try {
    return encodeURIComponent(text) || 'x';
  } catch {
    return 'x';
  }
}

/** Ids a broken client sends: bad percent-encoding, encoded bytes that are not UTF-8, odd but valid text, very long ones. */
const hostileId: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('%ZZ', '%E0%A4%A', '%', '%%', '%C0%AF', '%ED%A0%80', '%FF%FE', 'a%00b', '..', '%2E%2E', '$match', '_history', '%F0%9F%98%80'),
  fc.string({ unit: 'binary', maxLength: 12 }).map(encodedOrX),
  fc.uint8Array({ minLength: 1, maxLength: 8 }).map((bytes) => [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')),
  fc.integer({ min: 65, max: 3000 }).map((n) => 'i'.repeat(n)),
);

const hostileQuery: fc.Arbitrary<string> = fc.oneof(
  fc.constant(''),
  fc.constantFrom('?identifier=x%7C%FF', '?name=%ZZ', '?_count=1e308', '?_count=-1', '?subject=%', '?_sort=%C0%AF', '?status=a&status=b'),
  // Names of Object.prototype members, where a lookup table keyed by parameter name could find them.
  fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf').map((name) => `?family=x&${name}=1`),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 12 }), { maxKeys: 3 }).map((d) => `?${new URLSearchParams(d).toString()}`),
);

const RESOURCE_TYPES = ['Patient', 'Organization', 'Endpoint', 'Practitioner', 'PractitionerRole', 'CareTeam', 'Contract', 'Parameters', 'Bundle', 'Task', 'Person'];

function nested(depth: number, open: string, close: string, leaf = '1'): string {
  return `${open.repeat(depth)}${leaf}${close.repeat(depth)}`;
}

/** Bodies of every kind of wrong: not JSON, not UTF-8, too deep, the wrong shapes, prototype keys, impossible values. */
const hostileBody: fc.Arbitrary<Buffer> = fc.oneof(
  // Not JSON at all, or cut short.
  fc.string({ maxLength: 40 }).map((s) => Buffer.from(s)),
  fc.json().map((j) => Buffer.from(j.slice(0, Math.max(1, Math.floor(j.length / 2))))),
  // Bytes that are not UTF-8 inside an otherwise plausible body.
  fc.uint8Array({ minLength: 1, maxLength: 6 }).map((b) => Buffer.concat([Buffer.from('{"resourceType":"Patient","name":[{"family":"'), Buffer.from(b.map((x) => x | 0x80)), Buffer.from('"}]}')])),
  // Nested far too deep: arrays, objects, extensions.
  fc.integer({ min: 101, max: 12_000 }).map((d) => Buffer.from(nested(d, '[', ']'))),
  fc.integer({ min: 101, max: 12_000 }).map((d) => Buffer.from(`{"resourceType":"Patient","extension":[${nested(d, '{"url":"http://x","extension":[', ']}', '{"url":"http://x","valueString":"y"}')}]}`)),
  // Any JSON value, alone or as the content of a resource of any type.
  fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v))),
  fc
    .record({ resourceType: fc.constantFrom(...RESOURCE_TYPES), key: fc.constantFrom('name', 'entry', 'parameter', 'identifier', 'birthDate', 'gender', 'status', 'extension', 'telecom', 'id'), value: fc.jsonValue() })
    .map(({ resourceType, key, value }) => Buffer.from(JSON.stringify({ resourceType, type: 'transaction', [key]: value }))),
  // Strings where arrays or objects are expected, large enough to have amplified.
  fc.integer({ min: 1_000, max: 200_000 }).map((n) => Buffer.from(JSON.stringify({ resourceType: 'Patient', name: 'x'.repeat(n) }))),
  fc.integer({ min: 1_000, max: 200_000 }).map((n) =>
    Buffer.from(JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Patient', name: 'n'.repeat(n) }, request: { method: 'POST', url: 'Patient' } }] })),
  ),
  // Null and wrong-typed transaction entries.
  fc.array(fc.constantFrom(null, 1, 'entry', [], {}, { resource: null }, { request: 'POST' }), { minLength: 1, maxLength: 4 }).map((entry) => Buffer.from(JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }))),
  // Prototype keys, spelled plainly or escaped.
  fc.constantFrom(
    '{"resourceType":"Organization","name":"x","__proto__":{"admin":true}}',
    '{"resourceType":"Organization","name":"x","constructor":{"prototype":{"admin":true}}}',
    '{"resourceType":"Parameters","parameter":[{"name":"note","\\u005f_proto__":{}}]}',
  ).map((s) => Buffer.from(s)),
  // Impossible values: dates, codes outside required bindings, numbers out of range, lone surrogates.
  fc.constantFrom(
    { resourceType: 'Patient', birthDate: '2023-02-30' },
    { resourceType: 'Patient', gender: 'banana' },
    { resourceType: 'Patient', multipleBirthInteger: 1e308 },
    { resourceType: 'CareTeam', status: 'bogus' },
    { resourceType: 'PractitionerRole', availableTime: [{ daysOfWeek: ['bogus'] }] },
    { resourceType: 'Organization', name: 'x', period: { start: '2023-02-30' } },
  ).map((r) => Buffer.from(JSON.stringify(r))),
  fc.constant(Buffer.from('{"resourceType":"Patient","name":[{"family":"\\ud800"}]}')),
);

const PARAMETER_NAMES = ['resource', 'count', 'onlyCertainMatches', 'decision', 'note', 'signature', 'source-person', 'target-person', 'unknown', 'constructor'];
const VALUE_KEYS = ['valueString', 'valueCode', 'valueInteger', 'valueDecimal', 'valueBoolean', 'valueReference', 'resource', 'part'];

/** Parameters that are wrong in shape or in content: `parameter` not an array, unknown elements, wrong kinds, repeats. */
const hostileParameters: fc.Arbitrary<Buffer> = fc
  .oneof(
    fc.jsonValue().map((parameter) => ({ resourceType: 'Parameters', parameter })),
    fc.array(
      fc.record({ name: fc.constantFrom(...PARAMETER_NAMES), key: fc.constantFrom(...VALUE_KEYS), value: fc.oneof(fc.jsonValue(), fc.constant(1.5), fc.constant('link')) }).map(({ name, key, value }) => ({ name, [key]: value })),
      { maxLength: 4 },
    ).map((parameter) => ({ resourceType: 'Parameters', parameter })),
    fc.record({ unknownElement: fc.jsonValue() }).map((extra) => ({ resourceType: 'Parameters', parameter: [{ name: 'decision', valueCode: 'link' }], ...extra })),
  )
  .map((p) => Buffer.from(JSON.stringify(p)));

const WRITES = new Set(['POST', 'PUT', 'PATCH']);

/** The bytes exactly as given, as FHIR JSON (superagent would otherwise serialise a Buffer as `{"type":"Buffer",…}`). */
function sendRaw(req: request.Test, body: Buffer): request.Test {
  return req
    .set('Content-Type', 'application/fhir+json')
    .serialize((b: unknown) => b as string)
    .send(body);
}

describe('bad input thrown at every route of the directory, the MPI, alerts and plans', () => {
  let alerts: TestAlerts;
  let plans: ServiceInstance | undefined;
  let mpi: TestMpi;
  let targets: Target[];
  let token: string;
  /** Every request sent, to find each in the audit stream at the end. */
  const sent: { id: string; what: string }[] = [];
  let counter = 0;

  beforeAll(async () => {
    alerts = await startTestAlerts();
    mpi = alerts.mpi;
    token = await mpi.token(AGENCY);
    plans = await plansService.createService(mpi.dir.deps, loadPlansConfig({}));
    targets = [
      { service: 'directory', app: mpi.dir.app, routes: routeTemplates(mpi.dir.app) },
      { service: 'mpi', app: mpi.app, routes: routeTemplates(mpi.app) },
      { service: 'alerts', app: alerts.app, routes: routeTemplates(alerts.app) },
      { service: 'plans', app: plans.app, routes: routeTemplates(plans.app) },
    ];
  }, 60_000);

  afterAll(async () => {
    await plans?.close();
    await alerts?.close();
  });

  it('reads the routes from the apps themselves', () => {
    const all = targets.flatMap((t) => t.routes.map((r) => `${t.service} ${r.method} ${r.path}`));
    expect(all).toEqual(
      expect.arrayContaining(['directory POST /auth/token', 'directory PUT /fhir/Organization/:id', 'directory POST /fhir/Contract/:id/:operation', 'mpi POST /fhir', 'mpi POST /fhir/Patient/$match', 'mpi POST /fhir/Task/:id/$resolve', 'mpi GET /fhir/Task/:id', 'alerts POST /fhir/$process-message', 'alerts GET /fhir/Flag', 'plans PUT /fhir/CarePlan/:id', 'plans GET /fhir/Patient/:id/$chronology']),
    );
  });

  /** Sends one request and checks the answer: no 5xx, and a refusal is an OperationOutcome. */
  async function exchange(target: Target, method: string, path: string, body?: Buffer): Promise<void> {
    const id = `bad-input-${process.pid}-${++counter}`;
    const what = `${target.service} ${method} ${path.slice(0, 120)}${body ? ` body ${body.subarray(0, 120).toString('utf8')}` : ''}`;
    sent.push({ id, what });
    let req = request(target.app)[method.toLowerCase() as 'get'](path).set('Authorization', `Bearer ${token}`).set('X-Request-Id', id);
    if (body) req = sendRaw(req, body);
    const res = await req;
    if (res.status >= 500) throw new Error(`${res.status} for ${what}: ${res.text.slice(0, 300)}`);
    if (res.status >= 400) {
      const parsed = JSON.parse(res.text) as { resourceType?: string; issue?: unknown[] };
      if (parsed.resourceType !== 'OperationOutcome') throw new Error(`${res.status} without an OperationOutcome for ${what}: ${res.text.slice(0, 300)}`);
      if ((parsed.issue?.length ?? 0) > 101) throw new Error(`an OperationOutcome of ${parsed.issue?.length} issues for ${what}`);
    }
  }

  /** A concrete path for a route template, each `:param` replaced by `id`. */
  const pathOf = (template: string, id: string) => template.replace(/:[A-Za-z]+/g, id);

  const anyRoute = () =>
    fc.nat().map((n) => {
      const target = targets[n % targets.length]!;
      return { target, route: target.routes[Math.floor(n / targets.length) % target.routes.length]! };
    });

  it('answers hostile ids and query strings on every route with a 4xx OperationOutcome or a success, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(anyRoute(), hostileId, hostileQuery, async ({ target, route }, id, query) => {
        await exchange(target, route.method, `${pathOf(route.path, id)}${query}`, WRITES.has(route.method) ? Buffer.from('{}') : undefined);
      }),
      { numRuns: RUNS * 2 },
    );
  }, 120_000);

  it('answers malformed bodies on every route that takes one, never a 5xx', async () => {
    const writes = () => anyRoute().filter(({ route }) => WRITES.has(route.method));
    await fc.assert(
      fc.asyncProperty(writes(), hostileBody, async ({ target, route }, body) => {
        await exchange(target, route.method, pathOf(route.path, 'bad-input-1'), body);
      }),
      { numRuns: RUNS * 3 },
    );
  }, 120_000);

  it('answers malformed Parameters on every operation, never a 5xx', async () => {
    const operations = () => anyRoute().filter(({ route }) => WRITES.has(route.method) && (route.path.includes('$') || route.path.includes(':operation')));
    const opName = fc.constantFrom('$sign', '$resolve', '$unlink', '$match', '$merge');
    await fc.assert(
      fc.asyncProperty(operations(), opName, hostileParameters, async ({ target, route }, op, body) => {
        await exchange(target, route.method, pathOf(route.path.replace(':operation', op), 'bad-input-1'), body);
      }),
      { numRuns: RUNS * 2 },
    );
  }, 120_000);

  it('keeps /health answering while a heavy hostile transaction is being validated', async () => {
    // 200,000 names and an impossible birth date: valid in shape, so the whole structure is checked before it is refused.
    const heavy = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: { resourceType: 'Patient', birthDate: '2023-02-30', name: Array.from({ length: 200_000 }, (_, i) => ({ family: `F${i}`, given: ['G'] })) },
          request: { method: 'POST', url: 'Patient' },
        },
      ],
    };
    let hostileDone = false;
    const hostile = request(mpi.app)
      .post('/fhir')
      .set(await mpi.auth(AGENCY))
      .set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify(heavy))
      .then((res) => {
        hostileDone = true;
        return res;
      });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const health = await request(mpi.app).get('/health');
    expect(health.status).toBe(200);
    // /health was answered while the hostile request was still being validated (off the event loop).
    expect(hostileDone).toBe(false);
    const res = await hostile;
    expect(res.status).toBe(422);
    expect(JSON.stringify(res.body)).toMatch(/February 2023 has 28 days/);
  }, 120_000);

  /** The kinds of bad input a corpus of hostile requests found, each with the answer it must get. */
  const deep = (d: number) => nested(d, '{"url":"http://x","extension":[', ']}', '{"url":"http://x","valueString":"y"}');
  const patientWith = (extra: object) => ({ resourceType: 'Patient', identifier: [{ system: 'https://fhir.infoshare.scot/id/patient/nhs-lothian', value: 'BAD-1' }], ...extra });
  const params = (...parameter: object[]) => JSON.stringify({ resourceType: 'Parameters', parameter });
  const examples: { what: string; service: 'directory' | 'mpi' | 'alerts'; method: string; path: string; body?: string | Buffer; status: number; expression?: string }[] = [
    { what: 'an id with bad percent-encoding', service: 'directory', method: 'GET', path: '/fhir/Organization/%ZZ', status: 400 },
    { what: 'an id cut inside a UTF-8 sequence', service: 'mpi', method: 'GET', path: '/fhir/Patient/%E0%A4%A', status: 400 },
    { what: 'a query with bytes that are not UTF-8', service: 'directory', method: 'GET', path: '/fhir/Organization?name=%FF', status: 400 },
    { what: 'JSON 10,000 deep on create', service: 'directory', method: 'POST', path: '/fhir/Organization', body: `{"resourceType":"Organization","extension":[${deep(10_000)}]}`, status: 400 },
    { what: 'JSON 10,000 deep in $match', service: 'mpi', method: 'POST', path: '/fhir/Patient/$match', body: nested(10_000, '[', ']'), status: 400 },
    { what: 'JSON 10,000 deep in a transaction', service: 'mpi', method: 'POST', path: '/fhir', body: `{"resourceType":"Bundle","type":"transaction","entry":${nested(10_000, '[', ']')}}`, status: 400 },
    { what: 'a null transaction entry', service: 'mpi', method: 'POST', path: '/fhir', body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [null] }), status: 422, expression: 'Bundle.entry[0]' },
    { what: '$resolve Parameters whose parameter is an object', service: 'mpi', method: 'POST', path: '/fhir/Task/t1/$resolve', body: JSON.stringify({ resourceType: 'Parameters', parameter: { name: 'decision', valueCode: 'link' } }), status: 422, expression: 'Parameters.parameter' },
    { what: '$match Parameters whose parameter is a string', service: 'mpi', method: 'POST', path: '/fhir/Patient/$match', body: JSON.stringify({ resourceType: 'Parameters', parameter: 'resource' }), status: 422, expression: 'Parameters.parameter' },
    { what: 'a birth date of 30 February', service: 'mpi', method: 'POST', path: '/fhir/Patient', body: JSON.stringify(patientWith({ birthDate: '2023-02-30' })), status: 422, expression: 'Patient.birthDate' },
    { what: 'gender banana', service: 'mpi', method: 'POST', path: '/fhir/Patient', body: JSON.stringify(patientWith({ gender: 'banana' })), status: 422, expression: 'Patient.gender' },
    { what: 'multipleBirthInteger 1e308', service: 'mpi', method: 'POST', path: '/fhir/Patient', body: JSON.stringify(patientWith({ multipleBirthInteger: 1e308 })), status: 422, expression: 'Patient.multipleBirthInteger' },
    { what: 'a Practitioner of gender banana', service: 'directory', method: 'POST', path: '/fhir/Practitioner', body: JSON.stringify({ resourceType: 'Practitioner', gender: 'banana' }), status: 422, expression: 'Practitioner.gender' },
    { what: 'CareTeam.status bogus', service: 'directory', method: 'POST', path: '/fhir/CareTeam', body: JSON.stringify({ resourceType: 'CareTeam', status: 'bogus' }), status: 422, expression: 'CareTeam.status' },
    { what: 'a CareTeam period starting on 30 February', service: 'directory', method: 'POST', path: '/fhir/CareTeam', body: JSON.stringify({ resourceType: 'CareTeam', period: { start: '2023-02-30' } }), status: 422, expression: 'CareTeam.period.start' },
    { what: 'daysOfWeek bogus', service: 'directory', method: 'POST', path: '/fhir/PractitionerRole', body: JSON.stringify({ resourceType: 'PractitionerRole', availableTime: [{ daysOfWeek: ['bogus'] }] }), status: 422, expression: 'PractitionerRole.availableTime[0].daysOfWeek[0]' },
    { what: 'a __proto__ key in an Organization', service: 'directory', method: 'POST', path: '/fhir/Organization', body: '{"resourceType":"Organization","name":"x","__proto__":{"active":false}}', status: 400 },
    { what: 'a constructor.prototype key in an Organization', service: 'directory', method: 'POST', path: '/fhir/Organization', body: '{"resourceType":"Organization","name":"x","constructor":{"prototype":{"active":false}}}', status: 400 },
    { what: 'a $resolve note that is an object', service: 'mpi', method: 'POST', path: '/fhir/Task/t1/$resolve', body: params({ name: 'decision', valueCode: 'link' }, { name: 'note', valueString: { text: 'x' } }), status: 422, expression: 'Parameters.parameter[1].valueString' },
    { what: 'two contradictory $resolve decisions', service: 'mpi', method: 'POST', path: '/fhir/Task/t1/$resolve', body: params({ name: 'decision', valueCode: 'link' }, { name: 'decision', valueCode: 'not-link' }), status: 400, expression: 'Parameters.parameter[1]' },
    { what: '$match count 1.5', service: 'mpi', method: 'POST', path: '/fhir/Patient/$match', body: params({ name: 'resource', resource: patientWith({}) }, { name: 'count', valueInteger: 1.5 }), status: 422, expression: 'Parameters.parameter[1].value[x]' },
    { what: 'an unknown element in $match Parameters', service: 'mpi', method: 'POST', path: '/fhir/Patient/$match', body: JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'resource', resource: patientWith({}) }], limit: 3 }), status: 422, expression: 'Parameters.limit' },
    { what: 'an unknown $match parameter', service: 'mpi', method: 'POST', path: '/fhir/Patient/$match', body: params({ name: 'resource', resource: patientWith({}) }, { name: 'limit', valueInteger: 3 }), status: 400, expression: 'Parameters.parameter[1].name' },
    { what: 'an identifier with bytes that are not UTF-8', service: 'mpi', method: 'POST', path: '/fhir/Patient', body: Buffer.concat([Buffer.from(JSON.stringify(patientWith({})).replace('BAD-1', 'BAD-')), Buffer.from([0xff])]), status: 400 },
    { what: 'a 900 KB string where name[] is expected', service: 'directory', method: 'POST', path: '/fhir/Practitioner', body: JSON.stringify({ resourceType: 'Practitioner', name: 'x'.repeat(900_000) }), status: 422, expression: 'Practitioner.name' },
    { what: 'a transaction with a 3 MB string where name[] is expected', service: 'mpi', method: 'POST', path: '/fhir', body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [{ resource: patientWith({ name: 'n'.repeat(3_000_000) }), request: { method: 'POST', url: 'Patient' } }] }), status: 422, expression: 'Bundle.entry[0].resource.name' },
    { what: 'a message Bundle that does not start with its MessageHeader', service: 'alerts', method: 'POST', path: '/fhir/$process-message', body: JSON.stringify({ ...alertMessage({ sender: AGENCY, subject: { local: 'BAD-1' } }), entry: alertMessage({ sender: AGENCY, subject: { local: 'BAD-1' } }).entry?.slice(1) }), status: 400, expression: 'Bundle.entry[0].resource' },
    { what: 'an alert whose focus is not in the Bundle', service: 'alerts', method: 'POST', path: '/fhir/$process-message', body: JSON.stringify(alertMessage({ sender: AGENCY, subject: { local: 'BAD-1' }, focus: 'Flag/elsewhere' })), status: 422, expression: 'Bundle.entry[0].resource.focus[0]' },
  ];

  it.each(examples)('refuses $what ($service $method) with $status and a small OperationOutcome', async ({ service, method, path, body, status, expression }) => {
    const target = targets.find((t) => t.service === service)!;
    const id = `bad-input-${process.pid}-${++counter}`;
    sent.push({ id, what: `${service} ${method} ${path}` });
    let req = request(target.app)[method.toLowerCase() as 'get'](path).set('Authorization', `Bearer ${token}`).set('X-Request-Id', id);
    if (body !== undefined) req = sendRaw(req, typeof body === 'string' ? Buffer.from(body) : body);
    const res = await req;
    expect(res.status).toBe(status);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.text.length).toBeLessThan(20_000);
    if (expression) expect((res.body.issue as { expression?: string[] }[]).flatMap((i) => i.expression ?? [])).toContain(expression);
  });

  it('stores none of the bad records: the MPI index and the directory are as before', async () => {
    const pix = await request(mpi.app).get('/fhir/Patient/$ihe-pix?sourceIdentifier=https://fhir.infoshare.scot/id/patient/nhs-lothian%7CBAD-1').set('Authorization', `Bearer ${token}`);
    expect(pix.status).toBe(404);
    const orgs = await request(mpi.dir.app).get('/fhir/Organization?name=x').set('Authorization', `Bearer ${token}`);
    expect(orgs.body.total ?? orgs.body.entry?.length ?? 0).toBe(0);
  });

  it('audited every exchange: each request id is in the audit stream', async () => {
    expect(sent.length).toBeGreaterThan(RUNS * 6);
    const deadline = Date.now() + 10_000;
    let missing = sent;
    while (missing.length > 0 && Date.now() < deadline) {
      const audited = new Set((await readAuditEntries(mpi.dir.redis, mpi.dir.keys, { count: 1_000_000 })).map(({ entry }) => entry.requestId));
      missing = sent.filter((s) => !audited.has(s.id));
      if (missing.length > 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(missing.map((m) => m.what)).toEqual([]);
  }, 30_000);
});
