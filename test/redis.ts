/** Test helpers for the real Redis started by `global-setup.js`: a unique key prefix per test file. */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { connectRedis, deleteKeysWithPrefix } from '../shared/redis/connection.js';

export function testRedisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set: run tests through `npm test` (its global setup starts Redis)');
  return url;
}

/** A fresh namespace so tests never see each other's keys or queues. */
export function uniquePrefix(label = 't'): string {
  return `${label}-${randomBytes(5).toString('hex')}`;
}

export function testRedis(): Redis {
  return connectRedis(testRedisUrl());
}

/** Deletes every key under a prefix (clean-up after a test file; never FLUSHDB on the shared server). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  await deleteKeysWithPrefix(redis, prefix);
}

/**
 * A connection as a Redis user that may only read, and only keys under
 * `prefix`: code run over it provably writes nothing (a write is refused with
 * NOPERM). `close` disconnects and deletes the user.
 */
export async function readOnlyRedis(admin: Redis, prefix: string): Promise<{ redis: Redis; close(): Promise<void> }> {
  const user = `read-only-${prefix}`;
  const password = randomBytes(16).toString('hex');
  // Reads, transactions of reads (the resource store batches reads in MULTI), and what a client needs to connect.
  await admin.acl('SETUSER', user, 'reset', 'on', `>${password}`, `~${prefix}:*`, '+@read', '+multi', '+exec', '+ping', '+info', '+client', '+hello');
  const url = new URL(testRedisUrl());
  url.username = user;
  url.password = password;
  const redis = connectRedis(url.toString());
  return {
    redis,
    async close() {
      await redis.quit().catch(() => redis.disconnect());
      await admin.acl('DELUSER', user);
    },
  };
}
