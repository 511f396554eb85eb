/**
 * A partnership's first load, with no manual step, against a real Redis: the matching model is
 * estimated from the loaded records once the load has ended (not during it, not on the 300 s
 * timer), from all of them, once; the re-clustering pass follows at once under the new model
 * (not 300 s later); reviewer decisions made during the load stand through both; a refused
 * estimation is not tried again at every registration.
 */
import type { Parameters, Patient, Person } from 'fhir/r4.js';
import request from 'supertest';
import { HubScopes } from '../../shared/auth/scopes.js';
import { openQueue } from '../../shared/queue/queues.js';
import { startTestMpi, transactionOf, twoAgencyPeople, type TestMpi } from '../../test/mpi.js';
import type { MatchingReport } from './domain/report.js';
import { MpiKeys } from './keys.js';
import { ModelEstimation } from './model-estimation.js';
import { ModelVersions } from './model-versions.js';
import { MODEL_ESTIMATION_QUEUE } from './workers/model-estimation.js';
import { RECLUSTER_QUEUE } from './workers/recluster.js';

const FHIR_JSON = 'application/fhir+json';
const MIN_RECORDS = 300;
const QUIET_SECONDS = 3;

let mpi: TestMpi;
let versions: ModelVersions;

beforeAll(async () => {
  // The timer would look only after an hour: what happens here is the end of the load's doing.
  mpi = await startTestMpi(
    {},
    {
      INFOSHARE_MATCH_ESTIMATE_MIN_RECORDS: String(MIN_RECORDS),
      INFOSHARE_MATCH_ESTIMATE_QUIET_SECONDS: String(QUIET_SECONDS),
      INFOSHARE_MATCH_REESTIMATE_CHECK_SECONDS: '3600',
    },
  );
  versions = new ModelVersions(mpi.dir.redis, new MpiKeys(mpi.dir.keys), mpi.config.model);
});

afterAll(async () => {
  await mpi.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function load(agencyId: string, patients: readonly Patient[], size: number, pauseMs = 0): Promise<void> {
  for (let i = 0; i < patients.length; i += size) {
    if (i > 0 && pauseMs > 0) await sleep(pauseMs);
    const res = await request(mpi.app)
      .post('/fhir')
      .set(await mpi.auth(agencyId))
      .set('Prefer', 'return=minimal')
      .type(FHIR_JSON)
      .send(transactionOf(patients.slice(i, i + size)));
    expect(res.status).toBe(200);
  }
}

/** Jobs of a queue not yet finished: delayed, waiting or running. */
async function unfinished(address: typeof RECLUSTER_QUEUE | typeof MODEL_ESTIMATION_QUEUE): Promise<{ delayed: number; waiting: number; active: number }> {
  const queue = openQueue(mpi.dir, address);
  try {
    const counts = await queue.getJobCounts('delayed', 'waiting', 'active');
    return { delayed: counts.delayed ?? 0, waiting: counts.waiting ?? 0, active: counts.active ?? 0 };
  } finally {
    await queue.close();
  }
}

async function until(condition: () => Promise<boolean>, seconds: number): Promise<boolean> {
  for (let waited = 0; waited < seconds * 1000; waited += 250) {
    if (await condition()) return true;
    await sleep(250);
  }
  return condition();
}

async function report(): Promise<MatchingReport> {
  const res = await mpi.get('nhs-lothian', '/matching/report');
  expect(res.status).toBe(200);
  return res.body as MatchingReport;
}

async function personOf(recordId: string): Promise<string | undefined> {
  return (await mpi.store.getLinks([recordId]))[0]?.personId;
}

describe('the first load of a partnership', () => {
  const { nhs, socialWork } = twoAgencyPeople(260, 11, 'F');
  const nhsId = (i: number) => `nhs-lothian.FN${i}`;
  const swId = (i: number) => `edinburgh-social-work.FS${i}`;
  let unlinked: string;
  let unlinkedSerial: number;
  let mergedInto: string;
  let mergedAway: string;

  it('registers under the configured model while the index is below the fewest records an estimation needs', async () => {
    await load('nhs-lothian', nhs, 100);
    expect(await mpi.store.countRecords()).toBeLessThan(MIN_RECORDS);
    expect((await unfinished(MODEL_ESTIMATION_QUEUE)).delayed).toBe(0);
    expect((await versions.current()).version).toBe(0);
  });

  it('keeps reviewer decisions made during the load: an $unlink and a Person/$merge', async () => {
    // The first social work records: most join their NHS record (one person, often by CHI).
    const first = socialWork.slice(0, 20);
    await load('edinburgh-social-work', first, 20);
    const serials = first.map((p) => Number(p.identifier![0]!.value!.slice('FS'.length)));
    const together: number[] = [];
    for (const i of serials) if ((await personOf(swId(i))) === (await personOf(nhsId(i)))) together.push(i);
    expect(together.length).toBeGreaterThan(0);
    unlinkedSerial = together[0]!;
    unlinked = swId(unlinkedSerial);
    const unlink = await request(mpi.app)
      .post(`/fhir/Patient/${unlinked}/$unlink`)
      .set(await mpi.auth('nhs-lothian', HubScopes.taskReview))
      .type(FHIR_JSON)
      .send({ resourceType: 'Parameters', parameter: [{ name: 'note', valueString: 'not the same person, says the social worker' }] });
    expect(unlink.status).toBe(200);
    expect(await personOf(unlinked)).not.toBe(await personOf(nhsId(unlinkedSerial)));

    // Two NHS records of different people, merged by a reviewer.
    mergedInto = nhsId(100);
    mergedAway = nhsId(101);
    const [target, source] = [await personOf(mergedInto), await personOf(mergedAway)];
    expect(source).not.toBe(target);
    const merge: Parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'source-person', valueReference: { reference: `Person/${source}` } },
        { name: 'target-person', valueReference: { reference: `Person/${target}` } },
      ],
    };
    const merged = await request(mpi.app).post('/fhir/Person/$merge').set(await mpi.auth('edinburgh-social-work')).type(FHIR_JSON).send(merge);
    expect(merged.status).toBe(200);
    expect((merged.body as Person).link?.length).toBe(2);
  });

  it('estimates once the load has ended — not during it — from every record it brought, once', async () => {
    // The rest of social work in Bundles closer together than the quiet period: each pushes the estimation back.
    const started = Date.now();
    await load('edinburgh-social-work', socialWork.slice(20), 40, 1000);
    const loadSeconds = (Date.now() - started) / 1000;
    expect(loadSeconds).toBeGreaterThan(QUIET_SECONDS);
    const records = await mpi.store.countRecords();
    expect(records).toBeGreaterThanOrEqual(MIN_RECORDS);
    // Due since the index passed the fewest records, but still waiting: the load went on.
    expect((await versions.current()).version).toBe(0);
    expect(await unfinished(MODEL_ESTIMATION_QUEUE)).toEqual({ delayed: 1, waiting: 0, active: 0 });
    // The pass the registrations asked for waits 300 s (INFOSHARE_MPI_RECLUSTER_DELAY).
    expect((await unfinished(RECLUSTER_QUEUE)).delayed).toBe(1);
    // The matching report says what the MPI will do by itself.
    expect((await report()).automatic).toEqual({ estimation: { state: 'waiting' }, reclustering: { state: 'waiting' } });

    expect(await until(async () => (await versions.current()).version === 1, 90)).toBe(true);
    const estimated = (await versions.current()).summary;
    expect(estimated).toMatchObject({ version: 1, source: 'estimated', trigger: 'initial-load', records });
    expect(estimated.requestedBy).toMatch(/automatic estimation/);
  }, 150_000);

  it('re-clusters under the new model at once, not when the 300 s delay is up', async () => {
    expect(await until(async () => Object.values(await unfinished(RECLUSTER_QUEUE)).every((n) => n === 0), 60)).toBe(true);
    expect((await report()).automatic).toEqual({});
  }, 90_000);

  it('changed no reviewer decision: the unlinked record is still apart, the merged Persons still one', async () => {
    expect(await personOf(unlinked)).not.toBe(await personOf(nhsId(unlinkedSerial)));
    expect(await personOf(mergedAway)).toBe(await personOf(mergedInto));
  });

  it('does not estimate again: the next estimation waits for the index to grow by the share', async () => {
    await sleep((QUIET_SECONDS + 1) * 1000);
    expect(await unfinished(MODEL_ESTIMATION_QUEUE)).toEqual({ delayed: 0, waiting: 0, active: 0 });
    expect((await versions.list()).map((v) => v.version)).toEqual([0, 1]);
  });
});

describe('a refused automatic estimation', () => {
  it('is remembered: the next attempt waits until the index has grown by the share from there, not the next registration', async () => {
    // A share so small that one more record makes an estimation due.
    const settings = { ...mpi.config.estimation, reestimateGrowth: 0.001 };
    const estimation = new ModelEstimation({ store: mpi.store, versions, settings });
    await mpi.registered('nhs-lothian', 'FR1', { given: ['Morven'], family: 'Quarrie', birthDate: '1977-03-14', gender: 'female', postcode: 'EH6 5QA' });
    const due = await estimation.growthCheck();
    expect(due.due).toBe(true);
    const refusing = new ModelEstimation({ store: mpi.store, versions, settings: { ...settings, minRecords: 1_000_000 } });
    await expect(refusing.estimate({ trigger: 'index-growth', requestedBy: 'test', cause: { requestId: 'refused-estimation', agent: {} } })).rejects.toThrow(/needs at least 1000000/);
    expect(await estimation.growthCheck()).toMatchObject({ due: false, baseline: due.records, version: due.version });
    await mpi.registered('nhs-lothian', 'FR2', { given: ['Ruaridh'], family: 'Birnie', birthDate: '1969-11-02', gender: 'male', postcode: 'EH7 4LT' });
    expect((await estimation.growthCheck()).due).toBe(true);
  });
});
