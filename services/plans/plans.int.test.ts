/**
 * Shared plans, assessments and requests for assistance against a real Redis,
 * over HTTP: versions, `_history` and vread, If-Match (428 without, 412 when
 * stale), the subject resolved through the MPI, the author from the token,
 * reads by other agencies under the ISP, searches with exact totals of what
 * the caller may see, and every exchange audited with its criteria.
 */
import type { Bundle, CarePlan, OperationOutcome, ServiceRequest } from 'fhir/r4.js';
import { CodeSystems } from '../../shared/fhir/systems.js';
import { criteriaOf } from '../../test/mpi.js';
import { AILSA_LP, answerWithoutId, carePlan, assessment, consent, serviceRequest, startTestPlans, subjectOf, type TestPlans } from '../../test/plans.js';

let plans: TestPlans;
const CHI = '1403231206';
const AILSA = { agency: 'edinburgh-social-work', local: 'demo-child-1' };
let personId: string;

beforeAll(async () => {
  plans = await startTestPlans();
  await plans.mpi.registered('edinburgh-social-work', 'demo-child-1', { given: ['Ailsa'], family: 'Morrison', birthDate: '2023-03-14', gender: 'female', postcode: 'EH6 8BN', chi: CHI });
  const [link] = await plans.mpi.store.getLinks(['edinburgh-social-work.demo-child-1']);
  personId = link!.personId;
  // Her Lead Professional shares her plans and assessments with health and education (default deny otherwise).
  const granted = await plans.post(AILSA_LP, '/fhir/Consent', consent('Patient/demo-child-1', [
    { actor: 'Organization/nhs-lothian', classes: ['plans', 'assessments'] },
    { actor: 'Organization/edinburgh-education', classes: ['plans', 'assessments'] },
  ]));
  expect(granted.status).toBe(201);
});

afterAll(async () => {
  await plans.close();
});

const issueText = (body: unknown) => JSON.stringify((body as OperationOutcome).issue);

async function createPlan(overrides: Partial<CarePlan> = {}): Promise<CarePlan> {
  const res = await plans.post('edinburgh-social-work', '/fhir/CarePlan', carePlan(subjectOf(AILSA), overrides));
  expect(res.status).toBe(201);
  return res.body as CarePlan;
}

describe('creating a plan', () => {
  it('stores version 1 about the index Person, authored by the token agency, with Location, ETag and its audit record', async () => {
    const res = await plans.post('edinburgh-social-work', '/fhir/CarePlan', carePlan(subjectOf(AILSA), { author: { reference: 'Organization/police-scotland-e-division' } }));
    expect(res.status).toBe(201);
    const plan = res.body as CarePlan;
    expect(plan.meta?.versionId).toBe('1');
    expect(res.headers.etag).toBe('W/"1"');
    expect(res.headers.location).toMatch(new RegExp(`/fhir/CarePlan/${plan.id}/_history/1$`));
    expect(plan.author?.reference).toBe('Organization/edinburgh-social-work');
    expect(plan.meta?.tag).toEqual(
      expect.arrayContaining([
        { system: CodeSystems.authorAgency, code: 'edinburgh-social-work' },
        { system: CodeSystems.indexPerson, code: personId },
      ]),
    );
    const audit = await plans.mpi.auditOf(res);
    expect(criteriaOf(audit)).toEqual(['AP-L3']);
  });

  it('finds the person by CHI too', async () => {
    const res = await plans.post('edinburgh-social-work', '/fhir/CarePlan', carePlan(subjectOf({ chi: CHI })));
    expect(res.status).toBe(201);
    expect((res.body as CarePlan).meta?.tag).toContainEqual({ system: CodeSystems.indexPerson, code: personId });
  });

  it('refuses a plan about someone the index does not know (422), storing nothing', async () => {
    const res = await plans.post('edinburgh-social-work', '/fhir/CarePlan', carePlan(subjectOf({ agency: 'edinburgh-social-work', local: 'NOBODY-1' })));
    expect(res.status).toBe(422);
    expect(issueText(res.body)).toContain('NOBODY-1');
    const search = await plans.get('edinburgh-social-work', '/fhir/CarePlan?subject:identifier=https://fhir.infoshare.scot/id/patient/edinburgh-social-work|NOBODY-1');
    expect((search.body as Bundle).total).toBe(0);
  });

  it('refuses an invalid plan (422 listing the problems) and an oversized one (413)', async () => {
    const invalid = await plans.post('edinburgh-social-work', '/fhir/CarePlan', { ...carePlan(subjectOf(AILSA)), status: 'banana', colour: 'red' });
    expect(invalid.status).toBe(422);
    const huge = await plans.post('edinburgh-social-work', '/fhir/CarePlan', carePlan(subjectOf(AILSA), { description: 'x'.repeat(600 * 1024) }));
    expect(huge.status).toBe(413);
    expect((huge.body as OperationOutcome).resourceType).toBe('OperationOutcome');
  });

  it('needs the write scope', async () => {
    const res = await plans.post({ agency: 'edinburgh-social-work', scope: 'system/CarePlan.read' }, '/fhir/CarePlan', carePlan(subjectOf(AILSA)));
    expect(res.status).toBe(403);
  });
});

describe('updating a plan', () => {
  it('writes a new version with If-Match, keeps every version readable, and refuses a stale one (412) or none (428)', async () => {
    const plan = await createPlan();
    const path = `/fhir/CarePlan/${plan.id}`;
    const none = await plans.put('edinburgh-social-work', path, { ...plan, title: 'No If-Match' });
    expect(none.status).toBe(428);
    // `*` names no version read: the blind change the 428 refuses.
    expect((await plans.put('edinburgh-social-work', path, { ...plan, title: 'Starred' }, '*')).status).toBe(428);
    const v2 = await plans.put('edinburgh-social-work', path, { ...plan, title: 'Reviewed plan' }, 'W/"1"');
    expect(v2.status).toBe(200);
    expect((v2.body as CarePlan).meta?.versionId).toBe('2');
    expect(v2.headers['content-location']).toMatch(/\/_history\/2$/);
    const stale = await plans.put('edinburgh-social-work', path, { ...plan, title: 'Lost update' }, 'W/"1"');
    expect(stale.status).toBe(412);

    const latest = await plans.get('edinburgh-social-work', path);
    expect((latest.body as CarePlan).title).toBe('Reviewed plan');
    expect(latest.headers.etag).toBe('W/"2"');
    expect(latest.headers['content-location']).toMatch(/\/_history\/2$/);
    const v1 = await plans.get('edinburgh-social-work', `${path}/_history/1`);
    expect((v1.body as CarePlan).title).toBe(plan.title);
    const history = await plans.get('edinburgh-social-work', `${path}/_history`);
    expect((history.body as Bundle).entry?.map((e) => (e.resource as CarePlan).meta?.versionId)).toEqual(['2', '1']);
  });

  it('lets another agency the ISP allows edit it under If-Match, keeping the author', async () => {
    const plan = await createPlan();
    const res = await plans.put('nhs-lothian', `/fhir/CarePlan/${plan.id}`, { ...plan, description: 'Health visitor added a review date' }, 'W/"1"');
    expect(res.status).toBe(200);
    const stored = res.body as CarePlan;
    expect(stored.author?.reference).toBe('Organization/edinburgh-social-work');
    expect(stored.meta?.source).toBe('https://fhir.infoshare.scot/id/agency/nhs-lothian');
  });

  it('never moves a plan to another person (422)', async () => {
    await plans.mpi.registered('edinburgh-social-work', 'SW-OTHER-9', { given: ['Rab'], family: 'McDonald', birthDate: '2014-03-07', gender: 'male', postcode: 'EH6 5DT' });
    const plan = await createPlan();
    const res = await plans.put('edinburgh-social-work', `/fhir/CarePlan/${plan.id}`, { ...plan, subject: subjectOf({ agency: 'edinburgh-social-work', local: 'SW-OTHER-9' }) }, 'W/"1"');
    expect(res.status).toBe(422);
  });

  it('is a 404 for a plan that does not exist', async () => {
    const res = await plans.put('edinburgh-social-work', '/fhir/CarePlan/no-such-plan', { ...carePlan(subjectOf(AILSA)), id: 'no-such-plan' }, 'W/"1"');
    expect(res.status).toBe(404);
  });
});

describe('reading across agencies', () => {
  it('lets an agency the ISP allows download the latest version (AP-L3, AP-L4, IM-L4; PD-L5: the Consent decided)', async () => {
    const plan = await createPlan();
    const res = await plans.get('edinburgh-education', `/fhir/CarePlan/${plan.id}`);
    expect(res.status).toBe(200);
    expect(criteriaOf(await plans.mpi.auditOf(res)).sort()).toEqual(['AP-L3', 'AP-L4', 'IM-L4', 'PD-L5']);
  });

  it('answers an agency outside the ISP for plans exactly as an unknown id (404), audited as a security-model refusal with the real reason', async () => {
    const plan = await createPlan();
    const police = 'police-scotland-e-division';
    const res = await plans.get(police, `/fhir/CarePlan/${plan.id}`);
    const unknown = await plans.get(police, '/fhir/CarePlan/no-such-plan');
    expect(res.status).toBe(404);
    expect(answerWithoutId(res, plan.id!)).toEqual(answerWithoutId(unknown, 'no-such-plan'));
    const audited = (await plans.mpi.auditOf(res));
    expect(criteriaOf(audited)).toContain('SI-L3');
    expect(audited.outcomeDesc).toContain('ISP');
    for (const path of [`/_history`, `/_history/1`, `/$diff?from=1&to=1`]) {
      const denied = await plans.get(police, `/fhir/CarePlan/${plan.id}${path}`);
      expect(answerWithoutId(denied, plan.id!)).toEqual(answerWithoutId(await plans.get(police, `/fhir/CarePlan/no-such-plan${path}`), 'no-such-plan'));
    }
    // Police hold no scope to write plans: 403 whatever the id (the token decides, not the record).
    expect((await plans.put(police, `/fhir/CarePlan/${plan.id}`, plan, 'W/"1"')).status).toBe(403);
    // An agency that may write plans but not see this one gets the 404 of an unknown id; nothing is written.
    const gp = 'gp-leith-cluster';
    expect((await plans.get(gp, `/fhir/CarePlan/${plan.id}`)).status).toBe(404);
    const update = await plans.put(gp, `/fhir/CarePlan/${plan.id}`, { ...plan, description: 'overwritten' }, 'W/"1"');
    const unknownUpdate = await plans.put(gp, '/fhir/CarePlan/no-such-plan', { ...plan, id: 'no-such-plan', description: 'overwritten' }, 'W/"1"');
    expect(update.status).toBe(404);
    expect(answerWithoutId(update, plan.id!)).toEqual(answerWithoutId(unknownUpdate, 'no-such-plan'));
    // The body is checked before the record is looked at: an invalid one gets the same 422 whether the plan exists
    // (unseen) or not — never a 404 for one and a 422 for the other that would tell which ids exist.
    const invalid = await plans.put(gp, `/fhir/CarePlan/${plan.id}`, { ...plan, status: 'banana' }, 'W/"1"');
    const invalidUnknown = await plans.put(gp, '/fhir/CarePlan/no-such-plan', { ...plan, id: 'no-such-plan', status: 'banana' }, 'W/"1"');
    expect(invalid.status).toBe(422);
    expect(answerWithoutId(invalid, plan.id!)).toEqual(answerWithoutId(invalidUnknown, 'no-such-plan'));
    expect((await plans.get('edinburgh-social-work', `/fhir/CarePlan/${plan.id}`)).body).toMatchObject({ meta: { versionId: '1' } });
  });

  it('searches with exact totals and pages of only what the caller may see', async () => {
    const own = await plans.get('edinburgh-social-work', `/fhir/CarePlan?subject=Person/${personId}&_count=2`);
    const total = (own.body as Bundle).total!;
    expect(total).toBeGreaterThanOrEqual(5);
    expect((own.body as Bundle).entry).toHaveLength(2);
    expect((own.body as Bundle).link?.find((l) => l.relation === 'next')).toBeDefined();
    const byChi = await plans.get('edinburgh-social-work', `/fhir/CarePlan?subject:identifier=${encodeURIComponent(`${'urn:oid:2.16.840.1.113883.2.1.3.2.4.16.53'}|${CHI}`)}`);
    expect((byChi.body as Bundle).total).toBe(total);
    const police = await plans.get({ agency: 'police-scotland-e-division', scope: 'system/CarePlan.read' }, `/fhir/CarePlan?subject=Person/${personId}`);
    expect(police.status).toBe(200);
    expect((police.body as Bundle).total).toBe(0);
    expect((police.body as Bundle).entry ?? []).toHaveLength(0);
  });
});

describe('assessments', () => {
  it('are versioned and readable like plans', async () => {
    const created = await plans.post('edinburgh-social-work', '/fhir/QuestionnaireResponse', assessment(subjectOf(AILSA)));
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;
    const read = await plans.get('nhs-lothian', `/fhir/QuestionnaireResponse/${id}`);
    expect(read.status).toBe(200);
  });
});

describe('requests for assistance', () => {
  it('go draft → active → completed: the requester sends, the assigned agency completes (AP-L4)', async () => {
    const created = await plans.post('edinburgh-social-work', '/fhir/ServiceRequest', serviceRequest(subjectOf(AILSA), 'children1st-edinburgh'));
    expect(created.status).toBe(201);
    expect(criteriaOf(await plans.mpi.auditOf(created))).toEqual(['AP-L4']);
    const request = created.body as ServiceRequest;
    const path = `/fhir/ServiceRequest/${request.id}`;
    const early = await plans.put('children1st-edinburgh', path, { ...request, status: 'active' }, 'W/"1"');
    expect(early.status).toBe(403);
    const skipped = await plans.put('edinburgh-social-work', path, { ...request, status: 'completed' }, 'W/"1"');
    expect(skipped.status).toBe(422);
    const sent = await plans.put('edinburgh-social-work', path, { ...request, status: 'active' }, 'W/"1"');
    expect(sent.status).toBe(200);
    const inbox = await plans.get('children1st-edinburgh', `/fhir/ServiceRequest?performer=Organization/children1st-edinburgh&status=active`);
    expect((inbox.body as Bundle).entry?.map((e) => e.resource?.id)).toContain(request.id);
    const done = await plans.put('children1st-edinburgh', path, { ...request, status: 'completed' }, 'W/"2"');
    expect(done.status).toBe(200);
    const after = await plans.put('edinburgh-social-work', path, { ...request, status: 'revoked' }, 'W/"3"');
    expect(after.status).toBe(409);
  });

  it('must be assigned to one known agency and start as draft or active', async () => {
    const unknown = await plans.post('edinburgh-social-work', '/fhir/ServiceRequest', serviceRequest(subjectOf(AILSA), 'no-such-agency'));
    expect(unknown.status).toBe(422);
    const completed = await plans.post('edinburgh-social-work', '/fhir/ServiceRequest', serviceRequest(subjectOf(AILSA), 'children1st-edinburgh', { status: 'completed' }));
    expect(completed.status).toBe(422);
  });
});
