/**
 * Possible duplicates: one individual indexed twice (two records whose overlap
 * was too weak to link), bridged by a third record that links strongly to both.
 * The MPI links the third record and asks a reviewer, with a match-review Task
 * of kind possible-duplicate, whether to merge the two Persons — through its
 * HTTP API against a real Redis with the demo partnership.
 *
 * Each scenario uses a person of its own; an index of its own for the file.
 */
import type { Bundle, Parameters, Patient, Task } from 'fhir/r4.js';
import request from 'supertest';
import type { MatchingReport } from './domain/report.js';
import { agencyPatient, criteriaOf, entityRefs, linkedRecords, matchOutcomeOf, startTestMpi, testChi, transactionOf, type PersonDetails, type TestMpi } from '../../test/mpi.js';

let mpi: TestMpi;

beforeAll(async () => {
  mpi = await startTestMpi();
});

afterAll(async () => {
  await mpi.close();
});

const FHIR_JSON = 'application/fhir+json';

async function resolve(agencyId: string, taskId: string, decision: 'link' | 'not-link') {
  const body: Parameters = { resourceType: 'Parameters', parameter: [{ name: 'decision', valueCode: decision }] };
  return request(mpi.app).post(`/fhir/Task/${taskId}/$resolve`).set(await mpi.auth(agencyId)).type(FHIR_JSON).send(body);
}

async function openTasksAbout(recordId: string): Promise<Task[]> {
  const res = await mpi.get('nhs-lothian', `/fhir/Task?code=match-review&status=requested&focus=Patient/${recordId}&_count=100`);
  expect(res.status).toBe(200);
  return ((res.body as Bundle).entry ?? []).map((e) => e.resource as Task);
}

async function report(): Promise<MatchingReport> {
  const res = await mpi.get('edinburgh-social-work', '/matching/report');
  expect(res.status).toBe(200);
  return res.body as MatchingReport;
}

const inputOf = (task: Task, type: string) => task.input?.find((i) => i.type.text === type);

/**
 * Three records of one individual. The NHS record (CHI, birth date) and the housing
 * record (a nickname, no birth date, another address) share too little to link: two
 * Persons. Social work's record carries the CHI and the housing address and phone, so
 * it links to both — certain by CHI to the NHS record and by score to the housing one.
 */
function oneIndividual(given: string, nickname: string, family: string, birthDate: string, gender: 'male' | 'female', serial: number) {
  const chi = testChi(birthDate, gender, serial);
  const nhs: PersonDetails = { given: [given], family, birthDate, gender, postcode: `EH10 5A${String.fromCharCode(65 + serial % 26)}`, line: `${serial} Morningside Road`, chi };
  const housing: PersonDetails = { given: [nickname], family, gender, postcode: `EH6 7B${String.fromCharCode(65 + serial % 26)}`, line: `${serial + 1} Leith Walk`, phone: `0131 555 0${100 + serial}` };
  const socialWork: PersonDetails = { ...housing, given: [given], birthDate, chi };
  return { nhs, housing, socialWork };
}

describe('a record that links to two Persons of one individual', () => {
  const sandy = oneIndividual('Alexander', 'Sandy', 'Robertson', '1972-03-14', 'male', 21);
  const X = 'edinburgh-social-work.DUP-SW-1';
  const Y = 'edinburgh-housing.DUP-H-1';
  let personA: string;
  let personB: string;
  let taskId: string;

  it('is linked to the best Person and raises one possible-duplicate review naming both Persons', async () => {
    personA = (await mpi.registered('nhs-lothian', 'DUP-N-1', sandy.nhs)).outcome.person!;
    const housing = await mpi.registered('edinburgh-housing', 'DUP-H-1', sandy.housing);
    expect(housing.outcome.outcome).toBe('new');
    personB = housing.outcome.person!;
    expect(personB).not.toBe(personA);

    const sw = await mpi.registered('edinburgh-social-work', 'DUP-SW-1', sandy.socialWork);
    expect(sw.outcome).toMatchObject({ outcome: 'linked', person: personA, assurance: 'level4', reviewTask: expect.stringMatching(/^Task\//) });
    taskId = sw.outcome.reviewTask!.slice('Task/'.length);
    expect(entityRefs(await mpi.auditOf(sw.res))).toContain(`Task/${taskId}`);

    const [task, ...others] = await openTasksAbout(X);
    expect(others).toEqual([]);
    expect(task).toMatchObject({ id: taskId, status: 'requested', focus: { reference: `Patient/${X}` } });
    expect(inputOf(task!, 'review-kind')?.valueCode).toBe('possible-duplicate');
    expect(inputOf(task!, 'candidate')?.valueReference?.reference).toBe(`Patient/${Y}`);
    expect(inputOf(task!, 'record-person')?.valueReference?.reference).toBe(personA);
    expect(inputOf(task!, 'candidate-person')?.valueReference?.reference).toBe(personB);
    expect(task!.description).toContain(`${personA} and ${personB} may be one individual indexed twice: Patient/${X} links to ${personA}`);
    expect((await report()).reviewQueue.possibleDuplicates).toBe(1);
  });

  it('re-submitting the bridging record keeps the waiting Task and asks nothing new', async () => {
    const again = await mpi.registered('edinburgh-social-work', 'DUP-SW-1', sandy.socialWork, 200);
    expect(again.outcome).toMatchObject({ outcome: 'linked', person: personA });
    expect(again.outcome.reviewTask).toBeUndefined();
    expect((await openTasksAbout(X)).map((t) => t.id)).toEqual([taskId]);
    expect((await report()).reviewQueue.possibleDuplicates).toBe(1);
  });

  it('$resolve link merges the candidate’s Person into the record’s, like Person/$merge; audited as manual matching (MI-L3)', async () => {
    const res = await resolve('nhs-lothian', taskId, 'link');
    expect(res.status).toBe(200);
    expect(res.body as Task).toMatchObject({ status: 'completed', output: [expect.objectContaining({ valueCode: 'link' })] });
    const event = await mpi.auditOf(res);
    expect(criteriaOf(event)).toEqual(['MI-L3']);
    expect(entityRefs(event)).toEqual(expect.arrayContaining([`Task/${taskId}`, `Patient/${X}`, `Patient/${Y}`, personA, personB]));

    const survivor = await mpi.readPerson('nhs-lothian', personA);
    expect(linkedRecords(survivor)).toEqual([`Patient/${Y}`, `Patient/${X}`, 'Patient/nhs-lothian.DUP-N-1']);
    const merged = await mpi.readPerson('nhs-lothian', personB);
    expect(merged.active).toBe(false);
    expect(merged.link).toEqual([expect.objectContaining({ target: { reference: personA } })]);
    expect(await openTasksAbout(X)).toEqual([]);
    expect((await report()).decisions).toMatchObject({ link: 1, merges: 1 });
  });

  it('after the merge, the records stay together and nothing is asked again', async () => {
    const housing = await mpi.registered('edinburgh-housing', 'DUP-H-1', sandy.housing, 200);
    expect(housing.outcome).toMatchObject({ outcome: 'linked', person: personA, assurance: 'level2' });
    const sw = await mpi.registered('edinburgh-social-work', 'DUP-SW-1', sandy.socialWork, 200);
    expect(sw.outcome).toMatchObject({ outcome: 'linked', person: personA });
    expect(sw.outcome.reviewTask).toBeUndefined();
    expect(await openTasksAbout(X)).toEqual([]);
  });
});

describe('a possible duplicate the reviewer keeps apart', () => {
  const peggy = oneIndividual('Margaret', 'Peggy', 'Sinclair', '1948-11-02', 'female', 22);
  const X = 'edinburgh-social-work.DUP-SW-2';
  let personA: string;
  let personB: string;

  it('$resolve not-link keeps two Persons, and re-submitting the bridging record raises no new Task', async () => {
    personA = (await mpi.registered('nhs-lothian', 'DUP-N-2', peggy.nhs)).outcome.person!;
    personB = (await mpi.registered('edinburgh-housing', 'DUP-H-2', peggy.housing)).outcome.person!;
    const sw = await mpi.registered('edinburgh-social-work', 'DUP-SW-2', peggy.socialWork);
    expect(sw.outcome).toMatchObject({ outcome: 'linked', person: personA, reviewTask: expect.stringMatching(/^Task\//) });
    const taskId = sw.outcome.reviewTask!.slice('Task/'.length);

    const res = await resolve('edinburgh-social-work', taskId, 'not-link');
    expect(res.status).toBe(200);
    const event = await mpi.auditOf(res);
    expect(criteriaOf(event)).toEqual(['MI-L3']);
    expect(entityRefs(event)).toEqual(expect.arrayContaining([personA, personB]));
    expect(linkedRecords(await mpi.readPerson('nhs-lothian', personA))).toEqual([`Patient/${X}`, 'Patient/nhs-lothian.DUP-N-2']);
    expect(linkedRecords(await mpi.readPerson('nhs-lothian', personB))).toEqual(['Patient/edinburgh-housing.DUP-H-2']);

    const again = await mpi.registered('edinburgh-social-work', 'DUP-SW-2', peggy.socialWork, 200);
    expect(again.outcome).toMatchObject({ outcome: 'linked', person: personA });
    expect(again.outcome.reviewTask).toBeUndefined();
    expect(await openTasksAbout(X)).toEqual([]);
    expect(linkedRecords(await mpi.readPerson('nhs-lothian', personB))).toEqual(['Patient/edinburgh-housing.DUP-H-2']);
    expect((await report()).decisions).toMatchObject({ notLink: 1 });
  });

  it('is not asked again by another record bridging the same two Persons', async () => {
    // Education's record of her is as close to both as social work's was.
    const education = await mpi.registered('edinburgh-education', 'DUP-E-2', peggy.socialWork);
    expect(education.outcome).toMatchObject({ outcome: 'linked', person: personA });
    expect(education.outcome.reviewTask).toBeUndefined();
    expect(await openTasksAbout('edinburgh-education.DUP-E-2')).toEqual([]);
  });
});

describe('two records bridging the same two Persons at once', () => {
  const ishbel = oneIndividual('Isabella', 'Ishbel', 'Gunn', '1961-08-19', 'female', 23);

  it('raise one merge question between them, not one each', async () => {
    const personA = (await mpi.registered('nhs-lothian', 'DUP-N-3', ishbel.nhs)).outcome.person!;
    const personB = (await mpi.registered('edinburgh-housing', 'DUP-H-3', ishbel.housing)).outcome.person!;
    const bundle = transactionOf([
      agencyPatient('edinburgh-social-work', 'DUP-SW-3', ishbel.socialWork),
      agencyPatient('edinburgh-social-work', 'DUP-SW-3B', ishbel.socialWork),
    ]);
    const res = await request(mpi.app).post('/fhir').set(await mpi.auth('edinburgh-social-work')).type(FHIR_JSON).send(bundle);
    expect(res.status).toBe(200);
    const outcomes = ((res.body as Bundle).entry ?? []).map((e) => matchOutcomeOf(e.resource as Patient));
    expect(outcomes.map((o) => o.person)).toEqual([personA, personA]);
    expect(outcomes.filter((o) => o.reviewTask !== undefined)).toHaveLength(1);
    const asked = [...(await openTasksAbout('edinburgh-social-work.DUP-SW-3')), ...(await openTasksAbout('edinburgh-social-work.DUP-SW-3B'))];
    expect(asked).toHaveLength(1);
    expect(inputOf(asked[0]!, 'candidate-person')?.valueReference?.reference).toBe(personB);
  });
});
