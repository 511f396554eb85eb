/**
 * The agency simulator (port 4010): the receiving system of every demo agency,
 * for tests and demos. Not part of the hub: its state is under its own
 * `{agency-sim}` tag and its exchanges go to its log, not the hub's audit
 * trail (exchange-log.ts). It checks the hub's delivery tokens with the keys
 * the directory publishes, like any agency system would.
 */
import { serviceRouter } from '../../shared/http/router.js';
import { createServiceApp } from '../../shared/http/service-app.js';
import type { ServiceModule } from '../../shared/runtime/deps.js';
import { sentTogether } from '../../shared/redis/sent-together.js';
import { DirectoryView } from '../directory/view.js';
import { loadAgencySimConfig, type AgencySimConfig } from './config.js';
import type { AgencySimContext } from './context.js';
import { ExchangeLog } from './exchange-log.js';
import { AgencySimKeys } from './keys.js';
import { agencySimRoutes, DELIVERY_PATH } from './routes.js';
import { AgencySimStore } from './store.js';

export const agencySimService: ServiceModule<AgencySimConfig> = {
  name: 'agency-sim',
  tokenKeys: 'published-jwks',
  loadConfig: loadAgencySimConfig,
  createService(deps, config) {
    const ctx: AgencySimContext = {
      config,
      store: new AgencySimStore(deps.redis, new AgencySimKeys(deps.keys)),
      directory: new DirectoryView(deps.redis, deps.keys),
      resolveKey: deps.tokens.resolveKey,
      issuer: deps.config.token.issuer,
      hub: { tokenUrl: deps.config.token.tokenUrl, alertsUrl: deps.config.internalUrls.alerts },
      log: deps.log,
      sentTogether: (start) => sentTogether(deps.redis, start),
      now: Date.now,
    };
    const routes = serviceRouter();
    routes.use(agencySimRoutes(ctx));
    const app = createServiceApp({
      service: 'agency-sim',
      redis: deps.redis,
      audit: new ExchangeLog(deps.log),
      log: deps.log,
      bodyLimit: deps.config.bodyLimit,
      rawBodyPaths: DELIVERY_PATH,
      routes,
    });
    // Express would hash every answer for a weak ETag (a SHA-1 of the body, on every POST too): an acknowledgement is
    // never read again by its ETag, so the simulator answers without one.
    app.set('etag', false);
    return Promise.resolve({ app, close: () => Promise.resolve() });
  },
};
