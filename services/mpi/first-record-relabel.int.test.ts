/**
 * A Person's first record is linked `new` (level 1: alone) at registration; when another record
 * joins its Person through it, it is linked as the re-clustering pass would link it — `chi` (level 4)
 * when the record that joined has its CHI, else `auto` (level 3) — at once, not at the next pass; an
 * `auto` record joined by one with its CHI becomes `chi`. Through the HTTP API against a real Redis:
 * one record at a time, both in one transaction Bundle, the change record naming the relabelled
 * record, and a pass afterwards with nothing left to relabel.
 */
import type { Person } from 'fhir/r4.js';
import request from 'supertest';
import { readAuditTrailOf } from '../../shared/audit/audit-client.js';
import { agencyPatient, startTestMpi, testChi, transactionOf, type PersonDetails, type TestMpi } from '../../test/mpi.js';

let mpi: TestMpi;

beforeAll(async () => {
  mpi = await startTestMpi();
});

afterAll(async () => {
  await mpi.close();
});

/** The assurance of each record's link in a Person, by `Patient/<id>`. */
async function assuranceIn(personRef: string): Promise<Record<string, string | undefined>> {
  const person: Person = await mpi.readPerson('nhs-lothian', personRef);
  return Object.fromEntries((person.link ?? []).map((l) => [l.target.reference!, l.assurance]));
}

/** `outcomes.relabelled` of the matching report (MI-L5), as a reviewer reads it. */
async function reportedRelabels(): Promise<number> {
  const res = await request(mpi.app).get('/matching/report').set(await mpi.auth('nhs-lothian'));
  expect(res.status).toBe(200);
  return (res.body as { outcomes: { relabelled: number } }).outcomes.relabelled;
}

describe('the first record of a Person, when another record joins it', () => {
  it('is relabelled CHI-certain (level4) when the record joining has its CHI, and the change record names it and the matching report counts it', async () => {
    const chi = testChi('1961-02-17', 'female', 23);
    const relabelledSoFar = await reportedRelabels();
    const morag: PersonDetails = { given: ['Morag'], family: 'Strachan', birthDate: '1961-02-17', gender: 'female', postcode: 'EH12 7TB', line: '3 Corstorphine Bank', chi };
    const first = await mpi.registered('nhs-lothian', 'RL-N-1', morag);
    expect(first.outcome).toMatchObject({ outcome: 'new', assurance: 'level1' });
    expect(await assuranceIn(first.outcome.person!)).toEqual({ 'Patient/nhs-lothian.RL-N-1': 'level1' });

    const joining = await mpi.registered('gp-leith-cluster', 'RL-G-1', { ...morag, given: ['Morag', 'Ann'], postcode: 'EH6 4TR', line: '9 Pitt Street' });
    expect(joining.outcome).toMatchObject({ outcome: 'linked', assurance: 'level4', person: first.outcome.person });
    expect(await assuranceIn(first.outcome.person!)).toEqual({ 'Patient/nhs-lothian.RL-N-1': 'level4', 'Patient/gp-leith-cluster.RL-G-1': 'level4' });

    // Audited like any change: the registration's change record names the relabelled record and says how it is linked now.
    const trail = await readAuditTrailOf(mpi.dir.redis, mpi.dir.keys, joining.res.headers['x-request-id'] as string);
    const relabelled = trail.flatMap((e) => e.entity ?? []).find((e) => e.what?.reference === 'Patient/nhs-lothian.RL-N-1');
    expect(relabelled?.description).toBe('relabelled level4 (chi): its Person was joined');
    expect(await reportedRelabels()).toBe(relabelledSoFar + 1);
  });

  it('is relabelled an automatic match (level3) when the record joining has no CHI', async () => {
    const callum: PersonDetails = { given: ['Callum'], family: 'Drummond', birthDate: '2009-11-03', gender: 'male', postcode: 'EH15 2QJ', line: '41 Portobello High Street', city: 'Edinburgh', chi: testChi('2009-11-03', 'male', 57) };
    const first = await mpi.registered('nhs-lothian', 'RL-N-2', callum);
    const joining = await mpi.registered('edinburgh-education', 'RL-E-2', { ...callum, chi: undefined });
    expect(joining.outcome).toMatchObject({ outcome: 'linked', assurance: 'level3', person: first.outcome.person });
    expect(await assuranceIn(first.outcome.person!)).toEqual({ 'Patient/nhs-lothian.RL-N-2': 'level3', 'Patient/edinburgh-education.RL-E-2': 'level3' });
  });

  it('is raised from level3 to CHI-certain (level4) when a later record with its CHI joins it', async () => {
    const chi = testChi('1987-05-30', 'male', 35);
    const ewan: PersonDetails = { given: ['Ewan'], family: 'Lindsay', birthDate: '1987-05-30', gender: 'male', postcode: 'EH7 5QD', line: '22 Easter Road', city: 'Edinburgh', chi };
    const first = await mpi.registered('nhs-lothian', 'RL-N-5', ewan);
    await mpi.registered('edinburgh-social-work', 'RL-S-5', { ...ewan, chi: undefined });
    expect(await assuranceIn(first.outcome.person!)).toEqual({ 'Patient/nhs-lothian.RL-N-5': 'level3', 'Patient/edinburgh-social-work.RL-S-5': 'level3' });
    const withChi = await mpi.registered('gp-leith-cluster', 'RL-G-5', { ...ewan, postcode: 'EH6 7HR', line: '5 Duke Street' });
    expect(withChi.outcome).toMatchObject({ outcome: 'linked', assurance: 'level4', person: first.outcome.person, candidate: 'Patient/nhs-lothian.RL-N-5' });
    // The record without CHI stays a probabilistic link: no record of the Person can vouch for it by CHI.
    expect(await assuranceIn(first.outcome.person!)).toEqual({
      'Patient/nhs-lothian.RL-N-5': 'level4',
      'Patient/edinburgh-social-work.RL-S-5': 'level3',
      'Patient/gp-leith-cluster.RL-G-5': 'level4',
    });
  });

  it('is written relabelled when both arrive in one transaction Bundle', async () => {
    const chi = testChi('1994-07-22', 'female', 81);
    const eilidh: PersonDetails = { given: ['Eilidh'], family: 'Cowan', birthDate: '1994-07-22', gender: 'female', postcode: 'EH11 3BQ', line: '17 Gorgie Road', chi };
    const res = await request(mpi.app)
      .post('/fhir')
      .set(await mpi.auth('nhs-lothian'))
      .type('application/fhir+json')
      .send(transactionOf([agencyPatient('nhs-lothian', 'RL-N-3', eilidh), agencyPatient('nhs-lothian', 'RL-N-4', { ...eilidh, postcode: 'EH11 4AA', line: '2 Dalry Road' })]));
    expect(res.status).toBe(200);
    const [link] = await mpi.store.getLinks(['nhs-lothian.RL-N-3']);
    expect(await assuranceIn(`Person/${link!.personId}`)).toEqual({ 'Patient/nhs-lothian.RL-N-3': 'level4', 'Patient/nhs-lothian.RL-N-4': 'level4' });
  });

  it('leaves the re-clustering pass nothing to relabel', async () => {
    const res = await request(mpi.app)
      .post('/matching/$recluster')
      .set(await mpi.auth('nhs-lothian', 'system/Task.review'));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ moved: 0, relabelled: 0 });
  });
});
