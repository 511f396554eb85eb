import { createHmac, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { readDemoAgencySigningKey } from '../../fixtures/keys/demo-keys.js';
import { issueAccessToken, type AccessTokenInput } from '../../shared/auth/access-token.js';
import { CLIENT_ASSERTION_TYPE } from '../../shared/auth/client-assertion.js';
import { generateKeyPair } from '../../shared/auth/keys.js';
import { signClientAssertion } from '../../shared/client/client-assertion.js';
import { criteriaOf, startTestDirectory, type TestDirectory } from './test-directory.js';

let dir: TestDirectory;

beforeAll(async () => {
  dir = await startTestDirectory();
});

afterAll(async () => {
  await dir.close();
});

const tokenForm = (assertion: string, extra: Record<string, string> = {}) => ({
  grant_type: 'client_credentials',
  client_assertion_type: CLIENT_ASSERTION_TYPE,
  client_assertion: assertion,
  ...extra,
});

const postToken = (form: Record<string, string>) => request(dir.app).post('/auth/token').type('form').send(form);

const educationClaims: AccessTokenInput = {
  clientId: 'edinburgh-education',
  agency: 'edinburgh-education',
  partnership: 'lothian-hscp',
  scopes: ['system/Organization.read'],
};

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token whose claims are right but which was not properly signed by the partnership key. */
function forgedClaims() {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: dir.config.token.issuer,
    aud: dir.config.token.audience,
    sub: 'edinburgh-education',
    agency: 'edinburgh-education',
    partnership: 'lothian-hscp',
    scope: 'system/Organization.read',
    iat: now,
    exp: now + 300,
    jti: randomUUID(),
  };
}

async function expectRefusedAndAudited(res: request.Response, status: number, criteria: string[] = ['SI-L3']) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/application\/fhir\+json/);
  expect(res.body.resourceType).toBe('OperationOutcome');
  expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+/);
  const event = await dir.auditOf(res.headers['x-request-id'] as string);
  expect(event?.outcome).toBe('4');
  expect(criteriaOf(event)).toEqual(criteria);
  // The service keeps answering.
  expect((await request(dir.app).get('/health')).status).toBe(200);
}

describe('POST /auth/token', () => {
  it('Issues a short-lived ES256 access token naming the agency, its partnership and the granted scopes (audited SI-L3)', async () => {
    const res = await postToken(tokenForm(dir.assertion('edinburgh-education'), { scope: 'system/CareTeam.read system/PractitionerRole.read' }));
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({ token_type: 'bearer', expires_in: 300, scope: 'system/CareTeam.read system/PractitionerRole.read' });
    const decoded = jwt.decode(res.body.access_token, { complete: true })!;
    expect(decoded.header).toMatchObject({ alg: 'ES256', kid: dir.signingKey.kid });
    expect(decoded.payload).toMatchObject({ sub: 'edinburgh-education', agency: 'edinburgh-education', partnership: 'lothian-hscp' });

    const event = await dir.auditOf(res.headers['x-request-id'] as string);
    expect(event?.outcome).toBe('0');
    expect(event?.subtype?.[0]?.code).toBe('token');
    expect(criteriaOf(event)).toEqual(['SI-L3']);
    expect(JSON.stringify(event)).toContain('Organization/edinburgh-education');
  });

  it('Grants every scope the agency type allows when none is asked for, and the token opens the directory', async () => {
    const token = await dir.token('police-scotland-e-division');
    const claims = jwt.decode(token) as { scope: string };
    expect(claims.scope.split(' ')).toContain('system/CareTeam.read');
    expect(claims.scope.split(' ')).not.toContain('system/CareTeam.write');
    const res = await request(dir.app).get('/fhir/Organization/nhs-lothian').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
  });

  it('Names the acting practitioner when the role belongs to the agency', async () => {
    const token = await dir.token('edinburgh-education', { practitioner_role: 'role-aileen-fraser' });
    expect(jwt.decode(token)).toMatchObject({ practitionerRole: 'PractitionerRole/role-aileen-fraser' });
  });

  it('Reads a role period at a leap second (`:60`): a practitioner in post since one, or until one far ahead, acts; one whose role ended at one does not', async () => {
    const education = { Authorization: `Bearer ${await dir.token('edinburgh-education')}` };
    const roleWith = async (period: { start?: string; end?: string }) => {
      const res = await request(dir.app)
        .post('/fhir/PractitionerRole')
        .set(education)
        .type('application/fhir+json')
        .send(JSON.stringify({ resourceType: 'PractitionerRole', active: true, organization: { reference: 'Organization/edinburgh-education' }, period }));
      expect(res.status).toBe(201);
      return res.body.id as string;
    };
    // Before 2026-12-07 the role's period could not be read at all, and a role with an unreadable date never acts.
    const since = await roleWith({ start: '2016-12-31T23:59:60Z' });
    const until = await roleWith({ start: '2016-01-01', end: '2099-12-31T23:59:60Z' });
    const ended = await roleWith({ start: '2016-01-01', end: '2016-12-31T23:59:60Z' });
    expect(jwt.decode(await dir.token('edinburgh-education', { practitioner_role: since }))).toMatchObject({ practitionerRole: `PractitionerRole/${since}` });
    expect(jwt.decode(await dir.token('edinburgh-education', { practitioner_role: until }))).toMatchObject({ practitionerRole: `PractitionerRole/${until}` });
    const refused = await postToken(tokenForm(dir.assertion('edinburgh-education'), { practitioner_role: ended }));
    await expectRefusedAndAudited(refused, 400);
    expect(refused.body.error).toBe('invalid_grant');
  });

  it('Refuses a practitioner role of another agency with 400 invalid_grant, audited SI-L3', async () => {
    const res = await postToken(tokenForm(dir.assertion('nhs-lothian'), { practitioner_role: 'role-aileen-fraser' }));
    await expectRefusedAndAudited(res, 400);
    expect(res.body.issue[0].details.text).toMatch(/^invalid_grant/);
  });

  it('Refuses a scope the agency type may not have with 400 invalid_scope', async () => {
    const res = await postToken(tokenForm(dir.assertion('police-scotland-e-division'), { scope: 'system/Contract.write' }));
    await expectRefusedAndAudited(res, 400);
    expect(res.body.issue[0].details.text).toMatch(/^invalid_scope/);
  });

  it('Refuses a replayed client assertion with 401', async () => {
    const assertion = dir.assertion('edinburgh-social-work');
    expect((await postToken(tokenForm(assertion))).status).toBe(200);
    const replay = await postToken(tokenForm(assertion));
    await expectRefusedAndAudited(replay, 401);
    expect(replay.body.issue[0].details.text).toMatch(/replayed/);
  });

  it('Refuses an assertion signed by a key the agency never registered with 401', async () => {
    const stranger = generateKeyPair('ES256').signingKey;
    const assertion = signClientAssertion({ clientId: 'edinburgh-education', tokenUrl: dir.config.token.tokenUrl, key: stranger });
    await expectRefusedAndAudited(await postToken(tokenForm(assertion)), 401);
  });

  it('Refuses an assertion for another audience with 401', async () => {
    const assertion = signClientAssertion({
      clientId: 'edinburgh-education',
      tokenUrl: 'https://elsewhere.example.org/token',
      key: readDemoAgencySigningKey('edinburgh-education'),
    });
    await expectRefusedAndAudited(await postToken(tokenForm(assertion)), 401);
  });

  it('Refuses an unknown client with 401', async () => {
    const key = generateKeyPair('ES256').signingKey;
    const assertion = signClientAssertion({ clientId: 'not-an-agency', tokenUrl: dir.config.token.tokenUrl, key });
    await expectRefusedAndAudited(await postToken(tokenForm(assertion)), 401);
  });

  it('Refuses the partnership itself as a client (it has no system of its own)', async () => {
    const key = generateKeyPair('ES256').signingKey;
    const assertion = signClientAssertion({ clientId: 'lothian-hscp', tokenUrl: dir.config.token.tokenUrl, key });
    expect((await postToken(tokenForm(assertion))).status).toBe(401);
  });

  it('Refuses a request without a grant type with 400, which is no security evidence', async () => {
    const res = await postToken({ client_assertion: dir.assertion('edinburgh-education') });
    await expectRefusedAndAudited(res, 400, []);
  });

  it('Names the OAuth error (RFC 6749 §5.2) beside the OperationOutcome in every refusal', async () => {
    const stranger = generateKeyPair('ES256').signingKey;
    const cases: Array<[Record<string, string>, number, string]> = [
      [tokenForm(signClientAssertion({ clientId: 'not-an-agency', tokenUrl: dir.config.token.tokenUrl, key: stranger })), 401, 'invalid_client'],
      [tokenForm(dir.assertion('nhs-lothian'), { practitioner_role: 'role-aileen-fraser' }), 400, 'invalid_grant'],
      [tokenForm(dir.assertion('police-scotland-e-division'), { scope: 'system/Contract.write' }), 400, 'invalid_scope'],
      [{ ...tokenForm(dir.assertion('edinburgh-education')), grant_type: 'password' }, 400, 'unsupported_grant_type'],
      [{ client_assertion: dir.assertion('edinburgh-education') }, 400, 'invalid_request'],
    ];
    for (const [form, status, error] of cases) {
      const res = await postToken(form);
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', error, error_description: expect.any(String) });
      expect(res.body.issue[0].details.text).toBe(`${error}: ${res.body.error_description}`);
    }
  });
});

describe('GET /auth/jwks.json', () => {
  it('Publishes the public half of the token-signing key only', async () => {
    const res = await request(dir.app).get('/auth/jwks.json');
    expect(res.status).toBe(200);
    expect(res.body.keys).toEqual([dir.signingKey.publicJwk]);
    expect(JSON.stringify(res.body)).not.toContain('"d"');
  });
});

describe('GET /.well-known/smart-configuration', () => {
  it('Tells a SMART Backend Services client where and how to get a token, at the root and beside the FHIR base', async () => {
    for (const path of ['/.well-known/smart-configuration', '/fhir/.well-known/smart-configuration']) {
      const res = await request(dir.app).get(path);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        token_endpoint: dir.config.token.tokenUrl,
        grant_types_supported: ['client_credentials'],
        token_endpoint_auth_methods_supported: ['private_key_jwt'],
        capabilities: ['client-confidential-asymmetric'],
      });
      expect(res.body.token_endpoint_auth_signing_alg_values_supported).toContain('ES256');
      expect(res.body.token_endpoint_auth_signing_alg_values_supported).not.toContain('HS256');
      expect(res.body.scopes_supported).toEqual(expect.arrayContaining(['system/Patient.write', 'system/Task.review']));
      // The document names a token endpoint that really issues tokens.
      const token = await request(dir.app).post(new URL(res.body.token_endpoint as string).pathname).type('form').send(tokenForm(dir.assertion('edinburgh-education')));
      expect(token.status).toBe(200);
      expect((await request(dir.app).get(new URL(res.body.jwks_uri as string).pathname)).status).toBe(200);
    }
  });
});

describe('Access tokens at the FHIR API', () => {
  const readOrg = (token?: string) => {
    const req = request(dir.app).get('/fhir/Organization/nhs-lothian');
    return token === undefined ? req : req.set('Authorization', `Bearer ${token}`);
  };

  it('Refuses a request without a token with 401 and WWW-Authenticate', async () => {
    const res = await readOrg();
    await expectRefusedAndAudited(res, 401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="infoshare"');
  });

  it('Refuses an expired token with 401', async () => {
    const { token } = issueAccessToken(educationClaims, dir.signingKey, dir.config.token, Date.now() - 3600_000);
    const res = await readOrg(token);
    await expectRefusedAndAudited(res, 401);
    expect(res.body.issue[0].details.text).toMatch(/expired/);
  });

  it('Refuses a token for another audience with 401', async () => {
    const { token } = issueAccessToken(educationClaims, dir.signingKey, { ...dir.config.token, audience: 'another-hub' });
    const res = await readOrg(token);
    await expectRefusedAndAudited(res, 401);
    expect(res.body.issue[0].details.text).toMatch(/wrong audience/);
  });

  it('Refuses a token from another issuer with 401', async () => {
    const { token } = issueAccessToken(educationClaims, dir.signingKey, { ...dir.config.token, issuer: 'https://issuer.example.org' });
    const res = await readOrg(token);
    await expectRefusedAndAudited(res, 401);
    expect(res.body.issue[0].details.text).toMatch(/wrong issuer/);
  });

  it('Refuses an unsigned token (alg none) with 401', async () => {
    const token = `${b64({ alg: 'none', typ: 'JWT', kid: dir.signingKey.kid })}.${b64(forgedClaims())}.`;
    await expectRefusedAndAudited(await readOrg(token), 401);
  });

  it('Refuses an HS256 token keyed with the published public key with 401', async () => {
    const publicPem = dir.signingKey.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const unsigned = `${b64({ alg: 'HS256', typ: 'JWT', kid: dir.signingKey.kid })}.${b64(forgedClaims())}`;
    const token = `${unsigned}.${createHmac('sha256', publicPem).update(unsigned).digest('base64url')}`;
    await expectRefusedAndAudited(await readOrg(token), 401);
  });

  it('Refuses a token signed by a key the hub does not publish with 401', async () => {
    const { token } = issueAccessToken(educationClaims, generateKeyPair('ES256').signingKey, dir.config.token);
    await expectRefusedAndAudited(await readOrg(token), 401);
  });

  it('Refuses a valid token without the needed scope with 403, audited SI-L3', async () => {
    const token = await dir.token('edinburgh-education', { scope: 'system/Organization.read' });
    const res = await request(dir.app).get('/fhir/CareTeam?subject=Patient/demo-child-1').set('Authorization', `Bearer ${token}`);
    await expectRefusedAndAudited(res, 403);
    expect(res.body.issue[0].details.text).toContain('system/CareTeam.read');
  });
});
