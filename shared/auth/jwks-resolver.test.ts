import { isOperationOutcomeError } from '../fhir/outcome.js';
import { createLogger } from '../log.js';
import { keyMapFromJwks, remoteJwksResolver, staticKeyResolver, UnknownSigningKeyError } from './jwks-resolver.js';
import { generateKeyPair, publicJwks, type Jwks } from './keys.js';

const silent = createLogger('test', 'silent');
const keyA = generateKeyPair('ES256').signingKey;
const keyB = generateKeyPair('ES256').signingKey;
const URL = 'http://directory.test/auth/jwks.json';

/** A fake directory: serves whatever `jwks` holds now, counts requests; `down` makes it fail. */
function fakeDirectory(initial: Jwks) {
  const state = { jwks: initial, calls: 0, down: false };
  const fetchImpl = (async (url: string | URL | Request) => {
    state.calls += 1;
    const href = typeof url === 'string' ? url : 'url' in url ? url.url : url.href;
    if (href !== URL) return new Response('not found', { status: 404 });
    if (state.down) throw new TypeError('fetch failed');
    return Response.json(state.jwks);
  }) as typeof fetch;
  return { state, fetchImpl };
}

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

describe('Static key resolver', () => {
  it('Resolves a published kid to its public key', async () => {
    const resolve = staticKeyResolver(publicJwks([keyA, keyB]));
    expect((await resolve(keyB.kid)).equals(keyB.publicKey)).toBe(true);
  });

  it('Reports an unpublished kid as an unknown signing key', async () => {
    const resolve = staticKeyResolver(publicJwks([keyA]));
    await expect(resolve(keyB.kid)).rejects.toBeInstanceOf(UnknownSigningKeyError);
  });
});

describe('Remote JWKS resolver', () => {
  it('Fetches the JWKS once and serves later lookups from the cache', async () => {
    const dir = fakeDirectory(publicJwks([keyA]));
    const resolve = remoteJwksResolver(URL, { fetch: dir.fetchImpl, logger: silent });
    expect((await resolve(keyA.kid)).equals(keyA.publicKey)).toBe(true);
    await resolve(keyA.kid);
    expect(dir.state.calls).toBe(1);
  });

  it('Shares one request between concurrent first lookups', async () => {
    const dir = fakeDirectory(publicJwks([keyA]));
    const resolve = remoteJwksResolver(URL, { fetch: dir.fetchImpl, logger: silent });
    await Promise.all([resolve(keyA.kid), resolve(keyA.kid), resolve(keyA.kid)]);
    expect(dir.state.calls).toBe(1);
  });

  it('Refetches when a token names a new key (key rotation)', async () => {
    const dir = fakeDirectory(publicJwks([keyA]));
    const c = clock();
    const resolve = remoteJwksResolver(URL, { fetch: dir.fetchImpl, now: c.now, logger: silent, minRefetchIntervalMs: 30_000 });
    await resolve(keyA.kid);
    dir.state.jwks = publicJwks([keyA, keyB]);
    c.t += 30_000;
    expect((await resolve(keyB.kid)).equals(keyB.publicKey)).toBe(true);
    expect(dir.state.calls).toBe(2);
  });

  it('Refetches for unknown kids at most once per interval', async () => {
    const dir = fakeDirectory(publicJwks([keyA]));
    const c = clock();
    const resolve = remoteJwksResolver(URL, { fetch: dir.fetchImpl, now: c.now, logger: silent, minRefetchIntervalMs: 30_000 });
    await resolve(keyA.kid);
    c.t += 30_000;
    await expect(resolve('made-up-1')).rejects.toBeInstanceOf(UnknownSigningKeyError);
    await expect(resolve('made-up-2')).rejects.toBeInstanceOf(UnknownSigningKeyError);
    c.t += 10_000;
    await expect(resolve('made-up-3')).rejects.toBeInstanceOf(UnknownSigningKeyError);
    expect(dir.state.calls).toBe(2);
    c.t += 20_000;
    await expect(resolve('made-up-4')).rejects.toBeInstanceOf(UnknownSigningKeyError);
    expect(dir.state.calls).toBe(3);
  });

  it('Stops trusting a retired key once the cached JWKS is older than its maximum age', async () => {
    const dir = fakeDirectory(publicJwks([keyA]));
    const c = clock();
    const resolve = remoteJwksResolver(URL, { fetch: dir.fetchImpl, now: c.now, logger: silent, maxAgeMs: 600_000 });
    await resolve(keyA.kid);
    dir.state.jwks = publicJwks([keyB]);
    c.t += 600_000;
    await expect(resolve(keyA.kid)).rejects.toBeInstanceOf(UnknownSigningKeyError);
  });

  it('Keeps using cached keys while the directory is unreachable', async () => {
    const dir = fakeDirectory(publicJwks([keyA]));
    const c = clock();
    const resolve = remoteJwksResolver(URL, { fetch: dir.fetchImpl, now: c.now, logger: silent, maxAgeMs: 600_000 });
    await resolve(keyA.kid);
    dir.state.down = true;
    c.t += 700_000;
    expect((await resolve(keyA.kid)).equals(keyA.publicKey)).toBe(true);
  });

  it('Answers 503 when the keys were never fetched and the directory is unreachable', async () => {
    const dir = fakeDirectory(publicJwks([keyA]));
    dir.state.down = true;
    const resolve = remoteJwksResolver(URL, { fetch: dir.fetchImpl, logger: silent });
    const err = await resolve(keyA.kid).catch((e: unknown) => e);
    expect(isOperationOutcomeError(err) && err.status).toBe(503);
  });

  it('Answers 503 when the directory answers with an error status', async () => {
    const dir = fakeDirectory(publicJwks([keyA]));
    const resolve = remoteJwksResolver('http://directory.test/wrong', { fetch: dir.fetchImpl, logger: silent });
    await expect(resolve(keyA.kid)).rejects.toMatchObject({ status: 503 });
  });

  it('Gives up on a directory that does not answer within the timeout', async () => {
    const hanging = ((_url: string, init?: RequestInit) =>
      new Promise((_resolve, reject) => {
        // As fetch does: reject with the signal's reason (a DOMException, which is an Error).
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason instanceof Error ? init.signal.reason : new Error('aborted')));
      })) as typeof fetch;
    const resolve = remoteJwksResolver(URL, { fetch: hanging, timeoutMs: 20, logger: silent });
    await expect(resolve(keyA.kid)).rejects.toMatchObject({ status: 503 });
  });
});

describe('JWKS parsing', () => {
  it('Skips keys it must not trust and keeps the rest', () => {
    const skipped: string[] = [];
    const good = publicJwks([keyA]).keys[0]!;
    const keys = keyMapFromJwks(
      {
        keys: [
          good,
          { kty: 'oct', kid: 'shared-secret', k: 'c2VjcmV0' },
          { ...publicJwks([keyB]).keys[0]!, kid: undefined },
          { ...publicJwks([keyB]).keys[0]!, kid: 'enc', use: 'enc' },
          { ...publicJwks([keyB]).keys[0]!, kid: 'mislabelled', alg: 'RS256' },
        ],
      },
      (reason) => skipped.push(reason),
    );
    expect([...keys.keys()]).toEqual([keyA.kid]);
    expect(skipped).toHaveLength(4);
  });

  it('Refuses a document without a keys array', () => {
    expect(() => keyMapFromJwks({ jwks: [] }, () => undefined)).toThrow('no "keys" array');
  });
});
