/**
 * The printable latest version (`$render`, checked by rendering the PDF's pages
 * with poppler's pdftoppm and reading its text with pdftotext), `$diff`
 * between versions, and the integrated chronology across agencies — against
 * a real Redis, over HTTP, with fhir-kit-client for a client's flow.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { CarePlan, List, OperationOutcome, Parameters, ServiceRequest } from 'fhir/r4.js';
import request from 'supertest';
import { fhirClient } from '../../shared/client/fhir.js';
import { CodeSystems, Extensions } from '../../shared/fhir/systems.js';
import { listen, type Listening } from '../../shared/runtime/listen.js';
import { alertMessage } from '../../test/alerts.js';
import { criteriaOf } from '../../test/mpi.js';
import { AILSA_LP, answerWithoutId, carePlan, assessment, consent, notableEvent, serviceRequest, startTestPlans, subjectOf, type As, type TestPlans } from '../../test/plans.js';

const run = promisify(execFile);

let plans: TestPlans;
const CHI = '1403231206';
const AILSA = { agency: 'edinburgh-social-work', local: 'demo-child-1' };
const LEAD_PROFESSIONAL = { agency: 'edinburgh-social-work', role: 'role-ross-campbell' };
let plan: CarePlan;

beforeAll(async () => {
  plans = await startTestPlans();
  await plans.mpi.registered('edinburgh-social-work', 'demo-child-1', { given: ['Ailsa'], family: 'Morrison', birthDate: '2023-03-14', gender: 'female', postcode: 'EH6 8BN', chi: CHI });
  // Her Lead Professional shares her record with the health board, and her plan with education (default deny otherwise).
  const granted = await plans.post(AILSA_LP, '/fhir/Consent', consent('Patient/demo-child-1', [
    { actor: 'Organization/nhs-lothian', classes: ['plans', 'assessments', 'requests', 'chronology'] },
    { actor: 'Organization/edinburgh-education', classes: ['plans'] },
  ]));
  expect(granted.status).toBe(201);
  // Open-ended: printed as a person reads it, not "2026-03-03 to …".
  const created = await plans.post('edinburgh-social-work', '/fhir/CarePlan', carePlan(subjectOf(AILSA), { period: { start: '2026-03-03' } }));
  expect(created.status).toBe(201);
  const v2 = await plans.put('nhs-lothian', `/fhir/CarePlan/${(created.body as CarePlan).id}`, { ...(created.body as CarePlan), status: 'active', description: 'Reviewed with the health visitor' }, 'W/"1"');
  expect(v2.status).toBe(200);
  plan = v2.body as CarePlan;
});

afterAll(async () => {
  await plans.close();
});

async function pdfText(pdf: Buffer): Promise<{ pages: number; text: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'plans-render-'));
  try {
    const file = path.join(dir, 'plan.pdf');
    await writeFile(file, pdf);
    await run('pdftoppm', ['-r', '40', '-png', file, path.join(dir, 'page')]);
    const pages = (await readdir(dir)).filter((f) => f.startsWith('page') && f.endsWith('.png')).length;
    const { stdout } = await run('pdftotext', [file, '-']);
    return { pages, text: stdout };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const binary = (res: request.Response, cb: (err: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
};

describe('$render', () => {
  it('prints the latest version as a PDF with its version, author and the Named Person / Lead Professional (AP-L2, AP-L4)', async () => {
    const res = await request(plans.app)
      .get(`/fhir/CarePlan/${plan.id}/$render?format=pdf`)
      .set(await plans.auth('edinburgh-education'))
      .buffer(true)
      .parse(binary);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/pdf');
    const { pages, text } = await pdfText(res.body as Buffer);
    expect(pages).toBeGreaterThanOrEqual(1);
    expect(text).toContain('Version: 2 (latest)');
    expect(text).toContain('Period: from 3 March 2026, open-ended');
    expect(text).toContain('Ross Campbell');
    expect(text).toContain('Fiona MacLeod');
    expect(text).toContain('0131 496 0523');
    expect(text).toContain('edinburgh-social-work');
    // PD-L5: education prints it under the Consent the Lead Professional granted (decided and audited with the render).
    expect(criteriaOf(await plans.mpi.auditOf(res)).sort()).toEqual(['AP-L2', 'AP-L4', 'IM-L4', 'PD-L5']);
  });

  it('prints HTML too, escaping what the plan says', async () => {
    const res = await plans.get('edinburgh-social-work', `/fhir/CarePlan/${plan.id}/$render?format=html`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('Version');
    expect(res.text).toContain('Lead Professional');
    expect(res.text).toContain('from 3 March 2026, open-ended');
  });

  it('refuses an unknown format (400); an agency outside the ISP is answered as for an unknown plan (404)', async () => {
    expect((await plans.get('edinburgh-social-work', `/fhir/CarePlan/${plan.id}/$render?format=docx`)).status).toBe(400);
    const police = await plans.get('police-scotland-e-division', `/fhir/CarePlan/${plan.id}/$render?format=pdf`);
    expect(police.status).toBe(404);
    expect((police.body as OperationOutcome).resourceType).toBe('OperationOutcome');
    const unknown = await plans.get('police-scotland-e-division', '/fhir/CarePlan/no-such-plan/$render?format=pdf');
    expect(answerWithoutId(police, plan.id!)).toEqual(answerWithoutId(unknown, 'no-such-plan'));
  });
});

describe('$diff', () => {
  it('lists what changed between two versions, AP-L4 when the Lead Professional reads it', async () => {
    const res = await plans.get(LEAD_PROFESSIONAL, `/fhir/CarePlan/${plan.id}/$diff?from=1&to=2`);
    expect(res.status).toBe(200);
    const operations = ((res.body as Parameters).parameter ?? []).filter((p) => p.name === 'operation');
    const paths = operations.map((o) => o.part?.find((p) => p.name === 'path')?.valueString);
    expect(paths).toEqual(expect.arrayContaining(['CarePlan.description', 'CarePlan.meta.source']));
    expect(criteriaOf(await plans.mpi.auditOf(res))).toEqual(['AP-L4']);
  });

  it('refuses a version that does not exist (404) or is not a number (400)', async () => {
    expect((await plans.get('edinburgh-social-work', `/fhir/CarePlan/${plan.id}/$diff?from=1&to=9`)).status).toBe(404);
    expect((await plans.get('edinburgh-social-work', `/fhir/CarePlan/${plan.id}/$diff?from=one`)).status).toBe(400);
  });
});

describe('$chronology', () => {
  beforeAll(async () => {
    // The alerts service on the same Redis: an alert raised and closed about her shows in the chronology.
    const alertsApp = await plans.alerts();
    const raise = async (event: 'alert-raised' | 'alert-closed') =>
      request(alertsApp)
        .post('/fhir/$process-message')
        .set(await plans.auth('edinburgh-social-work'))
        .type('application/fhir+json')
        .send(JSON.stringify(alertMessage({ sender: 'edinburgh-social-work', flagId: 'chrono-1', event, subject: { local: 'demo-child-1' }, destinations: ['nhs-lothian'] })));
    expect((await raise('alert-raised')).status).toBe(200);
    expect((await raise('alert-closed')).status).toBe(200);
    await plans.post('nhs-lothian', '/fhir/QuestionnaireResponse', assessment(subjectOf({ chi: CHI })));
    const sr = await plans.post('edinburgh-social-work', '/fhir/ServiceRequest', serviceRequest(subjectOf(AILSA), 'children1st-edinburgh'));
    await plans.put('edinburgh-social-work', `/fhir/ServiceRequest/${(sr.body as ServiceRequest).id}`, { ...(sr.body as ServiceRequest), status: 'active' }, 'W/"1"');
  });

  it('is one dated timeline across agencies, each entry naming its agency (AP-L5; AP-L4 for the Lead Professional)', async () => {
    const res = await plans.get(LEAD_PROFESSIONAL, `/fhir/Patient/${CHI}/$chronology`);
    expect(res.status).toBe(200);
    const list = res.body as List;
    expect(list.resourceType).toBe('List');
    const kinds = (list.entry ?? []).map((e) => e.flag?.coding?.[0]?.code);
    expect(kinds).toEqual(expect.arrayContaining(['plan-version', 'assessment', 'service-request', 'alert-raised', 'alert-closed']));
    const dates = (list.entry ?? []).map((e) => Date.parse(e.date!));
    expect(dates).toEqual([...dates].sort((a, b) => a - b));
    const agencies = new Set((list.entry ?? []).map((e) => e.extension?.find((x) => x.url === Extensions.sourceAgency)?.valueReference?.reference));
    expect(agencies).toEqual(new Set(['Organization/edinburgh-social-work', 'Organization/nhs-lothian']));
    expect((list.entry ?? []).find((e) => e.item.display?.includes('draft → active'))).toBeDefined();
    expect(criteriaOf(await plans.mpi.auditOf(res)).sort()).toEqual(['AP-L4', 'AP-L5', 'IM-L4']);
  });

  it('filters by category and date, and finds the person by an agency identifier', async () => {
    const system = encodeURIComponent(`https://fhir.infoshare.scot/id/patient/edinburgh-social-work|demo-child-1`);
    const plansOnly = await plans.get('edinburgh-social-work', `/fhir/Patient/$chronology?identifier=${system}&category=plan`);
    expect(plansOnly.status).toBe(200);
    expect(new Set(((plansOnly.body as List).entry ?? []).map((e) => e.flag?.coding?.[0]?.code))).toEqual(new Set(['plan-version']));
    const future = await plans.get('edinburgh-social-work', `/fhir/Patient/${CHI}/$chronology?start=2999-01-01`);
    expect((future.body as List).entry).toBeUndefined();
    expect((await plans.get('edinburgh-social-work', `/fhir/Patient/${CHI}/$chronology?category=gossip`)).status).toBe(400);
    expect((await plans.get('edinburgh-social-work', `/fhir/Patient/${CHI}/$chronology?start=2026-02-30`)).status).toBe(400);
    // A period that ends before it starts is refused naming both, not answered as an empty timeline; one day (start = end) is a period.
    const swapped = await plans.get('edinburgh-social-work', `/fhir/Patient/${CHI}/$chronology?start=2026-12-31&end=2026-01-01`);
    expect(swapped.status).toBe(400);
    expect(JSON.stringify((swapped.body as OperationOutcome).issue)).toContain('start=2026-12-31 is after end=2026-01-01');
    expect((await plans.mpi.auditOf(swapped)).outcome).toBe('4');
    const today = new Date().toISOString().slice(0, 10);
    const oneDay = await plans.get('edinburgh-social-work', `/fhir/Patient/${CHI}/$chronology?start=${today}&end=${today}`);
    expect(oneDay.status).toBe(200);
    expect(((oneDay.body as List).entry ?? []).length).toBeGreaterThan(0);
    expect((await plans.get('edinburgh-social-work', '/fhir/Patient/0101010019/$chronology')).status).toBe(404);
  });

  it('shows an agency outside the plans ISP nothing of the plans, nor alerts it never received', async () => {
    const res = await plans.get({ agency: 'police-scotland-e-division', scope: 'system/CarePlan.read' }, `/fhir/Patient/${CHI}/$chronology`);
    expect(res.status).toBe(200);
    expect((res.body as List).entry).toBeUndefined();
    const health = await plans.get('nhs-lothian', `/fhir/Patient/${CHI}/$chronology?category=alert`);
    expect(((health.body as List).entry ?? []).map((e) => e.flag?.coding?.[0]?.code)).toEqual(['alert-raised', 'alert-closed']);
  });

  it("keeps an alert out of the chronology of an agency a Consent withholds the person's alerts from, the sender still seeing its own, until the withholding is revoked", async () => {
    const alertKinds = async (who: As | string) => ((await plans.get(who, `/fhir/Patient/${CHI}/$chronology?category=alert`)).body as List).entry?.map((e) => e.flag?.coding?.[0]?.code) ?? [];
    expect(await alertKinds('nhs-lothian')).toEqual(['alert-raised', 'alert-closed']);
    const withheld = await plans.post(AILSA_LP, '/fhir/Consent', consent('Patient/demo-child-1', [{ actor: 'Organization/nhs-lothian', classes: ['alerts'], type: 'deny' }]));
    expect(withheld.status).toBe(201);
    expect(await alertKinds('nhs-lothian')).toEqual([]);
    expect(await alertKinds('edinburgh-social-work')).toEqual(['alert-raised', 'alert-closed']);
    const revoked = await plans.put(AILSA_LP, `/fhir/Consent/${(withheld.body as { id: string }).id}`, { ...(withheld.body as object), status: 'inactive' }, 'W/"1"');
    expect(revoked.status).toBe(200);
    expect(await alertKinds('nhs-lothian')).toEqual(['alert-raised', 'alert-closed']);
  });

  it('places a notable event an agency records on the timeline by when it happened, filtered by consent like the rest', async () => {
    const undated = await plans.post('edinburgh-social-work', '/fhir/Observation', notableEvent(subjectOf(AILSA), { effectiveDateTime: undefined }));
    expect(undated.status).toBe(422);
    expect(JSON.stringify(undated.body)).toContain('when it happened');
    const recorded = await plans.post('edinburgh-social-work', '/fhir/Observation', notableEvent(subjectOf(AILSA)));
    expect(recorded.status).toBe(201);
    const id = (recorded.body as { id: string }).id;

    const events = async (who: As | string, query = '') =>
      ((await plans.get(who, `/fhir/Patient/${CHI}/$chronology${query}`)).body as List).entry?.filter((e) => e.flag?.coding?.[0]?.code === 'notable-event') ?? [];
    const [entry, ...more] = await events(LEAD_PROFESSIONAL);
    expect(more).toEqual([]);
    expect(entry).toMatchObject({ date: '2026-11-18T23:30:00Z', item: { reference: `Observation/${id}/_history/1`, display: 'Missing from home overnight: Found safe next morning; return interview held' } });
    expect(entry?.extension?.find((x) => x.url === Extensions.sourceAgency)?.valueReference?.reference).toBe('Organization/edinburgh-social-work');
    expect(await events(LEAD_PROFESSIONAL, '?category=notable-event')).toHaveLength(1);
    expect(await events(LEAD_PROFESSIONAL, '?category=plan')).toEqual([]);
    // The health board holds a Consent for her chronology; education one for her plans only.
    expect(await events('nhs-lothian')).toHaveLength(1);
    expect(await events('edinburgh-education')).toEqual([]);
    expect((await plans.get('edinburgh-education', `/fhir/Observation/${id}`)).status).toBe(404);
  });

  it('prints as PDF', async () => {
    const res = await request(plans.app).get(`/fhir/Patient/${CHI}/$chronology?format=pdf`).set(await plans.auth('edinburgh-social-work')).buffer(true).parse(binary);
    expect(res.status).toBe(200);
    const { pages, text } = await pdfText(res.body as Buffer);
    expect(pages).toBeGreaterThanOrEqual(1);
    expect(text).toContain('Integrated chronology');
    expect(text).toContain('plan-version');
  });
});

describe('a FHIR client (fhir-kit-client) over real HTTP', () => {
  let server: Listening;
  beforeAll(async () => {
    server = await listen(plans.app, 0, '127.0.0.1');
  });
  afterAll(async () => {
    await server.close();
  });

  it('creates, reads, updates with If-Match and reads the history of a plan', async () => {
    const { Authorization } = await plans.auth('edinburgh-social-work');
    const client = fhirClient(`http://127.0.0.1:${server.port}/fhir`, Authorization.replace('Bearer ', ''));
    const created = (await client.create({ resourceType: 'CarePlan', body: { ...carePlan(subjectOf(AILSA)) } })) as unknown as CarePlan;
    expect(created.meta?.versionId).toBe('1');
    const read = (await client.read({ resourceType: 'CarePlan', id: created.id! })) as unknown as CarePlan;
    expect(read.meta?.tag).toContainEqual({ system: CodeSystems.indexPerson, code: expect.any(String) as string });
    const updated = (await client.update({ resourceType: 'CarePlan', id: created.id!, body: { ...read, title: 'Updated through a client' }, options: { headers: { 'If-Match': 'W/"1"' } } })) as unknown as CarePlan;
    expect(updated.meta?.versionId).toBe('2');
    const history = (await client.history({ resourceType: 'CarePlan', id: created.id! })) as { entry?: unknown[] };
    expect(history.entry).toHaveLength(2);
  });
});
