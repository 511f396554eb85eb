/** The MPI as a hub service (matching & indexing, port 4001). */
import { Router } from 'express';
import { authenticate } from '../../shared/auth/middleware.js';
import { createServiceApp } from '../../shared/http/service-app.js';
import { IspRegistry } from '../../shared/isp/registry.js';
import type { ServiceDeps, ServiceModule } from '../../shared/runtime/deps.js';
import { ResourceStore } from '../../shared/store/resource-store.js';
import { preloadFhirDefinitions } from '../../shared/fhir/validate.js';
import { ValidationPool } from '../../shared/fhir/validation-pool.js';
import { AsyncRegistrations } from './async-registrations.js';
import { loadMatchModel } from './domain/load-model.js';
import type { MpiContext } from './context.js';
import { MpiKeys } from './keys.js';
import { IspPartnershipView } from './partnership.js';
import { Registrar } from './registration.js';
import { MPI_RESOURCE_TYPES } from './resource-types.js';
import { mpiRoutes } from './routes.js';
import { MpiStore } from './store.js';

/** Blocks larger than this are skipped when looking for candidates (see domain/engine.ts MatchIndex). */
const MAX_BLOCK_SIZE = 500;

/** The MPI's parts, built from the service dependencies (also used by the demo fixture loader). */
export function createMpiContext(deps: ServiceDeps): MpiContext {
  const store = new MpiStore(deps.redis, new MpiKeys(deps.keys));
  const tasks = new ResourceStore(deps.redis, deps.keys, MPI_RESOURCE_TYPES, { family: 'mpi' });
  const model = loadMatchModel(deps.config.matchModelFile);
  return {
    config: deps.config,
    store,
    tasks,
    model,
    registrar: new Registrar({ store, tasks, model, maxBlockSize: MAX_BLOCK_SIZE }),
    registrations: new AsyncRegistrations({ redis: deps.redis, keys: deps.keys }, deps.audit, deps.log),
    partnership: new IspPartnershipView(IspRegistry.forRedis(deps.redis, deps.keys, { log: deps.log })),
    baseUrl: `${deps.config.urls.mpi}/fhir`,
    authenticate: authenticate(deps.tokens.resolveKey, deps.tokens.expected),
    maxBlockSize: MAX_BLOCK_SIZE,
    validation: new ValidationPool({ log: deps.log }),
  };
}

export const mpiService: ServiceModule = {
  name: 'mpi',
  async createService(deps) {
    preloadFhirDefinitions();
    const ctx = createMpiContext(deps);
    ctx.registrations.startWorker(ctx);
    const routes = Router();
    routes.use(mpiRoutes(ctx));
    const app = createServiceApp({
      service: 'mpi',
      redis: deps.redis,
      audit: deps.audit,
      log: deps.log,
      bodyLimit: deps.config.bodyLimit,
      largeBodyPaths: [{ path: '/fhir', limit: deps.config.bulkBodyLimit }],
      routes,
    });
    return {
      app,
      close: async () => {
        await ctx.registrations.close();
        await ctx.validation.close();
      },
    };
  },
};
