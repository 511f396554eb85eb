import express from 'express';
import request from 'supertest';
import type { AuditSink } from '../audit/exchange.js';
import { fhirErrorHandler } from '../fhir/express.js';
import { unavailable } from '../fhir/outcome.js';
import { createLogger } from '../log.js';
import { issueAccessToken, type AccessTokenExpectations } from './access-token.js';
import { staticKeyResolver, type KeyResolver } from './jwks-resolver.js';
import { generateKeyPair, publicJwks } from './keys.js';
import { authContext, authenticate, bearerToken, requireScope } from './middleware.js';

const partnership = generateKeyPair('ES256').signingKey;
const resolver = staticKeyResolver(publicJwks([partnership]));
const config = { issuer: 'http://localhost:4000/auth', audience: 'infoshare-hub', ttlSeconds: 300 };
const expected: AccessTokenExpectations = { issuer: config.issuer, audience: config.audience, algorithms: ['ES256'] };

function token(scopes: string[], nowMs = Date.now()): string {
  return issueAccessToken(
    { clientId: 'rie-emergency', agency: 'rie-emergency', partnership: 'lothian-hscp', scopes, practitionerRole: 'PractitionerRole/dr-1' },
    partnership,
    config,
    nowMs,
  ).token;
}

function app(keys: KeyResolver = resolver) {
  const a = express();
  const audit: AuditSink = { record: async () => 'audited' };
  a.locals.audit = audit;
  a.get('/open', (_req, res) => {
    res.json(authContext(res));
  });
  a.use(authenticate(keys, expected));
  a.get('/whoami', (_req, res) => {
    res.json(authContext(res));
  });
  a.post('/Flag', requireScope('system/Flag.write'), (_req, res) => {
    res.status(201).json({ created: true });
  });
  a.post('/Contract/isp/$sign', requireScope('system/Contract.read', 'system/Contract.sign'), (_req, res) => {
    res.json({ signed: true });
  });
  a.get('/CarePlan', requireScope(['system/CarePlan.read', 'patient/CarePlan.read']), (_req, res) => {
    res.json({ read: true });
  });
  a.use(fhirErrorHandler(createLogger('test', 'silent')));
  return a;
}

describe('Authentication middleware', () => {
  it('Lets a request with a valid token through and exposes the caller', async () => {
    const res = await request(app()).get('/whoami').set('Authorization', `Bearer ${token(['system/Flag.read'])}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      sub: 'rie-emergency',
      agency: 'rie-emergency',
      partnership: 'lothian-hscp',
      practitionerRole: 'PractitionerRole/dr-1',
      scopes: ['system/Flag.read'],
    });
  });

  it('Answers a request without a token with 401 and an OperationOutcome', async () => {
    const res = await request(app()).get('/whoami');
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/application\/fhir\+json/);
    expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'login' }] });
    expect(res.headers['www-authenticate']).toBe('Bearer realm="infoshare"');
  });

  it('Answers an expired token with 401 invalid_token', async () => {
    const res = await request(app())
      .get('/whoami')
      .set('Authorization', `Bearer ${token(['system/Flag.read'], Date.now() - 3600_000)}`);
    expect(res.status).toBe(401);
    expect(res.body.issue[0].details.text).toBe('Access token rejected: token expired');
    expect(res.headers['www-authenticate']).toBe('Bearer realm="infoshare", error="invalid_token"');
  });

  it('Answers another authorization scheme with 401', async () => {
    const res = await request(app()).get('/whoami').set('Authorization', 'Basic dXNlcjpwYXNz');
    expect(res.status).toBe(401);
    expect(res.body.issue[0].details.text).toMatch(/Bearer/);
  });

  it('Answers 401 when a handler asks for the caller on a route nobody authenticated', async () => {
    const res = await request(app()).get('/open');
    expect(res.status).toBe(401);
  });

  it('Answers 503 and stays up when the issuer keys cannot be fetched', async () => {
    const down: KeyResolver = async () => {
      throw unavailable('The signing keys of the token issuer cannot be fetched; try again shortly');
    };
    const a = app(down);
    const res = await request(a).get('/whoami').set('Authorization', `Bearer ${token(['system/Flag.read'])}`);
    expect(res.status).toBe(503);
    expect((await request(a).get('/whoami')).status).toBe(401);
  });
});

describe('Scope middleware', () => {
  it('Refuses a valid token without the scope with 403 naming the missing scope', async () => {
    const res = await request(app()).post('/Flag').set('Authorization', `Bearer ${token(['system/Flag.read'])}`);
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'forbidden', details: { text: 'missing scope system/Flag.write' } }] });
    expect(res.headers['www-authenticate']).toBe('Bearer realm="infoshare", error="insufficient_scope", scope="system/Flag.write"');
  });

  it('Lets a wildcard scope through', async () => {
    const res = await request(app()).post('/Flag').set('Authorization', `Bearer ${token(['system/*.*'])}`);
    expect(res.status).toBe(201);
  });

  it('Lets any one of alternative scopes through (an agency system or the person themselves), and names them when none is held', async () => {
    expect((await request(app()).get('/CarePlan').set('Authorization', `Bearer ${token(['system/CarePlan.read'])}`)).status).toBe(200);
    expect((await request(app()).get('/CarePlan').set('Authorization', `Bearer ${token(['patient/*.read'])}`)).status).toBe(200);
    const refused = await request(app()).get('/CarePlan').set('Authorization', `Bearer ${token(['system/Flag.read'])}`);
    expect(refused.status).toBe(403);
    expect(refused.body.issue[0].details.text).toBe('missing scope system/CarePlan.read or patient/CarePlan.read');
    expect(refused.headers['www-authenticate']).toContain('scope="system/CarePlan.read"');
  });

  it('Requires every scope listed', async () => {
    const readOnly = await request(app()).post('/Contract/isp/$sign').set('Authorization', `Bearer ${token(['system/Contract.read'])}`);
    expect(readOnly.status).toBe(403);
    expect(readOnly.body.issue[0].details.text).toBe('missing scope system/Contract.sign');
    const both = await request(app())
      .post('/Contract/isp/$sign')
      .set('Authorization', `Bearer ${token(['system/Contract.read', 'system/Contract.sign'])}`);
    expect(both.status).toBe(200);
  });
});

describe('Bearer header parsing', () => {
  it('Reads the token of a Bearer header in any letter case', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken(undefined)).toBeUndefined();
  });

  it('Refuses a Bearer header without a well-formed token', () => {
    expect(() => bearerToken('Bearer')).toThrow(/Bearer/);
    expect(() => bearerToken('Bearer a b')).toThrow(/Bearer/);
  });
});
