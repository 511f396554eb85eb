/**
 * What another service reads through the directory's view (services/directory/view.ts),
 * over a Redis user that may only read: agencies, ISPs, endpoints, a person's
 * Named Person / Lead Professional — and nothing it does can write.
 */
import type { Redis } from 'ioredis';
import { IspRegistry } from '../../shared/isp/registry.js';
import { readOnlyRedis } from '../../test/redis.js';
import { startTestDirectory, type TestDirectory } from './test-directory.js';
import { DirectoryView } from './view.js';

let dir: TestDirectory;
let readOnly: { redis: Redis; close(): Promise<void> };
let view: DirectoryView;

/** Inside the demo CareTeams' and ISPs' periods. */
const NOW = new Date('2027-03-15T12:00:00Z');

beforeAll(async () => {
  dir = await startTestDirectory();
  readOnly = await readOnlyRedis(dir.redis, dir.keys.prefix);
  view = new DirectoryView(readOnly.redis, dir.keys);
});

afterAll(async () => {
  await readOnly.close();
  await dir.close();
});

describe('the directory view', () => {
  it('runs over a Redis user that is refused every write, so it cannot write', async () => {
    await expect(readOnly.redis.set(`${dir.keys.prefix}:anything`, 'x')).rejects.toThrow(/NOPERM/);
    await expect(readOnly.redis.hset(dir.keys.key('fhir:Organization', 'cur'), 'nhs-lothian', '{}')).rejects.toThrow(/NOPERM/);
  });

  it('offers reads only: the store behind it cannot be reached', () => {
    const methods = Object.getOwnPropertyNames(DirectoryView.prototype).filter((m) => m !== 'constructor').sort();
    expect(methods).toEqual(['careTeamsOf', 'contracts', 'endpointsOf', 'endpointsRevision', 'namedProfessionalsFor', 'organization', 'organizations', 'practitionerRoles', 'revision'].sort());
    expect(Object.keys(view)).toEqual([]);
  });

  it('reads the agencies and partnerships', async () => {
    const organizations = await view.organizations();
    const ids = organizations.map((o) => o.id);
    expect(ids).toEqual(expect.arrayContaining(['lothian-hscp', 'fife-hscp', 'nhs-lothian', 'edinburgh-social-work', 'police-scotland-e-division']));
    expect(ids).toHaveLength(new Set(ids).size);
    expect(await view.organization('edinburgh-education')).toMatchObject({ resourceType: 'Organization', id: 'edinburgh-education' });
    expect(await view.organization('no-such-agency')).toBeUndefined();
  });

  it('reads the ISPs, with their signatures', async () => {
    const contracts = await view.contracts();
    expect(contracts.map((c) => c.id).sort()).toEqual(['isp-lothian', 'isp-lothian-fife']);
    expect(contracts.every((c) => (c.signer ?? []).length > 0)).toBe(true);
  });

  it('reads where an agency takes deliveries', async () => {
    const endpoints = await view.endpointsOf('edinburgh-social-work');
    expect(endpoints.map((e) => [e.id, e.status, e.address])).toEqual([
      ['edinburgh-social-work-fhir', 'active', 'http://localhost:4010/agencies/edinburgh-social-work/fhir'],
    ]);
    expect(await view.endpointsOf('no-such-agency')).toEqual([]);
  });

  it('reads a child’s Named Person and Lead Professional, with how to reach them', async () => {
    const contacts = await view.namedProfessionalsFor('Patient/demo-child-1', NOW);
    expect(contacts.map((c) => [c.role, c.member, c.careTeam])).toEqual([
      ['named-person', 'PractitionerRole/role-fiona-macleod', 'CareTeam/careteam-demo-child-1'],
      ['lead-professional', 'PractitionerRole/role-ross-campbell', 'CareTeam/careteam-demo-child-1'],
    ]);
    for (const contact of contacts) {
      expect(contact.practitionerRole).toMatchObject({ resourceType: 'PractitionerRole', id: contact.member.split('/')[1] });
      expect(contact.practitionerRole?.telecom?.length).toBeGreaterThan(0);
    }
    // Before the assignment started, nobody was named.
    expect(await view.namedProfessionalsFor('Patient/demo-child-1', new Date('2026-01-01T00:00:00Z'))).toEqual([]);
    expect(await view.namedProfessionalsFor('Patient/nobody')).toEqual([]);
  });

  it('reads CareTeams and PractitionerRoles as stored', async () => {
    expect((await view.careTeamsOf('Patient/demo-adult-1')).map((t) => t.id)).toEqual(['careteam-demo-adult-1']);
    const [role, missing] = await view.practitionerRoles(['role-isla-robertson', 'no-such-role']);
    expect(role).toMatchObject({ resourceType: 'PractitionerRole', id: 'role-isla-robertson' });
    expect(missing).toBeUndefined();
  });

  it('moves its revision when an agency or an ISP is written, and only then', async () => {
    const before = await view.revision();
    expect(await view.revision()).toBe(before);
    await dir.store.update({ ...(await dir.store.read('Endpoint', 'edinburgh-social-work-fhir')), name: 'Renamed endpoint' });
    expect(await view.revision()).toBe(before);
    const org = await dir.store.read('Organization', 'edinburgh-housing');
    await dir.store.update({ ...org, alias: [...(org.alias ?? []), 'Housing Services'] });
    expect(await view.revision()).not.toBe(before);
  });

  it('is the source the ISP registry decides flows from', async () => {
    const registry = new IspRegistry(view, { log: dir.deps.log });
    const decision = await registry.checkFlow(
      { senderAgencyId: 'police-scotland-e-division', receiverAgencyId: 'edinburgh-social-work', category: 'alert', purpose: 'child-protection' },
      NOW,
    );
    expect(decision).toMatchObject({ allowed: true, isp: 'isp-lothian' });
  });
});
