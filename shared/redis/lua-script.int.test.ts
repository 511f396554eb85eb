/**
 * `LuaScript` on a real Redis: a call on a connection the script is loaded on is written at once, so a
 * command started right after it (before any await) runs after it, and both leave in one socket write
 * when started together — the MPI's registration builds its change record while Redis runs the records'
 * script, and hands the index lock over right after sending the chunk's finish.
 */
import type { Redis } from 'ioredis';
import { connectRedis } from './connection.js';
import { LuaScript } from './lua-script.js';
import { sentTogether } from './sent-together.js';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../../test/redis.js';
import { socketWrites } from '../../test/socket-writes.js';

const prefix = uniquePrefix('lua-script');
const SET_AND_COUNT = new LuaScript(`
redis.call('SET', KEYS[1], ARGV[1])
return redis.call('INCR', KEYS[2])
`);
let redis: Redis;

beforeAll(() => {
  redis = connectRedis(testRedisUrl());
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

describe('LuaScript', () => {
  it('runs on a fresh connection (loading the script first) and answers as EVAL would', async () => {
    const fresh = connectRedis(testRedisUrl());
    try {
      await expect(SET_AND_COUNT.run(fresh, [`${prefix}:a`, `${prefix}:n`], ['first'])).resolves.toBe(1);
      await expect(SET_AND_COUNT.run(fresh, [`${prefix}:a`, `${prefix}:n`], ['second'])).resolves.toBe(2);
      expect(await fresh.get(`${prefix}:a`)).toBe('second');
    } finally {
      fresh.disconnect();
    }
  });

  it('once loaded, a call runs before a command started right after it, in the same socket write', async () => {
    await SET_AND_COUNT.run(redis, [`${prefix}:b`, `${prefix}:m`], ['loaded']);
    const { writes, result } = await socketWrites(redis, () =>
      Promise.all(sentTogether(redis, () => [SET_AND_COUNT.run(redis, [`${prefix}:b`, `${prefix}:m`], ['now']), redis.get(`${prefix}:b`)])),
    );
    expect(result).toEqual([2, 'now']);
    expect(writes).toBe(1);
  });

  it('passes an error reply of the script to its caller', async () => {
    const failing = new LuaScript(`return redis.error_reply('refused here')`);
    await expect(failing.run(redis, [], [])).rejects.toThrow('refused here');
    await expect(failing.run(redis, [], [])).rejects.toThrow('refused here');
  });
});
