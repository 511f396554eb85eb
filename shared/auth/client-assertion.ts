/**
 * Client authentication by `private_key_jwt` (RFC 7523, as in SMART Backend
 * Services): an agency system proves who it is with a short-lived JWT signed
 * by its own private key, checked against the public JWK it registered.
 *
 * Every failure is `invalid_client` (401): unknown client, wrong key or
 * algorithm, bad signature, wrong `aud`, expired, too long-lived, no `jti`, or a
 * `jti` already used. The `jti` is consumed only after the signature verifies,
 * so nobody but the client can burn its assertion ids.
 */
import type { KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { CLOCK_TOLERANCE_SECONDS } from './access-token.js';
import type { JtiStore } from './jti-store.js';
import { isSigningAlgorithm, keyFitsAlgorithm, keyObjectFromJwk, type SigningAlgorithm } from './keys.js';
import { OAuthError } from './oauth-error.js';
import { unverifiedJwt } from './unverified-jwt.js';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** An assertion may expire at most this far ahead (SMART Backend Services: 5 minutes). */
export const CLIENT_ASSERTION_MAX_LIFETIME_SECONDS = 300;

const MAX_ASSERTION_LENGTH = 8192;
const MAX_JTI_LENGTH = 255;
/** Client ids are Organization ids. */
const CLIENT_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** An agency system registered with the directory (read from its Organization). */
export interface RegisteredClient {
  readonly clientId: string;
  /** Organization id of the agency. */
  readonly agency: string;
  /** Organization id of the agency's partnership. */
  readonly partnership: string;
  /** The agency's registered public key (EC or RSA JWK). If it carries `kid`/`alg`, assertions must match them. */
  readonly publicJwk: unknown;
  /** Scopes this client may be granted (wildcards allowed, see scopes.ts). */
  readonly allowedScopes: readonly string[];
}

/** Looks a client up by id; undefined when no such client is registered. */
export type ClientRegistry = (clientId: string) => Promise<RegisteredClient | undefined>;

export interface ClientAssertionDeps {
  readonly clients: ClientRegistry;
  readonly jtiStore: JtiStore;
  /** The token endpoint URL the assertion's `aud` must name (config.token.tokenUrl). */
  readonly tokenUrl: string;
  /** For tests: the time to verify at, in ms. */
  readonly nowMs?: number;
}

/**
 * Verifies a client assertion and returns the registered client it proves.
 * `claimedClientId` is the request's optional `client_id`, which must then agree.
 */
export async function verifyClientAssertion(
  assertion: string,
  deps: ClientAssertionDeps,
  claimedClientId?: string,
): Promise<RegisteredClient> {
  const fail = (description: string, clientId?: string) => new OAuthError('invalid_client', description, clientId);

  if (assertion.length > MAX_ASSERTION_LENGTH) throw fail('client assertion is too long');
  const decoded = unverifiedJwt(assertion);
  if (!decoded || typeof decoded.payload !== 'object') throw fail('client assertion is not a valid JWT');
  const { header, payload } = decoded;

  const iss = payload.iss;
  const claimed = typeof iss === 'string' ? iss : claimedClientId;
  if (typeof iss !== 'string' || !CLIENT_ID.test(iss)) throw fail('client assertion iss must be the client id', claimed);
  if (payload.sub !== iss) throw fail('client assertion sub must equal iss (the client id)', iss);
  if (claimedClientId !== undefined && claimedClientId !== iss) throw fail('client_id does not match the client assertion', iss);

  const alg = header.alg;
  if (!isSigningAlgorithm(alg)) throw fail('client assertion algorithm not allowed', iss);

  const client = await deps.clients(iss);
  if (!client) throw fail('unknown client', iss);
  const key = registeredKey(client, alg, header.kid, (d) => fail(d, iss));

  const nowSeconds = Math.floor((deps.nowMs ?? Date.now()) / 1000);
  let claims: string | jwt.JwtPayload;
  try {
    claims = jwt.verify(assertion, key, {
      algorithms: [alg],
      audience: deps.tokenUrl,
      issuer: iss,
      subject: iss,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      clockTimestamp: nowSeconds,
    });
  } catch (err) {
    throw fail(reasonFor(err), iss);
  }
  if (typeof claims === 'string') throw fail('client assertion is not a valid JWT', iss);

  const { exp, jti } = claims;
  if (typeof exp !== 'number') throw fail('client assertion has no exp', iss);
  if (exp - nowSeconds > CLIENT_ASSERTION_MAX_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS) {
    throw fail('client assertion exp is more than 5 minutes ahead', iss);
  }
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) {
    throw fail('client assertion has no usable jti', iss);
  }
  const first = await deps.jtiStore.remember(iss, jti, (exp + CLOCK_TOLERANCE_SECONDS) * 1000);
  if (!first) throw fail('client assertion replayed (jti already used)', iss);
  return client;
}

/** The client's registered key, if the assertion's header is consistent with it. */
function registeredKey(
  client: RegisteredClient,
  alg: SigningAlgorithm,
  kid: string | undefined,
  fail: (description: string) => OAuthError,
): KeyObject {
  let key: KeyObject;
  try {
    key = keyObjectFromJwk(client.publicJwk);
  } catch {
    throw fail('client has no usable registered key');
  }
  const registered = client.publicJwk as { kid?: unknown; alg?: unknown };
  if (kid !== undefined && typeof registered.kid === 'string' && registered.kid !== kid) {
    throw fail('client assertion signed with an unregistered key');
  }
  if (registered.alg !== undefined && registered.alg !== alg) throw fail('client assertion algorithm not allowed');
  if (!keyFitsAlgorithm(key, alg)) throw fail('client assertion algorithm not allowed');
  return key;
}

function reasonFor(err: unknown): string {
  if (err instanceof jwt.TokenExpiredError) return 'client assertion expired';
  if (err instanceof jwt.NotBeforeError) return 'client assertion not yet valid';
  const message = err instanceof Error ? err.message : '';
  if (message.startsWith('jwt audience invalid')) return 'client assertion aud must be the token URL';
  if (message === 'invalid signature') return 'client assertion signature does not verify with the registered key';
  return 'client assertion is not a valid JWT';
}
