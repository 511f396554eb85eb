/**
 * The periodic re-clustering pass (workers/recluster.ts), not registration, opens a review question about a pair
 * that would link on its own (the link band) but that the pass keeps apart because other records of the two Persons
 * must stay apart — and its Task says so, instead of "between the review thresholds" (ba10064). Found on the demo
 * hub (`npm start`): its agencies' demographic extracts hold such a pair, and registration, deciding each record
 * against those before it, never asks about it. Real Redis, the MPI's own worker; the pass is asked for once the load
 * is over, as a registration asks for it (`ReclusterRequests`, here 1 s later instead of 300), so it runs over the
 * whole set whatever the machine's speed (passes during the load would each see a part of it).
 */
import type { Bundle, Task } from 'fhir/r4.js';
import { startTestMpi, type TestMpi } from '../../test/mpi.js';
import { loadDemoDemographics } from './fixtures.js';
import { ReclusterRequests } from './workers/recluster.js';

let mpi: TestMpi;
const PASS = 'infoshare mpi (re-clustering pass)';
const LINK_KEPT_APART =
  /^Are Patient\/\S+ and Patient\/\S+ the same person\? The pair would link \(score \d+\.\d\d, in the link band\), but linking it would put together records of the two Persons that must stay apart/;

beforeAll(async () => {
  // No pass asked for by the load's registrations: the test asks for one after it.
  mpi = await startTestMpi({}, { INFOSHARE_MPI_RECLUSTER_DELAY: '0' });
});

afterAll(async () => {
  await mpi.close();
});

async function openReviewTasks(): Promise<Task[]> {
  const res = await mpi.get('nhs-lothian', '/fhir/Task?code=match-review&status=requested&_count=500');
  expect(res.status).toBe(200);
  return ((res.body as Bundle).entry ?? []).map((e) => e.resource as Task);
}

describe('the periodic re-clustering pass on the demo agencies’ records', () => {
  it('opens a review Task for a link-band pair it keeps apart, saying why it asks', async () => {
    await loadDemoDemographics({ ...mpi.dir.deps, config: mpi.config }, mpi.config);
    // Registration asks about no such pair (the question is the pass's alone).
    const byRegistration = (await openReviewTasks()).filter((t) => t.requester?.identifier?.value !== PASS);
    expect(byRegistration.filter((t) => LINK_KEPT_APART.test(t.description ?? ''))).toEqual([]);

    const requests = new ReclusterRequests({ redis: mpi.dir.redis, keys: mpi.dir.keys }, 1);
    await requests.request({ requestId: 'recluster-questions-test', agent: {} });
    await requests.close();
    // The MPI's worker runs the pass a second later: waited for, with a generous bound.
    const deadline = Date.now() + 120_000;
    let asked: Task[] = [];
    while (asked.length === 0) {
      if (Date.now() > deadline) throw new Error('the re-clustering pass opened no link-band question within 120 s');
      await new Promise((resolve) => setTimeout(resolve, 250));
      asked = (await openReviewTasks()).filter((t) => LINK_KEPT_APART.test(t.description ?? ''));
    }
    for (const task of asked) {
      expect(task.requester).toEqual({ identifier: { value: PASS }, display: 'infoshare mpi' });
      expect(task.description).not.toMatch(/between the review thresholds/);
      // The score it names is the Task's own score input.
      const score = task.input?.find((i) => i.type.coding?.[0]?.code === 'score')?.valueDecimal;
      expect(task.description).toContain(`(score ${score!.toFixed(2)}, in the link band)`);
    }
  }, 300_000);
});
