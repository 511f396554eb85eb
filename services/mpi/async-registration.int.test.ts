/**
 * Bulk registration in the background (`Prefer: respond-async`) against a real
 * Redis and a real BullMQ worker: accepted at once with a status URL, refused at
 * once when invalid, registered by the worker with progress, the result read
 * back by the submitting agency only, audited when it actually happens.
 */
import type { Bundle, OperationOutcome, Patient } from 'fhir/r4.js';
import request from 'supertest';
import { agencyPatientSystem } from '../../shared/fhir/systems.js';
import { readAuditTrailOf } from '../../shared/audit/audit-client.js';
import { triggerOfEvent } from '../../shared/audit/audit-event.js';
import { MpiKeys } from './keys.js';
import { agencyPatient, criteriaOf, entityRefs, startTestMpi, transactionOf, type PersonDetails, type TestMpi } from '../../test/mpi.js';

let mpi: TestMpi;

beforeAll(async () => {
  mpi = await startTestMpi();
});

afterAll(async () => {
  await mpi.close();
});

const ASYNC = { Prefer: 'respond-async' };


async function postAsync(agencyId: string, bundle: unknown): Promise<request.Response> {
  return request(mpi.app).post('/fhir').set(await mpi.auth(agencyId)).set(ASYNC).type('application/fhir+json').send(bundle as object);
}

async function poll(agencyId: string, statusUrl: string): Promise<request.Response> {
  const path = new URL(statusUrl).pathname;
  // Bounded in time, generously (a busy 2-core machine registers far slower than this one), not in polls.
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    const res = await request(mpi.app).get(path).set(await mpi.auth(agencyId));
    if (res.status !== 202) return res;
    expect(res.headers['x-progress']).toMatch(/^\d+ of \d+ records registered$/);
    expect(res.headers['retry-after']).toBe('2');
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${statusUrl} still in progress`);
}

/** Holds the index write lock as another writer would, until `release` (safe to call twice). */
async function holdIndexLock(): Promise<{ release: () => Promise<void> }> {
  let letGo!: () => void;
  const released = new Promise<void>((resolve) => (letGo = resolve));
  let held!: () => void;
  const holding = new Promise<void>((resolve) => (held = resolve));
  const done = mpi.store.withIndexLock(async () => {
    held();
    await released;
  });
  await holding;
  return {
    release: async () => {
      letGo();
      await done;
    },
  };
}

const people = (n: number, family: string): Patient[] =>
  Array.from({ length: n }, (_, i) => {
    const details: PersonDetails = {
      given: [['Isla', 'Callum', 'Eilidh', 'Fraser'][i % 4]!],
      family: `${family}${String.fromCharCode(97 + (i % 26))}`,
      birthDate: `19${60 + (i % 30)}-0${1 + (i % 9)}-1${i % 10}`,
      gender: i % 2 ? 'male' : 'female',
      postcode: `EH${1 + (i % 17)} ${1 + (i % 9)}AB`,
    };
    return agencyPatient('edinburgh-housing', `ASYNC-${family}-${i}`, details);
  });

describe('POST /fhir with Prefer: respond-async', () => {
  it('accepts a valid load at once (202 + status URL), registers it in the background and returns the transaction-response', async () => {
    const bundle = transactionOf(people(40, 'Lennox'));
    const accepted = await postAsync('edinburgh-housing', bundle);
    expect(accepted.status).toBe(202);
    const statusUrl = accepted.headers['content-location'] as string;
    expect(statusUrl).toMatch(/\/fhir\/_async\/registration~edinburgh-housing~[0-9a-f]{32}$/);
    expect((await mpi.auditOf(accepted)).outcome).toBe('0');

    const done = await poll('edinburgh-housing', statusUrl);
    expect(done.status).toBe(200);
    expect(done.headers['x-progress']).toBe('complete');
    const response = done.body as Bundle;
    expect(response.type).toBe('transaction-response');
    expect(response.entry).toHaveLength(40);
    expect(response.entry!.every((e) => e.response?.status === '201 Created')).toBe(true);

    // The records waited under their own key (the job stays small) and are gone once registered.
    expect(await mpi.dir.redis.keys(`${mpi.dir.keys.prefix}:*registration-records*`)).toEqual([]);

    // The records are in the index.
    const first = await request(mpi.app).get('/fhir/Patient/edinburgh-housing.ASYNC-Lennox-0').set(await mpi.auth('edinburgh-housing'));
    expect(first.status).toBe(200);

    // Audited when the records were registered — as a job attempt of the request that queued it —
    // with the registrations' criteria; and each chunk's change committed with its own record.
    const trail = await readAuditTrailOf(mpi.dir.redis, mpi.dir.keys, accepted.headers['x-request-id'] as string);
    const completion = trail.find((e) => triggerOfEvent(e) === 'job' && e.outcome === '0');
    expect(completion).toBeDefined();
    expect(criteriaOf(completion!)).toContain('MI-L4');
    expect(entityRefs(completion!)).toContain('Patient/edinburgh-housing.ASYNC-Lennox-0');
    const detail = completion!.entity?.flatMap((e) => e.detail ?? []) ?? [];
    expect(detail).toEqual(expect.arrayContaining([{ type: 'queue', valueString: 'mpi/registrations' }, { type: 'attempt', valueString: '1 of 1' }]));
    expect(detail.some((d) => d.type === 'method' || d.type === 'status')).toBe(false);
    const changes = trail.filter((e) => triggerOfEvent(e) === 'change');
    expect(changes.flatMap(entityRefs)).toContain('Patient/edinburgh-housing.ASYNC-Lennox-39');
  });

  it('gives the same status URL when the same load is posted again (a client retry), and registers it once', async () => {
    const bundle = transactionOf(people(5, 'Drummond'));
    const first = await postAsync('edinburgh-housing', bundle);
    const second = await postAsync('edinburgh-housing', bundle);
    expect(second.status).toBe(202);
    expect(second.headers['content-location']).toBe(first.headers['content-location']);
    expect((first.body as OperationOutcome).issue[0]?.code).toBe('informational');
    expect((second.body as OperationOutcome).issue[0]).toMatchObject({ severity: 'information', code: 'duplicate' });
    const done = await poll('edinburgh-housing', first.headers['content-location'] as string);
    expect((done.body as Bundle).entry).toHaveLength(5);
    const history = await request(mpi.app).get('/fhir/Patient/edinburgh-housing.ASYNC-Drummond-0/_history').set(await mpi.auth('edinburgh-housing'));
    expect((history.body as Bundle).entry).toHaveLength(1);
  });

  it('refuses an invalid load at once (422), with every problem, and queues nothing', async () => {
    const patients = people(3, 'Kerr');
    const bad = { ...patients[1]!, birthDate: '31/02/1970' };
    const res = await postAsync('edinburgh-housing', transactionOf([patients[0]!, bad, patients[2]!]));
    expect(res.status).toBe(422);
    expect(JSON.stringify((res.body as OperationOutcome).issue)).toContain('Bundle.entry[1]');
    expect(res.headers['content-location']).toBeUndefined();
    const none = await request(mpi.app).get('/fhir/Patient/edinburgh-housing.ASYNC-Kerr-0').set(await mpi.auth('edinburgh-housing'));
    expect(none.status).toBe(404);
  });

  it('shows a load only to the agency that submitted it (404 to others), and forgets the result on DELETE', async () => {
    const accepted = await postAsync('edinburgh-housing', transactionOf(people(2, 'Moffat')));
    const statusUrl = accepted.headers['content-location'] as string;
    const path = new URL(statusUrl).pathname;
    await poll('edinburgh-housing', statusUrl);

    const other = await request(mpi.app).get(path).set(await mpi.auth('nhs-lothian'));
    expect(other.status).toBe(404);
    expect((other.body as OperationOutcome).resourceType).toBe('OperationOutcome');
    expect((await request(mpi.app).delete(path).set(await mpi.auth('nhs-lothian'))).status).toBe(404);

    const forgotten = await request(mpi.app).delete(path).set(await mpi.auth('edinburgh-housing'));
    expect(forgotten.status).toBe(202);
    expect((await request(mpi.app).get(path).set(await mpi.auth('edinburgh-housing'))).status).toBe(404);
  });

  it('reports progress while registering, cancels a load that has not started, and never stops one part-way', async () => {
    const lockQueue = new MpiKeys(mpi.dir.keys).writeLockQueue;
    // Another writer holds the index lock, so the background load waits inside its registration.
    const lock = await holdIndexLock();
    try {
      const first = await postAsync('edinburgh-housing', transactionOf(people(3, 'Gillies')));
      const firstPath = new URL(first.headers['content-location'] as string).pathname;
      while ((await mpi.dir.redis.zcard(lockQueue)) === 0) await new Promise((r) => setTimeout(r, 10));

      const waiting = await request(mpi.app).get(firstPath).set(await mpi.auth('edinburgh-housing'));
      expect(waiting.status).toBe(202);
      expect(waiting.headers['x-progress']).toBe('0 of 3 records registered');
      expect((waiting.body as OperationOutcome).issue[0]?.severity).toBe('information');

      const running = await request(mpi.app).delete(firstPath).set(await mpi.auth('edinburgh-housing'));
      expect(running.status).toBe(409);

      // One load at a time: a second one waits its turn and can still be cancelled.
      const second = await postAsync('edinburgh-housing', transactionOf(people(2, 'Baird')));
      const secondPath = new URL(second.headers['content-location'] as string).pathname;
      const cancelled = await request(mpi.app).delete(secondPath).set(await mpi.auth('edinburgh-housing'));
      expect(cancelled.status).toBe(202);
      expect(JSON.stringify(cancelled.body)).toContain('nothing was registered');
      // Only the running load's records are still waiting.
      expect(await mpi.dir.redis.keys(`${mpi.dir.keys.prefix}:*registration-records*`)).toHaveLength(1);
      expect((await request(mpi.app).get(secondPath).set(await mpi.auth('edinburgh-housing'))).status).toBe(404);

      await lock.release();
      expect((await poll('edinburgh-housing', first.headers['content-location'] as string)).status).toBe(200);
      const never = await request(mpi.app).get('/fhir/Patient/edinburgh-housing.ASYNC-Baird-0').set(await mpi.auth('edinburgh-housing'));
      expect(never.status).toBe(404);
    } finally {
      await lock.release();
    }
  });

  it('checks the agency again when the load runs: one deactivated meanwhile gets the 403 it would have had, nothing registered', async () => {
    const agencyId = 'children1st-edinburgh';
    const lock = await holdIndexLock();
    const original = await mpi.dir.store.read('Organization', agencyId);
    try {
      // A first load keeps the worker busy, so the third-sector load is still waiting when its agency is deactivated.
      const busy = await postAsync('edinburgh-housing', transactionOf(people(1, 'Rennie')));
      const patients = people(2, 'Veitch').map((p) => ({ ...p, identifier: [{ system: agencyPatientSystem(agencyId), value: `BG-${p.identifier![0]!.value}` }] }));
      const accepted = await postAsync(agencyId, transactionOf(patients));
      expect(accepted.status).toBe(202);
      await mpi.dir.store.update({ ...original, active: false });
      await lock.release();
      await poll('edinburgh-housing', busy.headers['content-location'] as string);

      const failed = await poll(agencyId, accepted.headers['content-location'] as string);
      expect(failed.status).toBe(403);
      expect(JSON.stringify(failed.body)).toContain('no longer an active agency');
      // The refusal at run time is in the trail too: a job attempt of the request that queued it, outcome 4.
      const refusal = (await readAuditTrailOf(mpi.dir.redis, mpi.dir.keys, accepted.headers['x-request-id'] as string)).find((e) => triggerOfEvent(e) === 'job');
      expect(refusal?.outcome).toBe('4');
      expect(refusal?.outcomeDesc).toContain('no longer an active agency');
      const none = await request(mpi.app).get(`/fhir/Patient/${agencyId}.BG-ASYNC-Veitch-0`).set(await mpi.auth(agencyId));
      expect(none.status).toBe(404);
    } finally {
      await lock.release();
      await mpi.dir.store.update(original);
    }
  });

  it('answers 404 for an unknown status URL, and 401 without a token; each an audited OperationOutcome', async () => {
    const res = await request(mpi.app).get('/fhir/_async/registration~edinburgh-housing~0000').set(await mpi.auth('edinburgh-housing'));
    expect(res.status).toBe(404);
    expect((res.body as OperationOutcome).issue[0]?.code).toBe('not-found');
    expect((await mpi.auditOf(res)).outcome).toBe('4');
    for (const method of ['get', 'delete'] as const) {
      const anonymous = await request(mpi.app)[method]('/fhir/_async/registration~edinburgh-housing~0000');
      expect(anonymous.status).toBe(401);
      expect((anonymous.body as OperationOutcome).resourceType).toBe('OperationOutcome');
      expect((await mpi.auditOf(anonymous)).outcome).toBe('4');
    }
  });
});

