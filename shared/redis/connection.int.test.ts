import { isRedisReady, KeySpace } from './connection.js';
import { testRedis } from '../../test/redis.js';

describe('Redis connection', () => {
  it('reports a reachable Redis as ready', async () => {
    const redis = testRedis();
    try {
      expect(await isRedisReady(redis)).toBe(true);
    } finally {
      redis.disconnect();
    }
  });

  it('builds Cluster-safe key names with one hash tag per entity', () => {
    const keys = new KeySpace('is');
    expect(keys.key('Patient/123', 'v')).toBe('is:{Patient/123}:v');
    expect(keys.queuePrefix('alerts')).toBe('is:{alerts}');
    expect(() => new KeySpace('bad{prefix}')).toThrow('braces');
  });
});
