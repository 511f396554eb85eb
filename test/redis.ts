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
