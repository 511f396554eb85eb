import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { deletePrefix, testRedis, uniquePrefix } from '../../test/redis.js';
import { KeySpace } from '../redis/connection.js';
import { CLIENT_ASSERTION_TYPE } from './client-assertion.js';
import { RedisJtiStore } from './jti-store.js';
import { generateKeyPair } from './keys.js';
import { grantToken } from './token-grant.js';

const redis = testRedis();
const prefix = uniquePrefix('jti');
const keys = new KeySpace(prefix);

afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

describe('Redis jti store', () => {
  it('Accepts a jti once and refuses it when replayed', async () => {
    const store = new RedisJtiStore(redis, keys);
    const jti = randomUUID();
    const until = Date.now() + 60_000;
    expect(await store.remember('nhs-lothian', jti, until)).toBe(true);
    expect(await store.remember('nhs-lothian', jti, until)).toBe(false);
  });

  it('Lets exactly one of many concurrent uses of a jti through', async () => {
    const store = new RedisJtiStore(redis, keys);
    const jti = randomUUID();
    const results = await Promise.all(Array.from({ length: 20 }, () => store.remember('nhs-lothian', jti, Date.now() + 60_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('Keeps the same jti of two clients apart', async () => {
    const store = new RedisJtiStore(redis, keys);
    const jti = randomUUID();
    expect(await store.remember('nhs-lothian', jti, Date.now() + 60_000)).toBe(true);
    expect(await store.remember('nhs-fife', jti, Date.now() + 60_000)).toBe(true);
  });

  it('Stores the jti under the auth hash tag, with colons in ids escaped', async () => {
    const store = new RedisJtiStore(redis, keys);
    expect(store.key('nhs-lothian', 'a:b')).toBe(`${prefix}:{auth}:jti:nhs-lothian:a%3Ab`);
    await store.remember('nhs-lothian', 'a:b', Date.now() + 60_000);
    expect(await redis.exists(store.key('nhs-lothian', 'a:b'))).toBe(1);
  });

  it('Expires the jti at the time the assertion stops being acceptable', async () => {
    const store = new RedisJtiStore(redis, keys);
    const jti = randomUUID();
    const until = Date.now() + 120_000;
    await store.remember('nhs-lothian', jti, until);
    expect(await redis.call('PEXPIRETIME', store.key('nhs-lothian', jti))).toBe(until);
  });

  it('Forgets a jti once it has expired', async () => {
    // A clock running 2 s behind lets a 50 ms lifetime stand instead of the 1 s minimum.
    const store = new RedisJtiStore(redis, keys, () => Date.now() - 2000);
    const jti = randomUUID();
    expect(await store.remember('nhs-lothian', jti, Date.now() + 50)).toBe(true);
    while ((await redis.exists(store.key('nhs-lothian', jti))) === 1) await new Promise((r) => setTimeout(r, 20));
    expect(await store.remember('nhs-lothian', jti, Date.now() + 60_000)).toBe(true);
  });

  it('Never lets an already-past expiry make Redis forget the jti at once', async () => {
    const store = new RedisJtiStore(redis, keys);
    const jti = randomUUID();
    expect(await store.remember('nhs-lothian', jti, Date.now() - 5000)).toBe(true);
    expect(await store.remember('nhs-lothian', jti, Date.now() - 5000)).toBe(false);
  });
});

describe('Token endpoint with the Redis jti store', () => {
  it('Rejects a replayed client assertion with 401 invalid_client', async () => {
    const agency = generateKeyPair('ES256').signingKey;
    const tokenUrl = 'http://localhost:4000/auth/token';
    const deps = {
      clients: async (id: string) =>
        id === 'nhs-lothian'
          ? { clientId: id, agency: id, partnership: 'lothian-hscp', publicJwk: agency.publicJwk, allowedScopes: ['system/*.read'] }
          : undefined,
      jtiStore: new RedisJtiStore(redis, keys),
      signingKey: generateKeyPair('ES256').signingKey,
      token: { issuer: 'http://localhost:4000/auth', audience: 'infoshare-hub', ttlSeconds: 300, tokenUrl },
    };
    const clientAssertion = jwt.sign(
      { iss: 'nhs-lothian', sub: 'nhs-lothian', aud: tokenUrl, exp: Math.floor(Date.now() / 1000) + 120, jti: randomUUID() },
      agency.privateKey,
      { algorithm: 'ES256', keyid: agency.kid },
    );
    const form = { grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: clientAssertion };
    await expect(grantToken(form, deps)).resolves.toMatchObject({ response: { token_type: 'bearer' } });
    await expect(grantToken(form, deps)).rejects.toMatchObject({ status: 401, oauthError: 'invalid_client' });
  });
});
