/**
 * Two partnership hubs in one test process, as the cross-partnership demo
 * runs them (`infoshare start --partnership lothian-hscp` and `… fife-hscp`):
 * each with its demo profile (partnership, peer hubs, DEMO-ONLY signing key),
 * its own key prefix and free ports, both on the test Redis. Since the ports
 * are free ones, each directory's Endpoint for the other partnership's hub is
 * pointed at where that hub really listens (a partnership would register its
 * peer's real address the same way, through its directory).
 */
import type { Endpoint } from 'fhir/r4.js';
import type { Logger } from '../shared/log.js';
import { createLogger } from '../shared/log.js';
import { startHub, type RunningHub } from '../services/hub.js';
import { directoryStore } from '../services/directory/store.js';
import type { DemoPartnershipId } from '../fixtures/partnership/demo-hubs.js';
import { deletePrefix, testRedis, testRedisUrl, uniquePrefix } from './redis.js';

export interface TwoHubs {
  readonly lothian: RunningHub;
  readonly fife: RunningHub;
  stop(): Promise<void>;
}

/** `env`: settings both hubs share (e.g. a short retry window). */
export async function startTwoHubs(env: NodeJS.ProcessEnv = {}, log: Logger = createLogger('two-hubs', 'error')): Promise<TwoHubs> {
  const started: RunningHub[] = [];
  const prefixes: string[] = [];
  const start = async (partnership: DemoPartnershipId, label: string): Promise<RunningHub> => {
    const keyPrefix = uniquePrefix(label);
    prefixes.push(keyPrefix);
    const hub = await startHub({ partnership, env: { ...process.env, ...env, REDIS_URL: testRedisUrl() }, keyPrefix, freePorts: true, log });
    started.push(hub);
    return hub;
  };
  const stop = async () => {
    for (const hub of started.reverse()) await hub.stop();
    const redis = testRedis();
    for (const prefix of prefixes) await deletePrefix(redis, prefix);
    await redis.quit();
  };
  try {
    const lothian = await start('lothian-hscp', 'lothian');
    const fife = await start('fife-hscp', 'fife');
    await pointHubEndpointAt(lothian, 'fife-hscp', fife);
    await pointHubEndpointAt(fife, 'lothian-hscp', lothian);
    return { lothian, fife, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** In `hub`'s directory, the Endpoints of `partnership`'s hub now name `peer`'s alerts and plans bases. */
async function pointHubEndpointAt(hub: RunningHub, partnership: DemoPartnershipId, peer: RunningHub): Promise<void> {
  // Audited like any directory write: the running directory's relay moves the change record on.
  const store = directoryStore(hub.deps.redis, hub.deps.keys, { service: 'directory' });
  const [endpoint, plans] = await store.readMany('Endpoint', [`${partnership}-hub`, `${partnership}-hub-plans`]);
  if (!endpoint || !plans) throw new Error(`the directory has no Endpoint/${partnership}-hub or Endpoint/${partnership}-hub-plans`);
  const moved: Endpoint = { ...endpoint, address: `${peer.config.urls.alerts}/fhir` };
  await store.upsert(moved, { cause: { requestId: `two-hubs-${partnership}`, agent: {} } });
  await store.upsert({ ...plans, address: `${peer.config.urls.plans}/fhir` }, { cause: { requestId: `two-hubs-${partnership}-plans`, agent: {} } });
}
