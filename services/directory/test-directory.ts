/**
 * A directory for integration tests: a real Redis under a unique key prefix,
 * the demo partnership loaded, tokens for any demo agency through the real
 * token endpoint, and the audit trail to read back. Not used by the service.
 */
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import request from 'supertest';
import type { AuditEvent } from 'fhir/r4.js';
import { readDemoAgencySigningKey } from '../../fixtures/keys/demo-keys.js';
import { readAuditTrailOf, RedisAuditSink } from '../../shared/audit/audit-client.js';
import { criteriaOfEvent, triggerOfEvent } from '../../shared/audit/audit-event.js';
import { accessTokenExpectations } from '../../shared/auth/access-token.js';
import { staticKeyResolver } from '../../shared/auth/jwks-resolver.js';
import { loadSigningKeyFile, publicJwks, type SigningKey } from '../../shared/auth/keys.js';
import { CLIENT_ASSERTION_TYPE } from '../../shared/auth/client-assertion.js';
import { signClientAssertion } from '../../shared/client/client-assertion.js';
import { loadConfig, type HubConfig } from '../../shared/config.js';
import { createLogger } from '../../shared/log.js';
import { KeySpace } from '../../shared/redis/connection.js';
import type { ServiceDeps } from '../../shared/runtime/deps.js';
import { deletePrefix, testRedis, testRedisUrl, uniquePrefix } from '../../test/redis.js';
import { loadDemoFixtures } from './fixtures.js';
import { directoryService } from './module.js';
import { directoryStore } from './store.js';

export interface TestDirectory {
  readonly app: Express;
  readonly deps: ServiceDeps;
  readonly config: HubConfig;
  readonly redis: Redis;
  readonly keys: KeySpace;
  /** The partnership key the directory signs access tokens with. */
  readonly signingKey: SigningKey;
  readonly store: ReturnType<typeof directoryStore>;
  /** A signed client assertion for a demo agency (fresh `jti` each call). */
  assertion(agencyId: string): string;
  /** An access token for a demo agency from the real token endpoint. */
  token(agencyId: string, form?: Readonly<Record<string, string>>): Promise<string>;
  /** The AuditEvent recorded for the response with this X-Request-Id. */
  auditOf(requestId: string): Promise<AuditEvent | undefined>;
  close(): Promise<void>;
}

/** `env` adds settings (e.g. `INFOSHARE_DIRECTORY_PORT`, for a test that listens and follows the links it is given). */
export async function startTestDirectory(env: Readonly<Record<string, string>> = {}): Promise<TestDirectory> {
  const prefix = uniquePrefix('dir');
  const redis = testRedis();
  const keys = new KeySpace(prefix);
  const config = loadConfig({ ...env, REDIS_URL: testRedisUrl(), INFOSHARE_KEY_PREFIX: prefix });
  const signingKey = await loadSigningKeyFile(config.token.signingKeyFile);
  const log = createLogger('directory-test', 'silent');
  const deps: ServiceDeps = {
    config,
    redis,
    keys,
    audit: new RedisAuditSink(redis, keys, { log }),
    log,
    tokens: { resolveKey: staticKeyResolver(publicJwks([signingKey])), expected: accessTokenExpectations(config) },
  };
  const service = await directoryService.createService(deps);
  await loadDemoFixtures(deps);

  const assertion = (agencyId: string) =>
    signClientAssertion({ clientId: agencyId, tokenUrl: config.token.tokenUrl, key: readDemoAgencySigningKey(agencyId) });

  return {
    app: service.app,
    deps,
    config,
    redis,
    keys,
    signingKey,
    store: directoryStore(redis, keys),
    assertion,
    async token(agencyId, form = {}) {
      const res = await request(service.app)
        .post('/auth/token')
        .type('form')
        .send({ grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion(agencyId), ...form });
      if (res.status !== 200) throw new Error(`token for ${agencyId} refused: ${res.status} ${res.text}`);
      return (res.body as { access_token: string }).access_token;
    },
    async auditOf(requestId) {
      // The exchange's own record (it has no trigger: an HTTP request), not the change records its writes committed
      // (shared/audit/outbox.ts), decision records beside it, nor the records of the jobs and calls it started (an
      // alert's deliveries carry its request id, and can reach the trail before an acceptance's relayed record).
      return (await readAuditTrailOf(redis, keys, requestId)).find((event) => triggerOfEvent(event) === undefined);
    },
    async close() {
      await service.close();
      await deletePrefix(redis, prefix);
      await redis.quit();
    },
  };
}

/** The maturity criteria codes an AuditEvent claims (none when there is no event). */
export function criteriaOf(event: AuditEvent | undefined): string[] {
  return event ? criteriaOfEvent(event) : [];
}
