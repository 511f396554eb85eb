/**
 * Access tokens: issued by the directory's token endpoint, verified by every service.
 *
 * Verification is deliberately narrow: an explicit allow-list of asymmetric
 * algorithms checked before anything else, a public KeyObject found by `kid`
 * (so `alg: none` and HS256 keyed with the public key can never verify),
 * then signature, expiry, issuer and audience. Rejections say why in words
 * that reveal nothing about keys or expected values.
 */
import { randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { MAX_TOKEN_TTL_SECONDS, type HubConfig } from '../config.js';
import { unauthorized, type OperationOutcomeError } from '../fhir/outcome.js';
import { unverifiedJwt } from './unverified-jwt.js';
import { UnknownSigningKeyError, type KeyResolver } from './jwks-resolver.js';
import { keyFitsAlgorithm, type SigningAlgorithm, type SigningKey } from './keys.js';

/**
 * Clock skew tolerated between the directory and a verifying service when
 * checking `exp`/`nbf`: 30 s, small next to the token lifetime (default 5 min)
 * and enough for hosts kept in step by NTP.
 */
export const CLOCK_TOLERANCE_SECONDS = 30;

/** Longer than any token we issue; refusing early keeps junk out of the JSON parser. */
const MAX_TOKEN_LENGTH = 8192;

const FHIR_ID = '[A-Za-z0-9\\-.]{1,64}';
const PRACTITIONER_ROLE_REF = new RegExp(`^PractitionerRole/${FHIR_ID}$`);
const PATIENT_REF = new RegExp(`^Patient/${FHIR_ID}$`);

/** The claims of a hub access token. */
export interface AccessTokenClaims {
  readonly iss: string;
  readonly aud: string;
  /** The client id (the agency system that authenticated). */
  readonly sub: string;
  readonly exp: number;
  readonly iat: number;
  readonly jti: string;
  /** Granted scopes, space-separated. */
  readonly scope: string;
  /** The client's agency (Organization id). */
  readonly agency: string;
  /** The agency's partnership (Organization id). */
  readonly partnership: string;
  /** `PractitionerRole/<id>` when a practitioner acts through the agency system. */
  readonly practitionerRole?: string;
  /** `Patient/<id>` when the person themselves acts. */
  readonly patient?: string;
}

/** What the token endpoint decided to grant. */
export interface AccessTokenInput {
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly agency: string;
  readonly partnership: string;
  readonly practitionerRole?: string;
  readonly patient?: string;
}

export type TokenIssuerConfig = Pick<HubConfig['token'], 'issuer' | 'audience' | 'ttlSeconds'>;

export interface IssuedAccessToken {
  readonly token: string;
  readonly claims: AccessTokenClaims;
}

/** Signs an access token with the partnership key (its own `alg`, `kid` in the header). */
export function issueAccessToken(
  input: AccessTokenInput,
  key: SigningKey,
  config: TokenIssuerConfig,
  nowMs: number = Date.now(),
): IssuedAccessToken {
  const iat = Math.floor(nowMs / 1000);
  const claims: AccessTokenClaims = {
    iss: config.issuer,
    aud: config.audience,
    sub: input.clientId,
    iat,
    exp: iat + config.ttlSeconds,
    jti: randomUUID(),
    scope: input.scopes.join(' '),
    agency: input.agency,
    partnership: input.partnership,
    ...(input.practitionerRole ? { practitionerRole: input.practitionerRole } : {}),
    ...(input.patient ? { patient: input.patient } : {}),
  };
  const token = jwt.sign({ ...claims }, key.privateKey, { algorithm: key.alg, keyid: key.kid });
  return { token, claims };
}

export interface AccessTokenExpectations {
  readonly issuer: string;
  readonly audience: string;
  /** The only algorithms accepted (from config); anything else is refused before any key is looked up. */
  readonly algorithms: readonly SigningAlgorithm[];
  /** For tests: the time to verify at, in ms. Defaults to now. */
  readonly nowMs?: number;
}

/** What every service expects of an access token, from the hub config. */
export function accessTokenExpectations(config: Pick<HubConfig, 'token'>): AccessTokenExpectations {
  return { issuer: config.token.issuer, audience: config.token.audience, algorithms: config.token.algorithms };
}

/**
 * Verifies an access token and returns its claims, or throws a 401
 * OperationOutcomeError saying why ("token expired", "wrong audience", …).
 * A resolver that cannot reach the issuer's keys throws its own 503.
 */
export async function verifyAccessToken(
  token: string | undefined,
  resolveKey: KeyResolver,
  expected: AccessTokenExpectations,
): Promise<AccessTokenClaims> {
  return (await verifiedToken(token, resolveKey, expected)).claims;
}

/** A verified token's claims and the key that verified it (`VerifiedTokens` keeps both). */
interface VerifiedToken {
  readonly claims: AccessTokenClaims;
  readonly kid: string;
  readonly key: KeyObject;
}

async function verifiedToken(token: string | undefined, resolveKey: KeyResolver, expected: AccessTokenExpectations): Promise<VerifiedToken> {
  if (!token) throw unauthorized('Access token required: send Authorization: Bearer <token>');
  if (token.length > MAX_TOKEN_LENGTH) throw rejected('malformed token');

  const decoded = unverifiedJwt(token);
  if (!decoded || typeof decoded.payload !== 'object') throw rejected('malformed token');
  const { alg, kid } = decoded.header;
  // RFC 7515 §4.1.11: a token naming extensions the recipient must understand (`crit`) is refused; we understand none.
  if ('crit' in decoded.header) throw rejected('critical header extensions not supported');
  if (!(expected.algorithms as readonly string[]).includes(alg)) throw rejected('algorithm not allowed');
  if (typeof kid !== 'string' || kid.length === 0) throw rejected('unknown signing key');

  let key: KeyObject;
  try {
    key = await resolveKey(kid);
  } catch (err) {
    if (err instanceof UnknownSigningKeyError) throw rejected('unknown signing key');
    throw err;
  }
  // An RS256 header over an EC key (or the reverse) is refused here rather than by a library message.
  if (!keyFitsAlgorithm(key, alg as SigningAlgorithm)) throw rejected('algorithm not allowed');

  let payload: string | jwt.JwtPayload;
  try {
    payload = jwt.verify(token, key, {
      algorithms: [alg as SigningAlgorithm],
      issuer: expected.issuer,
      audience: expected.audience,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      ...(expected.nowMs !== undefined ? { clockTimestamp: Math.floor(expected.nowMs / 1000) } : {}),
    });
  } catch (err) {
    throw rejected(reasonFor(err));
  }
  if (typeof payload === 'string') throw rejected('malformed token');
  const claims = claimsFrom(payload, expected.audience);
  lifetimeProblem(claims, expected.nowMs ?? Date.now());
  return { claims, kid, key };
}

/** Tokens a `VerifiedTokens` keeps by default: far more than the agency systems calling one service at once. */
const VERIFIED_TOKENS_KEPT = 1_000;

/**
 * `verifyAccessToken` for a service that sees the same token again and again
 * (an agency system sends one token on every request until it expires): the
 * signature of a token string is checked once (ES256 costs the event loop about
 * as much as the rest of a small request's auth), and the same string again is
 * answered from memory — only while the token is unexpired (the same clock
 * tolerance) and the key that verified it is still the one its `kid` resolves
 * to (a retired or replaced key makes it verify afresh, and fail). A token that
 * failed is never kept. Bounded: the oldest token is dropped first.
 */
export class VerifiedTokens {
  private readonly tokens = new Map<string, VerifiedToken>();

  constructor(
    private readonly resolveKey: KeyResolver,
    private readonly expected: AccessTokenExpectations,
    private readonly kept: number = VERIFIED_TOKENS_KEPT,
  ) {}

  async verify(token: string | undefined): Promise<AccessTokenClaims> {
    const known = token === undefined ? undefined : this.tokens.get(token);
    if (known && (await this.stillValid(known))) return known.claims;
    if (known) this.tokens.delete(token!);
    const verified = await verifiedToken(token, this.resolveKey, this.expected);
    this.tokens.set(token!, verified);
    if (this.tokens.size > this.kept) this.tokens.delete(this.tokens.keys().next().value!);
    return verified.claims;
  }

  private async stillValid(known: VerifiedToken): Promise<boolean> {
    const nowSeconds = Math.floor((this.expected.nowMs ?? Date.now()) / 1000);
    // jsonwebtoken's own rule: expired once now >= exp + tolerance.
    if (nowSeconds >= known.claims.exp + CLOCK_TOLERANCE_SECONDS) return false;
    try {
      return (await this.resolveKey(known.kid)) === known.key;
    } catch {
      return false;
    }
  }
}

/** The caller-facing reason for a jsonwebtoken failure. Never echoes expected values. */
function reasonFor(err: unknown): string {
  if (err instanceof jwt.TokenExpiredError) return 'token expired';
  if (err instanceof jwt.NotBeforeError) return 'token not yet valid';
  const message = err instanceof Error ? err.message : '';
  if (message.startsWith('jwt audience invalid')) return 'wrong audience';
  if (message.startsWith('jwt issuer invalid')) return 'wrong issuer';
  if (message === 'invalid signature') return 'invalid signature';
  if (message === 'invalid algorithm') return 'algorithm not allowed';
  return 'malformed token';
}

/** Keeps only the claims the hub knows, each of the right shape; a token missing one is malformed. */
function claimsFrom(p: jwt.JwtPayload, audience: string): AccessTokenClaims {
  const str = (name: string): string => {
    const v: unknown = p[name];
    if (typeof v !== 'string' || v.length === 0) throw rejected(`malformed token (claim ${name})`);
    return v;
  };
  const num = (name: string): number => {
    const v: unknown = p[name];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw rejected(`malformed token (claim ${name})`);
    return v;
  };
  const optionalRef = (name: string, pattern: RegExp): string | undefined => {
    const v: unknown = p[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !pattern.test(v)) throw rejected(`malformed token (claim ${name})`);
    return v;
  };
  if (typeof p.scope !== 'string') throw rejected('malformed token (claim scope)');
  const practitionerRole = optionalRef('practitionerRole', PRACTITIONER_ROLE_REF);
  const patient = optionalRef('patient', PATIENT_REF);
  return {
    iss: str('iss'),
    // jsonwebtoken has checked that `aud` (string or array) names our audience.
    aud: audience,
    sub: str('sub'),
    exp: num('exp'),
    iat: num('iat'),
    jti: str('jti'),
    scope: p.scope,
    agency: str('agency'),
    partnership: str('partnership'),
    ...(practitionerRole ? { practitionerRole } : {}),
    ...(patient ? { patient } : {}),
  };
}

/**
 * A token is refused when it claims a life no hub gives one (`exp` more than `MAX_TOKEN_TTL_SECONDS` after `iat`)
 * or was issued in the future (`iat` ahead of now beyond the clock tolerance): a signed token that stays good for
 * a year is a key-holder's mistake or a stolen key's, and a bearer token that never expires cannot be withdrawn.
 * (`exp` and `iat` are required claims: `claimsFrom`.)
 */
function lifetimeProblem(claims: AccessTokenClaims, nowMs: number): void {
  if (claims.exp - claims.iat > MAX_TOKEN_TTL_SECONDS) throw rejected(`token lifetime longer than ${MAX_TOKEN_TTL_SECONDS} s (exp - iat)`);
  if (claims.iat > Math.floor(nowMs / 1000) + CLOCK_TOLERANCE_SECONDS) throw rejected('token issued in the future (iat)');
}

function rejected(reason: string): OperationOutcomeError {
  return unauthorized(`Access token rejected: ${reason}`);
}

/** The `kid` a JWT's header names, unverified: only to pick which key to verify it with. */
export function unverifiedKid(token: string): string | undefined {
  const decoded = unverifiedJwt(token);
  const kid: unknown = decoded?.header.kid;
  return typeof kid === 'string' && kid !== '' ? kid : undefined;
}
