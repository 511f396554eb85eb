/**
 * `LuaScript` on a real Redis: a call is written at once — on a connection the script is loaded on, and on one it is
 * not (a new connection, or one opened again after Redis restarted with an empty script cache: `SCRIPT LOAD` goes
 * with the call) — so a command started right after it (before any await) runs after it, and both leave in one
 * socket write when started together: the MPI's registration builds its change record while Redis runs the records'
 * script, and hands the index lock over right after sending the chunk's finish.
 */
import type { Redis } from 'ioredis';
import { connectRedis } from './connection.js';
import { LuaScript } from './lua-script.js';
import { sentTogether } from './sent-together.js';
import { startRedisProcess } from '../../test/redis-process.js';
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

  it('on a connection it was never loaded on, the first call runs before a command started right after it', async () => {
    const fresh = connectRedis(testRedisUrl());
    try {
      await fresh.ping();
      const [count, value] = await Promise.all([
        SET_AND_COUNT.run(fresh, [`${prefix}:c`, `${prefix}:k`], ['first call']),
        fresh.get(`${prefix}:c`),
      ]);
      expect([count, value]).toEqual([1, 'first call']);
    } finally {
      fresh.disconnect();
    }
  });

  it('passes an error reply of the script to its caller', async () => {
    const failing = new LuaScript(`return redis.error_reply('refused here')`);
    await expect(failing.run(redis, [], [])).rejects.toThrow('refused here');
    await expect(failing.run(redis, [], [])).rejects.toThrow('refused here');
  });
});

// On redis-servers of their own: restarting Redis or SCRIPT FLUSH empties the whole server's script cache, and the
// test Redis is shared with the suites the other Jest worker runs meanwhile.
describe('LuaScript after Redis forgot its scripts', () => {
  it('after Redis restarted, a call on the reopened connection runs before a command started right after it', async () => {
    const own = await startRedisProcess('always');
    const ownRedis = connectRedis(own.url);
    try {
      await expect(SET_AND_COUNT.run(ownRedis, ['a', 'n'], ['before the restart'])).resolves.toBe(1);
      await own.kill();
      await own.restart();
      // Answered on the reopened connection (ioredis reconnects and sends it again): the old socket is gone.
      await expect(ownRedis.get('a')).resolves.toBe('before the restart');
      expect(await ownRedis.script('EXISTS', SET_AND_COUNT.sha)).toEqual([0]);
      const [count, value] = await Promise.all([SET_AND_COUNT.run(ownRedis, ['a', 'n'], ['after the restart']), ownRedis.get('a')]);
      expect([count, value]).toEqual([2, 'after the restart']);
    } finally {
      ownRedis.disconnect();
      await own.stop();
    }
  });

  it('after SCRIPT FLUSH between calls, each call still runs once and answers, and the next call loads it again', async () => {
    const own = await startRedisProcess('everysec');
    const ownRedis = connectRedis(own.url);
    try {
      await ownRedis.ping();
      await expect(SET_AND_COUNT.run(ownRedis, ['a', 'n'], ['one'])).resolves.toBe(1);
      await ownRedis.script('FLUSH');
      // Each meets NOSCRIPT and falls back to EVAL: no call lost, none run twice.
      const answers = await Promise.all(['two', 'three', 'four'].map((value) => SET_AND_COUNT.run(ownRedis, ['a', 'n'], [value])));
      expect([...(answers as number[])].sort()).toEqual([2, 3, 4]);
      expect(await ownRedis.get('n')).toBe('4');
      await expect(SET_AND_COUNT.run(ownRedis, ['a', 'n'], ['five'])).resolves.toBe(5);
      await ownRedis.script('FLUSH');
      await expect(SET_AND_COUNT.run(ownRedis, ['a', 'n'], ['five again'])).resolves.toBe(6);
      // After a NOSCRIPT the connection is not taken as loaded: the next call sends SCRIPT LOAD with it, in order
      // (the cache emptied again, so the EVAL of the call before did not leave it there).
      await ownRedis.script('FLUSH');
      const [count, value] = await Promise.all([SET_AND_COUNT.run(ownRedis, ['a', 'n'], ['six']), ownRedis.get('a')]);
      expect([count, value]).toEqual([7, 'six']);
    } finally {
      ownRedis.disconnect();
      await own.stop();
    }
  });
});
