/**
 * The directory as a hub service (port 4000): agencies, endpoints, practitioners,
 * Named Person / Lead Professional, the signed ISP, and the token endpoint.
 * Builds the service from its dependencies and never listens (main.ts and
 * services/hub.ts do), so tests drive `app` with supertest. Its one background
 * task relays the change records of its writes to the audit stream
 * (shared/audit/outbox-relay.ts); closing stops it, and its validation threads
 * (if a large body ever started them).
 */
import { OutboxRelay } from '../../shared/audit/outbox-relay.js';
import { authenticate } from '../../shared/auth/middleware.js';
import { loadSigningKeyFile } from '../../shared/auth/keys.js';
import { preloadFhirDefinitions } from '../../shared/fhir/validate.js';
import { ValidationPool } from '../../shared/fhir/validation-pool.js';
import { createServiceMetrics } from '../../shared/http/metrics.js';
import { smartEndpointsOf } from '../../shared/auth/smart-configuration.js';
import { createServiceApp } from '../../shared/http/service-app.js';
import { IspRegistry } from '../../shared/isp/registry.js';
import type { ServiceModule } from '../../shared/runtime/deps.js';
import { directoryRoutes } from './routes.js';
import { directoryStore } from './store.js';
import { DirectoryView } from './view.js';

export const directoryService: ServiceModule<void> = {
  name: 'directory',
  // It issues the access tokens, so it verifies them with the signing key itself.
  tokenKeys: 'signing-key',
  // No settings of its own: token and key settings are the partnership's (shared/config.ts), as every service verifies tokens.
  loadConfig: () => undefined,
  async createService(deps) {
    const relay = new OutboxRelay(deps.redis, deps.keys, { log: deps.log });
    const store = directoryStore(deps.redis, deps.keys, { service: 'directory', relay });
    relay.start();
    // Load the structure definitions now, so the first write is not the one that waits for them.
    preloadFhirDefinitions();
    const validation = new ValidationPool({ log: deps.log });
    const routes = directoryRoutes({
      deps,
      store,
      registry: new IspRegistry(new DirectoryView(deps.redis, deps.keys), { log: deps.log }),
      signingKey: await loadSigningKeyFile(deps.config.token.signingKeyFile),
      authenticate: authenticate(deps.tokens.resolveKey, deps.tokens.expected),
      fhirBase: `${deps.config.urls.directory}/fhir`,
      validation,
      now: () => new Date(),
    });
    const { redis, audit, log, config } = deps;
    const metrics = createServiceMetrics('directory');
    relay.exportMetrics(metrics.registry);
    const app = createServiceApp({ service: 'directory', redis, audit, log, metrics, bodyLimit: config.bodyLimit, routes, smart: smartEndpointsOf(config) });
    return {
      app,
      close: async () => {
        await relay.close();
        await validation.close();
      },
    };
  },
};
