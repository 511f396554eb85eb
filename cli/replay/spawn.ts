/**
 * `replay --spawn`: a private hub for one run — its own key prefix (so it
 * never touches a running hub's data) and free ports — started through
 * `services/hub.ts`, stopped afterwards, and its keys deleted unless kept.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../shared/log.js';
import { connectRedis, deleteKeysWithPrefix } from '../../shared/redis/connection.js';
import { targetFromConfig, type ReplayTarget } from './target.js';

export interface SpawnedHub {
  readonly target: ReplayTarget;
  /** Stops the hub; deletes the run's keys unless `keep`. */
  stop(keep: boolean): Promise<void>;
}

/** `env`: the environment the hub reads its settings from (default: this process's). */
export async function spawnHub(log: Logger, env?: NodeJS.ProcessEnv): Promise<SpawnedHub> {
  // Loaded lazily: a replay against a running hub should not load every service's code.
  const { startHub } = await import('../../services/hub.js');
  const keyPrefix = `replay-${randomBytes(4).toString('hex')}`;
  const hub = await startHub({ freePorts: true, keyPrefix, log, ...(env ? { env } : {}) });
  return {
    target: targetFromConfig(hub.config, hub.redisUrl),
    async stop(keep) {
      if (!keep) await deleteKeys(hub.redisUrl, keyPrefix).catch((err: Error) => log.warn({ err: err.message }, 'could not delete the replay keys'));
      await hub.stop();
    },
  };
}

/** Deletes the run's keys through a short-lived connection of its own. */
async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = connectRedis(redisUrl, { maxRetriesPerRequest: 2 });
  try {
    await deleteKeysWithPrefix(redis, prefix);
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}
