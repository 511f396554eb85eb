import type { Redis } from 'ioredis';
import { createLogger } from '../../shared/log.js';
import { KeySpace } from '../../shared/redis/connection.js';
import { deletePrefix, testRedis, uniquePrefix } from '../../test/redis.js';
import { loadDemoFixtures } from './fixtures.js';
import { directoryStore } from './store.js';

let redis: Redis;
const prefix = uniquePrefix('dir-fixtures');
const keys = new KeySpace(prefix);
const log = createLogger('fixtures-test', 'silent');

beforeAll(() => {
  redis = testRedis();
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

describe('loadDemoFixtures', () => {
  it('Loads the demo partnership once and writes no new version when run again', async () => {
    const first = await loadDemoFixtures({ redis, keys, log });
    expect(first.Organization).toEqual({ created: 17, updated: 0, unchanged: 0 });
    expect(first.Contract?.created).toBe(2);
    expect(first.CareTeam?.created).toBeGreaterThan(0);
    expect(first.Patient).toBeUndefined();

    const second = await loadDemoFixtures({ redis, keys, log });
    for (const counts of Object.values(second)) expect(counts).toMatchObject({ created: 0, updated: 0 });
    const isp = await directoryStore(redis, keys).read('Contract', 'isp-lothian');
    expect(isp.meta?.versionId).toBe('1');
  });
});
