import { once } from 'node:events';
import { connectRedis, isRedisReady, KeySpace } from './connection.js';
import { testRedis, testRedisUrl } from '../../test/redis.js';

describe('Redis connection', () => {
  it('reports a reachable Redis as ready', async () => {
    const redis = testRedis();
    try {
      expect(await isRedisReady(redis)).toBe(true);
    } finally {
      redis.disconnect();
    }
  });

  it('cuts the connections duplicated from a connection when it is cut: a blocked read on one ends with it', async () => {
    const redis = connectRedis(testRedisUrl());
    const blocking = redis.duplicate();
    const withOptions = redis.duplicate({ enableAutoPipelining: true });
    // A read that would wait an hour for an entry nobody writes.
    const read = blocking.xread('BLOCK', 3_600_000, 'STREAMS', `connection-test-${Date.now()}`, '$').then(
      () => 'answered',
      () => 'cut',
    );
    await withOptions.ping();
    redis.disconnect();
    expect(await read).toBe('cut');
    if (withOptions.status !== 'end') await once(withOptions, 'end');
    expect([blocking.status, withOptions.status]).toEqual(['end', 'end']);
  });

  it('builds Cluster-safe key names with one hash tag per entity', () => {
    const keys = new KeySpace('is');
    expect(keys.key('Patient/123', 'v')).toBe('is:{Patient/123}:v');
    expect(keys.queuePrefix('alerts')).toBe('is:{alerts}');
    expect(() => new KeySpace('bad{prefix}')).toThrow('braces');
  });
});
