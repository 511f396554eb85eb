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
import net from 'node:net';
import { createPublicKey } from 'node:crypto';
import type { Express } from 'express';
import fc from 'fast-check';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { readAuditEntries } from '../shared/audit/audit-client.js';
import { issueAccessToken } from '../shared/auth/access-token.js';
import { loadTokenSigningKey } from '../shared/auth/keys.js';
import type { RunningHub } from '../services/hub.js';
import { sendRaw as send } from './raw-http.js';
import { uniquePrefix } from './redis.js';
import { startTestHub, stopTestHub } from './in-process-hub.js';
import { routeTemplates, type RouteTemplate } from './route-templates.js';
import { alertMessage, startTestAlerts, type TestAlerts } from './alerts.js';
import { loadPlansConfig } from '../services/plans/config.js';
import { plansService } from '../services/plans/module.js';
import type { ServiceInstance } from '../shared/runtime/deps.js';
import type { TestMpi } from './mpi.js';

/** A statutory partner: every scope, so requests get past authorisation to the parsing and validation under test. */
const AGENCY = 'nhs-lothian';
const RUNS = 60;

interface Target {
  readonly service: string;
  readonly app: Express;
  readonly routes: readonly RouteTemplate[];
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
  });

  afterAll(async () => {
    await plans?.close();
    await alerts?.close();
  });

  it('reads the routes from the apps themselves', () => {
    const all = targets.flatMap((t) => t.routes.map((r) => `${t.service} ${r.method} ${r.path}`));
    expect(all).toEqual(
      expect.arrayContaining(['directory POST /auth/token', 'directory PUT /fhir/Organization/:id', 'directory POST /fhir/Contract/:id/$sign', 'mpi POST /fhir', 'mpi POST /fhir/Patient/$match', 'mpi POST /fhir/Task/:id/$resolve', 'mpi GET /fhir/Task/:id', 'alerts POST /fhir/$process-message', 'alerts GET /fhir/Flag', 'plans PUT /fhir/CarePlan/:id', 'plans GET /fhir/Patient/:id/$chronology']),
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
    { what: 'a narrative with a script', service: 'directory', method: 'POST', path: '/fhir/Organization', body: JSON.stringify({ resourceType: 'Organization', name: 'x', text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script>x</div>' } }), status: 422, expression: 'Organization.text.div' },
    { what: 'a narrative image with an onerror handler', service: 'mpi', method: 'POST', path: '/fhir/Patient', body: JSON.stringify(patientWith({ text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><img src="x" onerror="alert(1)"/>y</div>' } })), status: 422, expression: 'Patient.text.div' },
    { what: 'multipleBirthInteger 1e308', service: 'mpi', method: 'POST', path: '/fhir/Patient', body: JSON.stringify(patientWith({ multipleBirthInteger: 1e308 })), status: 422, expression: 'Patient.multipleBirthInteger' },
    // Session 26: JSON.parse reads 1e2 and 2.0 as the integers 100 and 2, so they were stored (R4 integers are spelt as integers).
    { what: 'multipleBirthInteger 1e2', service: 'mpi', method: 'POST', path: '/fhir/Patient', body: JSON.stringify(patientWith({ multipleBirthInteger: 0 })).replace('"multipleBirthInteger":0', '"multipleBirthInteger":1e2'), status: 422, expression: 'Patient.multipleBirthInteger' },
    { what: '$match count 2.0', service: 'mpi', method: 'POST', path: '/fhir/Patient/$match', body: params({ name: 'resource', resource: patientWith({}) }, { name: 'count', valueInteger: 0 }).replace('"valueInteger":0', '"valueInteger":2.0'), status: 422, expression: 'Parameters.parameter[1].valueInteger' },
    { what: 'a transaction entry with multipleBirthInteger 3.0', service: 'mpi', method: 'POST', path: '/fhir', body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [{ resource: patientWith({ multipleBirthInteger: 0 }), request: { method: 'POST', url: 'Patient' } }] }).replace('"multipleBirthInteger":0', '"multipleBirthInteger":3.0'), status: 422, expression: 'Bundle.entry[0].resource.multipleBirthInteger' },
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
  });
});

/**
 * An independently written corpus (from FHIR R4's REST and JSON rules and HTTP, not from our
 * validators), sent over real HTTP to every FHIR service of a whole hub (`startHub`): each case
 * names the answer FHIR/HTTP call for. Every refusal must be an OperationOutcome in
 * `application/fhir+json` with a text a person can read, no stack trace, path or key material,
 * audited under its request id; afterwards the data written before is intact and the hub still
 * answers a valid request. Classes: syntax (malformed, truncated, empty, deep, a key twice), encoding
 * (invalid UTF-8, lone surrogates, control characters, charsets, Content-Encoding), media types
 * (Content-Type, `_format`, `Accept`, `fhirVersion`), size, shape (arrays/strings/null bodies,
 * wrong resourceType, prototype keys, numbers out of range), ids (too long, `..`, `%2F`, unicode,
 * NUL), methods and routes (405 with Allow, unknown types, unknown operations), search (repeated
 * and invalid result parameters, unknown parameters, `_sort`, `_include`, dates), versions
 * (`If-Match`, vread, `_history` parameters), conditional create, Bundles of the wrong type for
 * the endpoint, messages without their MessageHeader, and tokens (missing, expired, tampered,
 * `alg: none`, HS256 keyed with the public key, wrong scope, malformed Authorization).
 */
describe('an independent bad-input corpus against a whole hub over HTTP', () => {
  const prefix = uniquePrefix('bad-input-hub');
  let hub: RunningHub;
  let token: string;
  let narrowToken: string;
  const badTokens: Record<string, string> = {};
  const sentIds: { id: string; what: string }[] = [];
  let n = 0;

  type Service = 'directory' | 'mpi' | 'alerts' | 'plans' | 'audit';
  interface Case {
    /** A FHIR service, or the agency simulator (the hub's delivery target: its refusals keep the same rules). */
    readonly service: Service | 'agency-sim';
    readonly what: string;
    readonly method: string;
    readonly path: string;
    readonly status: number | readonly number[];
    readonly headers?: Record<string, string>;
    readonly body?: string | Buffer;
    /** The token to send: the default one (unset), `narrow` (Organization.read only), `none`, or one of `badTokens`. */
    readonly auth?: string;
  }

  const FJ = { 'content-type': 'application/fhir+json' };
  const json = (o: unknown) => JSON.stringify(o);
  const lothianPatient = (value: string) => ({
    resourceType: 'Patient',
    identifier: [{ system: 'https://fhir.infoshare.scot/id/patient/nhs-lothian', value }],
    name: [{ family: 'Corpus', given: ['Case'] }],
    birthDate: '2011-01-01',
    gender: 'female',
  });
  /** Per service: a type it reads and the create (or operation) path taking a body, with a plausible body. */
  const SERVICES: Record<Service, { type: string; write: string; body: object }> = {
    directory: { type: 'Organization', write: '/fhir/Organization', body: { resourceType: 'Organization', name: 'Corpus org' } },
    mpi: { type: 'Patient', write: '/fhir/Patient', body: lothianPatient('CORPUS-0') },
    alerts: { type: 'Flag', write: '/fhir/$process-message', body: { resourceType: 'Bundle', type: 'message', entry: [] } },
    plans: { type: 'CarePlan', write: '/fhir/CarePlan', body: { resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: 'Patient/x' } } },
    audit: { type: 'AuditEvent', write: '/fhir/DocumentReference', body: { resourceType: 'DocumentReference', status: 'current', content: [] } },
  };

  /** The same rules hold on every service: the shell refuses these before any service code runs. */
  function everyService(): Case[] {
    return (Object.keys(SERVICES) as Service[]).flatMap((service) => {
      const { type: T, write, body } = SERVICES[service];
      const b = json(body);
      const c = (what: string, method: string, path: string, status: Case['status'], extra: Partial<Case> = {}): Case => ({ service, what, method, path, status, ...extra });
      return [
        c('malformed JSON', 'POST', write, 400, { headers: FJ, body: '{"resourceType":' }),
        c('a body cut short', 'POST', write, 400, { headers: FJ, body: b.slice(0, 20) }),
        c('no Content-Type on a body', 'POST', write, 415, { body: b }),
        c('text/plain', 'POST', write, 415, { headers: { 'content-type': 'text/plain' }, body: b }),
        c('a form where a resource is expected', 'POST', write, 415, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=x' }),
        c('an XML resource', 'POST', write, 415, { headers: { 'content-type': 'application/fhir+xml' }, body: '<Organization xmlns="http://hl7.org/fhir"/>' }),
        c('charset ISO-8859-1', 'POST', write, 415, { headers: { 'content-type': 'application/fhir+json; charset=iso-8859-1' }, body: b }),
        c('charset UTF-16', 'POST', write, 415, { headers: { 'content-type': 'application/fhir+json; charset=utf-16' }, body: b }),
        // Session 24: a parameter twice is two readings of one header; a patch document or a vendor's JSON is not a resource (both were stored as one).
        c('charset given twice', 'POST', write, 400, { headers: { 'content-type': 'application/fhir+json; charset=utf-8; charset=latin1' }, body: b }),
        c('a JSON merge patch', 'POST', write, 415, { headers: { 'content-type': 'application/merge-patch+json' }, body: b }),
        c("a vendor's JSON type", 'POST', write, 415, { headers: { 'content-type': 'application/vnd.example+json' }, body: b }),
        c('FHIR JSON of another version (fhirVersion=3.0)', 'POST', write, 415, { headers: { 'content-type': 'application/fhir+json; fhirVersion=3.0' }, body: b }),
        c('a gzip body that is not gzip', 'POST', write, 400, { headers: { ...FJ, 'content-encoding': 'gzip' }, body: 'not gzip' }),
        c('an unknown Content-Encoding', 'POST', write, 415, { headers: { ...FJ, 'content-encoding': 'x-unknown' }, body: b }),
        c('a 2 MB body', 'POST', write, 413, { headers: FJ, body: json({ ...body, text: { status: 'generated', div: 'x'.repeat(2_000_000) } }) }),
        c('arrays 5,000 deep', 'POST', write, 400, { headers: FJ, body: `${'['.repeat(5000)}1${']'.repeat(5000)}` }),
        c('an escaped NUL in a string', 'POST', write, 400, { headers: FJ, body: b.replace('{', '{"language":"en\\u0000",') }),
        c('a lone surrogate', 'POST', write, 400, { headers: FJ, body: b.replace('{', '{"language":"\\ud800",') }),
        c('bytes that are not UTF-8', 'POST', write, 400, { headers: FJ, body: Buffer.concat([Buffer.from('{"resourceType":"Basic","language":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]) }),
        c('resourceType given twice', 'POST', write, 400, { headers: FJ, body: b.replace('{', '{"resourceType":"Basic",') }),
        c('a __proto__ key', 'POST', write, 400, { headers: FJ, body: b.replace('{', '{"__proto__":{"x":1},') }),
        c('a number beyond double range', 'POST', write, [400, 422], { headers: FJ, body: b.replace('{', '{"x":1e400,') }),
        c('an array body', 'POST', write, [400, 422], { headers: FJ, body: '[]' }),
        c('a string body', 'POST', write, [400, 422], { headers: FJ, body: '"Organization"' }),
        c('a null body', 'POST', write, [400, 422], { headers: FJ, body: 'null' }),
        c('a resource of another type', 'POST', write, [400, 422], { headers: FJ, body: json({ resourceType: 'Observation', status: 'final', code: { text: 'x' } }) }),
        c('no resourceType', 'POST', write, [400, 422], { headers: FJ, body: json({ name: 'x' }) }),
        c('an empty body', 'POST', write, [400, 422], { headers: FJ, body: '' }),
        // The directory serves conditional create (its criteria are a search: an unknown parameter is a 400); the others refuse the header.
        c('If-None-Exist that cannot be honoured (not served, or criteria naming no search parameter)', 'POST', write, 400, { headers: { ...FJ, 'if-none-exist': 'no-such-parameter=x' }, body: b }),
        // Session 23: criteria that select nothing matched every resource (a 412, or an unchecked create); bad escapes were searched as text.
        c('If-None-Exist of result parameters only', 'POST', write, 400, { headers: { ...FJ, 'if-none-exist': '_count=1&_format=json' }, body: b }),
        c('If-None-Exist naming a parameter with no value', 'POST', write, 400, { headers: { ...FJ, 'if-none-exist': 'identifier=' }, body: b }),
        c('If-None-Exist with bad percent-encoding', 'POST', write, 400, { headers: { ...FJ, 'if-none-exist': 'identifier=%ZZ' }, body: b }),
        c('an unknown id', 'GET', `/fhir/${T}/does-not-exist`, 404),
        c('an id of 65 characters', 'GET', `/fhir/${T}/${'a'.repeat(65)}`, [400, 404]),
        c('an id of ..', 'GET', `/fhir/${T}/..`, [400, 404]),
        c('an id with an encoded slash', 'GET', `/fhir/${T}/a%2Fb`, [400, 404]),
        c('an id in unicode', 'GET', `/fhir/${T}/${encodeURIComponent('é😀')}`, [400, 404]),
        c('an id with an encoded NUL', 'GET', `/fhir/${T}/a%00b`, [400, 404]),
        c('a raw space in the path', 'GET', `/fhir/${T}/a%20b`, [400, 404]),
        c('vread of a version that is not a number', 'GET', `/fhir/${T}/does-not-exist/_history/abc`, [400, 404, 405]),
        c('an unknown resource type', 'GET', '/fhir/Foo', 404),
        c('an unknown route', 'GET', '/nothing/here', 404),
        c('an unknown operation', 'POST', `/fhir/${T}/$no-such-operation`, 404, { headers: FJ, body: json({ resourceType: 'Parameters' }) }),
        c('an unknown system operation', 'POST', '/fhir/$no-such-operation', [404, 405], { headers: FJ, body: json({ resourceType: 'Parameters' }) }),
        c('DELETE (not served)', 'DELETE', `/fhir/${T}/x`, 405),
        c('PATCH (not served)', 'PATCH', `/fhir/${T}/x`, 405, { headers: { 'content-type': 'application/json-patch+json' }, body: '[]' }),
        c('_count=-1', 'GET', `/fhir/${T}?_count=-1`, 400),
        c('_count=abc', 'GET', `/fhir/${T}?_count=abc`, 400),
        c('_count given twice', 'GET', `/fhir/${T}?_count=1&_count=2`, 400),
        c('_offset=-1', 'GET', `/fhir/${T}?_offset=-1`, 400),
        c('_lastUpdated=garbage', 'GET', `/fhir/${T}?_lastUpdated=garbage`, 400),
        c('_sort on an unknown parameter', 'GET', `/fhir/${T}?_sort=unknown`, 400),
        c('an unknown parameter with Prefer: handling=strict', 'GET', `/fhir/${T}?no-such-param=1`, 400, { headers: { prefer: 'handling=strict' } }),
        c('_summary=bogus', 'GET', `/fhir/${T}?_summary=bogus`, 400),
        c('_total=bogus', 'GET', `/fhir/${T}?_total=bogus`, 400),
        c('a __proto__ query parameter', 'GET', `/fhir/${T}?__proto__=1`, 400),
        c('_format=xml', 'GET', `/fhir/${T}?_format=xml`, 406),
        c('_format=application/fhir+xml on metadata', 'GET', '/fhir/metadata?_format=application/fhir%2Bxml', 406, { auth: 'none' }),
        c('_format given twice, differently', 'GET', `/fhir/${T}?_format=json&_format=xml`, 400),
        c('Accept: application/fhir+xml only', 'GET', `/fhir/${T}`, 406, { headers: { accept: 'application/fhir+xml' } }),
        c('Accept: FHIR JSON of another version only', 'GET', '/fhir/metadata', 406, { headers: { accept: 'application/fhir+json; fhirVersion=3.0' }, auth: 'none' }),
        c('POST _search with a JSON body', 'POST', `/fhir/${T}/_search`, 415, { headers: FJ, body: '{}' }),
        c('POST _search with _count=abc in the form', 'POST', `/fhir/${T}/_search`, 400, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '_count=abc' }),
        c('POST _search with a form of 1,500 parameters', 'POST', `/fhir/${T}/_search`, 413, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Array.from({ length: 1500 }, (_, i) => `p${i}=1`).join('&') }),
        c('no token', 'GET', `/fhir/${T}`, 401, { auth: 'none' }),
        c('an expired token', 'GET', `/fhir/${T}`, 401, { auth: 'expired' }),
        c('a token with alg none', 'GET', `/fhir/${T}`, 401, { auth: 'algNone' }),
        c('a token whose audience was changed', 'GET', `/fhir/${T}`, 401, { auth: 'tamperedAudience' }),
        c('a token of another issuer', 'GET', `/fhir/${T}`, 401, { auth: 'otherIssuer' }),
        c('HS256 signed with the public key', 'GET', `/fhir/${T}`, 401, { auth: 'hs256PublicKey' }),
        c('a token that is not a JWT', 'GET', `/fhir/${T}`, 401, { auth: 'notJwt' }),
        c('Basic authentication', 'GET', `/fhir/${T}`, 401, { auth: 'none', headers: { authorization: 'Basic dXNlcjpwYXNz' } }),
        c('Bearer with no token', 'GET', `/fhir/${T}`, 401, { auth: 'none', headers: { authorization: 'Bearer ' } }),
        c('a write without the write scope', 'POST', write, 403, { auth: 'narrow', headers: FJ, body: b }),
        // FHIR paths are case-sensitive: no route answers another spelling (a JSON body on /FHIR/…/_search ran unfiltered).
        c('the resource type in lower case', 'GET', `/fhir/${T.toLowerCase()}`, 404),
        c('/FHIR in capitals', 'GET', `/FHIR/${T}`, 404),
        c('POST _search under /FHIR with a JSON body', 'POST', `/FHIR/${T}/_search`, 404, { headers: FJ, body: '{"name":"x"}' }),
        c('an Expect other than 100-continue', 'GET', `/fhir/${T}`, 417, { headers: { expect: 'bogus' } }),
        // Session 25: every mode was answered with the CapabilityStatement (R4: terminology asks for a TerminologyCapabilities).
        c('metadata?mode=terminology (no TerminologyCapabilities here)', 'GET', '/fhir/metadata?mode=terminology', 400, { auth: 'none' }),
        c('metadata?mode=bogus', 'GET', '/fhir/metadata?mode=bogus', 400, { auth: 'none' }),
        c('metadata with mode twice', 'GET', '/fhir/metadata?mode=full&mode=normative', 400, { auth: 'none' }),
        c('metadata with _elements', 'GET', '/fhir/metadata?_elements=rest', 400, { auth: 'none' }),
        c('a method the FHIR base does not take', 'DELETE', '/fhir', 405, { auth: 'none' }),
      ];
    });
  }

  const bundle = (type: string, entry: object[]) => json({ resourceType: 'Bundle', type, entry });
  const SPECIFIC: Case[] = [
    { service: 'directory', what: 'PUT with a stale If-Match', method: 'PUT', path: '/fhir/Organization/nhs-lothian', headers: { ...FJ, 'if-match': 'W/"999"' }, body: json({ resourceType: 'Organization', id: 'nhs-lothian', name: 'NHS Lothian' }), status: 412 },
    { service: 'directory', what: 'PUT with an If-Match that is not an ETag', method: 'PUT', path: '/fhir/Organization/nhs-lothian', headers: { ...FJ, 'if-match': 'garbage' }, body: json({ resourceType: 'Organization', id: 'nhs-lothian', name: 'NHS Lothian' }), status: 400 },
    { service: 'directory', what: 'PUT whose body id is not the URL id', method: 'PUT', path: '/fhir/Organization/nhs-lothian', headers: FJ, body: json({ resourceType: 'Organization', id: 'other', name: 'x' }), status: 400 },
    { service: 'directory', what: 'PUT of another resource type', method: 'PUT', path: '/fhir/Organization/nhs-lothian', headers: FJ, body: json({ resourceType: 'Patient', id: 'nhs-lothian' }), status: [400, 422] },
    // Session 25: `..` and `.` match R4's id pattern, and PUT created resources no URL can name (…/Organization/.. is /fhir/).
    { service: 'directory', what: 'PUT of a resource whose id is ..', method: 'PUT', path: '/fhir/Organization/..', headers: FJ, body: json({ resourceType: 'Organization', id: '..', name: 'Corpus org' }), status: 400 },
    { service: 'directory', what: 'PUT of a resource whose id is .', method: 'PUT', path: '/fhir/Organization/.', headers: FJ, body: json({ resourceType: 'Organization', id: '.', name: 'Corpus org' }), status: 400 },
    { service: 'directory', what: 'vread of a version that never was', method: 'GET', path: '/fhir/Organization/nhs-lothian/_history/999', status: 404 },
    { service: 'directory', what: '_history with _count=abc', method: 'GET', path: '/fhir/Organization/nhs-lothian/_history?_count=abc', status: 400 },
    // Reads answered the whole resource to parameters that ask for less, or misspelt ones (session 24).
    { service: 'directory', what: 'a read with _summary', method: 'GET', path: '/fhir/Organization/nhs-lothian?_summary=true', status: 400 },
    { service: 'directory', what: 'a vread with _elements', method: 'GET', path: '/fhir/Organization/nhs-lothian/_history/1?_elements=name', status: 400 },
    { service: 'mpi', what: 'a Patient read with an unknown parameter', method: 'GET', path: '/fhir/Patient/any-id?foo=bar', status: 400 },
    { service: 'directory', what: '_history with _since', method: 'GET', path: '/fhir/Organization/nhs-lothian/_history?_since=garbage', status: 400 },
    { service: 'directory', what: 'an unknown search modifier', method: 'GET', path: '/fhir/Organization?name:foo=x', status: 400 },
    { service: 'directory', what: '_include the service does not serve', method: 'GET', path: '/fhir/Organization?_include=Organization:partof', status: 400 },
    { service: 'directory', what: 'the token endpoint with a JSON body', method: 'POST', path: '/auth/token', headers: FJ, body: '{}', status: 400, auth: 'none' },
    { service: 'directory', what: 'the token endpoint with an assertion that is not a JWT', method: 'POST', path: '/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c', status: 401, auth: 'none' },
    // A payload of JSON null read as claims was a 500 (session 23): a JWT's parts are JSON objects.
    { service: 'directory', what: 'the token endpoint with an assertion whose payload is null', method: 'POST', path: '/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=${Buffer.from('{"alg":"ES256","typ":"JWT"}').toString('base64url')}.${Buffer.from('null').toString('base64url')}.c2ln`, status: 401, auth: 'none' },
    { service: 'directory', what: 'GET on the token endpoint', method: 'GET', path: '/auth/token', status: 405, auth: 'none' },
    { service: 'mpi', what: 'GET on $match (POST only)', method: 'GET', path: '/fhir/Patient/$match', status: 405 },
    { service: 'alerts', what: 'GET on $process-message (POST only)', method: 'GET', path: '/fhir/$process-message', status: 405 },
    { service: 'mpi', what: 'a batch Bundle at the transaction endpoint', method: 'POST', path: '/fhir', headers: FJ, body: bundle('batch', [{ resource: lothianPatient('CORPUS-1'), request: { method: 'POST', url: 'Patient' } }]), status: 400 },
    { service: 'mpi', what: 'a collection Bundle at the transaction endpoint', method: 'POST', path: '/fhir', headers: FJ, body: bundle('collection', [{ resource: lothianPatient('CORPUS-1') }]), status: 422 },
    { service: 'mpi', what: 'a Patient at the transaction endpoint', method: 'POST', path: '/fhir', headers: FJ, body: json(lothianPatient('CORPUS-1')), status: 422 },
    { service: 'mpi', what: 'a transaction whose record refers to a urn:uuid no entry has', method: 'POST', path: '/fhir', headers: FJ, body: bundle('transaction', [{ fullUrl: 'urn:uuid:11111111-1111-4111-8111-111111111111', resource: { ...lothianPatient('CORPUS-1'), link: [{ other: { reference: 'urn:uuid:22222222-2222-4222-8222-222222222222' }, type: 'seealso' }] }, request: { method: 'POST', url: 'Patient' } }]), status: 422 },
    { service: 'mpi', what: 'a transaction with two entries of one fullUrl (bdl-7)', method: 'POST', path: '/fhir', headers: FJ, body: bundle('transaction', [{ fullUrl: 'urn:uuid:11111111-1111-4111-8111-111111111111', resource: lothianPatient('CORPUS-1'), request: { method: 'POST', url: 'Patient' } }, { fullUrl: 'urn:uuid:11111111-1111-4111-8111-111111111111', resource: lothianPatient('CORPUS-2'), request: { method: 'POST', url: 'Patient' } }]), status: 422 },
    { service: 'mpi', what: 'a transaction entry that DELETEs', method: 'POST', path: '/fhir', headers: FJ, body: bundle('transaction', [{ request: { method: 'DELETE', url: 'Patient/x' } }]), status: 422 },
    { service: 'mpi', what: 'a transaction entry whose url names another type', method: 'POST', path: '/fhir', headers: FJ, body: bundle('transaction', [{ resource: lothianPatient('CORPUS-1'), request: { method: 'POST', url: 'Organization' } }]), status: 422 },
    { service: 'mpi', what: 'a record of another agency', method: 'POST', path: '/fhir/Patient', headers: FJ, body: json({ ...lothianPatient('x'), identifier: [{ system: 'https://fhir.infoshare.scot/id/patient/police-scotland', value: 'X' }] }), status: 422 },
    // Session 28: a datatype's own invariants were evaluated at the root only (Medplum), so these nested values were stored (201).
    { service: 'mpi', what: 'a Patient whose telecom has a value without its system (cpt-2)', method: 'POST', path: '/fhir/Patient', headers: FJ, body: json({ ...lothianPatient('CORPUS-5'), telecom: [{ value: '0131 496 0000' }] }), status: 422 },
    { service: 'mpi', what: 'a transaction Patient whose photo has data without contentType (att-1)', method: 'POST', path: '/fhir', headers: FJ, body: bundle('transaction', [{ resource: { ...lothianPatient('CORPUS-6'), photo: [{ data: 'AAAA' }] }, request: { method: 'POST', url: 'Patient' } }]), status: 422 },
    { service: 'directory', what: 'an Organization whose contact telecom has a value without its system (cpt-2)', method: 'POST', path: '/fhir/Organization', headers: FJ, body: json({ resourceType: 'Organization', name: 'Corpus org', contact: [{ telecom: [{ value: 'x@example.org' }] }] }), status: 422 },
    { service: 'plans', what: 'a CarePlan activity quantity with a code but no system (qty-3)', method: 'POST', path: '/fhir/CarePlan', headers: FJ, body: json({ resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: 'Patient/x' }, activity: [{ detail: { status: 'scheduled', quantity: { value: 1, code: 'mg' } } }] }), status: 422 },
    { service: 'mpi', what: '$ihe-pix with sourceIdentifier twice', method: 'GET', path: '/fhir/Patient/$ihe-pix?sourceIdentifier=a|1&sourceIdentifier=b|2', status: 400 },
    { service: 'mpi', what: 'a conditional update with an unknown criterion', method: 'PUT', path: '/fhir/Patient?no-such-param=1', headers: FJ, body: json(lothianPatient('CORPUS-2')), status: 400 },
    { service: 'mpi', what: 'a conditional update whose identifier is not the body\u2019s', method: 'PUT', path: '/fhir/Patient?identifier=https://fhir.infoshare.scot/id/patient/nhs-lothian|CORPUS-3', headers: FJ, body: json(lothianPatient('CORPUS-4')), status: 400 },
    { service: 'alerts', what: '$process-message with a transaction Bundle', method: 'POST', path: '/fhir/$process-message', headers: FJ, body: bundle('transaction', []), status: 400 },
    { service: 'alerts', what: '$process-message with no MessageHeader', method: 'POST', path: '/fhir/$process-message', headers: FJ, body: bundle('message', [{ resource: { resourceType: 'Flag', status: 'active', code: { text: 'x' }, subject: { reference: 'Patient/x' } } }]), status: 400 },
    { service: 'alerts', what: 'a Flag search with no subject', method: 'GET', path: '/fhir/Flag', status: 400 },
    { service: 'plans', what: 'a CarePlan update without If-Match', method: 'PUT', path: '/fhir/CarePlan/a1', headers: FJ, body: json({ resourceType: 'CarePlan', id: 'a1', status: 'active', intent: 'plan', subject: { reference: 'Patient/x' } }), status: 428 },
    { service: 'plans', what: 'a CarePlan update whose body id is not the URL id', method: 'PUT', path: '/fhir/CarePlan/a1', headers: { ...FJ, 'if-match': 'W/"1"' }, body: json({ resourceType: 'CarePlan', id: 'b2', status: 'active', intent: 'plan', subject: { reference: 'Patient/x' } }), status: 400 },
    { service: 'plans', what: 'a CarePlan with a status outside its value set', method: 'POST', path: '/fhir/CarePlan', headers: FJ, body: json({ resourceType: 'CarePlan', status: 'bogus', intent: 'plan', subject: { reference: 'Patient/x' } }), status: 422 },
    { service: 'plans', what: '$render in a format it does not print', method: 'GET', path: '/fhir/CarePlan/nope/$render?format=exe', status: 400 },
    { service: 'plans', what: '_revinclude of a type the service does not keep', method: 'GET', path: '/fhir/CarePlan?_revinclude=Provenance:target', status: 400 },
    { service: 'audit', what: 'an AuditEvent search by a date that is not one', method: 'GET', path: '/fhir/AuditEvent?date=garbage', status: 400 },
    { service: 'audit', what: 'an AuditEvent search by a criterion not in the catalogue', method: 'GET', path: '/fhir/AuditEvent?criterion=ZZ-L9', status: 400 },
    { service: 'audit', what: 'creating an AuditEvent (the log is written by the hub only)', method: 'POST', path: '/fhir/AuditEvent', headers: FJ, body: json({ resourceType: 'AuditEvent' }), status: 405 },
    { service: 'audit', what: 'a consistency proof without the size kept', method: 'GET', path: '/log/consistency', status: 400 },
    { service: 'audit', what: 'a consistency proof from a size that is not a number', method: 'GET', path: '/log/consistency?from=1e400', status: 400 },
    { service: 'audit', what: 'a consistency proof from a size given twice', method: 'GET', path: '/log/consistency?from=1&from=2', status: 400 },
    { service: 'audit', what: 'a consistency proof from a larger size to a smaller one', method: 'GET', path: '/log/consistency?from=5&to=2', status: 422 },
    { service: 'audit', what: 'the auditor page\u2019s log with a cursor that is not one', method: 'GET', path: '/page/log?_cursor=garbage', status: 400 },
    { service: 'audit', what: 'the auditor page\u2019s cell that is not in the catalogue', method: 'GET', path: '/page/cell/ZZ-L9', status: 404 },
    { service: 'audit', what: 'the evidence report in a format it does not print', method: 'GET', path: '/evidence?format=exe', status: 400 },
    { service: 'audit', what: 'the evidence report with format given twice (it answered JSON, neither)', method: 'GET', path: '/evidence?format=pdf&format=html', status: 400 },
    { service: 'audit', what: '$export with _count (it streams every match)', method: 'GET', path: '/fhir/AuditEvent/$export?_count=1', status: 400 },
    // Session 26: the routes that are not FHIR searches ignored a query parameter they do not take (a misspelt one answered as if understood).
    { service: 'agency-sim', what: 'the received report with a parameter it does not take', method: 'GET', path: '/agencies/nhs-lothian/received?after=1', status: 400, auth: 'none' },
    { service: 'audit', what: 'the checkpoint with a parameter it does not take', method: 'GET', path: '/log/checkpoint?sise=3', status: 400 },
    { service: 'directory', what: 'the JWKS with a parameter', method: 'GET', path: '/auth/jwks.json?kid=x', status: 400, auth: 'none' },
    { service: 'directory', what: 'the SMART configuration with a parameter', method: 'GET', path: '/.well-known/smart-configuration?x=1', status: 400, auth: 'none' },
    { service: 'mpi', what: 'the SMART configuration of a FHIR base with a parameter', method: 'GET', path: '/fhir/.well-known/smart-configuration?x=1', status: 400, auth: 'none' },
    { service: 'mpi', what: 'the matching report with a parameter', method: 'GET', path: '/matching/report?top=1e309', status: 400 },
    { service: 'agency-sim', what: 'a delivery without the hub\u2019s delivery token (401 names its scheme)', method: 'POST', path: '/agencies/nhs-lothian/fhir/$process-message', headers: FJ, body: bundle('message', []), status: 401, auth: 'none' },
    { service: 'agency-sim', what: 'a delivery with an access token where the delivery token belongs', method: 'POST', path: '/agencies/nhs-lothian/fhir', headers: FJ, body: bundle('batch', []), status: 401 },
  ];

  const CASES = [...everyService(), ...SPECIFIC];
  /** Data written before the corpus runs, read back after it. */
  let organisation: { id: string; versionId: string };
  let record: { id: string; versionId: string };

  const urlOf = (service: Service | 'agency-sim', path: string) => `${hub.config.urls[service] ?? ''}${path}`;
  const authed = (extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra });

  beforeAll(async () => {
    hub = await startTestHub(prefix, { loadDemoPeople: false });
    const key = await loadTokenSigningKey(hub.config.token);
    const claims = { clientId: AGENCY, agency: AGENCY, partnership: 'lothian-hscp' };
    token = issueAccessToken({ ...claims, scopes: ['system/*.*', 'system/Task.review', 'system/AuditEvent.attest'] }, key, hub.config.token).token;
    narrowToken = issueAccessToken({ ...claims, scopes: ['system/Organization.read'] }, key, hub.config.token).token;
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown> & { kid?: string };
    const kid = (JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { kid: string }).kid;
    const jwks = (await (await fetch(urlOf('directory', '/auth/jwks.json'))).json()) as { keys: object[] };
    const publicPem = createPublicKey({ key: jwks.keys[0] as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
    const now = Math.floor(Date.now() / 1000);
    Object.assign(badTokens, {
      expired: issueAccessToken({ ...claims, scopes: ['system/*.*'] }, key, hub.config.token, Date.now() - 3_600_000).token,
      algNone: `${b64({ alg: 'none', typ: 'JWT' })}.${b64(decoded)}.`,
      tamperedAudience: `${header}.${b64({ ...decoded, aud: 'https://elsewhere.example' })}.${signature}`,
      otherIssuer: issueAccessToken({ ...claims, scopes: ['system/*.*'] }, key, { ...hub.config.token, issuer: 'https://elsewhere.example' }).token,
      hs256PublicKey: jwt.sign({ ...decoded, iat: now, exp: now + 300 }, publicPem, { algorithm: 'HS256', keyid: kid }),
      notJwt: 'not-a-token',
    });
    const org = await send(urlOf('directory', '/fhir/Organization'), 'POST', authed(FJ), json({ resourceType: 'Organization', name: 'Written before the corpus' }));
    expect(org.status).toBe(201);
    const orgBody = JSON.parse(org.text) as { id: string; meta: { versionId: string } };
    organisation = { id: orgBody.id, versionId: orgBody.meta.versionId };
    const registered = await send(urlOf('mpi', '/fhir/Patient'), 'POST', authed(FJ), json(lothianPatient('CORPUS-KEPT')));
    expect([200, 201]).toContain(registered.status);
    const recordBody = JSON.parse(registered.text) as { id: string; meta: { versionId: string } };
    record = { id: recordBody.id, versionId: recordBody.meta.versionId };
  }, 120_000);

  afterAll(() => stopTestHub(hub, prefix));

  /** What no answer may carry: a stack frame, a source path, key material. */
  const LEAK = /\bat [\w.<>$]+ \(|\.[jt]s:\d+|\/work\/|node_modules|-----BEGIN|PRIVATE KEY|"d":"/;

  it.each(CASES.map((c) => [`${c.service}: ${c.what} (${c.method} ${c.path.slice(0, 60)})`, c] as const))('%s', async (_name, c) => {
    const id = `corpus-${process.pid}-${++n}`;
    const authorization: Record<string, string> = c.auth === 'none' ? {} : { authorization: `Bearer ${c.auth === undefined ? token : c.auth === 'narrow' ? narrowToken : badTokens[c.auth]!}` };
    const res = await send(urlOf(c.service, c.path), c.method, { 'x-request-id': id, ...authorization, ...(c.headers ?? {}) }, c.body);
    // `GET /fhir/metadata` is audited as any read; the corpus checks the records of the exchanges it refused.
    // The agency simulator is an agency's system, not the hub: it logs its exchanges, not in the hub's audit stream.
    if (!c.path.startsWith('/fhir/metadata') && c.service !== 'agency-sim') sentIds.push({ id, what: `${c.service} ${c.what}` });
    const expected = typeof c.status === 'number' ? [c.status] : c.status;
    if (!expected.includes(res.status)) throw new Error(`expected ${expected.join(' or ')}, got ${res.status}: ${res.text.slice(0, 300)}`);
    expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
    const body = JSON.parse(res.text) as { resourceType?: string; issue?: { details?: { text?: string }; diagnostics?: string }[] };
    expect(body.resourceType).toBe('OperationOutcome');
    const text = body.issue?.[0]?.details?.text ?? body.issue?.[0]?.diagnostics ?? '';
    expect(text.length).toBeGreaterThan(5);
    expect(res.text).not.toMatch(LEAK);
    if (res.status === 401) expect(res.headers['www-authenticate']).toMatch(/realm="infoshare"/);
    if (res.status === 405) expect(res.headers.allow).toBeTruthy();
  });

  it('refuses a request without Host, or with Host, Content-Type or Authorization twice, with an audited OperationOutcome (not Node\u2019s empty 400)', async () => {
    const port = Number(new URL(urlOf('directory', '/')).port);
    const raw = (text: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = net.connect(port, 'localhost', () => socket.write(text));
        let answer = '';
        socket.on('data', (d: Buffer) => (answer += d.toString('utf8')));
        socket.on('end', () => resolve(answer));
        socket.on('error', reject);
      });
    for (const [what, headers, named] of [
      ['no Host', '', 'Host'],
      ['Host twice', 'Host: a\r\nHost: b\r\n', 'Host'],
      // Session 23: Node kept the first of each and dropped the other; a proxy in front may keep the last.
      ['Content-Type twice', 'Host: a\r\nContent-Type: application/fhir+json\r\nContent-Type: text/plain\r\n', 'Content-Type'],
      ['Authorization twice', 'Host: a\r\nAuthorization: Bearer x\r\nAuthorization: Bearer y\r\n', 'Authorization'],
    ] as const) {
      const id = `corpus-${process.pid}-${++n}`;
      sentIds.push({ id, what: `directory ${what}` });
      const answer = await raw(`GET /fhir/Organization HTTP/1.1\r\n${headers}X-Request-Id: ${id}\r\nConnection: close\r\n\r\n`);
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer).toMatch(/Content-Type: application\/fhir\+json/);
      expect(answer).toMatch(new RegExp(`"resourceType":"OperationOutcome".*${named}`));
    }
  });

  it('answers CONNECT (a proxy tunnel) with a 405 OperationOutcome instead of dropping the connection', async () => {
    for (const target of ['localhost:443', '/fhir/Organization']) {
      const port = Number(new URL(urlOf('directory', '/')).port);
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(port, 'localhost', () => socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`));
        let text = '';
        socket.on('data', (d: Buffer) => (text += d.toString('utf8')));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 405 /);
      expect(answer).toMatch(/Content-Type: application\/fhir\+json/);
      expect(answer).toMatch(/"resourceType":"OperationOutcome".*not a proxy/);
      if (target.startsWith('/')) expect(answer).toMatch(/Allow: GET, HEAD, OPTIONS, POST/);
    }
  });

  it('answers what HTTP parsing refuses before any route (a 20 KB URL, a header line without a colon) with an OperationOutcome too', async () => {
    const long = await send(urlOf('directory', `/fhir/Organization?name=${'a'.repeat(20_000)}`), 'GET', authed());
    expect(long.status).toBe(431);
    expect(long.headers['content-type']).toMatch(/^application\/fhir\+json/);
    expect((JSON.parse(long.text) as { resourceType: string }).resourceType).toBe('OperationOutcome');
    const port = Number(new URL(urlOf('mpi', '/')).port);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, 'localhost', () => socket.write('GET /fhir/metadata HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n'));
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('utf8')));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toMatch(/Content-Type: application\/fhir\+json/);
    expect(raw).toMatch(/"resourceType":"OperationOutcome"/);
  });

  it('answers OPTIONS on every FHIR base, and metadata in the modes it serves', async () => {
    for (const service of Object.keys(SERVICES) as Service[]) {
      const options = await send(urlOf(service, '/fhir'), 'OPTIONS', {});
      // It was a 404 "No route" at every base but the MPI's (which takes transactions: POST).
      expect([service, options.status]).toEqual([service, 200]);
      expect(options.headers.allow).toBe(service === 'mpi' ? 'OPTIONS, POST' : 'OPTIONS');
      expect(options.text).toContain('GET /fhir/metadata');
      for (const query of ['', '?mode=full', '?mode=normative', '?_summary=true', '?_format=json', '?foo=1']) {
        const metadata = await send(urlOf(service, `/fhir/metadata${query}`), 'GET', query === '?foo=1' ? { prefer: 'handling=lenient' } : {});
        expect([service, query, metadata.status]).toEqual([service, query, 200]);
        expect((JSON.parse(metadata.text) as { resourceType: string }).resourceType).toBe('CapabilityStatement');
      }
    }
  });

  it('answers a body over the limit with its 413 before the body is sent (its Content-Length says it), audited', async () => {
    const targets: [Service, string, number][] = [
      ...(Object.keys(SERVICES) as Service[]).map((service): [Service, string, number] => [service, SERVICES[service].write, 20 * 1024 * 1024]),
      // The MPI's transaction endpoint takes bulk loads (INFOSHARE_BULK_BODY_LIMIT, 50 MB): a 413 there came after the whole upload.
      ['mpi', '/fhir', 60 * 1024 * 1024],
    ];
    for (const [service, path, length] of targets) {
      const id = `corpus-${process.pid}-${++n}`;
      sentIds.push({ id, what: `${service} a body over the limit, announced (${path})` });
      const port = Number(new URL(urlOf(service, '/')).port);
      // Only the headers go: the answer must come without waiting for a body a client may be sending for minutes.
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(port, 'localhost', () =>
          socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${id}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/fhir+json\r\nContent-Length: ${length}\r\n\r\n`),
        );
        let text = '';
        socket.on('data', (d: Buffer) => {
          text += d.toString('utf8');
          if (/\r\n\r\n[\s\S]*\}$/.test(text)) socket.destroy();
        });
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
      expect([service, path, answer.split('\r\n')[0]]).toEqual([service, path, 'HTTP/1.1 413 Payload Too Large']);
      expect(answer).toMatch(/"resourceType":"OperationOutcome".*larger than this endpoint takes/);
    }
  });

  it('audited every refused exchange under its request id', async () => {
    const deadline = Date.now() + 15_000;
    let missing = sentIds;
    while (missing.length > 0 && Date.now() < deadline) {
      const audited = new Set((await readAuditEntries(hub.deps.redis, hub.deps.keys, { count: 1_000_000 })).map(({ entry }) => entry.requestId));
      missing = sentIds.filter((s) => !audited.has(s.id));
      if (missing.length > 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(sentIds.length).toBeGreaterThan(300);
    expect(missing.map((m) => m.what)).toEqual([]);
  });

  it('lost nothing: what was written before reads back unchanged, and a valid request still succeeds', async () => {
    const org = await send(urlOf('directory', `/fhir/Organization/${organisation.id}`), 'GET', authed());
    expect(org.status).toBe(200);
    expect(org.headers.etag).toBe(`W/"${organisation.versionId}"`);
    const kept = await send(urlOf('mpi', `/fhir/Patient/${record.id}`), 'GET', authed());
    expect(kept.status).toBe(200);
    expect(kept.headers.etag).toBe(`W/"${record.versionId}"`);
    const created = await send(urlOf('directory', '/fhir/Organization'), 'POST', authed({ 'content-type': 'application/fhir+json; charset=utf-8' }), json({ resourceType: 'Organization', name: 'Written after the corpus' }));
    expect(created.status).toBe(201);
    // Nothing the corpus sent was stored: no Organization by the corpus's name, no record of its identifiers.
    const orgs = JSON.parse((await send(urlOf('directory', '/fhir/Organization?name=Corpus'), 'GET', authed())).text) as { total?: number };
    expect(orgs.total).toBe(0);
    for (const value of ['CORPUS-0', 'CORPUS-1', 'CORPUS-2', 'CORPUS-4']) {
      const pix = await send(urlOf('mpi', `/fhir/Patient/$ihe-pix?sourceIdentifier=https://fhir.infoshare.scot/id/patient/nhs-lothian%7C${value}`), 'GET', authed());
      expect(pix.status).toBe(404);
    }
    for (const service of Object.keys(SERVICES) as Service[]) expect((await send(urlOf(service, '/health'), 'GET', {})).status).toBe(200);
  });
});
