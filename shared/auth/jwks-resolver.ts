/**
 * Finding the public key an access token was signed with, by its `kid`.
 *
 * The directory verifies its own tokens with a static resolver; every other
 * service fetches the directory's published JWKS (`remoteJwksResolver`),
 * caches it, and refetches when a token names a key it has not seen (key
 * rotation) — at most once per interval, so a flood of tokens with made-up
 * `kid`s cannot turn into a flood of requests to the directory.
 */
import type { KeyObject } from 'node:crypto';
import { unavailable } from '../fhir/outcome.js';
import { createLogger, type Logger } from '../log.js';
import { isSigningAlgorithm, keyFitsAlgorithm, keyObjectFromJwk, type Jwks } from './keys.js';

/** Resolves a token's `kid` to the public key to verify it with. Throws `UnknownSigningKeyError` if there is none. */
export type KeyResolver = (kid: string) => Promise<KeyObject>;

/** The token names a key the issuer does not publish (the verifier answers 401). */
export class UnknownSigningKeyError extends Error {
  constructor() {
    super('unknown signing key');
    this.name = 'UnknownSigningKeyError';
  }
}

/** A resolver over a fixed key set (the directory's own keys, tests). */
export function staticKeyResolver(jwks: Jwks): KeyResolver {
  const keys = keyMapFromJwks(jwks, () => undefined);
  return async (kid) => {
    const key = keys.get(kid);
    if (!key) throw new UnknownSigningKeyError();
    return key;
  };
}

export interface RemoteJwksOptions {
  /** Abort a JWKS request after this long. Default 3 s. */
  readonly timeoutMs?: number;
  /** Refetch on an unknown `kid` at most this often. Default 30 s. */
  readonly minRefetchIntervalMs?: number;
  /** Refetch a cached JWKS this old on next use, so retired keys stop being trusted. Default 10 min. */
  readonly maxAgeMs?: number;
  /** Injected for tests; defaults to Node's global `fetch`. */
  readonly fetch?: typeof fetch;
  /** Injected for tests; defaults to `Date.now`. */
  readonly now?: () => number;
  readonly logger?: Logger;
}

/**
 * A resolver over the JWKS at `url`. If the directory cannot be reached and no
 * keys were ever fetched, it throws a 503 OperationOutcomeError; once keys are
 * cached, an unreachable directory leaves the cached keys in use.
 */
export function remoteJwksResolver(url: string, options: RemoteJwksOptions = {}): KeyResolver {
  const timeoutMs = options.timeoutMs ?? 3000;
  const minRefetchIntervalMs = options.minRefetchIntervalMs ?? 30_000;
  const maxAgeMs = options.maxAgeMs ?? 600_000;
  const doFetch = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  const log = options.logger ?? createLogger('auth');

  let cached: Map<string, KeyObject> | undefined;
  let fetchedAt = 0;
  let lastAttemptAt = Number.NEGATIVE_INFINITY;
  let inflight: Promise<void> | undefined;

  async function load(): Promise<void> {
    const res = await doFetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`JWKS request answered ${res.status}`);
    const doc: unknown = await res.json();
    cached = keyMapFromJwks(doc, (reason) => log.warn({ jwksUrl: url, reason }, 'Ignoring a key in the JWKS'));
    fetchedAt = now();
  }

  function refresh(): Promise<void> {
    // Concurrent requests share one fetch.
    if (!inflight) {
      lastAttemptAt = now();
      inflight = load().finally(() => {
        inflight = undefined;
      });
    }
    return inflight;
  }

  return async (kid) => {
    const t = now();
    const stale = t - fetchedAt >= maxAgeMs;
    const missing = !cached?.has(kid);
    const mayRefetch = t - lastAttemptAt >= minRefetchIntervalMs;
    if (!cached || ((stale || missing) && mayRefetch)) {
      try {
        await refresh();
      } catch (err) {
        log.warn({ jwksUrl: url, err: (err as Error).message }, 'Cannot fetch the token issuer JWKS');
        if (!cached) throw unavailable('The signing keys of the token issuer cannot be fetched; try again shortly');
      }
    }
    const key = cached?.get(kid);
    if (!key) throw new UnknownSigningKeyError();
    return key;
  };
}

/**
 * The usable signing keys of a JWKS document by `kid`. Keys without a `kid`,
 * meant for encryption, symmetric, or not fitting their declared `alg` are
 * skipped (reported through `skip`), never trusted.
 */
export function keyMapFromJwks(doc: unknown, skip: (reason: string) => void): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  const list = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) throw new Error('JWKS has no "keys" array');
  for (const jwk of list as unknown[]) {
    const { kid, use, alg } = (jwk ?? {}) as { kid?: unknown; use?: unknown; alg?: unknown };
    if (typeof kid !== 'string' || kid.length === 0) {
      skip('key without kid');
      continue;
    }
    if (use !== undefined && use !== 'sig') {
      skip(`key ${kid} is not for signatures`);
      continue;
    }
    let key: KeyObject;
    try {
      key = keyObjectFromJwk(jwk);
    } catch (err) {
      skip(`key ${kid}: ${(err as Error).message}`);
      continue;
    }
    if (alg !== undefined && !(isSigningAlgorithm(alg) && keyFitsAlgorithm(key, alg))) {
      skip(`key ${kid} does not fit its alg`);
      continue;
    }
    keys.set(kid, key);
  }
  return keys;
}
