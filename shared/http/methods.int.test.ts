import type { Router } from 'express';
import { serviceRouter } from './router.js';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { deletePrefix, testRedis, uniquePrefix } from '../../test/redis.js';
import { readAuditEntries, RedisAuditSink } from '../audit/audit-client.js';
import { eventOfEntry } from '../audit/audit-entry.js';
import { createLogger } from '../log.js';
import { KeySpace } from '../redis/connection.js';
import { createServiceApp } from './service-app.js';

let redis: Redis;
let keys: KeySpace;
let prefix: string;
let app: ReturnType<typeof createServiceApp>;

/** Routes shaped like a service's: direct FHIR paths, path parameters, and a router mounted under /fhir. */
function routes(): Router {
  const ok = (_req: unknown, res: { json(body: unknown): void }) => res.json({ ok: true });
  const nested = serviceRouter();
  nested.get('/Task', ok);
  nested.post('/Task', ok);
  nested.get('/Task/:id', ok);
  const router = serviceRouter();
  router.post('/fhir/Patient', ok);
  router.get('/fhir/Patient/:id', ok);
  router.put('/fhir/Patient/:id', ok);
  router.post('/fhir/Patient/$match', ok);
  router.use('/fhir', nested);
  return router;
}

beforeAll(() => {
  redis = testRedis();
  prefix = uniquePrefix('methods');
  keys = new KeySpace(prefix);
  const log = createLogger('methods-test', 'silent');
  app = createServiceApp({ service: 'mpi', redis, audit: new RedisAuditSink(redis, keys, { log }), log, bodyLimit: '1mb', routes: routes() });
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

async function auditOf(res: request.Response) {
  const entries = await readAuditEntries(redis, keys, { count: 10_000 });
  const found = entries.filter(({ entry }) => entry.requestId === res.headers['x-request-id']);
  expect(found).toHaveLength(1);
  return eventOfEntry(found[0]!.entry);
}

describe('methods a path does not take', () => {
  it('answers DELETE and PATCH on a FHIR resource path with 405, the allowed methods in Allow, as an audited OperationOutcome', async () => {
    for (const method of ['delete', 'patch'] as const) {
      const res = await request(app)[method]('/fhir/Patient/p-1');
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('GET, HEAD, OPTIONS, PUT');
      expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
      expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-supported' }] });
      expect(res.body.issue[0].details.text).toContain(`${method.toUpperCase()} is not supported on /fhir/Patient/p-1`);
      const event = await auditOf(res);
      expect(event.outcome).toBe('4');
      expect(JSON.stringify(event)).toContain('405');
    }
  });

  it('reads the allowed methods through routers mounted under a prefix', async () => {
    const res = await request(app).delete('/fhir/Task');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD, OPTIONS, POST');
  });

  it('still answers 404, without Allow, where no method is routed', async () => {
    const res = await request(app).delete('/fhir/Nothing/1');
    expect(res.status).toBe(404);
    expect(res.headers.allow).toBeUndefined();
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  it('answers GET on a POST-only operation with 405 and Allow, not the 404 of a read of a resource called "$match"', async () => {
    const res = await request(app).get('/fhir/Patient/$match');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('OPTIONS, POST');
    expect(res.body.issue[0].details.text).toContain('GET is not supported on /fhir/Patient/$match');
    expect((await auditOf(res)).outcome).toBe('4');
  });

  it('still reaches the :id routes for an operation no route names (the read answers for itself)', async () => {
    const res = await request(app).get('/fhir/Patient/$no-such-operation');
    expect(res.status).toBe(200); // this test app's read route answers everything it is given
  });

  it('refuses HEAD with 405 where only POST is routed (HEAD is allowed only where GET is)', async () => {
    const res = await request(app).head('/fhir/Patient');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('OPTIONS, POST');
  });
});

describe('OPTIONS', () => {
  it('answers with the allowed methods as FHIR JSON and in Allow, audited, without a token', async () => {
    const res = await request(app).options('/fhir/Patient/p-1');
    expect(res.status).toBe(200);
    expect(res.headers.allow).toBe('GET, HEAD, OPTIONS, PUT');
    expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
    expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational' }] });
    expect(res.body.issue[0].details.text).toBe('Allowed methods on /fhir/Patient/p-1: GET, HEAD, OPTIONS, PUT');
    const event = await auditOf(res);
    expect(event.outcome).toBe('0');
    expect(event.action).toBe('R');
    expect(JSON.stringify(event)).toContain('OPTIONS');
  });

  it('lists the methods of the operation itself on an operation path, not those of the :id route beside it', async () => {
    const res = await request(app).options('/fhir/Patient/$match');
    // `/fhir/Patient/:id` matches `$match` too, but no Patient has an id starting with `$`.
    expect(res.headers.allow).toBe('OPTIONS, POST');
  });

  it('answers 404 as an audited OperationOutcome on a path with no route', async () => {
    const res = await request(app).options('/fhir/Nothing');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
    expect((await auditOf(res)).outcome).toBe('4');
  });
});
