/**
 * CHI conflicts through the HTTP API, against a real Redis: a Person never gets two different
 * CHIs automatically — neither when a record with another CHI links to a record of the Person
 * that has none, nor in the re-clustering pass — and a record carrying another person's CHI
 * (a parent's on a child's record: forename and birth date disagree) goes to review instead of
 * joining that person, whose own records without a CHI then still link; so does a record whose birth
 * date is not the one its shared CHI carries (a son named after his father, with his CHI), and a
 * namesake of another generation without a CHI is a new person, not a question.
 */
import type { Bundle, Patient, Task } from 'fhir/r4.js';
import request from 'supertest';
import { HubScopes } from '../../shared/auth/scopes.js';
import { IdentifierSystems } from '../../shared/fhir/systems.js';
import { agencyPatient, matchOutcomeOf, startTestMpi, testChi, transactionOf, type PersonDetails, type TestMpi } from '../../test/mpi.js';

let mpi: TestMpi;

beforeAll(async () => {
  mpi = await startTestMpi();
});

afterAll(async () => {
  await mpi.close();
});

async function recluster(): Promise<void> {
  const res = await request(mpi.app).post('/matching/$recluster').set(await mpi.auth('nhs-lothian', HubScopes.taskReview));
  expect(res.status).toBe(200);
}

async function personOf(recordId: string): Promise<string | undefined> {
  return (await mpi.store.getLinks([recordId]))[0]?.personId;
}

async function chisOf(personId: string): Promise<string[]> {
  const person = await mpi.readPerson('nhs-lothian', `Person/${personId}`);
  return (person.identifier ?? []).filter((i) => i.system === IdentifierSystems.chi).map((i) => i.value!);
}

async function openTaskOf(reference: string): Promise<Task> {
  const res = await mpi.get('nhs-lothian', `/fhir/${reference}`);
  expect(res.status).toBe(200);
  return res.body as Task;
}

describe('two different CHIs', () => {
  // Two people of one name born the same day, at one address as far as the records say.
  const angus: PersonDetails = { given: ['Angus'], family: 'Paterson', birthDate: '1930-09-27', gender: 'male', postcode: 'EH11 2QA', line: '4 Dalry Road' };
  const first = testChi('1930-09-27', 'male', 69);
  const second = testChi('1930-09-27', 'male', 52);

  it('are not joined through a record without a CHI: the second goes to review, and the pass keeps it apart', async () => {
    const nhs = await mpi.registered('nhs-lothian', 'CC-N-1', { ...angus, chi: first });
    const council = await mpi.registered('edinburgh-housing', 'CC-H-1', angus);
    expect(council.outcome).toMatchObject({ outcome: 'linked', person: nhs.outcome.person });

    const gp = await mpi.registered('gp-leith-cluster', 'CC-G-1', { ...angus, chi: second });
    expect(gp.outcome.outcome).toBe('review');
    expect(gp.outcome.person).not.toBe(nhs.outcome.person);
    const task = await openTaskOf(gp.outcome.reviewTask!);
    expect(JSON.stringify(task)).toMatch(/different CHI number/);
    expect(await chisOf(nhs.outcome.person!.replace('Person/', ''))).toEqual([first]);

    await recluster();
    const [a, b] = [await personOf('nhs-lothian.CC-N-1'), await personOf('gp-leith-cluster.CC-G-1')];
    expect(a).not.toBe(b);
    expect(await chisOf(a!)).toEqual([first]);
    expect(await chisOf(b!)).toEqual([second]);
  });
});

describe('a CHI on a record of the Person that is not a candidate', () => {
  // The NHS record (a CHI, a typo in the forename, no birth date) and a housing record of the same woman at the same
  // address are one Person. A record with another CHI, after a move, matches the housing record outright but shares
  // no blocking key with the NHS record: only the Person's records read at registration show the other CHI.
  const catriona: PersonDetails = { given: ['Catriona'], family: 'Fleming', birthDate: '1962-03-14', gender: 'female', postcode: 'EH4 2DL', line: '7 Craigleith Road' };
  const { birthDate: _unknown, ...nhsRecord } = { ...catriona, given: ['Catirona'], chi: testChi('1962-03-14', 'female', 31) };
  const moved = { ...catriona, postcode: 'KY12 7AB', line: '3 Bruce Street', city: 'Dunfermline', chi: testChi('1962-03-14', 'female', 47) };

  it('registered on its own: the record goes to review, naming the record with the other CHI, not into the Person', async () => {
    const nhs = await mpi.registered('nhs-lothian', 'CC-N-5', nhsRecord);
    const housing = await mpi.registered('edinburgh-housing', 'CC-H-5', catriona);
    expect(housing.outcome).toMatchObject({ outcome: 'linked', person: nhs.outcome.person });

    const gp = await mpi.registered('gp-leith-cluster', 'CC-G-5', moved);
    expect(gp.outcome.outcome).toBe('review');
    expect(gp.outcome.person).not.toBe(nhs.outcome.person);
    expect(JSON.stringify(await openTaskOf(gp.outcome.reviewTask!))).toMatch(/Person holds record nhs-lothian\.CC-N-5 with a different CHI number/);
    expect(await chisOf(nhs.outcome.person!.replace('Person/', ''))).toEqual([nhsRecord.chi]);
  });

  it('in the Bundle that links the Person’s record it matches: the same, within one chunk', async () => {
    // Another woman (the records above would be candidates), in the same shapes.
    const home = { ...catriona, family: 'Menzies', birthDate: '1971-05-22', postcode: 'EH4 3AA', line: '9 Queensferry Road' };
    const { birthDate: _unknown, ...nhsRecord } = { ...home, given: ['Catirona'], chi: testChi('1971-05-22', 'female', 33) };
    const nhs = await mpi.registered('nhs-lothian', 'CC-N-6', nhsRecord);
    const bundle = transactionOf([
      agencyPatient('edinburgh-social-work', 'CC-S-6', home),
      agencyPatient('edinburgh-social-work', 'CC-S-6B', { ...home, postcode: 'KY11 4AB', line: '5 Hill Street', city: 'Dunfermline', chi: testChi('1971-05-22', 'female', 49) }),
    ]);
    const res = await request(mpi.app).post('/fhir').set(await mpi.auth('edinburgh-social-work')).type('application/fhir+json').send(bundle);
    expect(res.status).toBe(200);
    const [housing, gp] = ((res.body as Bundle).entry ?? []).map((e) => matchOutcomeOf(e.resource as Patient));
    expect(housing).toMatchObject({ outcome: 'linked', person: nhs.outcome.person });
    expect(gp!.outcome).toBe('review');
    expect(gp!.person).not.toBe(nhs.outcome.person);
    expect(JSON.stringify(await openTaskOf(gp!.reviewTask!))).toMatch(/Person holds record nhs-lothian\.CC-N-6 with a different CHI number/);
  });
});

describe('a parent’s CHI on a child’s record', () => {
  const father: PersonDetails = { given: ['Alan'], family: 'Adam', birthDate: '1958-04-11', gender: 'male', postcode: 'EH7 4HJ', line: '21 Albert Street' };
  const chi = testChi('1958-04-11', 'male', 23);

  it('sends the child’s record to review, not into the parent’s Person, and the parent’s own records still link', async () => {
    const nhs = await mpi.registered('nhs-lothian', 'CC-N-2', { ...father, chi });
    const son = await mpi.registered('edinburgh-social-work', 'CC-S-2', { ...father, given: ['Jamie'], birthDate: '1989-02-03', chi });
    expect(son.outcome.outcome).toBe('review');
    expect(son.outcome.person).not.toBe(nhs.outcome.person);
    expect(JSON.stringify(await openTaskOf(son.outcome.reviewTask!))).toMatch(/same CHI number, but forename and birth date disagree/);

    const police = await mpi.registered('police-scotland-e-division', 'CC-P-2', { ...father, given: ['ALAN'], family: 'ADAM' });
    expect(police.outcome).toMatchObject({ outcome: 'linked', person: nhs.outcome.person });

    await recluster();
    expect(await personOf('police-scotland-e-division.CC-P-2')).toBe(await personOf('nhs-lothian.CC-N-2'));
    expect(await personOf('edinburgh-social-work.CC-S-2')).not.toBe(await personOf('nhs-lothian.CC-N-2'));
    // The question stays open for a reviewer: which record's CHI is wrong.
    const open = await mpi.get('nhs-lothian', '/fhir/Task?code=match-review&status=requested&focus=Patient/edinburgh-social-work.CC-S-2');
    expect(((open.body as Bundle).entry ?? []).length).toBe(1);
  });
});

describe('a son named after his father', () => {
  const father: PersonDetails = { given: ['Anthony'], family: 'Scott', birthDate: '1976-06-10', gender: 'male', postcode: 'FK2 7RG', line: '12 Main Street' };
  const chi = testChi('1976-06-10', 'male', 41);

  it('carrying his father’s CHI: the record goes to review — its birth date is not the one the CHI carries', async () => {
    const nhs = await mpi.registered('nhs-lothian', 'CC-N-3', { ...father, chi });
    const son = await mpi.registered('edinburgh-social-work', 'CC-S-3', { ...father, birthDate: '2009-11-23', chi });
    expect(son.outcome.outcome).toBe('review');
    expect(son.outcome.person).not.toBe(nhs.outcome.person);
    expect(JSON.stringify(await openTaskOf(son.outcome.reviewTask!))).toMatch(/birth date is not the one the CHI carries \(100676, DDMMYY\)/);

    await recluster();
    expect(await personOf('edinburgh-social-work.CC-S-3')).not.toBe(await personOf('nhs-lothian.CC-N-3'));
  });

  it('without a CHI, at the same home: a new person, and no question for a reviewer — before or after the pass', async () => {
    // Another home, in another town: at the home of the test above, its son (born a year and some months from this
    // boy: dates `different`, not `apart`) would be a same-named boy of that household, a question for a reviewer.
    const home = { ...father, family: 'Scot', postcode: 'FK1 5AA', line: '3 Kerse Lane' };
    const dad = await mpi.registered('edinburgh-housing', 'CC-H-4', { ...home, birthDate: '1971-04-18' });
    const boy = await mpi.registered('edinburgh-education', 'CC-E-4', { ...home, birthDate: '2008-09-02' });
    expect(boy.outcome.outcome).toBe('new');
    expect(boy.outcome.person).not.toBe(dad.outcome.person);

    await recluster();
    expect(await personOf('edinburgh-education.CC-E-4')).not.toBe(await personOf('edinburgh-housing.CC-H-4'));
    for (const record of ['edinburgh-education.CC-E-4', 'edinburgh-housing.CC-H-4']) {
      const open = await mpi.get('nhs-lothian', `/fhir/Task?code=match-review&status=requested&focus=Patient/${record}`);
      expect(((open.body as Bundle).entry ?? []).length).toBe(0);
    }
  });
});
