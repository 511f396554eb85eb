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
  const redis = new Redis(url, {
    // BullMQ workers require null; for request paths we still fail fast via enableOfflineQueue=false in readiness.
    maxRetriesPerRequest: null,
    lazyConnect: false,
    ...options,
  });
  // A connection's own errors (Redis gone, a write on a closing socket at shutdown) are retried by ioredis and reach
  // the caller of each command as its rejection, which the caller handles. Unheard, ioredis printed each one with its
  // stack trace to stderr: seen under `infoshare start`'s friendly "port in use" refusal, as the failed start closed.
  redis.on('error', () => {});
  cutDuplicatesWith(redis);
  return redis;
}

/**
 * The duplicates of a service's connection — the connections of their own services open beside it (the audit log's
 * blocking read, the plans access check's) and those BullMQ opens for each worker (its commands, its blocking fetch)
 * — are cut when it ends for good. A stop that gives up on a Redis that hangs cuts the service's connection
 * (shared/runtime/shutdown.ts): a read or a `quit` waiting on a duplicate would otherwise hold its service's close,
 * and the close of every service after it, for as long as Redis hangs — and their workers kept running.
 */
function cutDuplicatesWith(redis: Redis): void {
  // Never forgotten: BullMQ ends a worker's blocking connection and connects it again. A few per service.
  const duplicates = new Set<Redis>();
  const duplicate = redis.duplicate.bind(redis);
  redis.duplicate = (override?: Partial<RedisOptions>) => {
    const connection = duplicate(override);
    duplicates.add(connection);
    return connection;
  };
  redis.on('end', () => {
    // Only those still open: a disconnect of an ended one would start a timer (ioredis's) for nothing.
    for (const connection of duplicates) if (connection.status !== 'end') connection.disconnect();
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
