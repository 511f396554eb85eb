/**
 * Every operation route of every service (any path with a `$operation` segment, read from the apps' own
 * routers) answers a method it does not take as RFC 9110 and FHIR R4 say: 405, `Allow` naming the methods
 * it does take, an OperationOutcome — never the 404 of a read of a resource whose id is "$operation".
 * A POST to a reading operation is that operation (R4 operations.html §2.1.0.1), answered as its GET is.
 */
import request from 'supertest';
import type { Express } from 'express';
import type { CapabilityStatement } from 'fhir/r4.js';
import { routeTemplates } from './route-templates.js';
import { startServiceApps, type ServiceApps } from './service-apps.js';

const AGENCY = 'nhs-lothian';
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;

interface OperationPath {
  readonly service: string;
  readonly app: Express;
  /** The route's path with each `:param` filled in. */
  readonly path: string;
  /** The methods it takes, as `Allow` lists them: its routes', HEAD where GET is, POST where it is a reading operation, OPTIONS. */
  readonly allow: readonly string[];
  /** Whether it is a reading operation routed as GET (`[type]/[id]/$op`: where a POST with Parameters invokes it too). */
  readonly reading: boolean;
}

let services: ServiceApps | undefined;
let token: string;
let apps: ReadonlyArray<readonly [string, Express]>;
let operations: OperationPath[];

function operationPaths(service: string, app: Express): OperationPath[] {
  const methodsOf = new Map<string, Set<string>>();
  for (const { method, path } of routeTemplates(app)) {
    if (!path.split('/').some((segment) => segment.startsWith('$'))) continue;
    const methods = methodsOf.get(path) ?? new Set(['OPTIONS']);
    methods.add(method);
    if (method === 'GET') methods.add('HEAD');
    methodsOf.set(path, methods);
  }
  return [...methodsOf].map(([path, methods]) => {
    // The operation is the path's last segment, so R4 operations.html §2.1.0.1 lets a POST with Parameters invoke it.
    const reading = path.slice(path.lastIndexOf('/') + 1).startsWith('$') && methods.has('GET') && !methods.has('POST');
    if (reading) methods.add('POST');
    return { service, app, path: path.replace(/:[A-Za-z]+/g, 'no-such-id'), allow: [...methods].sort(), reading };
  });
}

beforeAll(async () => {
  services = await startServiceApps();
  token = await services.alerts.mpi.token(AGENCY);
  apps = services.apps;
  operations = apps.flatMap(([service, app]) => operationPaths(service, app));
});

afterAll(async () => {
  await services?.close();
});

const send = (op: OperationPath, method: string) => {
  const agent = request(op.app);
  return agent[method.toLowerCase() as 'get'](op.path)
    .set('Authorization', `Bearer ${token}`)
    .set('Content-Type', 'application/fhir+json')
    .send(method === 'GET' || method === 'HEAD' ? undefined : JSON.stringify({ resourceType: 'Parameters' }));
};

describe('the methods an operation does not take', () => {
  it('finds the operations of every service in its router', () => {
    expect(operations.map((op) => `${op.service} ${op.path}`)).toEqual(
      expect.arrayContaining([
        'directory /fhir/Contract/no-such-id/$verify',
        'directory /fhir/Contract/no-such-id/$sign',
        'mpi /fhir/Patient/$match',
        'alerts /fhir/$process-message',
        'plans /fhir/CarePlan/no-such-id/$render',
        'audit /fhir/AuditEvent/no-such-id/$proof-bundle',
      ]),
    );
  });

  it('finds every operation each CapabilityStatement declares among them', async () => {
    const unrouted: string[] = [];
    for (const [service, app] of apps) {
      const rest = ((await request(app).get('/fhir/metadata')).body as CapabilityStatement).rest?.[0];
      const declared = [...(rest?.operation ?? []), ...(rest?.resource ?? []).flatMap((r) => r.operation ?? [])].map((o) => `$${o.name}`);
      const routed = new Set(operations.filter((op) => op.service === service).flatMap((op) => op.path.split('/')));
      unrouted.push(...declared.filter((name) => !routed.has(name)).map((name) => `${service} ${name}`));
    }
    expect(unrouted).toEqual([]);
  });

  it('answers each with 405, Allow listing the methods it takes, and an OperationOutcome', async () => {
    const wrong: string[] = [];
    for (const op of operations) {
      for (const method of METHODS) {
        if (op.allow.includes(method)) continue;
        const res = await send(op, method);
        const seen = `${res.status} Allow: ${String(res.headers.allow)} ${method === 'HEAD' ? '' : String(res.body?.resourceType)}`;
        const expected = `405 Allow: ${op.allow.join(', ')} ${method === 'HEAD' ? '' : 'OperationOutcome'}`;
        if (seen !== expected) wrong.push(`${op.service} ${method} ${op.path}: ${seen}, expected ${expected}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('answers OPTIONS on each with the same Allow', async () => {
    const wrong: string[] = [];
    for (const op of operations) {
      const res = await send(op, 'OPTIONS');
      if (res.status !== 200 || res.headers.allow !== op.allow.join(', ')) wrong.push(`${op.service} ${op.path}: ${res.status} Allow: ${String(res.headers.allow)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('answers a POST to a reading operation as its GET (not a 404 for the path, not a 405)', async () => {
    const wrong: string[] = [];
    for (const op of operations.filter((o) => o.reading)) {
      const [get, post] = [await send(op, 'GET'), await send(op, 'POST')];
      const text = (res: request.Response) => String(res.body?.issue?.[0]?.details?.text ?? '');
      if (post.status !== get.status || /no route|unknown operation/i.test(text(post))) wrong.push(`${op.service} ${op.path}: GET ${get.status}, POST ${post.status} ${text(post)}`);
    }
    expect(wrong).toEqual([]);
  });
});
