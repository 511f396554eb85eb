/** The audit service as a hub service (the verifiable exchange log, port 4004). */
import { Router } from 'express';
import { loadTokenSigningKey } from '../../shared/auth/keys.js';
import { authenticate } from '../../shared/auth/middleware.js';
import { createServiceMetrics } from '../../shared/http/metrics.js';
import { createServiceApp } from '../../shared/http/service-app.js';
import type { ServiceDeps, ServiceModule } from '../../shared/runtime/deps.js';
import { Checkpointer, LogSigner } from './checkpointer.js';
import { loadAuditConfig, logOrigin, type AuditConfig } from './config.js';
import type { AuditContext } from './context.js';
import { AuditKeys } from './keys.js';
import { LogProofs } from './proofs.js';
import { auditRoutes } from './routes.js';
import { LogStore } from './store.js';
import { LogAppender } from './workers/log-appender.js';

/** The longest a blocked read of the audit stream waits before checkpoints due by time are looked at (ms). */
const MAX_BLOCK_MS = 1000;

/** The audit service's parts, built from the service dependencies (also used by `infoshare audit` and the bench). */
export async function createAuditContext(deps: ServiceDeps, config: AuditConfig): Promise<AuditContext> {
  const keys = new AuditKeys(deps.keys);
  const store = new LogStore(deps.redis, keys);
  const key = await loadTokenSigningKey(deps.config.token);
  const signer = new LogSigner(logOrigin(config, deps.config.partnership.id), key.privateKey, key.publicKey);
  return {
    config,
    keys,
    store,
    signer,
    proofs: new LogProofs(store, signer),
    baseUrl: `${deps.config.urls.audit}/fhir`,
    authenticate: authenticate(deps.tokens.resolveKey, deps.tokens.expected),
  };
}

/** The appender of a context, on its own blocking connection (closed with it). */
export function createLogAppender(ctx: AuditContext, deps: ServiceDeps): { appender: LogAppender; checkpointer: Checkpointer; close(): Promise<void> } {
  const connection = deps.redis.duplicate();
  const checkpointer = new Checkpointer(ctx.store, ctx.signer, ctx.config, deps.log);
  const appender = new LogAppender({
    redis: connection,
    keys: ctx.keys,
    store: ctx.store,
    checkpointer,
    batchSize: ctx.config.batchSize,
    blockMs: Math.max(10, Math.min(MAX_BLOCK_MS, ctx.config.checkpointIntervalMs)),
    log: deps.log,
  });
  return {
    appender,
    checkpointer,
    close: async () => {
      await appender.close();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}

export const auditService: ServiceModule<AuditConfig> = {
  name: 'audit',
  tokenKeys: 'published-jwks',
  loadConfig: loadAuditConfig,
  async createService(deps, config) {
    const ctx = await createAuditContext(deps, config);
    const log = createLogAppender(ctx, deps);
    log.appender.start();
    const routes = Router();
    routes.use(auditRoutes(ctx));
    const app = createServiceApp({
      service: 'audit',
      redis: deps.redis,
      audit: deps.audit,
      log: deps.log,
      metrics: createServiceMetrics('audit'),
      bodyLimit: deps.config.bodyLimit,
      routes,
    });
    return { app, close: () => log.close() };
  },
};
