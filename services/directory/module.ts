/**
 * The directory as a hub service (port 4000): agencies, endpoints, practitioners,
 * Named Person / Lead Professional, the signed ISP, and the token endpoint.
 * Its one background task relays the change records of its writes to the audit
 * stream (shared/audit/outbox-relay.ts); closing stops it, and
 * its validation threads (if a large body ever started them).
 */
import { OutboxRelay } from '../../shared/audit/outbox-relay.js';
import { authenticate } from '../../shared/auth/middleware.js';
import { loadSigningKeyFile } from '../../shared/auth/keys.js';
import { preloadFhirDefinitions } from '../../shared/fhir/validate.js';
import { ValidationPool } from '../../shared/fhir/validation-pool.js';
import { IspRegistry } from '../../shared/isp/registry.js';
import type { ServiceDeps, ServiceInstance, ServiceModule } from '../../shared/runtime/deps.js';
import { createApp } from './app.js';
import { directoryStore } from './store.js';

export const directoryService: ServiceModule = {
  name: 'directory',
  async createService(deps: ServiceDeps): Promise<ServiceInstance> {
    const relay = new OutboxRelay(deps.redis, deps.keys, { log: deps.log });
    const store = directoryStore(deps.redis, deps.keys, { service: 'directory', relay });
    relay.start();
    // Load the structure definitions now, so the first write is not the one that waits for them.
    preloadFhirDefinitions();
    const validation = new ValidationPool({ log: deps.log });
    const app = createApp({
      deps,
      store,
      registry: new IspRegistry(store, { log: deps.log }),
      signingKey: await loadSigningKeyFile(deps.config.token.signingKeyFile),
      authenticate: authenticate(deps.tokens.resolveKey, deps.tokens.expected),
      fhirBase: `${deps.config.urls.directory}/fhir`,
      validation,
      now: () => new Date(),
    });
    return {
      app,
      close: async () => {
        await relay.close();
        await validation.close();
      },
    };
  },
};
