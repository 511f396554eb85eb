/** The audit service as a hub service (the verifiable exchange log, port 4004). */
import { serviceRouter } from '../../shared/http/router.js';
import { loadTokenSigningKey } from '../../shared/auth/keys.js';
import { authenticate } from '../../shared/auth/middleware.js';
import { createServiceMetrics } from '../../shared/http/metrics.js';
import { smartEndpointsOf } from '../../shared/auth/smart-configuration.js';
import { createServiceApp } from '../../shared/http/service-app.js';
import type { ServiceDeps, ServiceModule } from '../../shared/runtime/deps.js';
import { Checkpointer, LogSigner } from './checkpointer.js';
import { loadAuditConfig, logOrigin, type AuditConfig } from './config.js';
import type { AuditContext } from './context.js';
import { AuditKeys } from './keys.js';
import { LogProofs } from './proofs.js';
import { createEvidenceContext, logFactsOf } from './evidence-context.js';
import { evidenceRoutes } from './evidence-routes.js';
import { PerformanceSampler } from './performance.js';
import { auditRoutes } from './routes.js';
import { LogStore } from './store.js';
import { LogAppender, type LogAppenderOptions } from './workers/log-appender.js';

/** The hub's services whose metrics the performance summary reads (agency-sim is not part of the hub). */
const PERFORMANCE_TARGETS = ['directory', 'mpi', 'alerts', 'plans', 'audit'] as const;

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
export function createLogAppender(
  ctx: AuditContext,
  deps: ServiceDeps,
  afterAppend?: LogAppenderOptions['afterAppend'],
): { appender: LogAppender; checkpointer: Checkpointer; close(): Promise<void> } {
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
    ...(afterAppend ? { afterAppend } : {}),
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
    // The evidence side: search indexes kept up by the appender (and a catch-up loop of their own,
    // so nothing depends on the order), documentary evidence, the performance summary.
    const evidence = createEvidenceContext(deps, logFactsOf(ctx.store));
    const log = createLogAppender(ctx, deps, (batch) => evidence.index.indexBatch(batch));
    log.appender.start();
    const stopIndexing = evidence.index.startIndexing({ log: deps.log });
    evidence.relay.start();
    const sampler = new PerformanceSampler(evidence.performance, {
      targets: PERFORMANCE_TARGETS.map((service) => ({ service, url: deps.config.internalUrls[service] })),
      intervalMs: config.performanceIntervalMs,
      audit: deps.audit,
      log: deps.log,
    });
    const stopSampler = sampler.start();
    const metrics = createServiceMetrics('audit');
    evidence.relay.exportMetrics(metrics.registry);
    const routes = serviceRouter();
    routes.use(auditRoutes(ctx));
    routes.use(evidenceRoutes({ ...evidence, firstPerformanceSummary: () => sampler.firstSummary() }));
    const app = createServiceApp({
      service: 'audit',
      smart: smartEndpointsOf(deps.config),
      redis: deps.redis,
      audit: deps.audit,
      log: deps.log,
      metrics,
      bodyLimit: deps.config.bodyLimit,
      routes,
    });
    return {
      app,
      close: async () => {
        await stopSampler();
        await stopIndexing();
        await evidence.relay.close();
        await log.close();
      },
    };
  },
};
