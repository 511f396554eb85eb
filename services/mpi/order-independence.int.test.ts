/**
 * Order independence, against a real Redis and the HTTP API: the same records loaded
 * in two different orders (agencies, Bundles and records within them shuffled) into two
 * MPIs give the same Persons and the same review questions once the re-clustering pass
 * has run; a second pass changes nothing; an unchanged re-submission changes nothing
 * (and is timed against the first load: printed, not asserted).
 */
import { performance } from 'node:perf_hooks';
import type { Bundle, Patient } from 'fhir/r4.js';
import request from 'supertest';
import { generateRandomisedPopulation } from '../../fixtures/generators/randomised-population.js';
import { Random } from '../../fixtures/generators/random.js';
import type { SyntheticAgencyRecord } from '../../fixtures/generators/scottish-population.js';
import { toTransactionBundle } from '../../fixtures/generators/to-fhir.js';
import { readAuditEntries } from '../../shared/audit/audit-client.js';
import { HubScopes } from '../../shared/auth/scopes.js';
import { personsAsRecordSets as persons, startTestMpi, type TestMpi } from '../../test/mpi.js';
import type { ReclusterResult } from './registration.js';

const BUNDLE = 100;
const REVIEWER = 'nhs-lothian';

let first: TestMpi;
let second: TestMpi;
let records: readonly SyntheticAgencyRecord[];

beforeAll(async () => {
  [first, second] = await Promise.all([startTestMpi(), startTestMpi()]);
  records = generateRandomisedPopulation({ seed: 41, people: 300 }).records;
});

afterAll(async () => {
  await Promise.all([first.close(), second.close()]);
});

/** The Bundles of one load: each agency's records in Bundles of BUNDLE, taken in `agencyOrder`, round robin. */
function bundlesInOrder(recs: readonly SyntheticAgencyRecord[], agencyOrder: readonly string[]): { agencyId: string; records: SyntheticAgencyRecord[] }[] {
  const queues = agencyOrder.map((agencyId) => ({ agencyId, records: recs.filter((r) => r.agencyId === agencyId) }));
  const out: { agencyId: string; records: SyntheticAgencyRecord[] }[] = [];
  for (let offset = 0; queues.some((q) => q.records.length > offset); offset += BUNDLE) {
    for (const q of queues) if (q.records.length > offset) out.push({ agencyId: q.agencyId, records: q.records.slice(offset, offset + BUNDLE) });
  }
  return out;
}

async function load(mpi: TestMpi, bundles: readonly { agencyId: string; records: SyntheticAgencyRecord[] }[]): Promise<{ ms: number; entries: Bundle['entry'] }> {
  const start = performance.now();
  const entries: NonNullable<Bundle['entry']> = [];
  for (const b of bundles) {
    const res = await request(mpi.app).post('/fhir').set(await mpi.auth(b.agencyId)).set('Prefer', 'return=minimal').type('application/fhir+json').send(toTransactionBundle(b.records));
    expect(res.status).toBe(200);
    entries.push(...((res.body as Bundle<Patient>).entry ?? []));
  }
  return { ms: performance.now() - start, entries };
}

async function recluster(mpi: TestMpi): Promise<ReclusterResult> {
  const res = await request(mpi.app).post('/matching/$recluster').set(await mpi.auth(REVIEWER, HubScopes.taskReview));
  expect(res.status).toBe(200);
  return res.body as ReclusterResult;
}

/** The open review questions, each as the two Persons (record sets) it asks about. */
async function openQuestions(mpi: TestMpi): Promise<string[]> {
  const [links, open] = await Promise.all([mpi.store.allLinks(), mpi.store.allOpenReviews()]);
  const membersOf = new Map<string, string[]>();
  for (const [recordId, link] of links) membersOf.set(link.personId, [...(membersOf.get(link.personId) ?? []), recordId]);
  const personOf = (recordId: string) => (membersOf.get(links.get(recordId)!.personId) ?? []).sort().join(' ');
  const questions = new Set<string>();
  for (const key of open.keys()) {
    const [a, b] = key.split('|') as [string, string];
    if (a.startsWith('per-') && b.startsWith('per-')) continue;
    questions.add([personOf(a), personOf(b)].sort().join(' <> '));
  }
  return [...questions].sort();
}

describe('the re-clustering pass by itself', () => {
  it('runs a while after a registration changed the index, without being asked', async () => {
    const mpi = await startTestMpi({}, { INFOSHARE_MPI_RECLUSTER_DELAY: '1' });
    try {
      const few = records.filter((r) => r.agencyId === 'nhs-lothian').slice(0, 20);
      const res = await request(mpi.app).post('/fhir').set(await mpi.auth('nhs-lothian')).type('application/fhir+json').send(toTransactionBundle(few));
      expect(res.status).toBe(200);
      // The worker's attempt is audited as a `recluster` exchange (the shared runner's record).
      const deadline = Date.now() + 60_000;
      let ran = false;
      while (!ran && Date.now() < deadline) {
        const entries = await readAuditEntries(mpi.dir.redis, mpi.dir.keys, { count: 1_000_000 });
        ran = entries.some((e) => String(e.entry.event).includes('Re-clustered 20 record(s)'));
        if (!ran) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(ran).toBe(true);
    } finally {
      await mpi.close();
    }
  }, 120_000);
});

describe('the same records in another order', () => {
  const agencies = ['nhs-lothian', 'gp-leith-cluster', 'edinburgh-social-work', 'edinburgh-education', 'police-scotland-e-division', 'edinburgh-housing'];
  let firstLoadMs = 0;

  it('give the same Persons and review questions once the re-clustering pass has run, and a second pass changes nothing', async () => {
    const loaded = await load(first, bundlesInOrder(records, agencies));
    firstLoadMs = loaded.ms;
    const shuffled = new Random(7).shuffle([...records]);
    await load(second, bundlesInOrder(shuffled, [...agencies].reverse()));

    const before = [await persons(first), await persons(second)];
    const [r1, r2] = [await recluster(first), await recluster(second)];
    expect(r1.records).toBe(records.length);
    expect(r2.records).toBe(records.length);
    const after = await persons(first);
    expect(await persons(second)).toEqual(after);
    expect(await openQuestions(second)).toEqual(await openQuestions(first));
    // The pass converges: run again, it has nothing to change.
    expect(await recluster(first)).toMatchObject({ moved: 0, relabelled: 0, reviewsOpened: 0, reviewsWithdrawn: 0 });
    expect(await persons(first)).toEqual(after);
    process.stdout.write(
      `[order] ${records.length} records: arrival order left ${before[0]!.filter((p) => !before[1]!.includes(p)).length} Persons that the other order did not have; ` +
        `re-clustering moved ${r1.moved} / ${r2.moved} records, opened ${r1.reviewsOpened} / ${r2.reviewsOpened} and withdrew ${r1.reviewsWithdrawn} / ${r2.reviewsWithdrawn} reviews; ${after.length} Persons in both\n`,
    );
  }, 240_000);

  it('records each batch of the pass’s moves in the audit trail (no change without its change record)', async () => {
    const entries = await readAuditEntries(first.dir.redis, first.dir.keys, { count: 1_000_000 });
    // The change records of the pass's batches (the exchange itself is `$recluster`).
    const recluster = entries.filter((e) => String(e.entry.event).includes('"recluster"'));
    expect(recluster.length).toBeGreaterThan(0);
  });

  it('runs the pass when posted with a JSON Content-Type and no bytes (curl -X POST -H, the benchmarks), and refuses a body that is not an empty Parameters', async () => {
    const auth = await first.auth(REVIEWER, HubScopes.taskReview);
    const empty = await request(first.app).post('/matching/$recluster').set(auth).set('Content-Type', 'application/fhir+json').send('');
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({ moved: 0, reviewsOpened: 0 });
    const patient = await request(first.app).post('/matching/$recluster').set(auth).set('Content-Type', 'application/fhir+json').send(JSON.stringify({ resourceType: 'Patient' }));
    expect(patient.status).toBeGreaterThanOrEqual(400);
    expect(patient.status).toBeLessThan(500);
  });

  it('sent again unchanged, in yet another order, change nothing: no version, no move, no Task — and cost far less than the first load', async () => {
    const [personsBefore, questionsBefore, statsBefore] = [await persons(first), await openQuestions(first), await first.store.getStats()];
    const auditBefore = await first.auditCount();
    const again = await load(first, bundlesInOrder(new Random(99).shuffle([...records]), [...agencies].reverse()));
    expect(again.entries).toHaveLength(records.length);
    for (const e of again.entries!) {
      expect(e.response!.status).toBe('200 OK');
      expect(e.response!.location).toMatch(/\/_history\/1$/);
      expect(JSON.stringify(e.response!.outcome)).toContain('Unchanged');
    }
    expect(await persons(first)).toEqual(personsBefore);
    expect(await openQuestions(first)).toEqual(questionsBefore);
    const stats = await first.store.getStats();
    expect(stats.unchanged ?? 0).toBe((statsBefore.unchanged ?? 0) + records.length);
    // Only the exchanges' own records: one per Bundle, no change records.
    const bundles = Math.ceil(records.length / BUNDLE) + agencies.length;
    expect(await first.auditCount()).toBeLessThanOrEqual(auditBefore + bundles);
    process.stdout.write(
      `[resubmission] ${records.length} records: first load ${Math.round(records.length / (firstLoadMs / 1000))} records/s, unchanged re-submission ${Math.round(records.length / (again.ms / 1000))} records/s (${(firstLoadMs / again.ms).toFixed(1)}× faster)\n`,
    );
  }, 240_000);
});
