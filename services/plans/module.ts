/** The plans service as a hub service (shared plans, assessments and requests for assistance, port 4003). */
import type { Redis } from 'ioredis';
import { OutboxRelay } from '../../shared/audit/outbox-relay.js';
import { authenticate } from '../../shared/auth/middleware.js';
import { preloadFhirDefinitions } from '../../shared/fhir/validate.js';
import { ValidationPool } from '../../shared/fhir/validation-pool.js';
import { createServiceMetrics } from '../../shared/http/metrics.js';
import { smartEndpointsOf } from '../../shared/auth/smart-configuration.js';
import { createServiceApp } from '../../shared/http/service-app.js';
import { IspRegistry } from '../../shared/isp/registry.js';
import type { ServiceDeps, ServiceModule } from '../../shared/runtime/deps.js';
import { AlertsView } from '../alerts/view.js';
import { AuditView } from '../audit/view.js';
import { DirectoryView } from '../directory/view.js';
import { MpiView } from '../mpi/view.js';
import { NO_CONSENT, PlansAccess, type ConsentSource } from './access.js';
import { loadPlansConfig, type PlansConfig } from './config.js';
import type { PlansContext } from './context.js';
import { PlansKeys } from './keys.js';
import { plansRoutes } from './routes.js';
import { PeerPlans } from './peer-plans.js';
import { PlansStore } from './store.js';
import { consentStore } from './consent-store.js';
import { ConsentVerdicts } from './consent-source.js';
import { issueAccessToken } from '../../shared/auth/access-token.js';
import { loadTokenSigningKey, type SigningKey } from '../../shared/auth/keys.js';
import { writeScope } from '../../shared/auth/scopes.js';
import { BreakGlassNotices } from './break-glass-notices.js';
import { BreakGlassNoticeQueue, startBreakGlassNoticeWorker } from './workers/break-glass-notices.js';

/**
 * The plans service's parts, built from the service dependencies. `consent` decides with the ISP on every read (access.ts).
 * `accessReads`: the connection the access check reads the ISP revision and the person's Consents on — give it
 * ioredis auto-pipelining (`createService` does) and the two reads, asked in the same tick, go to Redis in ONE
 * write: the consent check adds no round trip to the ISP check every read makes anyway.
 */
export function createPlansContext(deps: ServiceDeps, config: PlansConfig, accessReads: Redis = deps.redis): PlansContext {
  const directory = new DirectoryView(accessReads, deps.keys);
  const mpi = new MpiView(deps.redis, deps.keys);
  const isp = new IspRegistry(directory, { log: deps.log });
  const relay = new OutboxRelay(deps.redis, deps.keys, { log: deps.log }).watch(...new PlansKeys(deps.keys).outboxes);
  const consents = consentStore(deps.redis, deps.keys, { service: 'plans', relay });
  // The consent decision on every read (Consents read fresh each time, beside the ISP revision); off only for the benchmark's baseline (config.ts).
  const consent: ConsentSource = config.consentCheck ? new ConsentVerdicts({ consents: consentStore(accessReads, deps.keys), isp, directory, mpi }) : NO_CONSENT;
  const access = new PlansAccess(isp, consent);
  const peers = new PeerPlans(directory, isp, deps.config.partnership, deps.config.token);
  const notices = new BreakGlassNotices(deps.redis, deps.keys);
  return {
    redis: deps.redis,
    keys: deps.keys,
    consents,
    audit: deps.audit,
    peers,
    breakGlass: { store: notices, queue: new BreakGlassNoticeQueue({ redis: deps.redis, keys: deps.keys }, notices), notifier: { isp, directory, mpi, audit: deps.audit, alertsUrl: deps.config.internalUrls.alerts, serviceToken: hubTokenFor(deps) } },
    config,
    store: new PlansStore(deps.redis, deps.keys, access, relay),
    access,
    relay,
    isp,
    directory,
    mpi,
    alerts: new AlertsView(deps.redis, deps.keys),
    auditLog: new AuditView(deps.redis, deps.keys, mpi),
    baseUrl: `${deps.config.urls.plans}/fhir`,
    alertsBaseUrl: `${deps.config.urls.alerts}/fhir`,
    authenticate: authenticate(deps.tokens.resolveKey, deps.tokens.expected),
    validation: new ValidationPool({ log: deps.log }),
  };
}

/**
 * The hub's own credentials for the break-glass notices it raises: an access token it signs itself (`sub` `hub:plans`)
 * for the agency that broke the glass and its practitioner, scope `system/Flag.write` only, short-lived.
 */
function hubTokenFor(deps: ServiceDeps): (agencyId: string, practitionerRole: string | undefined) => Promise<string> {
  let key: Promise<SigningKey> | undefined;
  return async (agencyId, practitionerRole) => {
    key ??= loadTokenSigningKey(deps.config.token);
    return issueAccessToken(
      { clientId: 'hub:plans', scopes: [writeScope('Flag')], agency: agencyId, partnership: deps.config.partnership.id, ...(practitionerRole ? { practitionerRole } : {}) },
      await key,
      { ...deps.config.token, ttlSeconds: 60 },
    ).token;
  };
}

/** The access check's own connection (closed with the service): what one decision asks in the same tick goes to Redis in one write. */
export function accessReadsConnection(redis: Redis): Redis {
  return redis.duplicate({ enableAutoPipelining: true });
}

export const plansService: ServiceModule<PlansConfig> = {
  name: 'plans',
  tokenKeys: 'published-jwks',
  loadConfig: loadPlansConfig,
  async createService(deps, config) {
    preloadFhirDefinitions();
    const accessReads = accessReadsConnection(deps.redis);
    const ctx = createPlansContext(deps, config, accessReads);
    ctx.relay.start();
    const metrics = createServiceMetrics('plans');
    ctx.relay.exportMetrics(metrics.registry);
    const noticeWorker = ctx.breakGlass
      ? startBreakGlassNoticeWorker({
          site: { redis: deps.redis, keys: deps.keys },
          service: 'plans',
          audit: deps.audit,
          log: deps.log,
          registry: metrics.registry,
          notices: ctx.breakGlass.store,
          queue: ctx.breakGlass.queue,
          notifier: ctx.breakGlass.notifier,
        })
      : undefined;
    const app = createServiceApp({
      service: 'plans',
      redis: deps.redis,
      audit: deps.audit,
      log: deps.log,
      metrics,
      bodyLimit: config.bodyLimit,
      routes: plansRoutes(ctx),
      smart: smartEndpointsOf(deps.config),
    });
    return {
      app,
      close: async () => {
        // The worker before the queues, then the relay (the last notices' records), then Redis.
        await noticeWorker?.close();
        await ctx.breakGlass?.queue.close();
        await ctx.relay.close();
        await ctx.validation.close();
        await accessReads.quit().catch(() => accessReads.disconnect());
      },
    };
  },
};
