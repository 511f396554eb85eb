/**
 * A whole hub inside the Jest process — every service, the test's private Redis, real HTTP
 * between the services — on free ports under the test's own key prefix, and its removal.
 * One home for what suites that drive the running hub over HTTP set up and tear down.
 */
import { createLogger } from '../shared/log.js';
import { connectRedis } from '../shared/redis/connection.js';
import { startHub, type RunningHub, type StartHubOptions } from '../services/hub.js';
import { deletePrefix } from './redis.js';

/**
 * Starts the hub on free ports under `keyPrefix`, logging nothing (a failing test says what went wrong).
 * A reserved port taken by another process before the hub listened is a new start on new ports (startHub).
 */
export async function startTestHub(keyPrefix: string, options: Omit<StartHubOptions, 'freePorts' | 'keyPrefix'> = {}): Promise<RunningHub> {
  return startHub({ log: createLogger(`${keyPrefix}-hub`, 'silent'), ...options, freePorts: true, keyPrefix });
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
