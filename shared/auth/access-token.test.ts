import jwt from 'jsonwebtoken';
import { isOperationOutcomeError, unavailable, type OperationOutcomeError } from '../fhir/outcome.js';
import { jest } from '@jest/globals';
import { CLOCK_TOLERANCE_SECONDS, issueAccessToken, verifyAccessToken, VerifiedTokens, type AccessTokenExpectations } from './access-token.js';
import { staticKeyResolver } from './jwks-resolver.js';
import { generateKeyPair, publicJwks } from './keys.js';

const partnership = generateKeyPair('ES256');
const resolver = staticKeyResolver(publicJwks([partnership.signingKey]));
const config = { issuer: 'http://localhost:4000/auth', audience: 'infoshare-hub', ttlSeconds: 300 };
const expected: AccessTokenExpectations = { issuer: config.issuer, audience: config.audience, algorithms: ['ES256'] };
const grant = {
  clientId: 'nhs-lothian',
  scopes: ['system/Patient.read', 'system/Flag.write'],
  agency: 'nhs-lothian',
  partnership: 'lothian-hscp',
};

function b64(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Claims a valid token would carry, for hand-built tokens. */
function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: config.issuer,
    aud: config.audience,
    sub: 'nhs-lothian',
    iat: now,
    exp: now + 300,
    jti: 'j-1',
    scope: 'system/Patient.read',
    agency: 'nhs-lothian',
    partnership: 'lothian-hscp',
    ...overrides,
  };
}

async function rejection(token: string | undefined, exp: AccessTokenExpectations = expected): Promise<OperationOutcomeError> {
  try {
    await verifyAccessToken(token, resolver, exp);
  } catch (err) {
    if (isOperationOutcomeError(err)) return err;
    throw err;
  }
  throw new Error('token was accepted');
}

describe('Access tokens', () => {
  it('Accepts a token issued with the partnership key and returns its claims', async () => {
    const { token } = issueAccessToken({ ...grant, practitionerRole: 'PractitionerRole/np-1' }, partnership.signingKey, config);
    const verified = await verifyAccessToken(token, resolver, expected);
    expect(verified).toMatchObject({
      iss: config.issuer,
      aud: config.audience,
      sub: 'nhs-lothian',
      agency: 'nhs-lothian',
      partnership: 'lothian-hscp',
      scope: 'system/Patient.read system/Flag.write',
      practitionerRole: 'PractitionerRole/np-1',
    });
    expect(verified.exp - verified.iat).toBe(300);
    expect(verified).not.toHaveProperty('patient');
  });

  it('Names the signing key in the token header', () => {
    const { token } = issueAccessToken(grant, partnership.signingKey, config);
    expect(jwt.decode(token, { complete: true })?.header).toMatchObject({ alg: 'ES256', kid: partnership.signingKey.kid });
  });

  it('Gives every token its own jti', () => {
    const a = issueAccessToken(grant, partnership.signingKey, config).claims.jti;
    const b = issueAccessToken(grant, partnership.signingKey, config).claims.jti;
    expect(a).not.toBe(b);
  });

  it('Accepts RS256 tokens when RS256 is the configured algorithm', async () => {
    const rsa = generateKeyPair('RS256');
    const { token } = issueAccessToken(grant, rsa.signingKey, config);
    const claimsOut = await verifyAccessToken(token, staticKeyResolver(publicJwks([rsa.signingKey])), { ...expected, algorithms: ['RS256'] });
    expect(claimsOut.agency).toBe('nhs-lothian');
  });

  it('Rejects a request without a token', async () => {
    const err = await rejection(undefined);
    expect(err.status).toBe(401);
    expect(err.outcome.issue[0]?.code).toBe('login');
    expect(err.message).toMatch(/Access token required/);
  });

  it('Rejects an expired token', async () => {
    const { token } = issueAccessToken(grant, partnership.signingKey, config, Date.now() - (300 + CLOCK_TOLERANCE_SECONDS + 5) * 1000);
    const err = await rejection(token);
    expect(err.status).toBe(401);
    expect(err.message).toBe('Access token rejected: token expired');
  });

  it('Tolerates a token that expired less than the clock tolerance ago', async () => {
    const { token } = issueAccessToken(grant, partnership.signingKey, config, Date.now() - 310 * 1000);
    await expect(verifyAccessToken(token, resolver, expected)).resolves.toMatchObject({ sub: 'nhs-lothian' });
  });

  it('Rejects a token with the wrong audience without revealing the expected one', async () => {
    const { token } = issueAccessToken(grant, partnership.signingKey, { ...config, audience: 'another-hub' });
    const err = await rejection(token);
    expect(err.message).toBe('Access token rejected: wrong audience');
    expect(JSON.stringify(err.outcome)).not.toContain('infoshare-hub');
  });

  it('Rejects a token with the wrong issuer', async () => {
    const { token } = issueAccessToken(grant, partnership.signingKey, { ...config, issuer: 'https://evil.example/auth' });
    const err = await rejection(token);
    expect(err.message).toBe('Access token rejected: wrong issuer');
    expect(JSON.stringify(err.outcome)).not.toContain(config.issuer);
  });

  it('Rejects an unsigned token (alg: none)', async () => {
    const token = `${b64({ alg: 'none', typ: 'JWT', kid: partnership.signingKey.kid })}.${b64(claims())}.`;
    expect((await rejection(token)).message).toBe('Access token rejected: algorithm not allowed');
  });

  it('Rejects an HS256 token keyed with the public key as the secret', async () => {
    const publicPem = partnership.signingKey.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const token = jwt.sign(claims(), publicPem, { algorithm: 'HS256', keyid: partnership.signingKey.kid });
    expect((await rejection(token)).message).toBe('Access token rejected: algorithm not allowed');
  });

  it('Rejects a token signed by a key the issuer does not publish', async () => {
    const stranger = generateKeyPair('ES256');
    const { token } = issueAccessToken(grant, stranger.signingKey, config);
    expect((await rejection(token)).message).toBe('Access token rejected: unknown signing key');
  });

  it('Rejects a token signed by another key that claims the partnership key id', async () => {
    const stranger = generateKeyPair('ES256');
    const token = jwt.sign(claims(), stranger.signingKey.privateKey, { algorithm: 'ES256', keyid: partnership.signingKey.kid });
    expect((await rejection(token)).message).toBe('Access token rejected: invalid signature');
  });

  it('Rejects a token whose kid is not in the JWKS', async () => {
    const token = jwt.sign(claims(), partnership.signingKey.privateKey, { algorithm: 'ES256', keyid: 'no-such-key' });
    expect((await rejection(token)).message).toBe('Access token rejected: unknown signing key');
  });

  it('Rejects a token that names no key', async () => {
    const token = jwt.sign(claims(), partnership.signingKey.privateKey, { algorithm: 'ES256' });
    expect((await rejection(token)).message).toBe('Access token rejected: unknown signing key');
  });

  it('Rejects an allowed algorithm used with a key of another type', async () => {
    const rsa = generateKeyPair('RS256');
    const token = jwt.sign(claims(), rsa.signingKey.privateKey, { algorithm: 'RS256', keyid: partnership.signingKey.kid });
    const err = await rejection(token, { ...expected, algorithms: ['ES256', 'RS256'] });
    expect(err.message).toBe('Access token rejected: algorithm not allowed');
  });

  it('Rejects text that is not a JWT', async () => {
    for (const junk of ['abc', 'a.b.c', `${b64({ alg: 'ES256' })}.bm90IGpzb24.sig`, 'x'.repeat(9000)]) {
      expect((await rejection(junk)).message).toBe('Access token rejected: malformed token');
    }
  });

  it('Rejects a signed token that lacks the agency claim', async () => {
    const { agency: _agency, ...withoutAgency } = claims();
    const token = jwt.sign(withoutAgency, partnership.signingKey.privateKey, { algorithm: 'ES256', keyid: partnership.signingKey.kid });
    expect((await rejection(token)).message).toBe('Access token rejected: malformed token (claim agency)');
  });

  it('Rejects a signed token that never expires', async () => {
    const { exp: _exp, ...withoutExp } = claims();
    const token = jwt.sign(withoutExp, partnership.signingKey.privateKey, { algorithm: 'ES256', keyid: partnership.signingKey.kid });
    expect((await rejection(token)).message).toBe('Access token rejected: malformed token (claim exp)');
  });

  it('Rejects a signed token without iat (its lifetime cannot be told)', async () => {
    const { iat: _iat, ...withoutIat } = claims();
    const token = jwt.sign(withoutIat, partnership.signingKey.privateKey, { algorithm: 'ES256', keyid: partnership.signingKey.kid, noTimestamp: true });
    expect((await rejection(token)).message).toBe('Access token rejected: malformed token (claim iat)');
  });

  it('Rejects a signed token whose lifetime is longer than any hub issues', async () => {
    const now = Math.floor(Date.now() / 1000);
    const sign = (extra: Record<string, unknown>) => jwt.sign(claims(extra), partnership.signingKey.privateKey, { algorithm: 'ES256', keyid: partnership.signingKey.kid });
    expect((await rejection(sign({ iat: now, exp: now + 10 * 365 * 86_400 }))).message).toBe('Access token rejected: token lifetime longer than 3600 s (exp - iat)');
    expect((await rejection(sign({ iat: now - 3000, exp: now + 601 }))).message).toBe('Access token rejected: token lifetime longer than 3600 s (exp - iat)');
    // The longest a hub may be configured to issue is accepted.
    await expect(verifyAccessToken(sign({ iat: now, exp: now + 3600 }), resolver, expected)).resolves.toMatchObject({ exp: now + 3600 });
  });

  it('Rejects a signed token issued in the future, beyond the clock tolerance', async () => {
    const now = Math.floor(Date.now() / 1000);
    const sign = (iat: number) => jwt.sign(claims({ iat, exp: iat + 300 }), partnership.signingKey.privateKey, { algorithm: 'ES256', keyid: partnership.signingKey.kid });
    expect((await rejection(sign(now + CLOCK_TOLERANCE_SECONDS + 60))).message).toBe('Access token rejected: token issued in the future (iat)');
    await expect(verifyAccessToken(sign(now + CLOCK_TOLERANCE_SECONDS - 5), resolver, expected)).resolves.toMatchObject({ iat: now + CLOCK_TOLERANCE_SECONDS - 5 });
  });

  it('Rejects a token whose acting practitioner is not a PractitionerRole reference', async () => {
    const token = jwt.sign(claims({ practitionerRole: 'Patient/1' }), partnership.signingKey.privateKey, {
      algorithm: 'ES256',
      keyid: partnership.signingKey.kid,
    });
    expect((await rejection(token)).message).toBe('Access token rejected: malformed token (claim practitionerRole)');
  });

  it('Rejects a token that is not valid yet', async () => {
    const token = jwt.sign(claims({ nbf: Math.floor(Date.now() / 1000) + 600 }), partnership.signingKey.privateKey, {
      algorithm: 'ES256',
      keyid: partnership.signingKey.kid,
    });
    expect((await rejection(token)).message).toBe('Access token rejected: token not yet valid');
  });

  it('Passes on an outage of the key source as it is (503), not as a bad token', async () => {
    const { token } = issueAccessToken(grant, partnership.signingKey, config);
    const down = async () => {
      throw unavailable('keys unavailable');
    };
    await expect(verifyAccessToken(token, down, expected)).rejects.toMatchObject({ status: 503 });
  });
});

describe('Tokens verified before (VerifiedTokens)', () => {
  /** A resolver that counts look-ups and can be switched to another key set. */
  function switchableResolver() {
    let current = resolver;
    return {
      resolve: (kid: string) => current(kid),
      rotateTo(keys: ReturnType<typeof generateKeyPair>[]) {
        current = staticKeyResolver(publicJwks(keys.map((k) => k.signingKey)));
      },
    };
  }

  it('answers the same token again with the same claims, without checking its signature again', async () => {
    const { token } = issueAccessToken(grant, partnership.signingKey, config);
    const verified = new VerifiedTokens(resolver, expected);
    const first = await verified.verify(token);
    const verifySpy = jest.spyOn(jwt, 'verify');
    try {
      expect(await verified.verify(token)).toEqual(first);
      expect(verifySpy).not.toHaveBeenCalled();
    } finally {
      verifySpy.mockRestore();
    }
  });

  it('never lets a token through that differs from the one verified, even by its signature', async () => {
    const { token } = issueAccessToken(grant, partnership.signingKey, config);
    const verified = new VerifiedTokens(resolver, expected);
    await verified.verify(token);
    const [header, payload] = token.split('.');
    await expect(verified.verify(`${header}.${payload}.${b64({ forged: true })}`)).rejects.toMatchObject({ status: 401 });
    await expect(verified.verify(undefined)).rejects.toMatchObject({ status: 401 });
  });

  it('refuses a kept token once it has expired (with the same clock tolerance)', async () => {
    let clock = Date.now();
    const { token, claims: issued } = issueAccessToken(grant, partnership.signingKey, config, clock);
    const verified = new VerifiedTokens(resolver, {
      ...expected,
      get nowMs() {
        return clock;
      },
    });
    await verified.verify(token);
    clock = (issued.exp + CLOCK_TOLERANCE_SECONDS - 1) * 1000;
    await expect(verified.verify(token)).resolves.toMatchObject({ sub: 'nhs-lothian' });
    clock = (issued.exp + CLOCK_TOLERANCE_SECONDS) * 1000;
    await expect(verified.verify(token)).rejects.toMatchObject({ message: 'Access token rejected: token expired' });
  });

  it('verifies afresh — and refuses — a kept token whose signing key was retired', async () => {
    const keys = switchableResolver();
    const { token } = issueAccessToken(grant, partnership.signingKey, config);
    const verified = new VerifiedTokens(keys.resolve, expected);
    await verified.verify(token);
    keys.rotateTo([generateKeyPair('ES256')]);
    await expect(verified.verify(token)).rejects.toMatchObject({ message: 'Access token rejected: unknown signing key' });
  });

  it('keeps at most the tokens it was told to, dropping the oldest', async () => {
    const verified = new VerifiedTokens(resolver, expected, 2);
    const tokens = [1, 2, 3].map((i) => issueAccessToken({ ...grant, clientId: `c${i}` }, partnership.signingKey, config).token);
    for (const token of tokens) await verified.verify(token);
    const verifySpy = jest.spyOn(jwt, 'verify');
    try {
      await verified.verify(tokens[2]);
      expect(verifySpy).not.toHaveBeenCalled();
      await verified.verify(tokens[0]);
      expect(verifySpy).toHaveBeenCalledTimes(1);
    } finally {
      verifySpy.mockRestore();
    }
  });
});
