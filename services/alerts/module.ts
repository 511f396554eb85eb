/** The alerts service as a hub service (structured alerts, port 4002). */
import { serviceRouter } from '../../shared/http/router.js';
import { OutboxRelay } from '../../shared/audit/outbox-relay.js';
import { sentTogether } from '../../shared/redis/sent-together.js';
import { DelayedRun } from '../../shared/runtime/delayed-run.js';
import { loadTokenSigningKey } from '../../shared/auth/keys.js';
import { RedisJtiStore } from '../../shared/auth/jti-store.js';
import { authenticate } from '../../shared/auth/middleware.js';
import { preloadFhirDefinitions } from '../../shared/fhir/validate.js';
import { ValidationPool } from '../../shared/fhir/validation-pool.js';
import { createServiceMetrics } from '../../shared/http/metrics.js';
import { smartEndpointsOf } from '../../shared/auth/smart-configuration.js';
import { createServiceApp } from '../../shared/http/service-app.js';
import { IspRegistry } from '../../shared/isp/registry.js';
import type { ServiceDeps, ServiceModule } from '../../shared/runtime/deps.js';
import { DirectoryView } from '../directory/view.js';
import { PlansView } from '../plans/view.js';
import { MpiView } from '../mpi/view.js';
import { loadAlertsConfig, type AlertsConfig } from './config.js';
import type { AlertsContext } from './context.js';
import { AlertsKeys } from './keys.js';
import { PeerHubs } from './peer-hubs.js';
import { alertsRoutes } from './routes.js';
import { AlertStore } from './store.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './domain/delivery-policy.js';
import { DeliveryQueue, startDeliveryWorker } from './workers/deliveries.js';
import { redisUrlOf, startDeliveryProcesses } from './delivery-processes.js';
import type { Registry } from 'prom-client';

/**
 * How long an accept's records wait in the `{alerts}` outbox for the relay pass that moves them to the audit stream
 * (with those of every accept answered meanwhile). None beyond the answer: the pass starts in the turn after it, so
 * the request's record follows its answer by one round trip, as it preceded it before (a reader of the trail right
 * after the answer — the scenario replay's evidence — finds it there, ahead of the deliveries' records, which the
 * delivery worker relays 100 ms after each step). Waiting 100 ms here, as the worker does, put the deliveries of a
 * quiet hub in the trail first. The pass moves the accepts' outbox only: with the deliveries' moves in the same
 * outbox, the accepting process (whose pass ran first and held the lease) copied ~90 % of every record the hub wrote,
 * on the event loop senders wait on; the delivery worker relays its own (after the accepts', keeping their order).
 */
const ACCEPT_RELAY_DELAY_MS = 0;

/** The alerts service's parts, built from the service dependencies. */
export function createAlertsContext(deps: ServiceDeps, config: AlertsConfig): AlertsContext {
  const keys = new AlertsKeys(deps.keys);
  const store = new AlertStore(deps.redis, keys);
  const directory = new DirectoryView(deps.redis, deps.keys);
  const isp = new IspRegistry(directory, { log: deps.log });
  // The deliveries' moves after the accepts (an accept's records ahead of its deliveries' in the stream).
  const relay = new OutboxRelay(deps.redis, deps.keys, { log: deps.log }).watchAfter(keys.deliveryOutbox, keys.outbox);
  return {
    config,
    store,
    audit: deps.audit,
    relay,
    relayPass: new DelayedRun(() => relay.flushQuietly(undefined, [keys.outbox]), ACCEPT_RELAY_DELAY_MS),
    deliveries: new DeliveryQueue({ redis: deps.redis, keys: deps.keys }, store, retryPolicyOf(config)),
    isp,
    directory,
    mpi: new MpiView(deps.redis, deps.keys),
    consent: new PlansView(deps.redis, deps.keys),
    sentTogether: (start) => sentTogether(deps.redis, start),
    baseUrl: `${deps.config.urls.alerts}/fhir`,
    authenticate: authenticate(deps.tokens.resolveKey, deps.tokens.expected),
    // Every message is validated on the pool's threads, whatever its size (heavyBytes 0): the ~2 ms of R4 validation
    // of an alert would otherwise hold the event loop every other request and Redis reply waits on.
    validation: new ValidationPool({ log: deps.log, size: config.validationThreads, heavyBytes: 0 }),
    peers: new PeerHubs(directory, isp, deps.config.partnership, deps.config.token, new RedisJtiStore(deps.redis, deps.keys)),
  };
}

/** The delivery retry policy with the configured window. */
export function retryPolicyOf(config: AlertsConfig): RetryPolicy {
  return { ...DEFAULT_RETRY_POLICY, windowMs: config.retryWindowMs, baseDelayMs: config.retryBaseDelayMs };
}

/**
 * Re-queues deliveries accepted but never confirmed queued (a process killed
 * between the accept script and addBulk): nothing accepted is lost. At start-up
 * every one found (a process that died left them); then every `sweepIntervalMs`
 * only those already waiting at the previous sweep, so deliveries of requests
 * still on their way to addBulk are not queued twice over under load. Returns
 * the stop function.
 */
function startSweeper(ctx: AlertsContext, deps: ServiceDeps): () => Promise<void> {
  let seen: ReadonlySet<string> = new Set();
  const report = (swept: number) => {
    if (swept > 0) deps.log.warn({ swept }, 're-queued accepted deliveries whose job was not confirmed');
  };
  const failed = (err: unknown) => deps.log.error({ err }, 'could not re-queue unqueued deliveries; will try again');
  let running: Promise<void> = ctx.deliveries.sweepUnqueued().then(report).catch(failed);
  const timer = setInterval(() => {
    running = running
      .then(() => ctx.deliveries.sweepUnqueuedSince(seen))
      .then((pass) => {
        seen = pass.seen;
        report(pass.swept);
      })
      .catch(failed);
  }, ctx.config.sweepIntervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

/** Starts the delivery worker in this process, with the service's parts and settings. */
export async function startAlertsDeliveryWorker(ctx: AlertsContext, deps: ServiceDeps, config: AlertsConfig, registry?: Registry) {
  return startDeliveryWorker({
    site: { redis: deps.redis, keys: deps.keys },
    service: 'alerts',
    audit: deps.audit,
    log: deps.log,
    ...(registry ? { registry } : {}),
    store: ctx.store,
    relay: ctx.relay,
    isp: ctx.isp,
    // The person's Consents kept between attempts until any Consent is written (checked at every attempt).
    consent: new PlansView(deps.redis, deps.keys).keepingConsents(),
    directory: ctx.directory,
    peers: ctx.peers,
    signingKey: await loadTokenSigningKey(deps.config.token),
    baseUrl: ctx.baseUrl,
    reports: ctx.deliveries,
    issuer: deps.config.token.issuer,
    policy: retryPolicyOf(config),
    timeoutMs: config.deliveryTimeoutMs,
    concurrency: config.deliveryConcurrency,
    lockDurationMs: config.lockDurationMs,
    batchLingerMs: config.batchLingerMs,
    sentTogether: ctx.sentTogether,
  });
}

export const alertsService: ServiceModule<AlertsConfig> = {
  name: 'alerts',
  tokenKeys: 'published-jwks',
  loadConfig: loadAlertsConfig,
  async createService(deps, config) {
    const ctx = createAlertsContext(deps, config);
    // Definitions load where validation runs (each thread loads its own): the first message is not slowed by it.
    if (config.validationThreads === 0) preloadFhirDefinitions();
    else await ctx.validation.warmUp();
    ctx.relay.start();
    const metrics = createServiceMetrics('alerts');
    ctx.relay.exportMetrics(metrics.registry);
    // The delivery worker runs here, or in processes of its own (accepting never waits behind delivering).
    const deliveryWorker =
      config.deliveryProcesses > 0
        ? startDeliveryProcesses(config.deliveryProcesses, { hub: { ...deps.config, redisUrl: redisUrlOf(deps.config, deps.redis) }, alerts: config }, deps.log)
        : await startAlertsDeliveryWorker(ctx, deps, config, metrics.registry);
    const stopSweeper = startSweeper(ctx, deps);
    const routes = serviceRouter();
    routes.use(alertsRoutes(ctx, deps.log));
    const app = createServiceApp({
      service: 'alerts',
      smart: smartEndpointsOf(deps.config),
      redis: deps.redis,
      audit: deps.audit,
      log: deps.log,
      metrics,
      bodyLimit: config.bodyLimit,
      // What another partnership's hub sends (a forwarded message, a re-drive) is signed over its exact bytes (operations/peer-exchange.ts).
      rawBodyPaths: /^\/fhir\/\$(?:process-message|redrive\/[^/]+)$/,
      routes,
    });
    return {
      app,
      close: async () => {
        await stopSweeper();
        // The worker before the queues (it closes its own), then the producer handle.
        if ('close' in deliveryWorker) await deliveryWorker.close();
        else await deliveryWorker.stop();
        await ctx.deliveries.close();
        // The accepts' records on to the audit stream before the relay stops (its timer would move them at the next start).
        await ctx.relayPass.settled();
        await ctx.relay.close();
        await ctx.validation.close();
      },
    };
  },
};
