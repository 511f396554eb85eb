/**
 * How a delivery attempt starts (services/alerts/workers/deliveries.ts `attemptStarts`), against a real directory (the
 * demo partnership): the claims of the attempts that start together, their messages, the ISP as it stands and the
 * Endpoints' and Consents' revisions — all in ONE socket write to Redis, so one round trip — and as fresh as a read per
 * attempt: a write before the attempts ask is seen.
 */
import type { Redis } from 'ioredis';
import { IspRegistry } from '../shared/isp/registry.js';
import { connectRedis } from '../shared/redis/connection.js';
import { sentTogether } from '../shared/redis/sent-together.js';
import { testRedisUrl } from './redis.js';
import { socketWrites } from './socket-writes.js';
import { startTestDirectory, type TestDirectory } from '../services/directory/test-directory.js';
import { DirectoryView } from '../services/directory/view.js';
import { attemptStarts } from '../services/alerts/workers/deliveries.js';
import { AlertStore } from '../services/alerts/store.js';
import { AlertsKeys } from '../services/alerts/keys.js';
import { PlansView } from '../services/plans/view.js';
import { consentStore } from '../services/plans/consent-store.js';

let dir: TestDirectory;
// A connection of the test's own: the directory's service writes on its own, and would be counted.
let redis: Redis;
let directory: DirectoryView;
let isp: IspRegistry;
let store: AlertStore;

beforeAll(async () => {
  dir = await startTestDirectory();
  redis = connectRedis(testRedisUrl());
  await redis.ping();
  directory = new DirectoryView(redis, dir.keys);
  isp = new IspRegistry(directory);
  store = new AlertStore(redis, new AlertsKeys(dir.keys));
});

afterAll(async () => {
  redis.disconnect();
  await dir.close();
});

function starts() {
  const consent = new PlansView(redis, dir.keys).keepingConsents();
  const messages = { get: (messageId: string) => store.message(messageId) };
  return attemptStarts({ store, isp, directory, consent, sentTogether: (start) => sentTogether(redis, start) }, messages, Date.now, 30_000);
}

const claim = (n: number) => ({ messageId: `msg-${n}`, agencyId: 'nhs-lothian', holder: `holder-${n}` });

describe('how the delivery attempts that start together start', () => {
  it('claims, reads each message and every revision they re-check against in one write to Redis, each attempt getting its own claim and the same revisions', async () => {
    const batch = starts();
    // The snapshot's first read (every Organization and Contract) and the claim script's loading done: what follows is
    // what every later turn asks.
    await batch.submit(claim(0));
    const { writes, result } = await socketWrites(redis, () => Promise.all([batch.submit(claim(1)), batch.submit(claim(2)), batch.submit(claim(3))]));
    expect(writes).toBe(1);
    const [first, ...others] = result;
    // No such deliveries or messages: each claim answered on its own.
    expect(result.map((s) => s.claim.kind)).toEqual(['missing', 'missing', 'missing']);
    expect(await Promise.all(result.map((s) => s.message))).toEqual([undefined, undefined, undefined]);
    for (const other of others) {
      expect(other.partnership).toBe(first.partnership);
      expect(other.endpointsRevision).toBe(first.endpointsRevision);
      expect(other.consentRevision).toBe(first.consentRevision);
    }
    expect(first.partnership.agencies.has('nhs-lothian')).toBe(true);
    expect(first.endpointsRevision).toBe(await directory.endpointsRevision());
    expect(first.consentRevision).toBe(await consentStore(redis, dir.keys).revision('Consent'));
  });

  it('sees an Endpoint written before the attempts asked (its revision moved)', async () => {
    const batch = starts();
    const before = await batch.submit(claim(4));
    const [endpoint] = await directory.endpointsOf('nhs-lothian');
    await dir.store.update({ ...endpoint!, name: 'NHS Lothian (moved)' });
    const after = await batch.submit(claim(5));
    expect(after.endpointsRevision).not.toBe(before.endpointsRevision);
    expect(after.endpointsRevision).toBe(await directory.endpointsRevision());
  });
});
