/**
 * Redis connections and key naming.
 *
 * Keys are Cluster-ready from day one: `<prefix>:{<tag>}:<part>…`. Everything
 * written together in one MULTI/Lua script shares one `{tag}`. We never use
 * ioredis `keyPrefix` (BullMQ refuses it); the prefix is part of each name.
 */
import { Redis, type RedisOptions } from 'ioredis';
// Every pipeline, MULTI and auto-pipelined batch without the per-instance accessor that kept requests alive (lean-pipeline.ts).
import './lean-pipeline.js';

export function connectRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    // BullMQ workers require null; for request paths we still fail fast via enableOfflineQueue=false in readiness.
    maxRetriesPerRequest: null,
    lazyConnect: false,
    ...options,
  });
}

export { KeySpace } from './key-space.js';

/** Redis is reachable and answering (for `/ready`). */
export async function isRedisReady(redis: Redis, timeoutMs = 1000): Promise<boolean> {
  try {
    const pong = await Promise.race([
      redis.ping(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs).unref()),
    ]);
    return pong === 'PONG';
  } catch {
    return false;
  }
}

/**
 * Deletes every key under a namespace prefix (SCAN + UNLINK): how tests and
 * throw-away runs clean up. Never FLUSHDB: others may share the Redis.
 */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
}
