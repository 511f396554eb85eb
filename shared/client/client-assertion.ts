/**
 * The client assertion an agency system signs to ask for an access token
 * (RFC 7523 `private_key_jwt`, as in SMART Backend Services).
 *
 * The directory's side (verification) is `shared/auth/client-assertion.ts`.
 * `iss` = `sub` = the client id (the agency id), `aud` = the token URL, a short
 * `exp` (the directory refuses more than 5 minutes ahead) and a fresh `jti`
 * (the directory refuses a `jti` it has seen, so an intercepted assertion
 * cannot be replayed). The header names the key by its RFC 7638 thumbprint.
 */
import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { CLIENT_ASSERTION_MAX_LIFETIME_SECONDS } from '../auth/client-assertion.js';
import type { SigningKey } from '../auth/keys.js';

/** Short enough to be useless soon after it leaks, long enough for clock skew and a slow network. */
const DEFAULT_LIFETIME_SECONDS = 120;

export interface ClientAssertionOptions {
  readonly clientId: string;
  readonly tokenUrl: string;
  readonly key: SigningKey;
  /** Seconds until `exp`; at most 300. */
  readonly lifetimeSeconds?: number;
  /** Unique per assertion; a fresh UUID when omitted. */
  readonly jti?: string;
  readonly nowMs?: number;
}

export function signClientAssertion(options: ClientAssertionOptions): string {
  const lifetime = options.lifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS;
  if (lifetime > CLIENT_ASSERTION_MAX_LIFETIME_SECONDS) {
    throw new RangeError(`A client assertion may live at most ${CLIENT_ASSERTION_MAX_LIFETIME_SECONDS} s`);
  }
  const iat = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const claims = {
    iss: options.clientId,
    sub: options.clientId,
    aud: options.tokenUrl,
    iat,
    exp: iat + lifetime,
    jti: options.jti ?? randomUUID(),
  };
  return jwt.sign(claims, options.key.privateKey, { algorithm: options.key.alg, keyid: options.key.kid });
}
