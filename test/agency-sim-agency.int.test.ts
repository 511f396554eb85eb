/**
 * Which agency a simulator path names, against a real directory (the demo partnership): a known agency of the
 * directory, with its own state read beside it — the Organization and that read leaving for Redis in one socket
 * write (services/agency-sim/agency.ts `simulatedAgencyWith`) — or a 404 for an unknown agency and for a partnership.
 */
import type { Redis } from 'ioredis';
import { connectRedis } from '../shared/redis/connection.js';
import { sentTogether } from '../shared/redis/sent-together.js';
import { testRedisUrl } from './redis.js';
import { socketWrites } from './socket-writes.js';
import { startTestDirectory, type TestDirectory } from '../services/directory/test-directory.js';
import { DirectoryView } from '../services/directory/view.js';
import { simulatedAgencyWith } from '../services/agency-sim/agency.js';
import { AgencySimKeys } from '../services/agency-sim/keys.js';
import { AgencySimStore } from '../services/agency-sim/store.js';

let dir: TestDirectory;
// A connection of the test's own: the directory's service writes on its own, and would be counted.
let redis: Redis;
let store: AgencySimStore;
let ctx: Parameters<typeof simulatedAgencyWith>[0];

beforeAll(async () => {
  dir = await startTestDirectory();
  redis = connectRedis(testRedisUrl());
  await redis.ping();
  store = new AgencySimStore(redis, new AgencySimKeys(dir.keys));
  ctx = { directory: new DirectoryView(redis, dir.keys), sentTogether: (start) => sentTogether(redis, start) };
});

afterAll(async () => {
  await store.reset('nhs-lothian');
  redis.disconnect();
  await dir.close();
});

const path = (agency: string) => ({ params: { agency } });

describe('the agency a simulator path names', () => {
  it("reads a known agency's Organization and its own state in one write to Redis", async () => {
    await store.setBehaviour('nhs-lothian', { mode: 'slow', delayMs: 5 });
    const { writes, result } = await socketWrites(redis, () => simulatedAgencyWith(ctx, path('nhs-lothian'), (id) => store.behaviour(id)));
    expect(result).toEqual(['nhs-lothian', { mode: 'slow', delayMs: 5 }]);
    expect(writes).toBe(1);
  });

  it('refuses an agency the directory does not know, and a partnership (no system of its own), with a 404', async () => {
    for (const agency of ['no-such-agency', 'lothian-hscp']) {
      await expect(simulatedAgencyWith(ctx, path(agency), (id) => store.behaviour(id))).rejects.toMatchObject({ status: 404 });
    }
    await expect(simulatedAgencyWith(ctx, path('../nhs-lothian'), (id) => store.behaviour(id))).rejects.toMatchObject({ status: 404 });
  });
});
