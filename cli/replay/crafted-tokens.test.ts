import { issueAccessToken, verifyAccessToken } from '../../shared/auth/access-token.js';
import { verifyClientAssertion, type RegisteredClient } from '../../shared/auth/client-assertion.js';
import type { JtiStore } from '../../shared/auth/jti-store.js';
import { staticKeyResolver } from '../../shared/auth/jwks-resolver.js';
import { generateKeyPair, publicJwks } from '../../shared/auth/keys.js';
import { craftAccessToken, craftAssertion } from './crafted-tokens.js';
import { ACCESS_TOKEN_VARIANTS, ASSERTION_VARIANTS, type AccessTokenVariant, type AssertionVariant } from './scenario.js';

const ISSUER = 'http://localhost:4000/auth';
const AUDIENCE = 'infoshare-hub';
const TOKEN_URL = 'http://localhost:4000/auth/token';

describe('crafted access tokens', () => {
  const partnership = generateKeyPair('ES256').signingKey;
  const genuine = async () =>
    issueAccessToken(
      { clientId: 'nhs-lothian', scopes: ['system/CareTeam.read'], agency: 'nhs-lothian', partnership: 'lothian-hscp' },
      partnership,
      { issuer: ISSUER, audience: AUDIENCE, ttlSeconds: 300 },
    ).token;
  const material = { partnershipKey: async () => partnership, jwks: async () => publicJwks([partnership]) };
  const verify = (token: string | undefined) =>
    verifyAccessToken(token, staticKeyResolver(publicJwks([partnership])), { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'] });

  it('leaves a valid token verifiable', async () => {
    const token = await craftAccessToken('valid', genuine, material);
    await expect(verify(token)).resolves.toMatchObject({ agency: 'nhs-lothian' });
  });

  const refusals: Record<Exclude<AccessTokenVariant, 'valid'>, RegExp> = {
    none: /Access token required/,
    malformed: /malformed token/,
    expired: /token expired/,
    'wrong-audience': /wrong audience/,
    'wrong-issuer': /wrong issuer/,
    'alg-none': /algorithm not allowed/,
    'hs256-public-key': /algorithm not allowed/,
    'unregistered-key': /invalid signature/,
  };

  it.each(ACCESS_TOKEN_VARIANTS.filter((v) => v !== 'valid'))('makes a "%s" token the hub refuses for exactly that reason', async (variant) => {
    const token = await craftAccessToken(variant, genuine, material);
    await expect(verify(token)).rejects.toThrow(refusals[variant]);
  });
});

describe('crafted client assertions', () => {
  const agency = generateKeyPair('ES256');
  const other = generateKeyPair('ES256');
  const clients: Record<string, RegisteredClient> = {
    'edinburgh-education': {
      clientId: 'edinburgh-education',
      agency: 'edinburgh-education',
      partnership: 'lothian-hscp',
      publicJwk: agency.publicJwk,
      allowedScopes: ['system/*.read'],
    },
    'nhs-lothian': { clientId: 'nhs-lothian', agency: 'nhs-lothian', partnership: 'lothian-hscp', publicJwk: other.publicJwk, allowedScopes: [] },
  };
  const jtiStore: JtiStore = { remember: async () => true };
  const verify = (assertion: string) => verifyClientAssertion(assertion, { clients: async (id) => clients[id], jtiStore, tokenUrl: TOKEN_URL });
  const input = { agencyId: 'edinburgh-education', tokenUrl: TOKEN_URL, key: agency.signingKey };

  it('leaves a valid (and a to-be-replayed) assertion acceptable', async () => {
    await expect(verify(craftAssertion('valid', input)!)).resolves.toBe(clients['edinburgh-education']);
    await expect(verify(craftAssertion('replayed', input)!)).resolves.toBe(clients['edinburgh-education']);
  });

  it('leaves the assertion out for "missing"', () => {
    expect(craftAssertion('missing', input)).toBeUndefined();
  });

  const refusals: Record<Exclude<AssertionVariant, 'valid' | 'replayed' | 'missing'>, RegExp> = {
    expired: /expired/,
    'too-long-lived': /more than 5 minutes/,
    'wrong-audience': /aud must be the token URL/,
    'wrong-issuer': /signature does not verify|unregistered key/,
    'alg-none': /algorithm not allowed/,
    'hs256-public-key': /algorithm not allowed/,
    'unregistered-key': /signature does not verify/,
  };

  it.each(Object.keys(refusals) as (keyof typeof refusals)[])('makes a "%s" assertion the token endpoint refuses for that reason', async (variant) => {
    expect(ASSERTION_VARIANTS).toContain(variant);
    await expect(verify(craftAssertion(variant, input)!)).rejects.toThrow(refusals[variant]);
  });
});
