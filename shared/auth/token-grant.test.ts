import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { isOperationOutcomeError } from '../fhir/outcome.js';
import { verifyAccessToken } from './access-token.js';
import { CLIENT_ASSERTION_TYPE, type RegisteredClient } from './client-assertion.js';
import type { JtiStore } from './jti-store.js';
import { staticKeyResolver } from './jwks-resolver.js';
import { generateKeyPair, publicJwks, type SigningKey } from './keys.js';
import { isOAuthError, type OAuthError, type OAuthErrorCode } from './oauth-error.js';
import { grantToken, type ActingPersonCheck, type TokenGrantDeps } from './token-grant.js';

const TOKEN_URL = 'http://localhost:4000/auth/token';
const partnershipKey = generateKeyPair('ES256').signingKey;
const agencyKey = generateKeyPair('ES256').signingKey;
const rsaAgencyKey = generateKeyPair('RS384').signingKey;

const clients: Record<string, RegisteredClient> = {
  'nhs-lothian': {
    clientId: 'nhs-lothian',
    agency: 'nhs-lothian',
    partnership: 'lothian-hscp',
    publicJwk: agencyKey.publicJwk,
    allowedScopes: ['system/Patient.*', 'system/*.read', 'system/Task.review'],
  },
  'fife-social-work': {
    clientId: 'fife-social-work',
    agency: 'fife-social-work',
    partnership: 'fife-hscp',
    publicJwk: rsaAgencyKey.publicJwk,
    allowedScopes: ['system/Flag.read'],
  },
  'edinburgh-housing': {
    clientId: 'edinburgh-housing',
    agency: 'edinburgh-housing',
    partnership: 'lothian-hscp',
    publicJwk: generateKeyPair('ES256').publicJwk,
    allowedScopes: [],
  },
};

/** The replay memory of a single test (the Redis store itself is tested in jti-store.int.test.ts). */
function memoryJtiStore(): JtiStore {
  const seen = new Set<string>();
  return {
    async remember(clientId, jti) {
      const key = `${clientId} ${jti}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    },
  };
}

function deps(overrides: Partial<TokenGrantDeps> = {}): TokenGrantDeps {
  return {
    clients: async (id) => clients[id],
    jtiStore: memoryJtiStore(),
    signingKey: partnershipKey,
    token: { issuer: 'http://localhost:4000/auth', audience: 'infoshare-hub', ttlSeconds: 300, tokenUrl: TOKEN_URL },
    ...overrides,
  };
}

const now = () => Math.floor(Date.now() / 1000);

/** A client assertion as an agency system would build it, with changes for the case under test. */
function assertion(
  claims: Record<string, unknown> = {},
  key: SigningKey = agencyKey,
  options: jwt.SignOptions = {},
): string {
  const clientId = (claims.iss as string | undefined) ?? 'nhs-lothian';
  return jwt.sign(
    { iss: clientId, sub: clientId, aud: TOKEN_URL, exp: now() + 240, jti: randomUUID(), ...claims },
    key.privateKey,
    { algorithm: key.alg, keyid: key.kid, ...options },
  );
}

function form(clientAssertion: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    grant_type: 'client_credentials',
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: clientAssertion,
    ...extra,
  };
}

async function refusal(body: unknown, d: TokenGrantDeps = deps()): Promise<OAuthError> {
  try {
    await grantToken(body, d);
  } catch (err) {
    if (isOAuthError(err)) return err;
    throw err;
  }
  throw new Error('token was granted');
}

async function expectRefused(body: unknown, code: OAuthErrorCode, description: string | RegExp, d?: TokenGrantDeps) {
  const err = await refusal(body, d);
  expect({ code: err.oauthError, description: err.description }).toEqual({ code, description: typeof description === 'string' ? description : expect.stringMatching(description) });
  expect(err.status).toBe(code === 'invalid_client' ? 401 : 400);
  return err;
}

describe('Token endpoint: granting tokens', () => {
  it('Issues a bearer token carrying the agency, partnership and every allowed scope', async () => {
    const { response, claims } = await grantToken(form(assertion()), deps());
    expect(response).toMatchObject({ token_type: 'bearer', expires_in: 300, scope: 'system/Patient.* system/*.read system/Task.review' });
    const verified = await verifyAccessToken(response.access_token, staticKeyResolver(publicJwks([partnershipKey])), {
      issuer: 'http://localhost:4000/auth',
      audience: 'infoshare-hub',
      algorithms: ['ES256'],
    });
    expect(verified).toMatchObject({ sub: 'nhs-lothian', agency: 'nhs-lothian', partnership: 'lothian-hscp' });
    expect(verified.jti).toBe(claims.jti);
  });

  it('Grants just the requested scopes when the client may have them', async () => {
    const { response } = await grantToken(form(assertion(), { scope: 'system/Patient.write system/CareTeam.read' }), deps());
    expect(response.scope).toBe('system/Patient.write system/CareTeam.read');
  });

  it('Accepts a client assertion signed with an RS384 client key', async () => {
    const { claims } = await grantToken(form(assertion({ iss: 'fife-social-work' }, rsaAgencyKey)), deps());
    expect(claims).toMatchObject({ agency: 'fife-social-work', partnership: 'fife-hscp', scope: 'system/Flag.read' });
  });

  it('Accepts a matching client_id alongside the assertion', async () => {
    const { claims } = await grantToken(form(assertion(), { client_id: 'nhs-lothian' }), deps());
    expect(claims.sub).toBe('nhs-lothian');
  });

  it('Names the acting practitioner when the directory confirms the role belongs to the agency', async () => {
    const seen: unknown[] = [];
    const check: ActingPersonCheck = async (client, person) => {
      seen.push([client.clientId, person.reference]);
      return true;
    };
    const { claims } = await grantToken(form(assertion(), { practitioner_role: 'np-1' }), deps({ checkActingPerson: check }));
    expect(claims.practitionerRole).toBe('PractitionerRole/np-1');
    expect(seen).toEqual([['nhs-lothian', 'PractitionerRole/np-1']]);
  });

  it('Names the acting patient given as a reference', async () => {
    const { claims } = await grantToken(form(assertion(), { patient: 'Patient/p-7' }), deps({ checkActingPerson: async () => true }));
    expect(claims.patient).toBe('Patient/p-7');
    expect(claims).not.toHaveProperty('practitionerRole');
  });

  it("Gives a person acting for themselves the patient scopes only, never the agency system's", async () => {
    const { claims } = await grantToken(form(assertion(), { patient: 'Patient/p-7' }), deps({ checkActingPerson: async () => true }));
    expect(claims.scope).toBe('patient/*.read patient/CarePlan.write');
    const narrowed = await grantToken(form(assertion(), { patient: 'p-7', scope: 'patient/CarePlan.read' }), deps({ checkActingPerson: async () => true }));
    expect(narrowed.claims.scope).toBe('patient/CarePlan.read');
    await expectRefused(form(assertion(), { patient: 'p-7', scope: 'system/Patient.read' }), 'invalid_scope', /not allowed/, deps({ checkActingPerson: async () => true }));
  });
});

describe('Token endpoint: refusing bad requests', () => {
  it('Rejects a request without a form body', async () => {
    await expectRefused(undefined, 'invalid_request', /x-www-form-urlencoded/);
  });

  it('Rejects a request without grant_type', async () => {
    const { grant_type: _g, ...body } = form(assertion());
    await expectRefused(body, 'invalid_request', 'grant_type is required');
  });

  it('Rejects a grant type other than client_credentials', async () => {
    await expectRefused(form(assertion(), { grant_type: 'password' }), 'unsupported_grant_type', /client_credentials/);
  });

  it('Rejects a missing or wrong client_assertion_type', async () => {
    await expectRefused(form(assertion(), { client_assertion_type: 'urn:other' }), 'invalid_request', /client_assertion_type/);
  });

  it('Rejects a request without a client assertion', async () => {
    await expectRefused(form(''), 'invalid_request', 'client_assertion is required');
  });

  it('Rejects a repeated parameter', async () => {
    await expectRefused(form(assertion(), { scope: ['system/Patient.read', 'system/Flag.read'] }), 'invalid_request', /given once/);
  });

  it('Rejects naming both an acting practitioner and a patient', async () => {
    const body = form(assertion(), { practitioner_role: 'np-1', patient: 'p-1' });
    await expectRefused(body, 'invalid_request', /not both/, deps({ checkActingPerson: async () => true }));
  });

  it('Rejects an acting person that is not a FHIR id', async () => {
    await expectRefused(form(assertion(), { practitioner_role: 'np 1/../x' }), 'invalid_request', /PractitionerRole id/);
  });
});

describe('Token endpoint: refusing client assertions', () => {
  it('Rejects an assertion signed by a key the client never registered', async () => {
    const stranger = generateKeyPair('ES256').signingKey;
    await expectRefused(form(assertion({}, stranger)), 'invalid_client', 'client assertion signed with an unregistered key');
  });

  it('Rejects an assertion signed by another key under the registered kid', async () => {
    const stranger = generateKeyPair('ES256').signingKey;
    const body = form(assertion({}, stranger, { keyid: agencyKey.kid }));
    await expectRefused(body, 'invalid_client', 'client assertion signature does not verify with the registered key');
  });

  it('Rejects an assertion from an unknown client', async () => {
    await expectRefused(form(assertion({ iss: 'not-registered' })), 'invalid_client', 'unknown client');
  });

  it('Rejects an assertion whose sub is not the client id', async () => {
    await expectRefused(form(assertion({ sub: 'someone-else' })), 'invalid_client', /sub must equal iss/);
  });

  it('Rejects a client_id that disagrees with the assertion', async () => {
    await expectRefused(form(assertion(), { client_id: 'fife-social-work' }), 'invalid_client', /client_id does not match/);
  });

  it('Rejects an assertion addressed to another token URL', async () => {
    await expectRefused(form(assertion({ aud: 'https://elsewhere.example/token' })), 'invalid_client', 'client assertion aud must be the token URL');
  });

  it('Rejects an expired assertion', async () => {
    await expectRefused(form(assertion({ exp: now() - 120 })), 'invalid_client', 'client assertion expired');
  });

  it('Rejects an assertion that expires more than 5 minutes ahead', async () => {
    await expectRefused(form(assertion({ exp: now() + 3600 })), 'invalid_client', /more than 5 minutes ahead/);
  });

  it('Rejects an assertion without exp', async () => {
    const token = jwt.sign({ iss: 'nhs-lothian', sub: 'nhs-lothian', aud: TOKEN_URL, jti: randomUUID() }, agencyKey.privateKey, {
      algorithm: 'ES256',
      keyid: agencyKey.kid,
    });
    await expectRefused(form(token), 'invalid_client', 'client assertion has no exp');
  });

  it('Rejects an assertion without jti', async () => {
    await expectRefused(form(assertion({ jti: undefined })), 'invalid_client', 'client assertion has no usable jti');
  });

  it('Rejects a replayed client assertion', async () => {
    const d = deps();
    const once = assertion();
    await grantToken(form(once), d);
    const err = await expectRefused(form(once), 'invalid_client', 'client assertion replayed (jti already used)', d);
    expect(err.claimedClientId).toBe('nhs-lothian');
  });

  it('Does not let a forged assertion use up a genuine jti', async () => {
    const d = deps();
    const jti = randomUUID();
    const stranger = generateKeyPair('ES256').signingKey;
    await expectRefused(form(assertion({ jti }, stranger, { keyid: agencyKey.kid })), 'invalid_client', /does not verify/, d);
    await expect(grantToken(form(assertion({ jti })), d)).resolves.toMatchObject({ claims: { sub: 'nhs-lothian' } });
  });

  it('Rejects an unsigned assertion (alg: none)', async () => {
    const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: 'nhs-lothian', sub: 'nhs-lothian', aud: TOKEN_URL, exp: now() + 60, jti: 'x' })}.`;
    await expectRefused(form(unsigned), 'invalid_client', 'client assertion algorithm not allowed');
  });

  it('Rejects an HS256 assertion keyed with the registered public key', async () => {
    const publicPem = agencyKey.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const token = jwt.sign({ iss: 'nhs-lothian', sub: 'nhs-lothian', aud: TOKEN_URL, exp: now() + 60, jti: randomUUID() }, publicPem, {
      algorithm: 'HS256',
    });
    await expectRefused(form(token), 'invalid_client', 'client assertion algorithm not allowed');
  });

  it('Rejects an assertion whose algorithm does not fit the registered key', async () => {
    const rsa = generateKeyPair('RS256').signingKey;
    await expectRefused(form(assertion({}, rsa, { keyid: agencyKey.kid })), 'invalid_client', 'client assertion algorithm not allowed');
  });

  it('Rejects text that is not a JWT', async () => {
    await expectRefused(form('not-a-jwt'), 'invalid_client', 'client assertion is not a valid JWT');
  });
});

describe('Token endpoint: refusing scopes and acting persons', () => {
  it('Rejects a requested scope the client may not have', async () => {
    await expectRefused(form(assertion(), { scope: 'system/Patient.read system/Contract.sign' }), 'invalid_scope', /system\/Contract\.sign is not allowed/);
  });

  it('Rejects a patient scope for an agency system acting for no person', async () => {
    await expectRefused(form(assertion(), { scope: 'patient/*.read' }), 'invalid_scope', /scope patient\/\*\.read is not allowed/);
  });

  it('Rejects a scope that is neither a system nor a patient scope', async () => {
    await expectRefused(form(assertion(), { scope: 'user/*.read' }), 'invalid_scope', /unknown scope user\/\*\.read/);
  });

  it('Rejects a client that is allowed no scopes at all', async () => {
    const anyKey = generateKeyPair('ES256').signingKey;
    const d = deps({ clients: async (id) => (id === 'edinburgh-housing' ? { ...clients['edinburgh-housing']!, publicJwk: anyKey.publicJwk } : undefined) });
    await expectRefused(form(assertion({ iss: 'edinburgh-housing' }, anyKey)), 'invalid_scope', /no scopes/, d);
  });

  it('Rejects an acting practitioner whose role is not in the agency', async () => {
    const body = form(assertion(), { practitioner_role: 'np-of-fife' });
    await expectRefused(body, 'invalid_grant', 'PractitionerRole/np-of-fife may not act through nhs-lothian', deps({ checkActingPerson: async () => false }));
  });

  it('Refuses acting persons when the directory has no way to check them', async () => {
    await expectRefused(form(assertion(), { patient: 'p-1' }), 'invalid_request', /does not accept an acting person/);
  });
});

describe('Token endpoint errors', () => {
  it('Are OperationOutcomes with the OAuth error code alongside', async () => {
    const err = await refusal(form(assertion({ iss: 'not-registered' })));
    expect(isOperationOutcomeError(err)).toBe(true);
    expect(err.outcome.issue[0]).toMatchObject({ severity: 'error', code: 'login', details: { text: 'invalid_client: unknown client' } });
    // The rendered body itself carries RFC 6749's members, for OAuth client libraries.
    expect(err.outcome).toMatchObject({ resourceType: 'OperationOutcome', error: 'invalid_client', error_description: 'unknown client' });
    expect(err.oauthBody()).toEqual({ error: 'invalid_client', error_description: 'unknown client' });
    expect(err.claimedClientId).toBe('not-registered');
  });
});
