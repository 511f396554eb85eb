/**
 * A whole hub inside the Jest process — every service, the test's private Redis, real HTTP
 * between the services — on free ports under the test's own key prefix, and its removal.
 * One home for what suites that drive the running hub over HTTP set up and tear down.
 */
import { createLogger } from '../shared/log.js';
import { connectRedis } from '../shared/redis/connection.js';
import { startHub, type RunningHub, type StartHubOptions } from '../services/hub.js';
import { deletePrefix } from './redis.js';

/** How often a start that lost a reserved port to another process is tried again. */
const PORT_RACE_STARTS = 3;

/**
 * Starts the hub on free ports under `keyPrefix`, logging nothing (a failing test says what went wrong).
 * The hub reserves free ports, then listens on them: with several suites starting hubs at once another
 * can take one in between (EADDRINUSE) — that start is tried again on new ports.
 */
export async function startTestHub(keyPrefix: string, options: Omit<StartHubOptions, 'freePorts' | 'keyPrefix'> = {}): Promise<RunningHub> {
  for (let start = 1; ; start++) {
    try {
      return await startHub({ log: createLogger(`${keyPrefix}-hub`, 'silent'), ...options, freePorts: true, keyPrefix });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || start >= PORT_RACE_STARTS) throw err;
    }
  }
}

/** Stops every service and deletes the keys the hub wrote, so no run leaves anything behind. */
export async function stopTestHub(hub: RunningHub | undefined, keyPrefix: string): Promise<void> {
  if (!hub) return; // its start failed: the failure is the test's report, nothing to remove
  const redis = connectRedis(hub.redisUrl);
  try {
    await hub.stop();
    await deletePrefix(redis, keyPrefix);
  } finally {
    await redis.quit();
  }
}
