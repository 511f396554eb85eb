/**
 * Two partnership hubs in one test process, as the cross-partnership demo
 * runs them (`infoshare start --partnership lothian-hscp` and `… fife-hscp`):
 * each with its demo profile (partnership, peer hubs, DEMO-ONLY signing key),
 * its own key prefix and free ports, both on the test Redis. Since the ports
 * are free ones, each directory's Endpoint for the other partnership's hub is
 * pointed at where that hub really listens (a partnership would register its
 * peer's real address the same way, through its directory).
 */
import type { Endpoint, Parameters } from 'fhir/r4.js';
import { readAuditEntries } from '../shared/audit/audit-client.js';
import { fullEventText, type AuditEntry } from '../shared/audit/audit-entry.js';
import { demoAgencyKey } from '../shared/client/demo-keys.js';
import { sendHttp } from '../shared/client/http.js';
import { getAccessToken } from '../shared/client/token.js';
import type { Logger } from '../shared/log.js';
import { createLogger } from '../shared/log.js';
import type { RunningHub } from '../services/hub.js';
import { directoryStore } from '../services/directory/store.js';
import type { DemoPartnershipId } from '../fixtures/partnership/demo-hubs.js';
import { startTestHub } from './in-process-hub.js';
import { deletePrefix, testRedis, testRedisUrl, uniquePrefix } from './redis.js';

export interface TwoHubs {
  readonly lothian: RunningHub;
  readonly fife: RunningHub;
  /**
   * Takes one hub down — every service stopped, as a partnership's hub that is down — runs `whileDown`, then starts
   * it again on the same Redis keys (what it stored is all still there) at new free ports, to which both
   * directories' hub Endpoints are pointed again (as a partnership would re-register a moved hub).
   */
  restart(partnership: DemoPartnershipId, whileDown: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

/** `env`: settings both hubs share (e.g. a short retry window). */
export async function startTwoHubs(env: NodeJS.ProcessEnv = {}, log: Logger = createLogger('two-hubs', 'error')): Promise<TwoHubs> {
  const running = new Map<DemoPartnershipId, RunningHub>();
  const prefixes = new Map<DemoPartnershipId, string>();
  const start = async (partnership: DemoPartnershipId, label: string): Promise<RunningHub> => {
    const keyPrefix = prefixes.get(partnership) ?? uniquePrefix(label);
    prefixes.set(partnership, keyPrefix);
    // Through startTestHub: a port reserved for it and taken by another process before it listened (EADDRINUSE, other
    // suites start hubs at the same time) is a new start on new ports, not a failed suite.
    const hub = await startTestHub(keyPrefix, { partnership, env: { ...process.env, ...env, REDIS_URL: testRedisUrl() }, log });
    running.set(partnership, hub);
    return hub;
  };
  const hubOf = (partnership: DemoPartnershipId): RunningHub => {
    const hub = running.get(partnership);
    if (!hub) throw new Error(`the ${partnership} hub is not running`);
    return hub;
  };
  const pointAtEachOther = async () => {
    await pointHubEndpointAt(hubOf('lothian-hscp'), 'fife-hscp', hubOf('fife-hscp'));
    await pointHubEndpointAt(hubOf('fife-hscp'), 'lothian-hscp', hubOf('lothian-hscp'));
  };
  const stop = async () => {
    for (const hub of [...running.values()].reverse()) await hub.stop();
    running.clear();
    const redis = testRedis();
    for (const prefix of prefixes.values()) await deletePrefix(redis, prefix);
    await redis.quit();
  };
  const restart = async (partnership: DemoPartnershipId, whileDown: () => Promise<void>) => {
    await hubOf(partnership).stop();
    running.delete(partnership);
    await whileDown();
    await start(partnership, partnership);
    await pointAtEachOther();
  };
  try {
    await start('lothian-hscp', 'lothian');
    await start('fife-hscp', 'fife');
    await pointAtEachOther();
    return {
      get lothian() {
        return hubOf('lothian-hscp');
      },
      get fife() {
        return hubOf('fife-hscp');
      },
      restart,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * In `hub`'s directory, the alerts Endpoint of `partnership`'s hub names `alertsBase` instead (a hub whose peer moved
 * and was registered wrong: what it sends there is refused); `pointHubEndpointAt` puts it right.
 */
export async function misdirectHubEndpoint(hub: RunningHub, partnership: DemoPartnershipId, alertsBase: string): Promise<void> {
  const store = directoryStore(hub.deps.redis, hub.deps.keys, { service: 'directory' });
  const [endpoint] = await store.readMany('Endpoint', [`${partnership}-hub`]);
  if (!endpoint) throw new Error(`the directory has no Endpoint/${partnership}-hub`);
  await store.upsert({ ...endpoint, address: alertsBase }, { cause: { requestId: `two-hubs-${partnership}-misdirected`, agent: {} } });
}

/** In `hub`'s directory, the Endpoints of `partnership`'s hub now name `peer`'s alerts and plans bases. */
export async function pointHubEndpointAt(hub: RunningHub, partnership: DemoPartnershipId, peer: RunningHub): Promise<void> {
  // Audited like any directory write: the running directory's relay moves the change record on.
  const store = directoryStore(hub.deps.redis, hub.deps.keys, { service: 'directory' });
  const [endpoint, plans] = await store.readMany('Endpoint', [`${partnership}-hub`, `${partnership}-hub-plans`]);
  if (!endpoint || !plans) throw new Error(`the directory has no Endpoint/${partnership}-hub or Endpoint/${partnership}-hub-plans`);
  const moved: Endpoint = { ...endpoint, address: `${peer.config.urls.alerts}/fhir` };
  await store.upsert(moved, { cause: { requestId: `two-hubs-${partnership}`, agent: {} } });
  await store.upsert({ ...plans, address: `${peer.config.urls.plans}/fhir` }, { cause: { requestId: `two-hubs-${partnership}-plans`, agent: {} } });
}

/* What the suites that run two hubs ask of them. */

export async function bearer(hub: RunningHub, agencyId: string): Promise<string> {
  const { access_token } = await getAccessToken({ tokenUrl: hub.config.token.tokenUrl, agencyId, privateKeyPem: await demoAgencyKey(agencyId) });
  return `Bearer ${access_token}`;
}

export async function post(url: string, authorization: string, body: string) {
  return sendHttp({ method: 'POST', url, headers: { authorization, 'content-type': 'application/fhir+json', accept: 'application/fhir+json' }, body });
}

export async function get(url: string, authorization?: string) {
  return sendHttp({ method: 'GET', url, headers: { accept: 'application/fhir+json', ...(authorization ? { authorization } : {}) } });
}

/** Polls until `check` returns a value (not undefined), or fails after `ms`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

export function stateOf(status: Parameters, agencyId: string): string | undefined {
  const recipient = status.parameter?.find((p) => p.name === 'recipient' && p.part?.some((x) => x.name === 'agency' && x.valueReference?.reference === `Organization/${agencyId}`));
  return recipient?.part?.find((x) => x.name === 'state')?.valueCode;
}

/** The hub's audit trail, each entry's event in full (layout 4 stores its fixed text by reference). */
export async function trail(hub: RunningHub): Promise<AuditEntry[]> {
  return (await readAuditEntries(hub.deps.redis, hub.deps.keys, { count: 100_000 })).map((e) => ({ ...e.entry, event: fullEventText(e.entry) }));
}

/**
 * The hub's audit trail once `has` holds of it. A delivery worker's records are committed with each step and relayed
 * to the trail by a pass a little later (the outbox: services/alerts/workers/deliveries.ts), so a test that has just
 * seen a delivery's state waits for its records rather than reading the trail at once.
 */
export async function trailOnce(hub: RunningHub, what: string, has: (entries: AuditEntry[]) => boolean): Promise<AuditEntry[]> {
  return eventually(what, async () => {
    const entries = await trail(hub);
    return has(entries) ? entries : undefined;
  });
}

export async function received(hub: RunningHub, agencyId: string): Promise<{ messageId: string; receiveCount?: number }[]> {
  const res = await get(`${hub.config.urls['agency-sim']}/agencies/${agencyId}/received?summary=true`);
  return (res.body as { messages?: { messageId: string; receiveCount?: number }[] }).messages ?? [];
}
