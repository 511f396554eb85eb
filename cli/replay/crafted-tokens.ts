/**
 * Tokens made wrong on purpose, so scenarios can show the hub refusing each
 * kind of forgery or mistake (issue 2, "Bad input"). Every variant starts from
 * something genuine — a real access token, or a properly signed client
 * assertion — and changes exactly one thing, so a refusal can only be for
 * that one reason.
 */
import { createHmac, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { generateKeyPair, keyObjectFromJwk, type SigningKey } from '../../shared/auth/keys.js';
import { signClientAssertion } from '../../shared/client/client-assertion.js';
import type { AccessTokenVariant, AssertionVariant } from './scenario.js';

const OTHER_AUDIENCE = 'https://not-this-hub.example';
const OTHER_ISSUER = 'https://issuer.not-this-hub.example/auth';
const HOUR = 3600;

type Claims = Record<string, unknown>;

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A compact JWT with the given header and claims and no signature (`alg: none`). */
export function unsignedJwt(header: Claims, claims: Claims): string {
  return `${b64url({ ...header, alg: 'none' })}.${b64url(claims)}.`;
}

/** A compact HS256 JWT keyed with `secret` — for the algorithm-confusion attack, where the secret is a public key. */
export function hs256Jwt(header: Claims, claims: Claims, secret: string): string {
  const input = `${b64url({ ...header, alg: 'HS256' })}.${b64url(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** A public key (a published JWK, or one of our SigningKeys) as the PEM text an attacker would use as an HMAC secret. */
export function publicKeyPem(jwkOrKey: unknown): string {
  const key = isSigningKey(jwkOrKey) ? jwkOrKey.publicKey : keyObjectFromJwk(jwkOrKey);
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

function isSigningKey(v: unknown): v is SigningKey {
  return typeof v === 'object' && v !== null && 'privateKey' in v && 'publicKey' in v;
}

function decode(token: string): { header: Claims; claims: Claims } {
  const decoded = jwt.decode(token, { complete: true });
  if (!decoded || typeof decoded.payload !== 'object') throw new Error('the genuine token is not a JWT');
  return { header: { ...decoded.header }, claims: { ...decoded.payload } };
}

/** What crafting an access token may need besides the genuine token. */
export interface AccessTokenMaterial {
  /** The partnership signing key (demo key file): only for expired / wrong-audience / wrong-issuer. */
  readonly partnershipKey: () => Promise<SigningKey>;
  /** The directory's published JWKS: for the HS256-with-public-key attack. */
  readonly jwks: () => Promise<{ keys: readonly unknown[] }>;
}

/**
 * The access token a step presents, made from a genuine one. Returns undefined
 * for `none` (no Authorization header at all).
 */
export async function craftAccessToken(variant: AccessTokenVariant, genuine: () => Promise<string>, material: AccessTokenMaterial): Promise<string | undefined> {
  switch (variant) {
    case 'valid':
      return genuine();
    case 'none':
      return undefined;
    case 'malformed':
      return 'this-is-not-a-jwt';
    default:
      break;
  }
  const { header, claims } = decode(await genuine());
  const now = Math.floor(Date.now() / 1000);
  const fresh = { ...claims, jti: randomUUID() };
  switch (variant) {
    case 'expired':
    case 'wrong-audience':
    case 'wrong-issuer': {
      const key = await material.partnershipKey();
      const changed =
        variant === 'expired'
          ? { ...fresh, iat: now - 2 * HOUR, exp: now - HOUR }
          : variant === 'wrong-audience'
            ? { ...fresh, aud: OTHER_AUDIENCE }
            : { ...fresh, iss: OTHER_ISSUER };
      return jwt.sign(changed, key.privateKey, { algorithm: key.alg, keyid: key.kid });
    }
    case 'alg-none':
      return unsignedJwt(header, fresh);
    case 'hs256-public-key': {
      const { keys } = await material.jwks();
      const published = keys.find((k) => (k as { kid?: unknown }).kid === header.kid) ?? keys[0];
      if (!published) throw new Error('the directory publishes no key to misuse');
      return hs256Jwt(header, fresh, publicKeyPem(published));
    }
    case 'unregistered-key': {
      // A stranger's key claiming the directory's key id: only the signature can give it away.
      const stranger = generateKeyPair('ES256').signingKey;
      return jwt.sign(fresh, stranger.privateKey, { algorithm: 'ES256', keyid: typeof header.kid === 'string' ? header.kid : stranger.kid });
    }
  }
}

export interface AssertionInput {
  readonly agencyId: string;
  readonly tokenUrl: string;
  readonly key: SigningKey;
  /** For `wrong-issuer`: the agency the assertion pretends to come from. */
  readonly impersonate?: string;
}

/**
 * The client assertion of a `token` step. `missing` gives undefined (no field);
 * `replayed` gives an ordinary valid assertion — the runner sends it twice.
 */
export function craftAssertion(variant: AssertionVariant, input: AssertionInput): string | undefined {
  const { agencyId, tokenUrl, key } = input;
  const now = Math.floor(Date.now() / 1000);
  const base = { iss: agencyId, sub: agencyId, aud: tokenUrl, iat: now, exp: now + 60, jti: randomUUID() };
  const header = { typ: 'JWT', kid: key.kid };
  const sign = (claims: Claims) => jwt.sign(claims, key.privateKey, { algorithm: key.alg, keyid: key.kid });
  switch (variant) {
    case 'valid':
    case 'replayed':
      return signClientAssertion({ clientId: agencyId, tokenUrl, key });
    case 'missing':
      return undefined;
    case 'expired':
      return sign({ ...base, iat: now - 2 * HOUR, exp: now - HOUR });
    case 'too-long-lived':
      return sign({ ...base, exp: now + HOUR });
    case 'wrong-audience':
      return sign({ ...base, aud: `${OTHER_AUDIENCE}/auth/token` });
    case 'wrong-issuer': {
      const other = input.impersonate ?? (agencyId === 'nhs-lothian' ? 'nhs-fife' : 'nhs-lothian');
      return sign({ ...base, iss: other, sub: other });
    }
    case 'alg-none':
      return unsignedJwt(header, base);
    case 'hs256-public-key':
      return hs256Jwt(header, base, publicKeyPem(key));
    case 'unregistered-key': {
      const stranger = generateKeyPair('ES256').signingKey;
      return jwt.sign(base, stranger.privateKey, { algorithm: 'ES256', keyid: key.kid });
    }
  }
}
