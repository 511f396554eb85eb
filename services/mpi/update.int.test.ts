/**
 * Updating agency records as FHIR clients do, with fhir-kit-client over HTTP:
 * `PUT Patient/{id}` (If-Match honoured), conditional update `PUT Patient?identifier=…`,
 * and both as transaction entries — each a registration: versioned and re-matched.
 */
import type { Bundle, BundleEntry, OperationOutcome, Patient } from 'fhir/r4.js';
import type { Client } from 'fhir-kit-client';
import request from 'supertest';
import { fhirClient, fhirErrorResponse } from '../../shared/client/fhir.js';
import { agencyPatientSystem } from '../../shared/fhir/systems.js';
import { listen, reserveFreePorts, type Listening } from '../../shared/runtime/listen.js';
import { agencyPatient, matchOutcomeOf, startTestMpi, type PersonDetails, type TestMpi } from '../../test/mpi.js';
import { blockingKeys } from './domain/blocking.js';

let mpi: TestMpi;
let server: Listening;
let housing: Client;

beforeAll(async () => {
  const [port] = await reserveFreePorts(1);
  mpi = await startTestMpi({}, { INFOSHARE_MPI_PORT: String(port) });
  server = await listen(mpi.app, port!, '127.0.0.1');
  housing = fhirClient(`${mpi.config.urls.mpi}/fhir`, await mpi.token('edinburgh-housing'));
});

afterAll(async () => {
  await server.close();
  await mpi.close();
});

const system = agencyPatientSystem('edinburgh-housing');
const kirsty: PersonDetails = { given: ['Kirsty'], family: 'Updater', birthDate: '1977-09-12', gender: 'female', postcode: 'EH7 4AB' };
/** fhir-kit-client types bodies with an index signature: a spread of the typed resource has one. */
const asBody = (p: Patient) => ({ ...p });
const withId = (localId: string, details: PersonDetails): Patient => ({ ...agencyPatient('edinburgh-housing', localId, details), id: `edinburgh-housing.${localId}` });

async function failure(promise: Promise<unknown>): Promise<{ status: number; outcome: OperationOutcome }> {
  const response = fhirErrorResponse(await promise.then(() => undefined, (e: unknown) => e));
  if (!response) throw new Error('expected the request to fail');
  return { status: response.status, outcome: response.data as OperationOutcome };
}

async function history(id: string): Promise<Patient[]> {
  const bundle = (await housing.history({ resourceType: 'Patient', id })) as unknown as Bundle;
  return (bundle.entry ?? []).map((e) => e.resource as Patient);
}

describe('PUT Patient/{id}', () => {
  it('creates the record it names (201), then makes new versions, re-matched', async () => {
    const created = (await housing.update({ resourceType: 'Patient', id: 'edinburgh-housing.UPD-1', body: asBody(withId('UPD-1', kirsty)) })) as unknown as Patient;
    expect(created.meta?.versionId).toBe('1');
    expect(matchOutcomeOf(created).outcome).toBe('new');
    const moved = withId('UPD-1', { ...kirsty, postcode: 'EH8 9YL' });
    const updated = (await housing.update({ resourceType: 'Patient', id: 'edinburgh-housing.UPD-1', body: asBody(moved) })) as unknown as Patient;
    expect(updated.meta?.versionId).toBe('2');
    expect(matchOutcomeOf(updated).person).toBe(matchOutcomeOf(created).person);
    expect((await history('edinburgh-housing.UPD-1')).map((v) => v.meta?.versionId)).toEqual(['2', '1']);
    const found = (await housing.search({ resourceType: 'Patient', searchParams: { 'address-postalcode': 'EH8 9YL', family: 'updater' } })) as unknown as Bundle;
    expect(found.entry?.map((e) => e.resource?.id)).toEqual(['edinburgh-housing.UPD-1']);
  });

  it('honours If-Match: the current version updates, a stale one is 412 and changes nothing', async () => {
    await housing.update({ resourceType: 'Patient', id: 'edinburgh-housing.UPD-2', body: asBody(withId('UPD-2', kirsty)) });
    const current = (await housing.update({
      resourceType: 'Patient',
      id: 'edinburgh-housing.UPD-2',
      body: asBody(withId('UPD-2', { ...kirsty, given: ['Kirsteen'] })),
      options: { headers: { 'If-Match': 'W/"1"' } },
    })) as unknown as Patient;
    expect(current.meta?.versionId).toBe('2');
    const stale = await failure(
      housing.update({
        resourceType: 'Patient',
        id: 'edinburgh-housing.UPD-2',
        body: asBody(withId('UPD-2', { ...kirsty, given: ['Kay'] })),
        options: { headers: { 'If-Match': 'W/"1"' } },
      }),
    );
    expect(stale.status).toBe(412);
    expect(stale.outcome.resourceType).toBe('OperationOutcome');
    expect((await history('edinburgh-housing.UPD-2')).map((v) => v.name?.[0]?.given?.[0])).toEqual(['Kirsteen', 'Kirsty']);
  });

  it('honours If-Match * (the record exists) and a list of versions; If-None-Match is refused, not ignored', async () => {
    const put = (given: string, headers: Record<string, string>) =>
      housing.update({ resourceType: 'Patient', id: 'edinburgh-housing.UPD-STAR', body: asBody(withId('UPD-STAR', { ...kirsty, given: [given] })), options: { headers } });
    expect((await failure(put('Nobody', { 'If-Match': '*' }))).status).toBe(412);
    await put('Kirsty', {});
    expect(((await put('Kirsteen', { 'If-Match': '*' })) as unknown as Patient).meta?.versionId).toBe('2');
    expect(((await put('Kay', { 'If-Match': 'W/"7", W/"2"' })) as unknown as Patient).meta?.versionId).toBe('3');
    expect((await failure(put('Lost', { 'If-Match': 'W/"1", W/"2"' }))).status).toBe(412);
    expect((await failure(put('Lost', { 'If-None-Match': '*' }))).status).toBe(400);
    expect((await history('edinburgh-housing.UPD-STAR')).map((v) => v.name?.[0]?.given?.[0])).toEqual(['Kay', 'Kirsteen', 'Kirsty']);
  });

  it('refuses a body that contradicts the URL (400), another agency’s record (403), an identifier naming another record (422)', async () => {
    const mismatch = await failure(housing.update({ resourceType: 'Patient', id: 'edinburgh-housing.UPD-3', body: asBody(withId('UPD-4', kirsty)) }));
    expect(mismatch.status).toBe(400);
    const others = await failure(
      housing.update({ resourceType: 'Patient', id: 'nhs-lothian.UPD-3', body: asBody({ ...withId('UPD-3', kirsty), id: 'nhs-lothian.UPD-3' }) }),
    );
    expect(others.status).toBe(403);
    const renamed = await failure(
      housing.update({ resourceType: 'Patient', id: 'edinburgh-housing.UPD-9', body: asBody({ ...withId('UPD-3', kirsty), id: 'edinburgh-housing.UPD-9' }) }),
    );
    expect(renamed.status).toBe(422);
  });
});

describe('conditional update PUT Patient?identifier=…', () => {
  it('creates the agency record on first use and updates it after: one record, two versions', async () => {
    const searchParams = { identifier: `${system}|COND-1` };
    const first = (await housing.update({ resourceType: 'Patient', searchParams, body: asBody(agencyPatient('edinburgh-housing', 'COND-1', kirsty)) })) as unknown as Patient;
    expect(first).toMatchObject({ id: 'edinburgh-housing.COND-1', meta: { versionId: '1' } });
    const second = (await housing.update({
      resourceType: 'Patient',
      searchParams,
      body: asBody(agencyPatient('edinburgh-housing', 'COND-1', { ...kirsty, birthDate: '1977-09-21' })),
    })) as unknown as Patient;
    expect(second).toMatchObject({ id: 'edinburgh-housing.COND-1', meta: { versionId: '2' }, birthDate: '1977-09-21' });
  });

  it('refuses criteria other than the agency’s own identifier, or one the body does not carry', async () => {
    const body = asBody(agencyPatient('edinburgh-housing', 'COND-2', kirsty));
    expect((await failure(housing.update({ resourceType: 'Patient', searchParams: { identifier: `${system}|OTHER` }, body }))).status).toBe(400);
    expect((await failure(housing.update({ resourceType: 'Patient', searchParams: { family: 'Updater' }, body }))).status).toBe(400);
    const lothian = { identifier: `${agencyPatientSystem('nhs-lothian')}|COND-2` };
    expect((await failure(housing.update({ resourceType: 'Patient', searchParams: lothian, body }))).status).toBe(403);
  });
});

describe('conditional update in a transaction', () => {
  const entry = (localId: string, details: PersonDetails, ifMatch?: string): BundleEntry => ({
    resource: agencyPatient('edinburgh-housing', localId, details),
    request: { method: 'PUT', url: `Patient?identifier=${encodeURIComponent(`${system}|${localId}`)}`, ...(ifMatch ? { ifMatch } : {}) },
  });
  const transaction = (entries: BundleEntry[]) => housing.transaction({ body: { resourceType: 'Bundle', type: 'transaction', entry: entries } });

  it('create then update the same identifier: one record with two versions', async () => {
    const created = (await transaction([entry('TX-1', kirsty), entry('TX-2', { ...kirsty, given: ['Iona'] })])) as unknown as Bundle;
    expect(created.type).toBe('transaction-response');
    expect(created.entry?.map((e) => e.response?.status)).toEqual(['201 Created', '201 Created']);
    const updated = (await transaction([entry('TX-1', { ...kirsty, postcode: 'EH3 9AA' })])) as unknown as Bundle;
    expect(updated.entry?.map((e) => e.response?.status)).toEqual(['200 OK']);
    const found = (await housing.search({ resourceType: 'Patient', searchParams: { identifier: `${system}|TX-1` } })) as unknown as Bundle;
    expect(found.total).toBe(1);
    expect((await history('edinburgh-housing.TX-1')).map((v) => v.meta?.versionId)).toEqual(['2', '1']);
  });

  it('mixes with POST and PUT-by-id entries; a stale ifMatch refuses the whole Bundle (412) before anything is registered', async () => {
    await transaction([entry('TX-3', kirsty)]);
    const byId: BundleEntry = { resource: withId('TX-4', kirsty), request: { method: 'PUT', url: 'Patient/edinburgh-housing.TX-4' } };
    const stale = await failure(transaction([byId, entry('TX-3', { ...kirsty, given: ['Ailsa'] }, 'W/"7"')]));
    expect(stale.status).toBe(412);
    expect((await failure(housing.read({ resourceType: 'Patient', id: 'edinburgh-housing.TX-4' }))).status).toBe(404);
    const ok = (await transaction([byId, entry('TX-3', { ...kirsty, given: ['Ailsa'] }, 'W/"1"')])) as unknown as Bundle;
    expect(ok.entry?.map((e) => e.response?.status)).toEqual(['201 Created', '200 OK']);
  });

  it('refuses an entry that is neither a POST nor a PUT of a Patient (422), and another agency’s identifier system (403)', async () => {
    const deletion: BundleEntry = { request: { method: 'DELETE', url: 'Patient/edinburgh-housing.TX-1' } };
    expect((await failure(transaction([deletion]))).status).toBe(422);
    const foreign: BundleEntry = { resource: agencyPatient('edinburgh-housing', 'TX-5', kirsty), request: { method: 'PUT', url: `Patient?identifier=${agencyPatientSystem('nhs-lothian')}|TX-5` } };
    expect((await failure(transaction([foreign]))).status).toBe(403);
  });
});

describe('a re-submission whose record changed while it waited for the index lock', () => {
  it('is registered as a change: matched against candidates read under the lock, and given a new version', async () => {
    const ruaridh: PersonDetails = { given: ['Ruaridh'], family: 'Latecomer', birthDate: '1969-02-14', gender: 'male', postcode: 'EH10 5HD' };
    const first = await mpi.registered('edinburgh-housing', 'LATE-1', ruaridh, 201);
    const other = await mpi.registered('nhs-lothian', 'LATE-2', ruaridh, 201);
    expect(other.outcome.person).toBe(first.outcome.person);
    const id = 'edinburgh-housing.LATE-1';
    // The same content again: found stored before the lock, so nothing is worked out for it then.
    // While it waits for the lock, its record changes (as another registration would change it).
    // (The request is handed out wrapped: returned bare, the lock would wait for the request it holds up.)
    const { pending } = await mpi.store.withIndexLock(async () => {
      const pending = request(mpi.app).post('/fhir/Patient').set(await mpi.auth('edinburgh-housing')).type('application/fhir+json').send(agencyPatient('edinburgh-housing', 'LATE-1', ruaridh)).then((r) => r);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const [stored] = await mpi.store.getRecords([id]);
      const [features] = await mpi.store.getFeatures([id]);
      const keys = blockingKeys(features!);
      const changed: Patient = { ...stored!, telecom: [{ system: 'phone', value: '0131 496 0000' }], meta: { versionId: '2', lastUpdated: new Date().toISOString() } };
      await mpi.store.writeRecords([{ patient: changed, previous: stored!, features: features!, blockingKeys: keys, previousBlockingKeys: keys }]);
      return { pending };
    });
    const again = await pending;
    expect(again.status).toBe(200);
    const body = again.body as Patient;
    expect(body.meta?.versionId).toBe('3');
    const outcome = matchOutcomeOf(body);
    expect(outcome.unchanged).toBeUndefined();
    // Its candidates were read only once the lock showed it changed: it still links to the other record's Person.
    expect({ outcome: outcome.outcome, candidate: outcome.candidate, person: outcome.person }).toEqual({ outcome: 'linked', candidate: 'Patient/nhs-lothian.LATE-2', person: first.outcome.person });
  });
});
