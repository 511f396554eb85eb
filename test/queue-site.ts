/**
 * A queue site per test for suites that open BullMQ queues and workers on the shared test Redis: a fresh key
 * prefix before each test; after it, what the test opened is closed last-first (workers before their queues, as
 * BullMQ wants), the prefix's keys deleted and the connection closed.
 */
import type { Redis } from 'ioredis';
import { KeySpace } from '../shared/redis/connection.js';
import type { QueueSite } from '../shared/queue/queues.js';
import { deletePrefix, testRedis, uniquePrefix } from './redis.js';

export interface QueueSiteOfTest {
  readonly redis: Redis;
  readonly prefix: string;
  readonly site: QueueSite;
  /** Closed after the test, the last one given first. */
  closeAfterTest(close: () => Promise<unknown>): void;
}

export function queueSiteEachTest(label: string): QueueSiteOfTest {
  let current: { redis: Redis; prefix: string; site: QueueSite } | undefined;
  const closers: (() => Promise<unknown>)[] = [];
  beforeEach(() => {
    const redis = testRedis();
    const prefix = uniquePrefix(label);
    current = { redis, prefix, site: { redis, keys: new KeySpace(prefix) } };
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await deletePrefix(current!.redis, current!.prefix);
    current!.redis.disconnect();
  });
  return {
    get redis() { return current!.redis; },
    get prefix() { return current!.prefix; },
    get site() { return current!.site; },
    closeAfterTest: (close) => void closers.push(close),
  };
}
