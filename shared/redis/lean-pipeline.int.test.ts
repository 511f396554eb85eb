/**
 * Pipelines, MULTIs and auto-pipelined batches on a real Redis once lean-pipeline.ts is installed (connection.ts
 * installs it): they answer as ioredis's own do, carry the same own properties as ioredis's own constructor makes
 * (an ioredis upgrade that adds one fails here, instead of a field going missing), and have no own `length`
 * accessor — the per-pipeline getter that kept every request that used Redis alive across young collections.
 */
import type { Redis } from 'ioredis';
import { connectRedis } from './connection.js';
import { IoredisPipeline, leanPipelinesInstalled } from './lean-pipeline.js';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../../test/redis.js';

const prefix = uniquePrefix('lean-pipeline');
let redis: Redis;
let auto: Redis;

beforeAll(async () => {
  redis = connectRedis(testRedisUrl());
  auto = connectRedis(testRedisUrl(), { enableAutoPipelining: true });
  redis.defineCommand('swapOut', { numberOfKeys: 1, lua: "local old = redis.call('GET', KEYS[1]); redis.call('SET', KEYS[1], ARGV[1]); return old" });
  await Promise.all([redis.ping(), auto.ping()]);
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
  auto.disconnect();
});

describe('lean pipelines', () => {
  it('are what pipeline() and multi() make, with no accessor of their own', () => {
    expect(leanPipelinesInstalled()).toBe(true);
    for (const pipeline of [redis.pipeline(), redis.multi()]) {
      expect(pipeline).toBeInstanceOf(IoredisPipeline);
      expect(Object.getOwnPropertyDescriptor(pipeline, 'length')).toBeUndefined();
    }
  });

  it("carry every property ioredis's own constructor gives a pipeline (its defined scripts on the client's pipeline class)", () => {
    const names = (object: object) => Object.keys(Object.getOwnPropertyDescriptors(object)).filter((name) => name !== 'constructor');
    const original = new IoredisPipeline(redis) as Record<string, unknown>;
    const lean = redis.pipeline() as unknown as Record<string, unknown>;
    const carried = [...names(lean), ...names(Object.getPrototypeOf(lean) as object)].sort();
    expect(carried).toEqual(names(original).filter((name) => name !== 'length').sort());
    expect(Object.hasOwn(lean, 'swapOut')).toBe(false);
    for (const name of ['swapOut', 'swapOutBuffer']) expect(lean[name]).toBe(original[name]);
  });

  it("carry a script the client defines after its first pipelines, and share the client's class until then", async () => {
    const client = connectRedis(testRedisUrl());
    try {
      const before = client.pipeline();
      expect(Object.getPrototypeOf(client.pipeline())).toBe(Object.getPrototypeOf(before));
      client.defineCommand('readBack', { numberOfKeys: 1, lua: "return redis.call('GET', KEYS[1])" });
      const after = client.pipeline() as ReturnType<Redis['pipeline']> & { readBack(key: string): unknown };
      expect((before as unknown as Record<string, unknown>).readBack).toBeUndefined();
      after.set(`${prefix}:late`, 'here');
      after.readBack(`${prefix}:late`);
      expect(await after.exec()).toEqual([
        [null, 'OK'],
        [null, 'here'],
      ]);
    } finally {
      client.disconnect();
    }
  });

  it('answer in order, count what they queue, and run MULTI as a transaction', async () => {
    const pipeline = redis.pipeline().set(`${prefix}:a`, '1').incr(`${prefix}:a`).get(`${prefix}:a`);
    expect(pipeline.length).toBe(3);
    expect(await pipeline.exec()).toEqual([
      [null, 'OK'],
      [null, 2],
      [null, '2'],
    ]);
    expect(await redis.multi().incr(`${prefix}:a`).get(`${prefix}:a`).exec()).toEqual([
      [null, 3],
      [null, '3'],
    ]);
    // A command's error fails that command only.
    const replies = (await redis.pipeline().hget(`${prefix}:a`, 'f').get(`${prefix}:a`).exec()) ?? [];
    expect(String(replies[0]?.[0])).toMatch(/WRONGTYPE/);
    expect(replies[1]).toEqual([null, '3']);
  });

  it('run a defined script inside a pipeline, and auto-pipelined commands answer each their own', async () => {
    const pipeline = redis.pipeline() as ReturnType<Redis['pipeline']> & { swapOut(key: string, value: string): unknown };
    pipeline.swapOut(`${prefix}:s`, 'new');
    pipeline.get(`${prefix}:s`);
    expect(await pipeline.exec()).toEqual([
      [null, null],
      [null, 'new'],
    ]);
    const keys = Array.from({ length: 20 }, (_, i) => `${prefix}:auto:${i}`);
    await Promise.all(keys.map((key, i) => auto.set(key, String(i))));
    expect(await Promise.all(keys.map((key) => auto.get(key)))).toEqual(keys.map((_, i) => String(i)));
  });
});
