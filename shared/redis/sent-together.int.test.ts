/**
 * `sentTogether` on a real Redis: commands started together leave in one socket write and each gets its own
 * reply, in order — an error reply or a throwing starter included — and a connection that is not ready yet
 * still sends them once it is.
 */
import type { Redis } from 'ioredis';
import { connectRedis } from './connection.js';
import { sentTogether } from './sent-together.js';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../../test/redis.js';
import { socketWrites } from '../../test/socket-writes.js';

const prefix = uniquePrefix('sent-together');
let redis: Redis;

beforeAll(async () => {
  redis = connectRedis(testRedisUrl());
  await redis.mset(`${prefix}:a`, 'one', `${prefix}:b`, 'two');
  await redis.hset(`${prefix}:h`, 'field', 'three');
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

const fourReads = (client: Redis) => [client.get(`${prefix}:a`), client.hget(`${prefix}:h`, 'field'), client.get(`${prefix}:missing`), client.mget(`${prefix}:a`, `${prefix}:b`)];

describe('sentTogether', () => {
  it('sends the commands started together in one write, each answered as alone', async () => {
    const alone = await socketWrites(redis, () => Promise.all(fourReads(redis)));
    const together = await socketWrites(redis, () => Promise.all(sentTogether(redis, () => fourReads(redis))));
    expect(together.writes).toBe(1);
    expect(alone.writes).toBeGreaterThan(1);
    expect(together.result).toEqual(['one', 'three', null, ['one', 'two']]);
    expect(together.result).toEqual(alone.result);
  });

  it('gives an error reply to its own command only', async () => {
    const [before, wrongType, after] = await Promise.allSettled(
      sentTogether(redis, () => [redis.get(`${prefix}:a`), redis.get(`${prefix}:h`), redis.hget(`${prefix}:h`, 'field')]),
    );
    expect(before).toEqual({ status: 'fulfilled', value: 'one' });
    expect(wrongType.status).toBe('rejected');
    expect(String((wrongType as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
    expect(after).toEqual({ status: 'fulfilled', value: 'three' });
  });

  it('sends what was started before the starter threw, and leaves the connection writing as usual', async () => {
    let started: Promise<string | null> | undefined;
    expect(() =>
      sentTogether(redis, () => {
        started = redis.get(`${prefix}:a`);
        throw new Error('starter failed');
      }),
    ).toThrow('starter failed');
    await expect(started).resolves.toBe('one');
    const { writes, result } = await socketWrites(redis, () => redis.get(`${prefix}:b`));
    expect(result).toBe('two');
    expect(writes).toBe(1);
  });

  it('leaves a connection that is not ready yet alone: its commands are sent once it is', async () => {
    const late = connectRedis(testRedisUrl(), { lazyConnect: true });
    try {
      expect(late.status).toBe('wait');
      const replies = sentTogether(late, () => [late.get(`${prefix}:a`), late.get(`${prefix}:b`)]);
      await expect(Promise.all(replies)).resolves.toEqual(['one', 'two']);
    } finally {
      late.disconnect();
    }
  });
});
