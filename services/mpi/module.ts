/** The MPI as a hub service (matching & indexing, port 4001). */
import { randomUUID } from 'node:crypto';
import { serviceRouter } from '../../shared/http/router.js';
import type { ChangeCause } from '../../shared/audit/outbox.js';
import { OutboxRelay } from '../../shared/audit/outbox-relay.js';
import { authenticate } from '../../shared/auth/middleware.js';
import { smartEndpointsOf } from '../../shared/auth/smart-configuration.js';
import { createServiceApp } from '../../shared/http/service-app.js';
import { IspRegistry } from '../../shared/isp/registry.js';
import type { ServiceDeps, ServiceModule } from '../../shared/runtime/deps.js';
import { ResourceStore } from '../../shared/store/resource-store.js';
import { preloadFhirDefinitions } from '../../shared/fhir/validate.js';
import { ValidationPool } from '../../shared/fhir/validation-pool.js';
import { createServiceMetrics } from '../../shared/http/metrics.js';
import { DirectoryView } from '../directory/view.js';
import { ReclusterRequests, startReclusterWorker } from './workers/recluster.js';
import { BackgroundLoads, startRegistrationWorker } from './workers/registrations.js';
import { loadMpiConfig, type MpiConfig } from './config.js';
import type { MpiContext } from './context.js';
import { MpiKeys } from './keys.js';
import { ModelEstimation } from './model-estimation.js';
import { ModelVersions } from './model-versions.js';
import { EstimationRequests, startModelEstimationWorker } from './workers/model-estimation.js';
import { IspPartnershipView } from './partnership.js';
import { Registrar } from './registration.js';
import { MPI_RESOURCE_TYPES } from './resource-types.js';
import { mpiRoutes } from './routes.js';
import { MpiStore } from './store.js';

/** Blocks larger than this are skipped when looking for candidates (see domain/engine.ts MatchIndex). */
const MAX_BLOCK_SIZE = 500;

/** The MPI's parts, built from the service dependencies (also used by the demo fixture loader). */
export function createMpiContext(deps: ServiceDeps, config: MpiConfig): MpiContext {
  const mpiKeys = new MpiKeys(deps.keys);
  const store = new MpiStore(deps.redis, mpiKeys);
  const relay = new OutboxRelay(deps.redis, deps.keys, { log: deps.log }).watch(mpiKeys.outbox);
  const tasks = new ResourceStore(deps.redis, deps.keys, MPI_RESOURCE_TYPES, { family: 'mpi', audit: { service: 'mpi', relay } });
  const models = new ModelVersions(deps.redis, mpiKeys, config.model);
  const reclusterRequests = new ReclusterRequests({ redis: deps.redis, keys: deps.keys }, config.reclusterDelaySeconds);
  // A new model version re-decides the index under it at once (the first after a load above all).
  const estimation = new ModelEstimation({
    store,
    versions: models,
    settings: config.estimation,
    onModelChanged: (cause, version) => reclusterRequests.requestPrompt(cause, `model-version-${version}`),
  });
  const estimationRequests = new EstimationRequests({ redis: deps.redis, keys: deps.keys }, estimation, config.estimation.quietSeconds);
  // After a change: a re-clustering pass later, and the estimation once the load has ended, when one is due.
  const onIndexChanged = async (cause: ChangeCause) => {
    await Promise.all([reclusterRequests.request(cause), estimationRequests.indexChanged()]);
  };
  return {
    config,
    store,
    relay,
    tasks,
    models,
    estimation,
    estimationRequests,
    registrar: new Registrar({ store, tasks, relay, models, maxBlockSize: MAX_BLOCK_SIZE, onIndexChanged }),
    reclusterRequests,
    registrations: new BackgroundLoads({ redis: deps.redis, keys: deps.keys }),
    partnership: new IspPartnershipView(new IspRegistry(new DirectoryView(deps.redis, deps.keys), { log: deps.log })),
    baseUrl: `${deps.config.urls.mpi}/fhir`,
    authenticate: authenticate(deps.tokens.resolveKey, deps.tokens.expected),
    maxBlockSize: MAX_BLOCK_SIZE,
    validation: new ValidationPool({ log: deps.log }),
  };
}

export const mpiService: ServiceModule<MpiConfig> = {
  name: 'mpi',
  tokenKeys: 'published-jwks',
  loadConfig: loadMpiConfig,
  async createService(deps, config) {
    preloadFhirDefinitions();
    const ctx = createMpiContext(deps, config);
    ctx.relay.start();
    // The blocking index as an older MPI wrote it moves to the current form; reads and writes meanwhile take either.
    const blocksMigration = ctx.store
      .migrateLegacyBlocks()
      .then((moved) => {
        if (moved) deps.log.info({ moved }, 'moved blocking lists written by an older MPI to the current form');
      })
      .catch((err: unknown) => deps.log.error({ err }, 'could not move the older blocking lists; reads and writes still take them'));
    // A chunk a crashed MPI left half-done is completed now, not only when the next load comes.
    const recovery = ctx.registrar
      .recover()
      .then(async (completed) => {
        if (!completed) return;
        deps.log.warn({ completed }, 'completed registration chunks left unfinished by a stopped MPI');
        // Work the hub did on its own: recorded as a scheduled exchange (each chunk's change record is in the trail too).
        await deps.audit.record({
          requestId: `recovery-${randomUUID()}`,
          service: 'mpi',
          type: 'rest',
          subtype: 'recover',
          action: 'U',
          outcome: '0',
          outcomeDescription: `Completed ${completed} registration chunk(s) a stopped MPI left unfinished`,
          agent: {},
          entities: [],
          criteria: [],
          trigger: { kind: 'schedule', name: 'start-up recovery' },
        });
      })
      .catch((err: unknown) => deps.log.error({ err }, 'could not complete unfinished registration chunks; the next registration will'));
    const metrics = createServiceMetrics('mpi');
    ctx.relay.exportMetrics(metrics.registry);
    // What every MPI worker is run with: where its jobs live, who audits and logs them, where their metrics go.
    const workerDeps = { site: { redis: deps.redis, keys: deps.keys }, service: 'mpi', audit: deps.audit, log: deps.log, registry: metrics.registry } as const;
    const registrationWorker = startRegistrationWorker({
      ...workerDeps,
      registrar: ctx.registrar,
      partnership: ctx.partnership,
      baseUrl: ctx.baseUrl,
    });
    const estimationWorker = startModelEstimationWorker({
      ...workerDeps,
      estimation: ctx.estimation,
      requests: ctx.estimationRequests,
      checkSeconds: config.estimation.checkSeconds,
    });
    const reclusterWorker = startReclusterWorker({
      ...workerDeps,
      registrar: ctx.registrar,
    });
    const routes = serviceRouter();
    routes.use(mpiRoutes(ctx));
    const app = createServiceApp({
      service: 'mpi',
      smart: smartEndpointsOf(deps.config),
      redis: deps.redis,
      audit: deps.audit,
      log: deps.log,
      metrics,
      bodyLimit: deps.config.bodyLimit,
      largeBodyPaths: [{ path: '/fhir', limit: config.bulkBodyLimit }],
      routes,
    });
    return {
      app,
      close: async () => {
        // Workers before queues (the runner closes its own queue after its worker), then the producer handle.
        await registrationWorker.close();
        await reclusterWorker.close();
        await estimationWorker.close();
        await ctx.registrations.close();
        await ctx.reclusterRequests.close();
        await ctx.estimationRequests.close();
        await recovery;
        await blocksMigration;
        await ctx.relay.close();
        await ctx.validation.close();
      },
    };
  },
};
