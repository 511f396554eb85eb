/**
 * Loads the demo partnership (fixtures/partnership) into the directory:
 * partnerships and agencies, endpoints, practitioners and roles, Named Person /
 * Lead Professional CareTeams and the signed ISPs. Idempotent: each resource is
 * upserted by its fixed id, and unchanged content writes no new version, so
 * `npm start` can run it every time.
 *
 * The demo Patients are not the directory's: people are registered through the
 * MPI, which owns Patient records and their matching. CareTeams refer to them
 * by id only.
 */
import { randomUUID } from 'node:crypto';
import type { Resource } from 'fhir/r4.js';
import { OutboxRelay } from '../../shared/audit/outbox-relay.js';
import { loadDemoPartnership, type DemoPartnershipOptions } from '../../fixtures/partnership/load.js';
import type { ServiceDeps } from '../../shared/runtime/deps.js';
import type { WriteOutcome } from '../../shared/store/resource-store.js';
import type { ResourceOf, ResourceType } from '../../shared/store/search-params.js';
import { directoryStore } from './store.js';

export type FixtureLoadReport = Readonly<Record<string, Readonly<Record<WriteOutcome, number>>>>;

/**
 * `agencySimUrl`: where the agency simulator runs (the hub passes `config.internalUrls['agency-sim']`),
 * so the demo Endpoints deliver to it on whatever port it listens; without it they keep the files' address.
 */
export async function loadDemoFixtures(deps: Pick<ServiceDeps, 'redis' | 'keys' | 'log'>, options: DemoPartnershipOptions = {}): Promise<FixtureLoadReport> {
  const relay = new OutboxRelay(deps.redis, deps.keys, { log: deps.log });
  const store = directoryStore(deps.redis, deps.keys, { service: 'directory', relay });
  // Loading fixtures changes the directory like any client would, so each change is recorded, caused by this load.
  const cause = { requestId: `fixtures-${randomUUID()}`, agent: {} };
  const demo = loadDemoPartnership(options);
  // Referenced before referencing, so a reader never sees a CareTeam naming a role not loaded yet.
  const batches: readonly (readonly Resource[])[] = [
    demo.organizations,
    demo.endpoints,
    demo.practitioners,
    demo.practitionerRoles,
    demo.careTeams,
    demo.contracts,
  ];
  const report: Record<string, Record<WriteOutcome, number>> = {};
  for (const batch of batches) {
    // One type at a time, its resources written concurrently (pipelined by ioredis).
    const outcomes = await Promise.all(batch.map((r) => store.upsert(r as ResourceOf<ResourceType>, { cause })));
    outcomes.forEach(({ resource, outcome }) => {
      const counts = (report[resource.resourceType] ??= { created: 0, updated: 0, unchanged: 0 });
      counts[outcome] += 1;
    });
  }
  await relay.close();
  deps.log.info({ fixtures: report }, 'demo partnership loaded into the directory');
  return report;
}
