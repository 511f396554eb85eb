/**
 * The MPI through its HTTP API against a real Redis, with the demo partnership
 * (agencies, signed ISPs) and tokens from the real directory: registration and
 * re-matching, CHI and probabilistic links, CHI seeding, PIX, $match, ISP
 * filtering, manual review and corrections, the matching report, bad input —
 * and the audit record every answer leaves.
 *
 * One index for the whole file: every test uses people of its own (names,
 * birth dates and postcodes no other test uses) so they never match each other.
 */
import type { Bundle, OperationOutcome, Parameters, Patient, Person, Task } from 'fhir/r4.js';
import request from 'supertest';
import { agencyPatientSystem, Extensions, IdentifierSystems } from '../../shared/fhir/systems.js';
import { agencyPatient, criteriaOf, entityRefs, linkedRecords, matchOutcomeOf, startTestMpi, testChi, type PersonDetails, type TestMpi } from '../../test/mpi.js';

let mpi: TestMpi;

beforeAll(async () => {
  mpi = await startTestMpi();
});

afterAll(async () => {
  await mpi.close();
});

const FHIR_JSON = 'application/fhir+json';

async function register(agencyId: string, patient: Patient): Promise<request.Response> {
  return request(mpi.app).post('/fhir/Patient').set(await mpi.auth(agencyId)).type(FHIR_JSON).send(patient);
}

async function post(agencyId: string, path: string, body: unknown, scope?: string) {
  return request(mpi.app).post(path).set(await mpi.auth(agencyId, scope)).type(FHIR_JSON).send(body as object);
}

function pixParams(body: Parameters) {
  const identifiers = (body.parameter ?? []).filter((p) => p.name === 'targetIdentifier').map((p) => `${p.valueIdentifier?.system}|${p.valueIdentifier?.value}`);
  const ids = (body.parameter ?? []).filter((p) => p.name === 'targetId').map((p) => p.valueReference?.reference);
  return { identifiers: identifiers.sort(), ids: ids.sort() };
}

async function expectRefusal(res: request.Response, status: number, code: string, criteria: string[] = []) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/application\/fhir\+json/);
  const outcome = res.body as OperationOutcome;
  expect(outcome.resourceType).toBe('OperationOutcome');
  expect(outcome.issue.map((i) => i.code)).toContain(code);
  const event = await mpi.auditOf(res);
  expect(event.outcome).toBe('4');
  expect(criteriaOf(event)).toEqual(criteria);
  return outcome;
}

async function openReviewTasks(agencyId = 'nhs-lothian'): Promise<Task[]> {
  const res = await mpi.get(agencyId, '/fhir/Task?code=match-review&status=requested&_count=100');
  expect(res.status).toBe(200);
  return ((res.body as Bundle).entry ?? []).map((e) => e.resource as Task);
}

const resolveBody = (decision: string, note?: string): Parameters => ({
  resourceType: 'Parameters',
  parameter: [{ name: 'decision', valueCode: decision }, ...(note ? [{ name: 'note', valueString: note }] : [])],
});

// ---------------------------------------------------------------------------

describe('registering one record', () => {
  const morag: PersonDetails = { given: ['Morag'], family: 'Sinclair', birthDate: '1988-11-02', gender: 'female', postcode: 'EH7 4AB', line: '12 Montgomery Street', city: 'Edinburgh' };

  it('creates the record (201) as a new Person and says so in the match-outcome extension; audited MI-L4', async () => {
    const { res, body, outcome } = await mpi.registered('edinburgh-social-work', 'SCN-SW-100', morag);
    expect(body).toMatchObject({ resourceType: 'Patient', id: 'edinburgh-social-work.SCN-SW-100', meta: { versionId: '1' } });
    expect(body.managingOrganization).toEqual({ reference: 'Organization/edinburgh-social-work' });
    expect(outcome).toMatchObject({ outcome: 'new', assurance: 'level1' });
    expect(outcome.person).toMatch(/^Person\/per-/);
    expect(res.headers.location).toMatch(/\/fhir\/Patient\/edinburgh-social-work\.SCN-SW-100\/_history\/1$/);

    const event = await mpi.auditOf(res);
    expect(event.outcome).toBe('0');
    expect(event.action).toBe('C');
    expect(criteriaOf(event)).toEqual(['MI-L4']);
    expect(entityRefs(event)).toEqual(expect.arrayContaining(['Patient/edinburgh-social-work.SCN-SW-100', outcome.person]));

    const read = await mpi.get('edinburgh-social-work', `/fhir/${outcome.person}`);
    expect(read.status).toBe(200);
    const person = read.body as Person;
    expect(person).toMatchObject({ resourceType: 'Person', active: true, name: [{ given: ['Morag'], family: 'Sinclair' }], birthDate: '1988-11-02' });
    expect(linkedRecords(person)).toEqual(['Patient/edinburgh-social-work.SCN-SW-100']);
    expect(person.link![0]!.assurance).toBe('level1');
    expect(criteriaOf(await mpi.auditOf(read))).toEqual(['MI-L4']);
  });

  it('unknown records, versions and Persons are 404', async () => {
    await expectRefusal(await mpi.get('edinburgh-social-work', '/fhir/Patient/edinburgh-social-work.SCN-NONE'), 404, 'not-found');
    await expectRefusal(await mpi.get('edinburgh-social-work', '/fhir/Patient/edinburgh-social-work.SCN-SW-100/_history/9'), 404, 'not-found');
    await expectRefusal(await mpi.get('edinburgh-social-work', '/fhir/Person/per-0000000000000000'), 404, 'not-found');
  });

  it('re-submitting the same agency identifier updates that record (200, version 2) and re-matches it', async () => {
    const first = await mpi.registered('edinburgh-social-work', 'SCN-SW-101', { ...morag, given: ['Mhairi'], birthDate: '1979-01-30', postcode: 'EH8 9YL' });
    const second = await mpi.registered('edinburgh-social-work', 'SCN-SW-101', { ...morag, given: ['Mhairi'], birthDate: '1979-01-30', postcode: 'EH8 8AA', line: '3 Dalkeith Road' }, 200);
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.meta?.versionId).toBe('2');
    expect(second.outcome).toMatchObject({ outcome: 'new', person: first.outcome.person });
    const event = await mpi.auditOf(second.res);
    expect(event.action).toBe('U');
    expect(criteriaOf(event)).toEqual(['MI-L4']);

    const history = await mpi.get('edinburgh-social-work', `/fhir/Patient/${first.body.id}/_history`);
    expect(history.status).toBe(200);
    expect(((history.body as Bundle).entry ?? []).map((e) => (e.resource as Patient).meta?.versionId)).toEqual(['2', '1']);
    const v1 = await mpi.get('edinburgh-social-work', `/fhir/Patient/${first.body.id}/_history/1`);
    expect(v1.status).toBe(200);
    expect((v1.body as Patient).address?.[0]?.postalCode).toBe('EH8 9YL');
    const current = await mpi.get('edinburgh-social-work', `/fhir/Patient/${first.body.id}`);
    expect((current.body as Patient).address?.[0]?.postalCode).toBe('EH8 8AA');
  });
});

describe('CHI', () => {
  const chi = testChi('1975-06-14', 'male', 31);

  it('links the same valid CHI in two agencies as CHI-verified (level4), audited MI-L2, MI-L3 and MI-L4', async () => {
    const nhs = await mpi.registered('nhs-lothian', 'SCN-N-200', { given: ['Duncan'], family: 'Ferguson', birthDate: '1975-06-14', gender: 'male', postcode: 'EH10 5QP', chi });
    expect(nhs.outcome.outcome).toBe('new');
    const gp = await mpi.registered('gp-leith-cluster', 'SCN-G-200', { given: ['Dunc'], family: 'Fergusson', birthDate: '1975-06-14', gender: 'male', postcode: 'EH6 8RG', chi });
    expect(gp.outcome).toMatchObject({ outcome: 'linked', assurance: 'level4', person: nhs.outcome.person, candidate: 'Patient/nhs-lothian.SCN-N-200' });
    expect(criteriaOf(await mpi.auditOf(gp.res))).toEqual(['MI-L2', 'MI-L3', 'MI-L4']);

    const person = await mpi.readPerson('nhs-lothian', nhs.outcome.person!);
    expect(linkedRecords(person)).toEqual(['Patient/gp-leith-cluster.SCN-G-200', 'Patient/nhs-lothian.SCN-N-200']);
    expect(person.link!.find((l) => l.target.reference === 'Patient/gp-leith-cluster.SCN-G-200')?.assurance).toBe('level4');
    expect(person.identifier).toEqual([{ system: IdentifierSystems.chi, value: chi }]);
  });

  it('PIX by CHI returns every agency identifier of the person', async () => {
    const res = await mpi.get('nhs-lothian', `/fhir/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${IdentifierSystems.chi}|${chi}`)}`);
    expect(res.status).toBe(200);
    expect(pixParams(res.body as Parameters).identifiers).toEqual([
      `${agencyPatientSystem('gp-leith-cluster')}|SCN-G-200`,
      `${agencyPatientSystem('nhs-lothian')}|SCN-N-200`,
    ]);
    expect(criteriaOf(await mpi.auditOf(res))).toEqual(['MI-L4']);
  });

  it('sends the same CHI to review when sex and birth date both contradict it (a CHI keyed on the wrong record)', async () => {
    const ed = await mpi.registered('rie-emergency', 'SCN-A-200', { given: ['Donna'], family: 'Ferguson', birthDate: '1982-01-09', gender: 'female', postcode: 'EH16 4SA', chi });
    expect(ed.outcome).toMatchObject({ outcome: 'review', assurance: 'level1' });
    expect(ed.outcome.reviewTask).toMatch(/^Task\//);
  });

  it('refuses PIX by a CHI held by two people pending review (409): answering would present them as one', async () => {
    const res = await mpi.get('nhs-lothian', `/fhir/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${IdentifierSystems.chi}|${chi}`)}`);
    const outcome = await expectRefusal(res, 409, 'conflict');
    expect(outcome.issue[0]?.details?.text).toMatch(/held by records of 2 different people.*own agency identifier/);
    // Asking by an agency identifier still answers: it names one record, so one Person.
    const byRecord = await mpi.get('nhs-lothian', `/fhir/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${agencyPatientSystem('nhs-lothian')}|SCN-N-200`)}`);
    expect(byRecord.status).toBe(200);
    expect(pixParams(byRecord.body as Parameters).ids).toEqual(['Patient/gp-leith-cluster.SCN-G-200']);
  });
});

describe('probabilistic matching and CHI seeding', () => {
  const chi = testChi('2014-03-07', 'male', 42);
  const robert: PersonDetails = { given: ['Robert'], family: 'McDonald', birthDate: '2014-03-07', gender: 'male', postcode: 'EH6 5DT', line: '14 Leith Walk', city: 'Edinburgh', chi };
  let personRef: string;

  it('links a record without CHI automatically (level3) despite a nickname and a typo, and gives the CHI back (MI-L2)', async () => {
    const nhs = await mpi.registered('nhs-lothian', 'SCN-N-300', robert);
    personRef = nhs.outcome.person!;
    const edu = await mpi.registered('edinburgh-education', 'SCN-E-300', { ...robert, given: ['Rab'], family: 'MacDonlad', chi: undefined });
    expect(edu.outcome).toMatchObject({ outcome: 'linked', assurance: 'level3', person: personRef, candidate: 'Patient/nhs-lothian.SCN-N-300' });
    expect(edu.outcome.score).toBeGreaterThan(0);
    // CHI seeding: the ISP lets NHS Lothian's demographics flow to education for identity matching.
    expect(edu.body.identifier).toContainEqual(expect.objectContaining({ system: IdentifierSystems.chi, value: chi }));
    expect(criteriaOf(await mpi.auditOf(edu.res))).toEqual(['MI-L2', 'MI-L3', 'MI-L4']);
    // The stored record is what the agency sent: the seeded CHI is an answer, not a change to its record.
    const stored = await mpi.get('edinburgh-education', '/fhir/Patient/edinburgh-education.SCN-E-300');
    expect((stored.body as Patient).identifier?.some((i) => i.system === IdentifierSystems.chi)).toBe(false);
  });

  it('PIX with targetSystem CHI returns the person’s CHI to the agency whose record has none (MI-L2)', async () => {
    const source = encodeURIComponent(`${agencyPatientSystem('edinburgh-education')}|SCN-E-300`);
    const res = await mpi.get('edinburgh-education', `/fhir/Patient/$ihe-pix?sourceIdentifier=${source}&targetSystem=${encodeURIComponent(IdentifierSystems.chi)}`);
    expect(res.status).toBe(200);
    expect(pixParams(res.body as Parameters)).toEqual({ identifiers: [`${IdentifierSystems.chi}|${chi}`], ids: [] });
    const event = await mpi.auditOf(res);
    expect(criteriaOf(event)).toEqual(['MI-L2', 'MI-L4']);
    expect(entityRefs(event)).toContain(personRef);
  });

  it('PIX without targetSystem returns the other agencies’ identifiers and record ids too', async () => {
    const source = encodeURIComponent(`${agencyPatientSystem('edinburgh-education')}|SCN-E-300`);
    const res = await mpi.get('edinburgh-education', `/fhir/Patient/$ihe-pix?sourceIdentifier=${source}`);
    expect(res.status).toBe(200);
    expect(pixParams(res.body as Parameters)).toEqual({
      identifiers: [`${agencyPatientSystem('nhs-lothian')}|SCN-N-300`, `${IdentifierSystems.chi}|${chi}`].sort(),
      ids: ['Patient/nhs-lothian.SCN-N-300'],
    });
  });

  it('PIX filtered by an agency system returns only that agency’s identifiers', async () => {
    const source = encodeURIComponent(`${agencyPatientSystem('nhs-lothian')}|SCN-N-300`);
    const target = encodeURIComponent(agencyPatientSystem('edinburgh-education'));
    const res = await mpi.get('nhs-lothian', `/fhir/Patient/$ihe-pix?sourceIdentifier=${source}&targetSystem=${target}`);
    expect(pixParams(res.body as Parameters)).toEqual({
      identifiers: [`${agencyPatientSystem('edinburgh-education')}|SCN-E-300`],
      ids: ['Patient/edinburgh-education.SCN-E-300'],
    });
  });
});

describe('CHI seeding from any record of the Person', () => {
  // The education record is closest to the police record (same forename, same phone),
  // which has no CHI; the Person's CHI comes from the NHS record.
  const chi = testChi('1983-07-21', 'female', 21);
  const catherine: PersonDetails = { given: ['Catherine'], family: 'Stewart', birthDate: '1983-07-21', gender: 'female', postcode: 'EH11 2BY', line: '10 Dalry Road', chi };
  const kate: PersonDetails = { ...catherine, given: ['Kate'], phone: '0131 496 0417', chi: undefined };

  it('gives back the Person’s CHI even when the closest record has none', async () => {
    const nhs = await mpi.registered('nhs-lothian', 'SCN-N-310', catherine);
    const police = await mpi.registered('police-scotland-e-division', 'SCN-P-310', kate);
    expect(police.outcome).toMatchObject({ outcome: 'linked', person: nhs.outcome.person });
    const edu = await mpi.registered('edinburgh-education', 'SCN-E-310', kate);
    expect(edu.outcome).toMatchObject({ outcome: 'linked', person: nhs.outcome.person, candidate: 'Patient/police-scotland-e-division.SCN-P-310' });
    expect(edu.body.identifier).toContainEqual(expect.objectContaining({ system: IdentifierSystems.chi, value: chi }));
    expect(criteriaOf(await mpi.auditOf(edu.res))).toContain('MI-L2');
  });
});

describe('concurrent registration', () => {
  it('the same record sent twice at once still belongs to exactly one Person', async () => {
    const patient = agencyPatient('edinburgh-housing', 'SCN-H-320', { given: ['Fergus'], family: 'Lindsay', birthDate: '1947-10-10', gender: 'male', postcode: 'EH5 1AB' });
    const responses = await Promise.all([register('edinburgh-housing', patient), register('edinburgh-housing', patient), register('edinburgh-housing', patient)]);
    for (const r of responses) expect([200, 201]).toContain(r.status);
    const persons = [...new Set(responses.map((r) => matchOutcomeOf(r.body as Patient).person!.slice('Person/'.length)))];
    const [link] = await mpi.store.getLinks(['edinburgh-housing.SCN-H-320']);
    const holding = [];
    for (const p of persons) if ((await mpi.store.getMembers(p)).has('edinburgh-housing.SCN-H-320')) holding.push(p);
    expect(holding).toEqual([link!.personId]);
  });
});

describe('$ihe-pix errors (IHE PIXm)', () => {
  it('an unknown source identifier is 404', async () => {
    const source = encodeURIComponent(`${agencyPatientSystem('nhs-lothian')}|SCN-NOBODY`);
    await expectRefusal(await mpi.get('nhs-lothian', `/fhir/Patient/$ihe-pix?sourceIdentifier=${source}`), 404, 'not-found');
  });

  it('an unknown source domain is 400', async () => {
    const source = encodeURIComponent('https://example.org/unknown|123');
    await expectRefusal(await mpi.get('nhs-lothian', `/fhir/Patient/$ihe-pix?sourceIdentifier=${source}`), 400, 'invalid');
  });

  it('an unknown target domain is 403', async () => {
    const source = encodeURIComponent(`${agencyPatientSystem('nhs-lothian')}|SCN-N-300`);
    const res = await mpi.get('nhs-lothian', `/fhir/Patient/$ihe-pix?sourceIdentifier=${source}&targetSystem=${encodeURIComponent('https://example.org/unknown')}`);
    await expectRefusal(res, 403, 'forbidden');
  });
});

describe('$match', () => {
  const chi = testChi('2001-09-23', 'female', 7);
  const eilidh: PersonDetails = { given: ['Eilidh'], family: 'Munro', birthDate: '2001-09-23', gender: 'female', postcode: 'EH12 7TB', line: '3 Corstorphine Road', city: 'Edinburgh' };
  const query = (details: PersonDetails, extra: Parameters['parameter'] = []): Parameters => ({
    resourceType: 'Parameters',
    parameter: [{ name: 'resource', resource: agencyPatient('police-scotland-e-division', 'query', details) }, ...(extra ?? [])],
  });

  beforeAll(async () => {
    await mpi.registered('nhs-lothian', 'SCN-N-400', { ...eilidh, chi });
    const housing = await mpi.registered('edinburgh-housing', 'SCN-H-400', eilidh);
    expect(housing.outcome.outcome).toBe('linked');
  });

  it('returns a searchset of the agency records, best first, with a 0..1 score and the match grade; audited MI-L4', async () => {
    const res = await post('police-scotland-e-division', '/fhir/Patient/$match', query(eilidh));
    expect(res.status).toBe(200);
    const bundle = res.body as Bundle<Patient>;
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    expect(bundle.entry!.map((e) => e.resource!.id).sort()).toEqual(['edinburgh-housing.SCN-H-400', 'nhs-lothian.SCN-N-400']);
    const scores = bundle.entry!.map((e) => e.search!.score!);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    for (const e of bundle.entry!) {
      expect(e.search!.score).toBeGreaterThanOrEqual(0.98);
      expect(e.search!.score).toBeLessThanOrEqual(1);
      expect(e.search!.extension).toEqual([
        { url: Extensions.matchGrade, valueCode: 'certain' },
        // Which model scored it: the configured one (version 0) until the partnership estimates its own.
        { url: Extensions.matchingModel, valueString: expect.stringMatching(/^matching model version 0 \(the configured model; link ≥ [\d.]+, review ≥ [\d.]+\)$/) },
      ]);
    }
    const event = await mpi.auditOf(res);
    expect(criteriaOf(event)).toEqual(['MI-L4']);
    expect(entityRefs(event)).toEqual(expect.arrayContaining(['Patient/nhs-lothian.SCN-N-400', 'Patient/edinburgh-housing.SCN-H-400']));
  });

  it('honours count', async () => {
    const res = await post('police-scotland-e-division', '/fhir/Patient/$match', query(eilidh, [{ name: 'count', valueInteger: 1 }]));
    expect((res.body as Bundle).entry).toHaveLength(1);
  });

  it('grades a weaker match below certain, and onlyCertainMatches leaves it out', async () => {
    // Born a year later (a one-year slip) and living elsewhere: worth a look, not certain.
    const moved: PersonDetails = { ...eilidh, birthDate: '2002-09-23', postcode: 'EH12 9ZZ', line: '40 Glasgow Road' };
    const all = await post('police-scotland-e-division', '/fhir/Patient/$match', query(moved));
    expect(all.status).toBe(200);
    const grades = ((all.body as Bundle).entry ?? []).map((e) => e.search!.extension![0]!.valueCode);
    expect(grades.length).toBeGreaterThan(0);
    expect(grades).not.toContain('certain');
    expect(grades.every((g) => g === 'probable' || g === 'possible')).toBe(true);
    // The score reads as a probability: below the 0.99 a certain match has.
    for (const e of (all.body as Bundle).entry ?? []) expect(e.search!.score).toBeLessThan(0.99);

    const certain = await post('police-scotland-e-division', '/fhir/Patient/$match', query(moved, [{ name: 'onlyCertainMatches', valueBoolean: true }]));
    expect(certain.status).toBe(200);
    expect((certain.body as Bundle).entry ?? []).toEqual([]);
  });

  it('refuses a Patient with nothing to match on (422)', async () => {
    const res = await post('police-scotland-e-division', '/fhir/Patient/$match', { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { resourceType: 'Patient', gender: 'female' } }] });
    await expectRefusal(res, 422, 'required');
  });

  it('refuses a body that is not Parameters, and a bad count (422)', async () => {
    await expectRefusal(await post('police-scotland-e-division', '/fhir/Patient/$match', { resourceType: 'Bundle' }), 422, 'invalid');
    await expectRefusal(await post('police-scotland-e-division', '/fhir/Patient/$match', query(eilidh, [{ name: 'count', valueInteger: 0 }])), 422, 'invalid');
  });
});

describe('ISP filtering', () => {
  // A person known to NHS Lothian and the Leith GP cluster. The Lothian–Fife ISP lets NHS
  // Lothian's demographics reach NHS Fife; the GP cluster is not a party to it.
  const chi = testChi('1969-12-01', 'female', 55);
  const agnes: PersonDetails = { given: ['Agnes'], family: 'Crawford', birthDate: '1969-12-01', gender: 'female', postcode: 'EH6 7BD', line: '9 Ferry Road', chi };
  let personRef: string;

  beforeAll(async () => {
    personRef = (await mpi.registered('nhs-lothian', 'SCN-N-500', agnes)).outcome.person!;
    const gp = await mpi.registered('gp-leith-cluster', 'SCN-G-500', { ...agnes, given: ['Senga'] });
    expect(gp.outcome).toMatchObject({ outcome: 'linked', person: personRef });
  });

  it('$match returns to a Fife agency only the records whose demographics may flow to it', async () => {
    const body: Parameters = { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: agencyPatient('nhs-fife', 'q', agnes) }] };
    const fife = await post('nhs-fife', '/fhir/Patient/$match', body);
    expect(fife.status).toBe(200);
    expect(((fife.body as Bundle).entry ?? []).map((e) => e.resource!.id)).toEqual(['nhs-lothian.SCN-N-500']);
    const lothian = await post('edinburgh-social-work', '/fhir/Patient/$match', body);
    expect(((lothian.body as Bundle).entry ?? []).map((e) => e.resource!.id).sort()).toEqual(['gp-leith-cluster.SCN-G-500', 'nhs-lothian.SCN-N-500']);
  });

  it('PIX returns to a Fife agency only the identifiers it may see', async () => {
    const res = await mpi.get('nhs-fife', `/fhir/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${IdentifierSystems.chi}|${chi}`)}`);
    expect(res.status).toBe(200);
    expect(pixParams(res.body as Parameters).identifiers).toEqual([`${agencyPatientSystem('nhs-lothian')}|SCN-N-500`]);
  });

  it('PIX treats the identifier of a record the ISP keeps from the caller as unknown (404)', async () => {
    const source = encodeURIComponent(`${agencyPatientSystem('gp-leith-cluster')}|SCN-G-500`);
    await expectRefusal(await mpi.get('nhs-fife', `/fhir/Patient/$ihe-pix?sourceIdentifier=${source}`), 404, 'not-found');
    expect((await mpi.get('nhs-lothian', `/fhir/Patient/$ihe-pix?sourceIdentifier=${source}`)).status).toBe(200);
  });

  it('the Person hides from a Fife agency the links it may not see', async () => {
    expect(linkedRecords(await mpi.readPerson('nhs-fife', personRef))).toEqual(['Patient/nhs-lothian.SCN-N-500']);
    expect(linkedRecords(await mpi.readPerson('edinburgh-housing', personRef))).toEqual(['Patient/gp-leith-cluster.SCN-G-500', 'Patient/nhs-lothian.SCN-N-500']);
  });

  it('reading a record the ISP keeps from the reader is 403, audited as a refusal (SI-L3, IM-L4)', async () => {
    await expectRefusal(await mpi.get('nhs-fife', '/fhir/Patient/gp-leith-cluster.SCN-G-500'), 403, 'forbidden', ['IM-L4', 'SI-L3']);
    expect((await mpi.get('nhs-fife', '/fhir/Patient/nhs-lothian.SCN-N-500')).status).toBe(200);
  });
});

describe('manual review', () => {
  // Same names, birth year one off, moved within the district: the grey zone.
  const kirsty: PersonDetails = { given: ['Kirsty'], family: 'Paterson', birthDate: '1990-05-17', gender: 'female', postcode: 'EH4 2AB', line: '21 Queensferry Road', chi: testChi('1990-05-17', 'female', 12) };
  const kirstySw: PersonDetails = { ...kirsty, birthDate: '1991-05-17', postcode: 'EH4 6CD', line: '7 Craigleith Road', chi: undefined };
  const iain: PersonDetails = { given: ['Iain'], family: 'Cameron', birthDate: '1965-02-11', gender: 'male', postcode: 'EH16 4SA', line: '5 Old Dalkeith Road', chi: testChi('1965-02-11', 'male', 3) };
  const iainPolice: PersonDetails = { ...iain, birthDate: '1966-02-11', postcode: 'EH16 5XY', line: '40 Peffermill Road', chi: undefined };
  let linkTask: string;
  let notLinkTask: string;
  let kirstyPerson: string;

  it('queues a grey-zone pair as one match-review Task naming both records with the explanation (MI-L3)', async () => {
    kirstyPerson = (await mpi.registered('nhs-lothian', 'SCN-N-600', kirsty)).outcome.person!;
    const sw = await mpi.registered('edinburgh-social-work', 'SCN-SW-600', kirstySw);
    expect(sw.outcome).toMatchObject({ outcome: 'review', assurance: 'level1', candidate: 'Patient/nhs-lothian.SCN-N-600' });
    expect(sw.outcome.person).not.toBe(kirstyPerson);
    expect(sw.outcome.reviewTask).toMatch(/^Task\//);
    linkTask = sw.outcome.reviewTask!.slice('Task/'.length);
    const event = await mpi.auditOf(sw.res);
    expect(criteriaOf(event)).toEqual(['MI-L3', 'MI-L4']);
    expect(entityRefs(event)).toContain(sw.outcome.reviewTask);

    const search = await mpi.get('nhs-lothian', '/fhir/Task?code=match-review&status=requested&_count=100');
    expect(criteriaOf(await mpi.auditOf(search))).toEqual(['MI-L3']);
    const tasks = ((search.body as Bundle).entry ?? []).map((e) => e.resource as Task);
    const task = tasks.find((t) => t.id === linkTask)!;
    expect(task).toMatchObject({ status: 'requested', focus: { reference: 'Patient/edinburgh-social-work.SCN-SW-600' } });
    expect(task.input).toContainEqual(expect.objectContaining({ valueReference: { reference: 'Patient/nhs-lothian.SCN-N-600' } }));
    expect(task.input!.filter((i) => i.type.text === 'field-evidence').map((i) => i.valueString)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^birthDate: year-slip/), expect.stringMatching(/^given: exact/)]),
    );

    // Sent again unchanged: nothing is re-matched or written, the answer gives the record's standing Person.
    const unchanged = await mpi.registered('edinburgh-social-work', 'SCN-SW-600', kirstySw, 200);
    expect(unchanged.outcome).toMatchObject({ unchanged: true, person: sw.outcome.person });
    expect(unchanged.body.meta?.versionId).toBe(sw.body.meta?.versionId);
    expect(unchanged.outcome.reviewTask).toBeUndefined();
    // Re-submitting a changed version while the Task is open re-matches it and does not ask again.
    const again = await mpi.registered('edinburgh-social-work', 'SCN-SW-600', { ...kirstySw, line: '7 Craigleith Rd' }, 200);
    expect(again.outcome.outcome).toBe('review');
    expect(again.outcome.unchanged).toBeUndefined();
    expect(again.outcome.reviewTask).toBeUndefined();
    expect((await openReviewTasks()).filter((t) => t.focus?.reference === 'Patient/edinburgh-social-work.SCN-SW-600')).toHaveLength(1);
  });

  it('withdraws an open review when the record is re-submitted and now links on its own (no stale question)', async () => {
    const morven: PersonDetails = { given: ['Morven'], family: 'Lindsay', birthDate: '1983-09-23', gender: 'female', postcode: 'EH9 1AA', line: '2 Marchmont Road', chi: testChi('1983-09-23', 'female', 41) };
    const morvenSw: PersonDetails = { ...morven, birthDate: '1984-09-23', postcode: 'EH9 3ZZ', line: '11 Warrender Park Road', chi: undefined };
    await mpi.registered('nhs-lothian', 'SCN-N-610', morven);
    const queued = await mpi.registered('edinburgh-social-work', 'SCN-SW-610', morvenSw);
    expect(queued.outcome.outcome).toBe('review');
    const taskId = queued.outcome.reviewTask!.slice('Task/'.length);

    // Social work learns the CHI and re-submits: a certain match, so the question is withdrawn.
    const linked = await mpi.registered('edinburgh-social-work', 'SCN-SW-610', { ...morvenSw, chi: morven.chi }, 200);
    expect(linked.outcome).toMatchObject({ outcome: 'linked', assurance: 'level4' });
    const task = await mpi.get('nhs-lothian', `/fhir/Task/${taskId}`);
    expect(task.body as Task).toMatchObject({ status: 'cancelled', statusReason: { text: expect.stringMatching(/^Superseded/) } });
    expect((await openReviewTasks()).map((t) => t.id)).not.toContain(taskId);
  });

  it('withdraws an open review when its candidate record is re-submitted and no longer resembles the record that raised it', async () => {
    const fiona: PersonDetails = { given: ['Fiona'], family: 'Rutherford', birthDate: '1977-12-02', gender: 'female', postcode: 'EH5 1AA', line: '9 Granton Road', chi: testChi('1977-12-02', 'female', 52) };
    const fionaSw: PersonDetails = { ...fiona, birthDate: '1978-12-02', postcode: 'EH5 2QQ', line: '30 Boswall Parkway', chi: undefined };
    await mpi.registered('nhs-lothian', 'SCN-N-620', fiona);
    const queued = await mpi.registered('edinburgh-social-work', 'SCN-SW-620', fionaSw);
    expect(queued.outcome).toMatchObject({ outcome: 'review', candidate: 'Patient/nhs-lothian.SCN-N-620' });
    const taskId = queued.outcome.reviewTask!.slice('Task/'.length);

    // A small correction to the candidate (NHS) record leaves the question standing…
    await mpi.registered('nhs-lothian', 'SCN-N-620', { ...fiona, phone: '0131 555 0620' }, 200);
    expect((await mpi.get('nhs-lothian', `/fhir/Task/${taskId}`)).body as Task).toMatchObject({ status: 'requested' });

    // …but NHS Lothian finds the record was keyed on the wrong patient and re-submits it corrected: the question is withdrawn.
    const corrected = testChi('1952-03-30', 'male', 53);
    await mpi.registered('nhs-lothian', 'SCN-N-620', { given: ['Graham'], family: 'Oliphant', birthDate: '1952-03-30', gender: 'male', postcode: 'EH14 1BB', chi: corrected }, 200);
    const task = (await mpi.get('nhs-lothian', `/fhir/Task/${taskId}`)).body as Task;
    expect(task).toMatchObject({ status: 'cancelled', statusReason: { text: expect.stringMatching(/candidate record was re-submitted/) } });
    expect((await openReviewTasks()).map((t) => t.id)).not.toContain(taskId);
  });

  it('a reviewer without system/Task.review is refused (403, SI-L3)', async () => {
    await expectRefusal(await post('edinburgh-education', `/fhir/Task/${linkTask}/$resolve`, resolveBody('link')), 403, 'forbidden', ['SI-L3']);
    const narrowed = await post('nhs-lothian', `/fhir/Task/${linkTask}/$resolve`, resolveBody('link'), 'system/Task.read system/Patient.read');
    await expectRefusal(narrowed, 403, 'forbidden', ['SI-L3']);
  });

  it('review Tasks (which name other agencies’ records) are shown to reviewers only (403 without system/Task.review)', async () => {
    await expectRefusal(await mpi.get('edinburgh-education', '/fhir/Task?code=match-review&status=requested'), 403, 'forbidden', ['SI-L3']);
    await expectRefusal(await mpi.get('edinburgh-education', `/fhir/Task/${linkTask}`), 403, 'forbidden', ['SI-L3']);
  });

  it('$resolve link puts both records in one Person (level2), completes the Task and is audited as manual matching (MI-L3)', async () => {
    const res = await post('nhs-lothian', `/fhir/Task/${linkTask}/$resolve`, resolveBody('link', 'same GP, same mother'));
    expect(res.status).toBe(200);
    expect(res.body as Task).toMatchObject({ status: 'completed', output: [expect.objectContaining({ valueCode: 'link' }), expect.objectContaining({ valueString: 'same GP, same mother' })] });
    const event = await mpi.auditOf(res);
    expect(criteriaOf(event)).toEqual(['MI-L3']);
    expect(entityRefs(event)).toEqual(expect.arrayContaining([`Task/${linkTask}`, 'Patient/edinburgh-social-work.SCN-SW-600', 'Patient/nhs-lothian.SCN-N-600']));

    const person = await mpi.readPerson('nhs-lothian', kirstyPerson);
    expect(linkedRecords(person)).toEqual(['Patient/edinburgh-social-work.SCN-SW-600', 'Patient/nhs-lothian.SCN-N-600']);
    expect(person.link!.find((l) => l.target.reference === 'Patient/edinburgh-social-work.SCN-SW-600')?.assurance).toBe('level2');
    expect((await openReviewTasks()).map((t) => t.id)).not.toContain(linkTask);
  });

  it('resolving the same Task twice is 409', async () => {
    await expectRefusal(await post('nhs-lothian', `/fhir/Task/${linkTask}/$resolve`, resolveBody('not-link')), 409, 'conflict');
  });

  it('re-submitting a manually linked record keeps the reviewer’s link', async () => {
    const again = await mpi.registered('edinburgh-social-work', 'SCN-SW-600', { ...kirstySw, postcode: 'KY1 1AA', line: '1 High Street' }, 200);
    expect(again.outcome).toMatchObject({ outcome: 'linked', person: kirstyPerson, assurance: 'level2' });
  });

  it('$resolve not-link keeps them apart and is remembered: re-submitting neither links nor asks again', async () => {
    const nhs = await mpi.registered('nhs-lothian', 'SCN-N-601', iain);
    const police = await mpi.registered('police-scotland-e-division', 'SCN-P-601', iainPolice);
    expect(police.outcome.outcome).toBe('review');
    notLinkTask = police.outcome.reviewTask!.slice('Task/'.length);

    const res = await post('edinburgh-social-work', `/fhir/Task/${notLinkTask}/$resolve`, resolveBody('not-link'));
    expect(res.status).toBe(200);
    expect(criteriaOf(await mpi.auditOf(res))).toEqual(['MI-L3']);

    const again = await mpi.registered('police-scotland-e-division', 'SCN-P-601', iainPolice, 200);
    expect(again.outcome.outcome).toBe('new');
    expect(again.outcome.reviewTask).toBeUndefined();
    expect(again.outcome.person).not.toBe(nhs.outcome.person);
    expect((await openReviewTasks()).filter((t) => t.focus?.reference === 'Patient/police-scotland-e-division.SCN-P-601')).toEqual([]);
    expect(linkedRecords(await mpi.readPerson('nhs-lothian', nhs.outcome.person!))).toEqual(['Patient/nhs-lothian.SCN-N-601']);
  });

  it('a not-link holds for the whole Person: a later record of that Person does not link or re-queue the rejected record', async () => {
    // A second NHS Lothian record of Iain (same CHI), a little closer to the police record than
    // the first (same postcode sector, same house number) but still in the grey zone.
    const nhs2 = await mpi.registered('nhs-lothian', 'SCN-N-602', { ...iain, postcode: 'EH16 5AB', line: '40 Old Dalkeith Road' });
    expect(nhs2.outcome).toMatchObject({ outcome: 'linked', assurance: 'level4' });
    const again = await mpi.registered('police-scotland-e-division', 'SCN-P-601', iainPolice, 200);
    expect(again.outcome.outcome).toBe('new');
    expect(again.outcome.person).not.toBe(nhs2.outcome.person);
    expect((await openReviewTasks()).filter((t) => t.focus?.reference === 'Patient/police-scotland-e-division.SCN-P-601')).toEqual([]);
  });

  it('$resolve refuses a decision that is neither link nor not-link (422) and an unknown Task (404)', async () => {
    await expectRefusal(await post('nhs-lothian', `/fhir/Task/${notLinkTask}/$resolve`, resolveBody('maybe')), 422, 'invalid');
    await expectRefusal(await post('nhs-lothian', '/fhir/Task/mr-nonexistent/$resolve', resolveBody('link')), 404, 'not-found');
  });
});

describe('corrections: $unlink and Person/$merge', () => {
  const chi = testChi('1958-08-19', 'male', 77);
  const sandy: PersonDetails = { given: ['Alexander'], family: 'Robertson', birthDate: '1958-08-19', gender: 'male', postcode: 'EH15 1AA', line: '2 Portobello High Street', chi };
  let nhsPerson: string;
  let housingPerson: string;

  it('$unlink moves a record to a Person of its own, remembered so re-matching does not undo it (MI-L3)', async () => {
    nhsPerson = (await mpi.registered('nhs-lothian', 'SCN-N-700', sandy)).outcome.person!;
    const housing = await mpi.registered('edinburgh-housing', 'SCN-H-700', { ...sandy, given: ['Sandy'], chi: undefined });
    expect(housing.outcome).toMatchObject({ outcome: 'linked', person: nhsPerson });

    const res = await post('nhs-lothian', '/fhir/Patient/edinburgh-housing.SCN-H-700/$unlink', { resourceType: 'Parameters', parameter: [{ name: 'note', valueString: 'a different Sandy' }] });
    expect(res.status).toBe(200);
    const person = res.body as Person;
    housingPerson = `Person/${person.id}`;
    expect(housingPerson).not.toBe(nhsPerson);
    expect(linkedRecords(person)).toEqual(['Patient/edinburgh-housing.SCN-H-700']);
    const event = await mpi.auditOf(res);
    expect(criteriaOf(event)).toEqual(['MI-L3']);
    expect(entityRefs(event)).toEqual(expect.arrayContaining(['Patient/edinburgh-housing.SCN-H-700', nhsPerson, housingPerson]));
    expect(linkedRecords(await mpi.readPerson('nhs-lothian', nhsPerson))).toEqual(['Patient/nhs-lothian.SCN-N-700']);

    const again = await mpi.registered('edinburgh-housing', 'SCN-H-700', { ...sandy, given: ['Sandy'], chi: undefined }, 200);
    expect(again.outcome.person).toBe(housingPerson);
  });

  it('$unlink of a record alone in its Person is 409; without the review scope 403', async () => {
    const empty: Parameters = { resourceType: 'Parameters' };
    await expectRefusal(await post('nhs-lothian', '/fhir/Patient/edinburgh-housing.SCN-H-700/$unlink', empty), 409, 'conflict');
    await expectRefusal(await post('edinburgh-housing', '/fhir/Patient/nhs-lothian.SCN-N-700/$unlink', empty), 403, 'forbidden', ['SI-L3']);
  });

  it('Person/$merge moves every record into the survivor; the merged Person is inactive and points at it (MI-L3)', async () => {
    const body: Parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'source-person', valueReference: { reference: housingPerson } },
        { name: 'target-person', valueReference: { reference: nhsPerson } },
      ],
    };
    const res = await post('edinburgh-social-work', '/fhir/Person/$merge', body);
    expect(res.status).toBe(200);
    expect(linkedRecords(res.body as Person)).toEqual(['Patient/edinburgh-housing.SCN-H-700', 'Patient/nhs-lothian.SCN-N-700']);
    const event = await mpi.auditOf(res);
    expect(criteriaOf(event)).toEqual(['MI-L3']);
    expect(entityRefs(event)).toEqual(expect.arrayContaining([housingPerson, nhsPerson, 'Patient/edinburgh-housing.SCN-H-700']));

    const merged = await mpi.readPerson('nhs-lothian', housingPerson);
    expect(merged.active).toBe(false);
    expect(merged.link).toEqual([expect.objectContaining({ target: { reference: nhsPerson } })]);

    await expectRefusal(await post('edinburgh-social-work', '/fhir/Person/$merge', body), 409, 'conflict');
  });
});

describe('bad input: each a clear OperationOutcome, audited, nothing indexed', () => {
  const valid: PersonDetails = { given: ['Shona'], family: 'Baird', birthDate: '1999-04-04', gender: 'female', postcode: 'EH3 9QG' };
  let recordsBefore: number;

  beforeAll(async () => {
    recordsBefore = await mpi.store.countRecords();
  });

  afterAll(async () => {
    expect(await mpi.store.countRecords()).toBe(recordsBefore);
  });

  it('an invalid CHI (check digit) is 422 naming the identifier and the reason', async () => {
    const good = testChi('1999-04-04', 'female', 1);
    const bad = good.slice(0, 9) + String((Number(good[9]) + 1) % 10);
    const outcome = await expectRefusal(await register('nhs-lothian', agencyPatient('nhs-lothian', 'SCN-N-900', { ...valid, chi: bad })), 422, 'invalid');
    expect(outcome.issue[0]!.expression).toEqual(['Patient.identifier[1].value']);
    expect(outcome.issue[0]!.details?.text).toMatch(/CHI/);
  });

  it('an invalid CHI (impossible date) is 422', async () => {
    await expectRefusal(await register('nhs-lothian', agencyPatient('nhs-lothian', 'SCN-N-901', { ...valid, chi: '3102991234' })), 422, 'invalid');
  });

  it('a missing agency identifier is 422', async () => {
    const patient: Patient = { ...agencyPatient('nhs-lothian', 'x', valid), identifier: [{ system: IdentifierSystems.chi, value: testChi('1999-04-04', 'female', 2) }] };
    const outcome = await expectRefusal(await register('nhs-lothian', patient), 422, 'invalid');
    expect(outcome.issue[0]!.expression).toEqual(['Patient.identifier']);
  });

  it('a Patient with neither name nor birth date is 422', async () => {
    const patient: Patient = { resourceType: 'Patient', identifier: [{ system: agencyPatientSystem('nhs-lothian'), value: 'SCN-N-902' }], gender: 'female' };
    const outcome = await expectRefusal(await register('nhs-lothian', patient), 422, 'required');
    expect(outcome.issue[0]!.expression).toEqual(['Patient.name', 'Patient.birthDate']);
  });

  it('an unknown identifier system is 422', async () => {
    const patient = agencyPatient('nhs-lothian', 'SCN-N-903', valid);
    patient.identifier!.push({ system: 'https://example.org/mystery', value: '1' });
    const outcome = await expectRefusal(await register('nhs-lothian', patient), 422, 'invalid');
    expect(outcome.issue[0]!.expression).toEqual(['Patient.identifier[1].system']);
  });

  it('a record under another agency’s identifier system is 403, audited as a security-model refusal', async () => {
    await expectRefusal(await register('edinburgh-education', agencyPatient('nhs-lothian', 'SCN-N-904', valid)), 403, 'forbidden', ['SI-L3']);
  });

  it('a body that is not a Patient is refused, never a 500', async () => {
    const res = await request(mpi.app).post('/fhir/Patient').set(await mpi.auth('nhs-lothian')).type(FHIR_JSON).send({ resourceType: 'Observation', status: 'final' });
    expect([400, 422]).toContain(res.status);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  it('without system/Patient.write registering is 403', async () => {
    const res = await request(mpi.app)
      .post('/fhir/Patient')
      .set(await mpi.auth('nhs-lothian', 'system/Patient.read'))
      .type(FHIR_JSON)
      .send(agencyPatient('nhs-lothian', 'SCN-N-905', valid));
    await expectRefusal(res, 403, 'forbidden', ['SI-L3']);
  });
});

describe('capability statement', () => {
  it('declares the MPI operations and the review Task search', async () => {
    const res = await request(mpi.app).get('/fhir/metadata');
    expect(res.status).toBe(200);
    const rest = res.body.rest[0] as { resource: { type: string; operation?: { name: string }[]; searchParam?: { name: string }[] }[] };
    const byType = Object.fromEntries(rest.resource.map((r) => [r.type, r]));
    expect(byType.Patient!.operation!.map((o) => o.name)).toEqual(expect.arrayContaining(['match', 'ihe-pix', 'unlink']));
    expect(byType.Person!.operation!.map((o) => o.name)).toContain('merge');
    expect(byType.Task!.operation!.map((o) => o.name)).toContain('resolve');
    expect(byType.Task!.searchParam!.map((p) => p.name)).toEqual(expect.arrayContaining(['code', 'status', 'focus']));
  });
});

describe('the matching report (MI-L5)', () => {
  it('gives queue size and age, outcome counts, reviewers’ decisions and the declared model; audited MI-L2 and MI-L5', async () => {
    const open = await openReviewTasks();
    const res = await mpi.get('edinburgh-social-work', '/matching/report');
    expect(res.status).toBe(200);
    const report = res.body as {
      matchingModel: string;
      indexedRecords: number;
      outcomes: Record<string, number>;
      reviewQueue: { open: number; oldestRequestedAt?: string; oldestAgeHours?: number };
      decisions: { link: number; notLink: number; unlinks: number; merges: number; byReviewer: Record<string, number> };
      model: { thresholds: { upper: number; lower: number } };
    };
    expect(report.matchingModel).toBe(mpi.config.matchingModel);
    expect(report.indexedRecords).toBe(await mpi.store.countRecords());
    expect(report.outcomes.linkedByChi).toBeGreaterThanOrEqual(1);
    expect(report.outcomes.linkedAutomatically).toBeGreaterThanOrEqual(3);
    expect(report.outcomes.queuedForReview).toBeGreaterThanOrEqual(2);
    expect(report.outcomes.newPersons).toBeGreaterThanOrEqual(5);
    expect(report.outcomes.chiSeeded).toBeGreaterThanOrEqual(1);
    expect(report.reviewQueue.open).toBe(open.length);
    if (open.length > 0) {
      expect(report.reviewQueue.oldestRequestedAt).toBe(open.map((t) => t.authoredOn!).sort()[0]);
      expect(report.reviewQueue.oldestAgeHours).toBeGreaterThanOrEqual(0);
    }
    expect(report.decisions).toMatchObject({ link: 1, notLink: 1, unlinks: 1, merges: 1 });
    expect(report.decisions.byReviewer).toEqual({ 'Organization/nhs-lothian': 2, 'Organization/edinburgh-social-work': 2 });
    expect(report.model.thresholds.upper).toBeGreaterThan(report.model.thresholds.lower);
    expect(criteriaOf(await mpi.auditOf(res))).toEqual(['MI-L2', 'MI-L5']);
  });
});
