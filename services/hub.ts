/**
 * The whole hub in one process: what `infoshare start` (and `npm start`), the
 * scenario replay's `--spawn` and the end-to-end tests run. Starts (or reuses)
 * Redis, then every service on its port, directory first so tokens work, then
 * loads the demo partnership. Deployments that scale out run one service per
 * process instead (`services/<name>/main.ts`, docker-compose.yml).
 */
import type { Express } from 'express';
import { loadConfig, loadConfigs, type HubConfig, type ServiceName } from '../shared/config.js';
import { createLogger, type Logger } from '../shared/log.js';
import { connectRedis } from '../shared/redis/connection.js';
import { ensureRedis, type RedisHandle } from '../shared/redis/server.js';
import { buildServiceDeps, type ServiceDeps, type ServiceInstance, type ServiceModule } from '../shared/runtime/deps.js';
import { freePortSettings, listen, type Listening } from '../shared/runtime/listen.js';
import { closeWithin, settlesWithin } from '../shared/runtime/shutdown.js';
import { demoHubEnv, type DemoPartnershipId } from '../fixtures/partnership/demo-hubs.js';
import { loadDemoFixtures } from './directory/fixtures.js';
import { loadDemoDemographics, loadDemoPeople } from './mpi/fixtures.js';
import { mpiService } from './mpi/module.js';
import { SERVICE_MODULES } from './registry.js';

/** How long a stop that gave up on the services still waits for their closes to end once Redis is cut (they fail fast then). */
const ABANDONED_CLOSE_MS = 2_000;

export interface StartHubOptions {
  /** Environment to read config from (defaults to process.env); overrides below win. */
  readonly env?: NodeJS.ProcessEnv;
  /** Use free ports instead of the configured ones (tests, replay --spawn). */
  readonly freePorts?: boolean;
  /** Key namespace (tests use a unique one). */
  readonly keyPrefix?: string;
  /**
   * Run as this demo partnership's own hub (`infoshare start --partnership`):
   * its key prefix, ports, signing key, data directory and peer hubs
   * (fixtures/partnership/demo-hubs.ts) under whatever `env` sets. Unset: the
   * single hub, serving every agency, as before.
   */
  readonly partnership?: DemoPartnershipId;
  /** Load the demo partnership fixtures (default true). */
  readonly loadFixtures?: boolean;
  /**
   * Register the people the demo CareTeams name (`demo-child-1` …) in the index as records of their
   * NP's and LP's agencies, so alerts about them resolve (default: with the fixtures).
   */
  readonly loadDemoPeople?: boolean;
  /** Also register the demo agencies' demographic extracts in the index (default false; `infoshare start` does). */
  readonly loadDemographics?: boolean;
  readonly log?: Logger;
  /**
   * Run only these services in this process (default: every one). The others run
   * in processes of their own at their configured ports (`INFOSHARE_<NAME>_PORT`),
   * e.g. bench:alerts runs agency-sim apart so its CPU is not the hub's.
   */
  readonly services?: readonly ServiceName[];
}

export interface RunningHub {
  readonly config: HubConfig;
  readonly redisUrl: string;
  readonly urls: Readonly<Partial<Record<ServiceName, string>>>;
  /** Each started service's app (suites that cover "every route" read the routes from it). */
  readonly apps: Readonly<Partial<Record<ServiceName, Express>>>;
  readonly deps: ServiceDeps;
  /**
   * Stops every service, then Redis. Resolves `false` when the services did not all close within
   * `INFOSHARE_SHUTDOWN_SECONDS` (Redis not answering): Redis is stopped regardless, and the caller
   * should exit rather than wait for what is stuck.
   */
  stop(): Promise<boolean>;
}

/** How often a start on free ports that lost a reserved port to another process is tried again. */
const PORT_RACE_STARTS = 3;

/**
 * Starts the hub. On free ports (`freePorts`) each port is reserved, released, then listened on: another process
 * can take one in between (EADDRINUSE: suites or replays starting hubs at the same time, any connection's ephemeral
 * port) — that start is stopped and tried again on new free ports, up to PORT_RACE_STARTS times.
 */
export async function startHub(options: StartHubOptions = {}): Promise<RunningHub> {
  for (let start = 1; ; start++) {
    try {
      return await startHubOnce(options);
    } catch (err) {
      if (!options.freePorts || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || start >= PORT_RACE_STARTS) throw err;
    }
  }
}

async function startHubOnce(options: StartHubOptions): Promise<RunningHub> {
  const env = options.partnership ? demoHubEnv(options.partnership, options.env ?? process.env) : { ...(options.env ?? process.env) };
  if (options.keyPrefix) env.INFOSHARE_KEY_PREFIX = options.keyPrefix;
  // The hub's settings and every service's own, checked together: all problems reported at once.
  const [hubConfig, ...ownConfigs] = loadConfigs<[HubConfig, ...unknown[]]>(env, [loadConfig, ...SERVICE_MODULES.map((m) => (e: NodeJS.ProcessEnv) => m.loadConfig(e))]);
  const ownConfig = new Map(SERVICE_MODULES.map((m, i) => [m, ownConfigs[i]] as const));
  /** A service's own settings, as its `loadConfig` read them above. */
  const configOf = <C>(module: ServiceModule<C>): C => ownConfig.get(module) as C;
  let config = hubConfig;
  const log = options.log ?? createLogger('hub', config.logLevel);
  // Each service logs under its own name: a child of the hub's logger would carry `service` twice (pino does not
  // replace a parent's binding), so only a caller's own logger is extended.
  const serviceLog = (name: ServiceName): Logger => (options.log ? options.log.child({ service: name }) : createLogger(name, config.logLevel));

  const redisHandle: RedisHandle = await ensureRedis(config, log);
  const redis = connectRedis(redisHandle.url);
  const started: { name: ServiceName; instance: ServiceInstance; server: Listening }[] = [];
  // In reverse order of start, each once the one before is closed; every one even when one fails (the ones after it
  // would otherwise keep their workers and connections).
  const closeServices = async () => {
    const failures: unknown[] = [];
    for (const s of [...started].reverse()) {
      try {
        await s.server.close();
        await s.instance.close();
      } catch (err) {
        log.error({ err, service: s.name }, 'service did not close cleanly');
        failures.push(err);
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, `${failures.length} service(s) did not close cleanly`);
  };
  const stop = async (): Promise<boolean> => {
    const closing = closeServices();
    const closed = await closeWithin(() => closing, redis, config.shutdownSeconds, log);
    if (!closed) {
      // Given up on a service stuck on Redis: the HTTP servers its close never reached wait on nothing, so they are
      // closed all the same — else those services' ports stayed bound for as long as the process lived.
      await Promise.all(started.map((s) => s.server.close()));
      // Redis is cut now, and with it every connection beside it and every worker on it (shared/redis/connection.ts,
      // shared/queue/queues.ts): what the stuck close and those after it wait on fails at once, so they run to their
      // end instead of living on in this process with their timers, reconnecting to a Redis that is gone.
      await settlesWithin(closing.catch(() => undefined), ABANDONED_CLOSE_MS);
    }
    await redisHandle.stop();
    return closed;
  };

  try {
    if (options.freePorts) {
      // Reserve ports by listening on 0 first, then rebuild the config so URLs (token issuer, JWKS) are right.
      Object.assign(env, await freePortSettings(SERVICE_MODULES.map((m) => m.name)));
      config = loadConfig(env);
    }
    const deps = await buildServiceDeps(config, redis, log);
    for (const module of SERVICE_MODULES) {
      if (options.services && !options.services.includes(module.name)) continue;
      const instance = await module.createService({ ...deps, log: serviceLog(module.name) }, configOf(module));
      const server = await listen(instance.app, config.ports[module.name], config.host);
      started.push({ name: module.name, instance, server });
    }
    const loadFixtures = options.loadFixtures ?? true;
    // The demo Endpoints deliver to this hub's agency simulator, on whatever port it listens.
    if (loadFixtures) await loadDemoFixtures(deps, { agencySimUrl: config.internalUrls['agency-sim'] });
    if (options.loadDemoPeople ?? loadFixtures) await loadDemoPeople(deps, configOf(mpiService));
    if (options.loadDemographics) await loadDemoDemographics(deps, configOf(mpiService));
    const urls = Object.fromEntries(started.map((s) => [s.name, config.urls[s.name]]));
    const apps = Object.fromEntries(started.map((s) => [s.name, s.instance.app]));
    return { config, redisUrl: redisHandle.url, urls, apps, deps, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
