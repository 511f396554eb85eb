/**
 * What a delivery attempt re-checks against (services/alerts/workers/deliveries.ts `recheckReads`), against a real directory (the demo
 * partnership): the ISP as it stands and the Endpoints' revision, read once for the attempts that ask together —
 * the commands of that read in one socket write — and as fresh as a read per attempt: a write before the attempts
 * ask is seen.
 */
import type { Redis } from 'ioredis';
import { IspRegistry } from '../shared/isp/registry.js';
import { connectRedis } from '../shared/redis/connection.js';
import { sentTogether } from '../shared/redis/sent-together.js';
import { testRedisUrl } from './redis.js';
import { socketWrites } from './socket-writes.js';
import { startTestDirectory, type TestDirectory } from '../services/directory/test-directory.js';
import { DirectoryView } from '../services/directory/view.js';
import { recheckReads } from '../services/alerts/workers/deliveries.js';

let dir: TestDirectory;
// A connection of the test's own: the directory's service writes on its own, and would be counted.
let redis: Redis;
let directory: DirectoryView;
let isp: IspRegistry;

beforeAll(async () => {
  dir = await startTestDirectory();
  redis = connectRedis(testRedisUrl());
  await redis.ping();
  directory = new DirectoryView(redis, dir.keys);
  isp = new IspRegistry(directory);
});

afterAll(async () => {
  redis.disconnect();
  await dir.close();
});

describe('the reads every delivery attempt re-checks against', () => {
  it('are read once for the attempts that ask together, in one write to Redis, each attempt getting the same answer', async () => {
    const reads = recheckReads({ isp, directory, sentTogether: (start) => sentTogether(redis, start) });
    // The snapshot's first read (every Organization and Contract) done: what follows is what every later turn asks.
    await reads();
    const { writes, result } = await socketWrites(redis, () => Promise.all([reads(), reads(), reads()]));
    expect(writes).toBe(1);
    const [[partnership, revision], ...others] = result;
    expect(others).toEqual([
      [partnership, revision],
      [partnership, revision],
    ]);
    expect(partnership.agencies.has('nhs-lothian')).toBe(true);
    expect(revision).toBe(await directory.endpointsRevision());
  });

  it("sees an Endpoint written before the attempts asked (its revision moved)", async () => {
    const reads = recheckReads({ isp, directory, sentTogether: (start) => sentTogether(redis, start) });
    const [, before] = await reads();
    const [endpoint] = await directory.endpointsOf('nhs-lothian');
    await dir.store.update({ ...endpoint!, name: 'NHS Lothian (moved)' });
    const [, after] = await reads();
    expect(after).not.toBe(before);
    expect(after).toBe(await directory.endpointsRevision());
  });
});
