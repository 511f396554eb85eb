/**
 * The delivery token: what the hub sends with every message it delivers to an
 * agency's Endpoint (`Authorization: Bearer <token>`), so the agency system can
 * tell a delivery from the hub apart from anything else that reaches it.
 *
 * An ES256 JWT signed with the partnership signing key (the key the directory
 * publishes in its JWKS, `kid` as there), header `typ: infoshare-delivery+jwt`,
 * claims `iss` (the hub's token issuer), `aud` = `recipient` (the agency id),
 * `jti` (fresh per attempt), `iat`, `exp` (iat + 300 s), `message_id` and
 * `body_sha256` (base64url SHA-256 of the exact body bytes). A batch of
 * messages in one request (shared/messaging/message-batch.ts) is one token:
 * `message_id` the batch's id, `message_ids` every message's id in order. Unlike a body-only
 * signature (Medplum's webhooks), the token names its recipient, expires, and
 * carries a unique id, so a receiver can refuse one sent elsewhere, a stale one
 * and a replay; the digest binds it to the body it came with.
 *
 * Verification is a typed result (never a throw for a bad token), so a
 * receiver can log and count the reason; `deliveryTokenRefusal` turns a refusal
 * into the 401 OperationOutcome to answer with. What the token cannot check by
 * itself is a replay: the receiver remembers each `jti` until the token expires
 * (`rememberDeliveryToken` over a `JtiStore`).
 */
import { createHash, randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { CLOCK_TOLERANCE_SECONDS } from '../auth/access-token.js';
import type { JtiStore } from '../auth/jti-store.js';
import { UnknownSigningKeyError, type KeyResolver } from '../auth/jwks-resolver.js';
import { keyFitsAlgorithm, type SigningKey } from '../auth/keys.js';
import { unverifiedJwt } from '../auth/unverified-jwt.js';
import { unauthorized, type OperationOutcomeError } from '../fhir/outcome.js';

/** JWT `typ` header of a delivery token: an access token (same key, same algorithm) is never taken for one. */
export const DELIVERY_TOKEN_TYPE = 'infoshare-delivery+jwt';

/** The one algorithm of delivery tokens: agency systems need support only this one. */
export const DELIVERY_TOKEN_ALGORITHM = 'ES256';

/** Lifetime of a delivery token: long enough for a slow POST, short enough that remembering every jti is cheap. */
export const DELIVERY_TOKEN_TTL_SECONDS = 300;

/** Longer than any delivery token; refusing early keeps junk out of the JSON parser. */
const MAX_TOKEN_LENGTH = 4096;

export interface DeliveryTokenClaims {
  readonly iss: string;
  /** The recipient agency (Organization id). */
  readonly aud: string;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
  /** The delivered message's id (its MessageHeader.id); for a batch of messages, the batch Bundle's id. */
  readonly message_id: string;
  /**
   * A batch (shared/messaging/message-batch.ts): every message's MessageHeader.id, in the order of the
   * batch's entries. Absent for a single message.
   */
  readonly message_ids?: readonly string[];
  /** The recipient agency again, as its own claim (equal to `aud`). */
  readonly recipient: string;
  /** base64url(SHA-256(body bytes)). */
  readonly body_sha256: string;
}

/** base64url SHA-256 of the exact bytes sent: sign and check over the same bytes, never a re-serialisation. */
export function bodyDigest(body: string | Uint8Array): string {
  return createHash('sha256').update(body).digest('base64url');
}

export interface DeliveryTokenInput {
  /** The message's MessageHeader.id, or the batch Bundle's id. */
  readonly messageId: string;
  /** A batch: the MessageHeader.id of each message in it, in order. */
  readonly messageIds?: readonly string[];
  readonly recipient: string;
  /** The exact body that will be POSTed. */
  readonly body: string | Uint8Array;
}

export interface IssuedDeliveryToken {
  readonly token: string;
  readonly claims: DeliveryTokenClaims;
}

/**
 * Signs a delivery token for one attempt (a fresh `jti` each call) with the
 * partnership signing key. `issuer` is the hub's token issuer (`config.token.issuer`).
 */
export function signDeliveryToken(
  input: DeliveryTokenInput,
  key: SigningKey,
  issuer: string,
  nowMs: number = Date.now(),
): IssuedDeliveryToken {
  if (key.alg !== DELIVERY_TOKEN_ALGORITHM) {
    throw new Error(`Delivery tokens are ${DELIVERY_TOKEN_ALGORITHM}; the signing key is ${key.alg}`);
  }
  const iat = Math.floor(nowMs / 1000);
  const claims: DeliveryTokenClaims = {
    iss: issuer,
    aud: input.recipient,
    jti: randomUUID(),
    iat,
    exp: iat + DELIVERY_TOKEN_TTL_SECONDS,
    message_id: input.messageId,
    ...(input.messageIds ? { message_ids: [...input.messageIds] } : {}),
    recipient: input.recipient,
    body_sha256: bodyDigest(input.body),
  };
  const token = jwt.sign({ ...claims }, key.privateKey, {
    algorithm: DELIVERY_TOKEN_ALGORITHM,
    keyid: key.kid,
    header: { alg: DELIVERY_TOKEN_ALGORITHM, typ: DELIVERY_TOKEN_TYPE },
  });
  return { token, claims };
}

/** Why a delivery token was refused. Never says what was expected (no key or issuer oracle). */
export type DeliveryTokenProblem =
  | 'missing'
  | 'malformed'
  | 'algorithm-not-allowed'
  | 'wrong-type'
  | 'unknown-signing-key'
  | 'invalid-signature'
  | 'expired'
  | 'not-yet-valid'
  | 'lifetime-too-long'
  | 'wrong-issuer'
  | 'wrong-audience'
  | 'body-digest-mismatch';

export type DeliveryTokenResult =
  | { readonly ok: true; readonly claims: DeliveryTokenClaims }
  | { readonly ok: false; readonly problem: DeliveryTokenProblem };

export interface DeliveryTokenExpectations {
  /** The hub's token issuer. */
  readonly issuer: string;
  /** The receiving agency (its Organization id): the token's `aud` and `recipient`. */
  readonly recipient: string;
  /** For tests: the time to verify at, in ms. Defaults to now. */
  readonly nowMs?: number;
}

/**
 * Checks a delivery token against the exact body bytes it came with:
 * `typ`, ES256 only (before any key is looked up, so `alg: none` and HS256
 * keyed with the public key never verify), the signature with the key the
 * issuer publishes under `kid`, `iss`, `aud` and `recipient`, `exp` (30 s clock
 * tolerance), a lifetime no longer than the hub ever issues, and the body
 * digest. A resolver that cannot reach the issuer's keys throws its own 503
 * (the receiver should answer as a transient failure, not a refusal).
 */
export async function verifyDeliveryToken(
  token: string | undefined,
  body: string | Uint8Array,
  resolveKey: KeyResolver,
  expected: DeliveryTokenExpectations,
): Promise<DeliveryTokenResult> {
  const refuse = (problem: DeliveryTokenProblem): DeliveryTokenResult => ({ ok: false, problem });
  if (!token) return refuse('missing');
  if (token.length > MAX_TOKEN_LENGTH) return refuse('malformed');

  const decoded = unverifiedJwt(token);
  if (!decoded || typeof decoded.payload !== 'object') return refuse('malformed');
  const { alg, kid, typ } = decoded.header;
  if (alg !== DELIVERY_TOKEN_ALGORITHM) return refuse('algorithm-not-allowed');
  if (typ !== DELIVERY_TOKEN_TYPE) return refuse('wrong-type');
  if (typeof kid !== 'string' || kid.length === 0) return refuse('unknown-signing-key');

  let key: KeyObject;
  try {
    key = await resolveKey(kid);
  } catch (err) {
    if (err instanceof UnknownSigningKeyError) return refuse('unknown-signing-key');
    throw err;
  }
  if (!keyFitsAlgorithm(key, DELIVERY_TOKEN_ALGORITHM)) return refuse('algorithm-not-allowed');

  const nowSeconds = Math.floor((expected.nowMs ?? Date.now()) / 1000);
  let payload: string | jwt.JwtPayload;
  try {
    payload = jwt.verify(token, key, {
      algorithms: [DELIVERY_TOKEN_ALGORITHM],
      issuer: expected.issuer,
      audience: expected.recipient,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      clockTimestamp: nowSeconds,
    });
  } catch (err) {
    return refuse(problemOf(err));
  }
  if (typeof payload === 'string') return refuse('malformed');
  const claims = claimsFrom(payload);
  if (!claims) return refuse('malformed');
  // jsonwebtoken accepts an `aud` array naming us among others; a delivery token names exactly one recipient.
  if (claims.aud !== expected.recipient || claims.recipient !== expected.recipient) return refuse('wrong-audience');
  if (claims.iat > nowSeconds + CLOCK_TOLERANCE_SECONDS) return refuse('not-yet-valid');
  // A long-lived token would have to be remembered (replay) for as long; the hub never issues one.
  if (claims.exp - claims.iat > DELIVERY_TOKEN_TTL_SECONDS) return refuse('lifetime-too-long');
  if (claims.body_sha256 !== bodyDigest(body)) return refuse('body-digest-mismatch');
  return { ok: true, claims };
}

function problemOf(err: unknown): DeliveryTokenProblem {
  if (err instanceof jwt.TokenExpiredError) return 'expired';
  if (err instanceof jwt.NotBeforeError) return 'not-yet-valid';
  const message = err instanceof Error ? err.message : '';
  if (message.startsWith('jwt audience invalid')) return 'wrong-audience';
  if (message.startsWith('jwt issuer invalid')) return 'wrong-issuer';
  if (message === 'invalid signature') return 'invalid-signature';
  if (message === 'invalid algorithm') return 'algorithm-not-allowed';
  return 'malformed';
}

function claimsFrom(p: jwt.JwtPayload): DeliveryTokenClaims | undefined {
  const str = (name: string): string | undefined => {
    const v: unknown = p[name];
    return typeof v === 'string' && v.length > 0 ? v : undefined;
  };
  const num = (name: string): number | undefined => {
    const v: unknown = p[name];
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  };
  const [iss, aud, jti, messageId, recipient, digest] = ['iss', 'aud', 'jti', 'message_id', 'recipient', 'body_sha256'].map(str);
  const [iat, exp] = ['iat', 'exp'].map(num);
  if (!iss || !aud || !jti || !messageId || !recipient || !digest || iat === undefined || exp === undefined) return undefined;
  const ids: unknown = p.message_ids;
  if (ids !== undefined && !(Array.isArray(ids) && ids.length > 0 && ids.every((id) => typeof id === 'string' && id.length > 0))) return undefined;
  return { iss, aud, jti, iat, exp, message_id: messageId, ...(ids ? { message_ids: ids as string[] } : {}), recipient, body_sha256: digest };
}

const PROBLEM_TEXT: Readonly<Record<DeliveryTokenProblem, string>> = {
  missing: 'Delivery token required: send Authorization: Bearer <delivery token>',
  malformed: 'Delivery token rejected: malformed token',
  'algorithm-not-allowed': 'Delivery token rejected: algorithm not allowed',
  'wrong-type': 'Delivery token rejected: not a delivery token',
  'unknown-signing-key': 'Delivery token rejected: unknown signing key',
  'invalid-signature': 'Delivery token rejected: invalid signature',
  expired: 'Delivery token rejected: token expired',
  'not-yet-valid': 'Delivery token rejected: token not yet valid',
  'lifetime-too-long': 'Delivery token rejected: lifetime longer than a delivery token has',
  'wrong-issuer': 'Delivery token rejected: wrong issuer',
  'wrong-audience': 'Delivery token rejected: not addressed to this agency',
  'body-digest-mismatch': 'Delivery token rejected: the body is not the one the token was signed for',
};

/** The 401 OperationOutcome a receiver answers a refused delivery token with. */
export function deliveryTokenRefusal(problem: DeliveryTokenProblem | 'replayed'): OperationOutcomeError {
  return unauthorized(problem === 'replayed' ? 'Delivery token rejected: already used (replay)' : PROBLEM_TEXT[problem]);
}

/** What a receiver remembers of a delivery token to refuse its replay: its `jti`, per recipient, until it could no longer verify anyway (epoch ms). */
export interface DeliveryTokenMemory {
  readonly receiver: string;
  readonly jti: string;
  readonly forgetAfterMs: number;
}

export function deliveryTokenMemory(claims: DeliveryTokenClaims): DeliveryTokenMemory {
  return { receiver: `delivery/${claims.recipient}`, jti: claims.jti, forgetAfterMs: (claims.exp + CLOCK_TOLERANCE_SECONDS) * 1000 };
}

/**
 * Replay protection for a receiver: remembers the token's `jti` (per recipient)
 * until it could no longer verify anyway; true when it is new, false when it
 * was seen before — answer `deliveryTokenRefusal('replayed')`. A receiver may
 * instead remember `deliveryTokenMemory` in the same write as what it keeps of
 * the delivery (agency-sim does).
 */
export function rememberDeliveryToken(store: JtiStore, claims: DeliveryTokenClaims): Promise<boolean> {
  const { receiver, jti, forgetAfterMs } = deliveryTokenMemory(claims);
  return store.remember(receiver, jti, forgetAfterMs);
}
