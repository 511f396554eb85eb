/**
 * `_include` / `_revinclude` on plans searches against a real Redis, over HTTP
 * (and through fhir-kit-client): a plan brings along the requests for assistance
 * and assessments linked to it — each through the same consent decision as a
 * match, so nothing the caller may not see is ever included — and `total` counts
 * the matches alone. Anything the service does not serve is a 400 naming it.
 */
import type { Bundle, CarePlan, OperationOutcome, QuestionnaireResponse, ServiceRequest } from 'fhir/r4.js';
import { readAuditTrailOf } from '../../shared/audit/audit-client.js';
import { fhirClient } from '../../shared/client/fhir.js';
import { listen, type Listening } from '../../shared/runtime/listen.js';
import { AILSA_LP, assessment, carePlan, consent, serviceRequest, startTestPlans, subjectOf, type TestPlans } from '../../test/plans.js';

let plans: TestPlans;
const AILSA = { agency: 'edinburgh-social-work', local: 'demo-child-1' };
const AUTHOR = 'edinburgh-social-work';
const EDUCATION = 'edinburgh-education';
let plan: CarePlan;
let other: CarePlan;
let assigned: ServiceRequest;
let basedOn: ServiceRequest;
let assessed: QuestionnaireResponse;
let search = '';

beforeAll(async () => {
  plans = await startTestPlans();
  await plans.mpi.registered(AUTHOR, 'demo-child-1', { given: ['Ailsa'], family: 'Morrison', birthDate: '2023-03-14', gender: 'female', postcode: 'EH6 8BN', chi: '1403231206' });
  const created = async <T>(body: unknown): Promise<T> => {
    const res = await plans.post(AUTHOR, `/fhir/${(body as { resourceType: string }).resourceType}`, body);
    expect(res.status).toBe(201);
    return res.body as T;
  };
  assigned = await created<ServiceRequest>(serviceRequest(subjectOf(AILSA), 'children1st-edinburgh', { code: { text: 'Family support worker' } }));
  plan = await created<CarePlan>(carePlan(subjectOf(AILSA), { title: 'With its requests', activity: [{ reference: { reference: `ServiceRequest/${assigned.id!}` } }] }));
  other = await created<CarePlan>(carePlan(subjectOf(AILSA), { title: 'Another plan, nothing linked' }));
  basedOn = await created<ServiceRequest>(serviceRequest(subjectOf(AILSA), 'lothian-community-nursing', { basedOn: [{ reference: `CarePlan/${plan.id!}` }] }));
  assessed = await created<QuestionnaireResponse>(assessment(subjectOf(AILSA), { basedOn: [{ reference: `CarePlan/${plan.id!}` }] }));
  // Education is granted her plans only: never her requests for assistance or assessments.
  const granted = await plans.post(AILSA_LP, '/fhir/Consent', consent('Patient/demo-child-1', [{ actor: `Organization/${EDUCATION}`, classes: ['plans'] }]));
  expect(granted.status).toBe(201);
  search = '/fhir/CarePlan?subject:identifier=https://fhir.infoshare.scot/id/patient/edinburgh-social-work|demo-child-1';
});

afterAll(async () => {
  await plans.close();
});

const ids = (bundle: Bundle, mode: 'match' | 'include') => (bundle.entry ?? []).filter((e) => e.search?.mode === mode).map((e) => `${e.resource!.resourceType}/${e.resource!.id!}`).sort();
const issueText = (body: unknown) => JSON.stringify((body as OperationOutcome).issue);
const ALL = '&_include=CarePlan:activity-reference&_revinclude=ServiceRequest:based-on&_revinclude=QuestionnaireResponse:based-on';

describe('_include and _revinclude on plan searches', () => {
  it('bring along the requests and assessments linked to the matched plans; the total counts the matches alone', async () => {
    const res = await plans.get(AUTHOR, `${search}${ALL}`);
    expect(res.status).toBe(200);
    const bundle = res.body as Bundle;
    expect(ids(bundle, 'match')).toEqual([`CarePlan/${other.id!}`, `CarePlan/${plan.id!}`].sort());
    expect(ids(bundle, 'include')).toEqual([`QuestionnaireResponse/${assessed.id!}`, `ServiceRequest/${assigned.id!}`, `ServiceRequest/${basedOn.id!}`].sort());
    expect(bundle.total).toBe(2);
  });

  it('never include what the caller may not see: the same consent decision as a match, each decision audited', async () => {
    const res = await plans.get(EDUCATION, `${search}${ALL}`);
    expect(res.status).toBe(200);
    const bundle = res.body as Bundle;
    expect(ids(bundle, 'match')).toEqual([`CarePlan/${other.id!}`, `CarePlan/${plan.id!}`].sort());
    expect(ids(bundle, 'include')).toEqual([]);
    expect(bundle.total).toBe(2);
    // The links it was not shown were decided like any read, and the refusals audited in the search's own record (AuthZconsent's content).
    const trail = await readAuditTrailOf(plans.mpi.dir.redis, plans.mpi.dir.keys, res.headers['x-request-id'] as string);
    expect(trail).toHaveLength(1);
    expect(trail[0]!.subtype?.map((c) => c.code)).toContain('AuthZ-Consent');
    const denied = (trail[0]!.entity ?? []).filter((x) => x.detail?.some((d) => d.type === 'access-decision' && d.valueString === 'deny'));
    expect(denied.map((x) => x.what?.reference)).toEqual(
      expect.arrayContaining([`ServiceRequest/${assigned.id!}`, `ServiceRequest/${basedOn.id!}`, `QuestionnaireResponse/${assessed.id!}`]),
    );

    // Granted her requests for assistance too: now those are included, her assessment still not.
    const wider = await plans.post(AILSA_LP, '/fhir/Consent', consent('Patient/demo-child-1', [{ actor: `Organization/${EDUCATION}`, classes: ['requests'] }]));
    expect(wider.status).toBe(201);
    const after = (await plans.get(EDUCATION, `${search}${ALL}`)).body as Bundle;
    expect(ids(after, 'include')).toEqual([`ServiceRequest/${assigned.id!}`, `ServiceRequest/${basedOn.id!}`].sort());
    expect(after.total).toBe(2);
  });

  it('follow the links from the other side too: a request brings its plan, an assessment the plan it assesses for', async () => {
    const requests = (await plans.get(AUTHOR, `/fhir/ServiceRequest?_id=${basedOn.id!}&_include=ServiceRequest:based-on:CarePlan&_revinclude=CarePlan:activity-reference`)).body as Bundle;
    expect(ids(requests, 'match')).toEqual([`ServiceRequest/${basedOn.id!}`]);
    expect(ids(requests, 'include')).toEqual([`CarePlan/${plan.id!}`]);
    const assigning = (await plans.get(AUTHOR, `/fhir/ServiceRequest?_id=${assigned.id!}&_revinclude=CarePlan:activity-reference`)).body as Bundle;
    expect(ids(assigning, 'include')).toEqual([`CarePlan/${plan.id!}`]);
    const assessments = (await plans.get(AUTHOR, `/fhir/QuestionnaireResponse?_id=${assessed.id!}&_include=QuestionnaireResponse:based-on`)).body as Bundle;
    expect(ids(assessments, 'include')).toEqual([`CarePlan/${plan.id!}`]);
  });

  it('refuse what the service does not serve with a 400 naming it and what it does serve, audited', async () => {
    const cases: [string, string][] = [
      ['_include=CarePlan:subject', 'a Patient of the partnership index'],
      ['_revinclude=Provenance:target', 'this service keeps no Provenance'],
      ['_include=*', 'wildcards are not supported'],
      ['_include:iterate=CarePlan:activity-reference', ':iterate'],
      ['_include=ServiceRequest:based-on', 'follows a reference of the searched type'],
      ['_revinclude=QuestionnaireResponse:based-on:ServiceRequest', 'never points to CarePlan'],
      ['_include=CarePlan:goal', 'not a reference this service follows'],
      ['_include=CarePlan', 'expected <Type>:<search parameter>'],
    ];
    for (const [param, text] of cases) {
      const res = await plans.get(AUTHOR, `${search}&${param}`);
      expect(res.status).toBe(400);
      expect(issueText(res.body)).toContain(text);
      expect((await plans.mpi.auditOf(res)).outcome).toBe('4');
    }
    const named = await plans.get(AUTHOR, `${search}&_include=CarePlan:subject`);
    expect(issueText(named.body)).toContain('_include=CarePlan:activity-reference');
  });

  it('are declared in the CapabilityStatement', async () => {
    const res = await plans.get(AUTHOR, '/fhir/metadata');
    const carePlanCapability = (res.body as { rest: { resource: { type: string; searchInclude?: string[]; searchRevInclude?: string[] }[] }[] }).rest[0]!.resource.find((r) => r.type === 'CarePlan');
    expect(carePlanCapability?.searchInclude).toEqual(['CarePlan:activity-reference']);
    expect(carePlanCapability?.searchRevInclude).toEqual(expect.arrayContaining(['ServiceRequest:based-on', 'QuestionnaireResponse:based-on']));
  });
});

describe('a FHIR client (fhir-kit-client) searching with _revinclude', () => {
  let server: Listening;
  beforeAll(async () => {
    server = await listen(plans.app, 0, '127.0.0.1');
  });
  afterAll(async () => {
    await server.close();
  });

  it('gets the matches and the included resources in one searchset', async () => {
    const { Authorization } = await plans.auth(AUTHOR);
    const client = fhirClient(`http://127.0.0.1:${server.port}/fhir`, Authorization.replace('Bearer ', ''));
    const bundle = (await client.search({ resourceType: 'CarePlan', searchParams: { _id: plan.id!, _revinclude: 'ServiceRequest:based-on' } })) as unknown as Bundle;
    expect(bundle.total).toBe(1);
    expect(ids(bundle, 'include')).toEqual([`ServiceRequest/${basedOn.id!}`]);
  });
});
