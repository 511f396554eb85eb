/**
 * What every service is built from. `createService(deps, config)` never
 * listens and never reads the environment: `main.ts` (one service per process)
 * and `services/hub.ts` (all services in one process) assemble the deps and
 * read the service's own config with its `loadConfig`.
 */
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import type { AccessTokenExpectations } from '../auth/access-token.js';
import type { KeyResolver } from '../auth/jwks-resolver.js';
import type { AuditSink } from '../audit/exchange.js';
import type { HubConfig, ServiceName } from '../config.js';
import type { Logger } from '../log.js';
import { KeySpace } from '../redis/connection.js';
import { RedisAuditSink } from '../audit/audit-client.js';
import { localKeyResolver } from './local-keys.js';

export interface ServiceDeps {
  readonly config: HubConfig;
  /** Shared command connection (BullMQ workers open their own). */
  readonly redis: Redis;
  readonly keys: KeySpace;
  readonly audit: AuditSink;
  readonly log: Logger;
  /** How this service verifies access tokens. */
  readonly tokens: { readonly resolveKey: KeyResolver; readonly expected: AccessTokenExpectations };
}

export interface ServiceInstance {
  readonly app: Express;
  /** Stops background work (workers before queues); the caller closes Redis afterwards. */
  close(): Promise<void>;
}

/**
 * How a service verifies access tokens: with the partnership signing key it
 * holds itself (the service that issues them), or with the key set the issuer
 * publishes (`config.token.jwksUrl`), fetched and cached.
 */
export type TokenKeySource = 'signing-key' | 'published-jwks';

/**
 * A service as the hub and `main.ts` run it. It declares what it needs —
 * its own settings and where its token keys come from — so the shared runtime
 * never has to know one service from another.
 */
export interface ServiceModule<C = unknown> {
  readonly name: ServiceName;
  readonly tokenKeys: TokenKeySource;
  /**
   * The service's own settings (its `config.ts`), read from the environment
   * and checked together with the hub's at start-up (`loadConfigs`).
   */
  loadConfig(env: NodeJS.ProcessEnv): C;
  createService(deps: ServiceDeps, config: C): Promise<ServiceInstance>;
}

export function tokenExpectations(config: HubConfig): AccessTokenExpectations {
  return { issuer: config.token.issuer, audience: config.token.audience, algorithms: config.token.algorithms };
}

/**
 * The dependencies of a service (or of a tool acting like one) over one Redis
 * connection. Tokens are verified with `resolveKey` — by default the
 * partnership key itself (the directory, the in-process hub, CLI tools).
 */
export async function buildServiceDeps(config: HubConfig, redis: Redis, log: Logger, resolveKey?: KeyResolver): Promise<ServiceDeps> {
  const keys = new KeySpace(config.keyPrefix);
  return {
    config,
    redis,
    keys,
    audit: new RedisAuditSink(redis, keys),
    log,
    tokens: { resolveKey: resolveKey ?? (await localKeyResolver(config)), expected: tokenExpectations(config) },
  };
}
