/**
 * Runs in order: reviewer decisions under the configured model first (its review band is
 * known), then estimation over a growing index, which must keep those decisions.
 *
 * The partnership's own matching model, through the MPI's HTTP API against a real Redis:
 * estimation refused on a small index (the configured model stays), estimated over the index
 * once it is large enough, every version kept, the one in use shown in the matching report,
 * the CapabilityStatement and `$match`; reviewer decisions kept as decided across a new model;
 * re-estimation queued automatically when the index has grown; batch resolve all or nothing.
 */
import type { Bundle, CapabilityStatement, OperationOutcome, Parameters, Patient, Task } from 'fhir/r4.js';
import request from 'supertest';
import { HubScopes } from '../../shared/auth/scopes.js';
import { Extensions } from '../../shared/fhir/systems.js';
import { criteriaOf, startTestMpi, transactionOf, twoAgencyPeople, type TestMpi } from '../../test/mpi.js';
import type { MatchingReport } from './domain/report.js';
import { MpiKeys } from './keys.js';
import { ModelEstimation } from './model-estimation.js';
import { ModelVersions } from './model-versions.js';
import { EstimationRequests, startModelEstimationWorker } from './workers/model-estimation.js';

const FHIR_JSON = 'application/fhir+json';
const MIN_RECORDS = 300;
let mpi: TestMpi;

beforeAll(async () => {
  // The growth check is driven by the test (checkGrowth), not the service's timer nor the end of a load (first-load.int.test.ts).
  mpi = await startTestMpi(
    {},
    { INFOSHARE_MATCH_ESTIMATE_MIN_RECORDS: String(MIN_RECORDS), INFOSHARE_MATCH_REESTIMATE_CHECK_SECONDS: '3600', INFOSHARE_MATCH_ESTIMATE_QUIET_SECONDS: '3600' },
  );
});

afterAll(async () => {
  await mpi.close();
});

async function load(agencyId: string, patients: readonly Patient[]): Promise<void> {
  for (let i = 0; i < patients.length; i += 250) {
    const res = await request(mpi.app)
      .post('/fhir')
      .set(await mpi.auth(agencyId))
      .set('Prefer', 'return=minimal')
      .type(FHIR_JSON)
      .send(transactionOf(patients.slice(i, i + 250)));
    expect(res.status).toBe(200);
  }
}

async function estimate(agencyId = 'nhs-lothian') {
  return request(mpi.app).post('/fhir/$estimate-model').set(await mpi.auth(agencyId, HubScopes.matchingModel)).send();
}

async function report(): Promise<MatchingReport> {
  const res = await mpi.get('edinburgh-social-work', '/matching/report');
  expect(res.status).toBe(200);
  return res.body as MatchingReport;
}

const textOf = (outcome: OperationOutcome) => outcome.issue.map((i) => i.diagnostics ?? i.details?.text ?? '').join(' ');

const param = (body: Parameters, name: string) => body.parameter?.find((p) => p.name === name);

/** The model `$match` says scored its results, asked about a person in the index. */
async function matchModelShown(patient: Patient): Promise<string | undefined> {
  const body: Parameters = { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: patient }] };
  const res = await request(mpi.app).post('/fhir/Patient/$match').set(await mpi.auth('nhs-lothian')).type(FHIR_JSON).send(body);
  expect(res.status).toBe(200);
  const entry = (res.body as Bundle).entry?.[0];
  return entry?.search?.extension?.find((e) => e.url === Extensions.matchingModel)?.valueString;
}

describe('reviewer decisions', () => {
  const FAMILIES = ['', 'Quarrie', 'Auld', 'Birnie', 'Cromar', 'Duthie'];

  /** Two records of one person the model is unsure of: a forename typo, a one-year slip and a move. */
  async function reviewPair(n: number): Promise<string> {
    const birthDate = `1961-0${1 + (n % 9)}-1${n % 10}`;
    await mpi.registered('nhs-lothian', `R${n}N`, { given: ['Callum'], family: FAMILIES[n]!, birthDate, gender: 'male', postcode: `EH3 ${n}AB`, line: `${n} Dalry Road` });
    const second = await mpi.registered('edinburgh-social-work', `R${n}S`, {
      given: ['Calum'],
      family: FAMILIES[n]!,
      birthDate: `1962${birthDate.slice(4)}`,
      gender: 'male',
      postcode: `EH12 ${n}XY`,
      line: `${80 + n} Gorgie Road`,
    });
    expect(second.outcome.outcome).toBe('review');
    return second.outcome.reviewTask!.slice('Task/'.length);
  }

  async function task(id: string): Promise<Task> {
    return (await mpi.get('nhs-lothian', `/fhir/Task/${id}`)).body as Task;
  }

  const resolution = (taskId: string, decision: string) => ({
    name: 'resolution',
    part: [
      { name: 'task', valueReference: { reference: `Task/${taskId}` } },
      { name: 'decision', valueCode: decision },
    ],
  });

  it('a batch with one bad Task resolves none of them, naming the bad one', async () => {
    const a = await reviewPair(1);
    const b = await reviewPair(2);
    const body: Parameters = { resourceType: 'Parameters', parameter: [resolution(a, 'link'), resolution('mr-nosuchtask', 'link'), resolution(b, 'not-link')] };
    const res = await request(mpi.app).post('/fhir/Task/$resolve').set(await mpi.auth('nhs-lothian')).type(FHIR_JSON).send(body);
    expect(res.status).toBe(404);
    const issues = (res.body as OperationOutcome).issue;
    expect(issues).toHaveLength(1);
    expect(issues[0]!.expression).toEqual(['Parameters.parameter[1]']);
    // In details.text, where every other refusal of the hub puts its words.
    expect((res.body as OperationOutcome).issue[0]?.details?.text).toMatch(/mr-nosuchtask.*nothing in this batch was resolved/);
    expect((await task(a)).status).toBe('requested');
    expect((await task(b)).status).toBe('requested');
  });

  it('a good batch resolves every Task in one call, and counts how often reviewers agreed with the model', async () => {
    const a = await reviewPair(3);
    const b = await reviewPair(4);
    const before = await report();
    const body: Parameters = { resourceType: 'Parameters', parameter: [resolution(a, 'link'), resolution(b, 'not-link')] };
    const res = await request(mpi.app).post('/fhir/Task/$resolve').set(await mpi.auth('nhs-lothian')).type(FHIR_JSON).send(body);
    expect(res.status).toBe(200);
    expect(((res.body as Bundle).entry ?? []).map((e) => (e.resource as Task).status)).toEqual(['completed', 'completed']);
    const after = await report();
    expect(after.decisions.link).toBe(before.decisions.link + 1);
    expect(after.decisions.notLink).toBe(before.decisions.notLink + 1);
    // One of the two decisions went the model's way and one against it, whichever way it leaned.
    expect(after.decisions.agreedWithModel + after.decisions.disagreedWithModel).toBe(before.decisions.agreedWithModel + before.decisions.disagreedWithModel + 2);
    expect(after.decisions.agreementWithModel).toBeDefined();
  });

  it('a single decision is remembered (the estimation below learns from it and keeps it)', async () => {
    const id = await reviewPair(5);
    const res = await request(mpi.app)
      .post(`/fhir/Task/${id}/$resolve`)
      .set(await mpi.auth('nhs-lothian'))
      .type(FHIR_JSON)
      .send({ resourceType: 'Parameters', parameter: [{ name: 'decision', valueCode: 'not-link' }] });
    expect(res.status).toBe(200);
  });
});

describe('estimating the matching model from the index', () => {
  it('refuses on a small index with 422 saying why, and the configured model stays in use', async () => {
    const res = await estimate();
    expect(res.status).toBe(422);
    expect(textOf(res.body as OperationOutcome)).toMatch(/holds \d+ record\(s\).*at least 300.*model in use stays/);
    expect((await report()).model).toMatchObject({ version: 0, source: 'configured' });
  });

  it('is for statutory partners only', async () => {
    expect((await request(mpi.app).post('/fhir/$estimate-model').set(await mpi.auth('edinburgh-housing')).send()).status).toBe(403);
  });

  it('estimates a version from the records in the index and puts it in use, shown in the report, the CapabilityStatement and $match', async () => {
    const { nhs, socialWork } = twoAgencyPeople(260, 1, 'A');
    await load('nhs-lothian', nhs);
    await load('edinburgh-social-work', socialWork);
    const before = await mpi.auditCount();
    const res = await estimate();
    expect(res.status).toBe(200);
    const body = res.body as Parameters;
    expect(param(body, 'version')?.valueInteger).toBe(1);
    const records = await mpi.store.countRecords();
    expect(records).toBeGreaterThanOrEqual(nhs.length + socialWork.length);
    expect(param(body, 'records')?.valueInteger).toBe(records);
    expect(param(body, 'expected-precision')?.valueDecimal).toBeGreaterThan(0.9);
    expect(param(body, 'link-probability')?.valueDecimal).toBe(0.99);
    // The exchange (MI-L5) and the change record of the new version.
    expect(criteriaOf(await mpi.auditOf(res))).toContain('MI-L5');
    expect(await mpi.auditCount()).toBeGreaterThanOrEqual(before + 2);

    const r = await report();
    expect(r.model).toMatchObject({ version: 1, source: 'estimated', records, trigger: 'on-demand', termFrequencies: true, linkProbability: 0.99, reviewProbability: 0.2 });
    expect(r.model.expected!.precision).toBeGreaterThan(0.9);
    expect(r.modelVersions.map((v) => v.version)).toEqual([0, 1]);

    const metadata = await request(mpi.app).get('/fhir/metadata');
    expect((metadata.body as CapabilityStatement).rest![0]!.documentation).toMatch(/matching model version 1, estimated .* from \d+ records/);
    expect(await matchModelShown({ ...nhs[0]!, identifier: undefined })).toMatch(/^matching model version 1/);
  }, 120_000);

  it('keeps every version: a second estimation adds version 2 and version 1 is still there', async () => {
    const res = await estimate('edinburgh-social-work');
    expect(res.status).toBe(200);
    expect(param(res.body as Parameters, 'version')?.valueInteger).toBe(2);
    const versions = new ModelVersions(mpi.dir.redis, new MpiKeys(mpi.dir.keys), mpi.config.model);
    expect((await versions.list()).map((v) => [v.version, v.source])).toEqual([
      [0, 'configured'],
      [1, 'estimated'],
      [2, 'estimated'],
    ]);
    expect((await versions.get(1))!.summary.requestedBy).toBe('Organization/nhs-lothian');
    expect((await versions.current()).version).toBe(2);
  }, 120_000);

  it('queues a re-estimation by itself once the index has grown by the configured share, audited as a job', async () => {
    const versions = new ModelVersions(mpi.dir.redis, new MpiKeys(mpi.dir.keys), mpi.config.model);
    const estimation = new ModelEstimation({ store: mpi.store, versions, settings: { ...mpi.config.estimation, reestimateGrowth: 0.25 } });
    const site = { redis: mpi.dir.redis, keys: mpi.dir.keys };
    // No quiet period: the estimation runs as soon as it is asked for.
    const requests = new EstimationRequests(site, estimation, 0);
    const worker = startModelEstimationWorker({ site, service: 'mpi', audit: mpi.dir.deps.audit, log: mpi.dir.deps.log, estimation, requests, checkSeconds: 3600 });
    try {
      expect(await worker.checkGrowth()).toBeUndefined();
      const { nhs, socialWork } = twoAgencyPeople(90, 2, 'B');
      await load('nhs-lothian', nhs);
      await load('edinburgh-social-work', socialWork);
      expect((await estimation.growthCheck()).due).toBe(true);
      const jobId = await worker.checkGrowth();
      expect(jobId).toBe(`estimate-version-2-from-${(await versions.current()).summary.records}`);
      // Checked twice before it runs: still one job.
      await worker.checkGrowth();
      for (let i = 0; i < 240 && (await versions.current()).version !== 3; i++) await new Promise((r) => setTimeout(r, 500));
      const current = await versions.current();
      expect(current.summary).toMatchObject({ version: 3, trigger: 'index-growth' });
      expect((await estimation.growthCheck()).due).toBe(false);
    } finally {
      await worker.close();
      await requests.close();
    }
  }, 180_000);
  it('asks for a re-clustering pass once a new version is in use, so the Persons are decided again under it', async () => {
    const versions = new ModelVersions(mpi.dir.redis, new MpiKeys(mpi.dir.keys), mpi.config.model);
    const asked: { requestId: string; versionInUse: number }[] = [];
    const estimation = new ModelEstimation({
      store: mpi.store,
      versions,
      settings: mpi.config.estimation,
      onModelChanged: async (cause) => {
        asked.push({ requestId: cause.requestId, versionInUse: (await versions.current()).version });
      },
    });
    const before = (await versions.current()).version;
    const made = await estimation.estimate({ trigger: 'on-demand', requestedBy: 'Organization/nhs-lothian', cause: { requestId: 'estimate-then-recluster', agent: {} } });
    expect(made.version).toBe(before + 1);
    expect(asked).toEqual([{ requestId: 'estimate-then-recluster', versionInUse: before + 1 }]);
  }, 120_000);

  it('keeps reviewer decisions as decided under the new model, and learns from them', async () => {
    const estimated = await estimate();
    expect(estimated.status).toBe(200);
    expect(param(estimated.body as Parameters, 'labelled-pairs')?.valueInteger).toBeGreaterThanOrEqual(3);
    // Re-submitted unchanged under the new model: the reviewer's "not the same person" stands.
    const again = await mpi.registered(
      'edinburgh-social-work',
      'R5S',
      { given: ['Calum'], family: 'Duthie', birthDate: '1962-06-15', gender: 'male', postcode: 'EH12 5XY', line: '85 Gorgie Road' },
      200,
    );
    expect(again.outcome.outcome).not.toBe('linked');
    const [nhsLink, swLink] = await mpi.store.getLinks(['nhs-lothian.R5N', 'edinburgh-social-work.R5S']);
    expect(swLink!.personId).not.toBe(nhsLink!.personId);
  }, 120_000);
});
