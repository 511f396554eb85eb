/**
 * The shared IspRegistry over the directory's data in Redis (read through the
 * directory's view), as the MPI, alerts and plans use it: flows allowed and refused by the demo ISPs.
 */
import type { Contract } from 'fhir/r4.js';
import { OperationOutcomeError } from '../../shared/fhir/outcome.js';
import { Extensions } from '../../shared/fhir/systems.js';
import { flowCriteria, IspRegistry, type FlowQuery } from '../../shared/isp/registry.js';
import { startTestDirectory, type TestDirectory } from './test-directory.js';
import { DirectoryView } from './view.js';

let dir: TestDirectory;
let registry: IspRegistry;

/** Inside both demo ISPs' in-force period. */
const IN_FORCE = new Date('2027-03-15T12:00:00Z');

beforeAll(async () => {
  dir = await startTestDirectory();
  registry = new IspRegistry(new DirectoryView(dir.redis, dir.keys), { log: dir.deps.log });
});

afterAll(async () => {
  await dir.close();
});

const policeConcern: FlowQuery = {
  senderAgencyId: 'police-scotland-e-division',
  receiverAgencyId: 'edinburgh-social-work',
  category: 'alert',
  purpose: 'child-protection',
};

describe('IspRegistry.checkFlow', () => {
  it('Allows a flow the signed ISP lists (IM-L4)', async () => {
    const decision = await registry.checkFlow(policeConcern, IN_FORCE);
    expect(decision).toMatchObject({ allowed: true, isp: 'isp-lothian', crossesBoundary: false });
    expect(flowCriteria(decision)).toEqual(['IM-L4']);
  });

  it('Allows a cross-boundary flow only under the cross-partnership ISP (IM-L4, IM-L5)', async () => {
    const decision = await registry.checkFlow(
      { senderAgencyId: 'fife-social-work', receiverAgencyId: 'rie-emergency', category: 'alert', purpose: 'child-protection' },
      IN_FORCE,
    );
    expect(decision).toMatchObject({ allowed: true, isp: 'isp-lothian-fife', crossesBoundary: true });
    expect(flowCriteria(decision)).toEqual(['IM-L4', 'IM-L5']);
  });

  it('Refuses a flow the ISP does not list', async () => {
    const decision = await registry.checkFlow({ ...policeConcern, senderAgencyId: 'edinburgh-social-work', receiverAgencyId: 'police-scotland-e-division' }, IN_FORCE);
    expect(decision).toMatchObject({ allowed: false, reason: 'flow-not-listed' });
    expect(flowCriteria(decision)).toEqual([]);
  });

  it('Refuses every flow once the review date has passed', async () => {
    const decision = await registry.checkFlow(policeConcern, new Date('2027-10-01T00:00:00Z'));
    expect(decision).toMatchObject({ allowed: false, reason: 'review-date-passed' });
  });

  it('Refuses a flow naming an agency the directory does not hold, or the partnership itself', async () => {
    expect(await registry.checkFlow({ ...policeConcern, receiverAgencyId: 'nobody' }, IN_FORCE)).toMatchObject({ allowed: false, reason: 'unknown-agency' });
    expect(await registry.checkFlow({ ...policeConcern, receiverAgencyId: 'lothian-hscp' }, IN_FORCE)).toMatchObject({ allowed: false, reason: 'unknown-agency' });
  });

  it('assertFlowAllowed throws a 403 OperationOutcome saying why', async () => {
    const refused = registry.assertFlowAllowed({ ...policeConcern, purpose: 'care-planning' }, IN_FORCE);
    await expect(refused).rejects.toBeInstanceOf(OperationOutcomeError);
    await expect(refused).rejects.toMatchObject({ status: 403 });
  });

  it('Routes an alert to exactly the agencies the ISP allows', async () => {
    const targets = await registry.routeTargets('police-scotland-e-division', 'alert', 'child-protection', IN_FORCE);
    expect(targets.map((t) => t.agency.id)).toEqual(['edinburgh-social-work']);
  });

  it('Answers a route asked again under the same snapshot the same way, and not once the ISP has passed its review date', async () => {
    const snapshot = await registry.snapshot();
    const route = (at: Date) => registry.routeTargetsIn(snapshot, 'police-scotland-e-division', 'alert', 'child-protection', at).map((t) => t.agency.id);
    expect(route(IN_FORCE)).toEqual(['edinburgh-social-work']);
    expect(route(IN_FORCE)).toEqual(['edinburgh-social-work']);
    expect(route(new Date('2027-10-01T00:00:00Z'))).toEqual([]);
    expect(route(IN_FORCE)).toEqual(['edinburgh-social-work']);
  });

  it('Refuses every flow of an ISP a partner has not signed, naming the partner, as soon as it is stored', async () => {
    const contract = await dir.store.read('Contract', 'isp-lothian');
    const unsigned: Contract = { ...contract, signer: contract.signer!.filter((s) => s.party.reference !== 'Organization/sfrs-east') };
    await dir.store.update(unsigned);
    const decision = await registry.checkFlow(policeConcern, IN_FORCE);
    expect(decision).toMatchObject({ allowed: false, reason: 'not-signed-by-all' });
    expect(!decision.allowed && decision.detail).toContain('sfrs-east');
    // Restoring the signature restores the flow: nothing stale is cached.
    await dir.store.update(contract);
    expect(await registry.checkFlow(policeConcern, IN_FORCE)).toMatchObject({ allowed: true });
  });

  it('Refuses flows signed with a key the partner no longer has registered', async () => {
    const org = await dir.store.read('Organization', 'sfrs-east');
    const anotherKey = (await dir.store.read('Organization', 'nhs-lothian')).extension!.find((e) => e.url === Extensions.agencyPublicJwk)!;
    await dir.store.update({ ...org, extension: org.extension!.map((e) => (e.url === Extensions.agencyPublicJwk ? anotherKey : e)) });
    expect(await registry.checkFlow(policeConcern, IN_FORCE)).toMatchObject({ allowed: false, reason: 'not-signed-by-all' });
    await dir.store.update(org);
    expect(await registry.checkFlow(policeConcern, IN_FORCE)).toMatchObject({ allowed: true });
  });
});
