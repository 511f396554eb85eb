/**
 * The access check's Redis traffic against a real Redis, on the connection the
 * service gives it (module.ts `accessReadsConnection`: ioredis auto-pipelining): a
 * consent-checked decision sends the ISP revision read and the person's
 * Consents to Redis in ONE write — no round trip more than the ISP check alone.
 * The Consents are read as their projections (consent-store.ts), a few hundred bytes
 * whatever the Consents' size, on every request.
 * (That a revocation still bites on the very next request is consent.int.test.ts
 * "default deny, grant, revoke", through the service and this same connection, and
 * kept-consents.int.test.ts.)
 */
import { jest } from '@jest/globals';
import type { Redis } from 'ioredis';
import { KeySpace } from '../../shared/redis/connection.js';
import { IspRegistry } from '../../shared/isp/registry.js';
import { indexedScript } from '../../shared/store/scripts.js';
import { deletePrefix, testRedis, uniquePrefix } from '../../test/redis.js';
import { DirectoryView } from '../directory/view.js';
import { MpiView } from '../mpi/view.js';
import { NO_CONSENT, PlansAccess } from './access.js';
import { ConsentVerdicts } from './consent-source.js';
import { consentStore } from './consent-store.js';
import { accessReadsConnection } from './module.js';
import type { AccessRecord, Caller } from './domain/access.js';

const prefix = uniquePrefix('plans-access');
const keys = new KeySpace(prefix);
let admin: Redis;
let reads: Redis;

beforeAll(async () => {
  admin = testRedis();
  reads = accessReadsConnection(admin);
  await reads.ping();
});

afterAll(async () => {
  await deletePrefix(admin, prefix);
  await reads.quit();
  await admin.quit();
});

const caller: Caller = { agency: 'edinburgh-education', partnership: 'edinburgh', purpose: 'care-planning' };
const record: AccessRecord = { type: 'CarePlan', id: 'plan-1', authorAgency: 'edinburgh-social-work', personId: 'person-1', category: 'plan' };

/** Writes the access check makes to Redis for one decision (after a first one has loaded the scripts and the ISP snapshot), and what they carried. */
async function writesOfOneDecision(access: PlansAccess, about: AccessRecord = record): Promise<number> {
  return (await trafficOfOneDecision(access, about)).writes;
}

async function trafficOfOneDecision(access: PlansAccess, about: AccessRecord): Promise<{ writes: number; sent: string }> {
  await access.decide(caller, [record], 'read');
  const write = jest.spyOn(reads.stream, 'write');
  try {
    await access.decide(caller, [about], 'read');
    return { writes: write.mock.calls.length, sent: write.mock.calls.map((call) => String(call[0])).join('') };
  } finally {
    write.mockRestore();
  }
}

describe('the access check on its auto-pipelined connection', () => {
  it('decides a consent-checked read in as many writes to Redis as the ISP check alone: one', async () => {
    const directory = new DirectoryView(reads, keys);
    const isp = new IspRegistry(directory);
    const consentChecked = new PlansAccess(isp, new ConsentVerdicts({ consents: consentStore(reads, keys), isp, directory, mpi: new MpiView(reads, keys) }));
    const ispOnly = new PlansAccess(isp, NO_CONSENT);
    expect(await writesOfOneDecision(ispOnly)).toBe(1);
    expect(await writesOfOneDecision(consentChecked)).toBe(1);
    // A person whose Consents are not kept yet: still one write (the revisions and their Consents together).
    expect(await writesOfOneDecision(consentChecked, { ...record, id: 'plan-2', personId: 'person-2' })).toBe(1);
  });

  it("reads the person's Consent projections on every decision (their parsing alone is kept)", async () => {
    const directory = new DirectoryView(reads, keys);
    const isp = new IspRegistry(directory);
    const access = new PlansAccess(isp, new ConsentVerdicts({ consents: consentStore(reads, keys), isp, directory, mpi: new MpiView(reads, keys) }));
    const first = await trafficOfOneDecision(access, { ...record, id: 'plan-3', personId: 'person-3' });
    const again = await trafficOfOneDecision(access, { ...record, id: 'plan-3', personId: 'person-3' });
    for (const sent of [first.sent, again.sent]) {
      expect(sent).toContain(indexedScript.sha);
      expect(sent).toContain(keys.key('plans:Consent', 'proj'));
    }
  });
});
