/**
 * Consent under the Named Person / Lead Professional's control, against a real
 * Redis over HTTP: only the NP/LP grants; default deny; a grant opens exactly
 * what it names; revocation bites on the very next request with the same token;
 * searches count and page only what the caller may see; every decision audited
 * in the exchange's own record (AuthZconsent's content, the disclosure); break-glass; the person's own access.
 */
import type { AuditEvent, Bundle, CarePlan, Consent, OperationOutcome } from 'fhir/r4.js';
import request from 'supertest';
import { readAuditTrailOf } from '../../shared/audit/audit-client.js';
import { criteriaOfEvent } from '../../shared/audit/audit-event.js';
import { CodeSystems } from '../../shared/fhir/systems.js';
import { AILSA_LP, answerWithoutId, carePlan, consent, startTestPlans, subjectOf, type TestPlans } from '../../test/plans.js';

let plans: TestPlans;
const AILSA = { agency: 'edinburgh-social-work', local: 'demo-child-1' };
const LEAH = { agency: 'edinburgh-social-work', local: 'demo-child-3' };
const EDUCATION = 'edinburgh-education';

beforeAll(async () => {
  plans = await startTestPlans();
  await plans.mpi.registered('edinburgh-social-work', 'demo-child-1', { given: ['Ailsa'], family: 'Morrison', birthDate: '2023-03-14', gender: 'female', postcode: 'EH6 8BN', chi: '1403231206' });
  await plans.mpi.registered('edinburgh-social-work', 'demo-child-3', { given: ['Leah'], family: 'Kerr', birthDate: '2012-05-09', gender: 'female', postcode: 'EH6 6QQ' });
});

afterAll(async () => {
  await plans.close();
});

async function createPlan(who: typeof AILSA, title = 'Plan'): Promise<CarePlan> {
  const res = await plans.post('edinburgh-social-work', '/fhir/CarePlan', carePlan(subjectOf(who), { title }));
  expect(res.status).toBe(201);
  return res.body as CarePlan;
}

async function grant(body: Consent): Promise<Consent> {
  const res = await plans.post(AILSA_LP, '/fhir/Consent', body);
  expect(res.status).toBe(201);
  return res.body as Consent;
}

async function trailOf(res: request.Response): Promise<AuditEvent[]> {
  return readAuditTrailOf(plans.mpi.dir.redis, plans.mpi.dir.keys, res.headers['x-request-id'] as string);
}

const authz = (events: AuditEvent[]) => events.filter((e) => e.subtype?.some((s) => s.code === 'AuthZ-Consent'));

/** The access decisions an exchange's record carries, one per resource decided (its entity's details). */
function decisionsOf(event: AuditEvent): { reference?: string; decision?: string; basis?: string; consent?: string }[] {
  return (event.entity ?? []).flatMap((e) => {
    const detail = (type: string) => e.detail?.find((d) => d.type === type)?.valueString;
    const decision = detail('access-decision');
    if (!decision) return [];
    const consent = detail('access-consent');
    return [{ reference: e.what?.reference, decision, basis: detail('access-basis'), ...(consent ? { consent } : {}) }];
  });
}
const issueText = (body: unknown) => JSON.stringify((body as OperationOutcome).issue);

/** `infoshare_access_denials_total{reason="consent"}` on the service's `/metrics` (0 before the first). */
async function consentDenials(): Promise<number> {
  const metrics = await request(plans.app).get('/metrics');
  const line = metrics.text.split('\n').find((l) => l.startsWith('infoshare_access_denials_total{') && l.includes('reason="consent"'));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('granting consent', () => {
  it("refuses anyone but the person's Named Person / Lead Professional (403, audited as a correct refusal), storing nothing", async () => {
    const body = consent('Patient/demo-child-1', [{ actor: `Organization/${EDUCATION}` }]);
    const other = await plans.post({ agency: 'edinburgh-social-work', role: 'role-morag-henderson' }, '/fhir/Consent', body);
    expect(other.status).toBe(403);
    expect(issueText(other.body)).toContain('not this person');
    expect(criteriaOfEvent((await plans.mpi.auditOf(other)))).toEqual(['PD-L5', 'SI-L3']);
    const noOne = await plans.post('edinburgh-social-work', '/fhir/Consent', body);
    expect(noOne.status).toBe(403);
    const listed = await plans.get(AILSA_LP, '/fhir/Consent?patient=Patient/demo-child-1&_format=json&_pretty=true');
    expect((listed.body as Bundle).total).toBe(0);
  });

  it('refuses an unknown category and an impossible period (422 naming each), and a person the index does not know', async () => {
    const expressionsOf = (res: request.Response) => (res.body as OperationOutcome).issue.flatMap((i) => i.expression ?? []);
    const gossip = consent('Patient/demo-child-1', [{ actor: `Organization/${EDUCATION}`, period: { start: '2026-01-01', end: '2027-01-01' } }]);
    gossip.provision!.provision![0]!.class = [{ system: CodeSystems.consentCategory, code: 'gossip' }];
    const unknownCategory = await plans.post(AILSA_LP, '/fhir/Consent', gossip);
    expect(unknownCategory.status).toBe(422);
    expect(expressionsOf(unknownCategory)).toEqual(['Consent.provision.provision[0].class[0]']);
    // A period that ends before it starts is not valid R4 (per-1): refused before the Consent's own rules are read.
    const backwards = await plans.post(AILSA_LP, '/fhir/Consent', consent('Patient/demo-child-1', [{ actor: `Organization/${EDUCATION}`, period: { start: '2027-01-01', end: '2026-01-01' } }]));
    expect(backwards.status).toBe(422);
    expect(expressionsOf(backwards)).toEqual(['Consent.provision.provision[0].period']);
    const unknown = await plans.post(AILSA_LP, '/fhir/Consent', consent('Patient/nobody-at-all', [{ actor: `Organization/${EDUCATION}` }]));
    expect(unknown.status).toBe(422);
  });

  it("refuses a period R4's per-1 lets through but the consent decision cannot honour: a grant that could never open anything, an end it could not read", async () => {
    const refusal = async (period: { start?: string; end?: string }) => {
      const res = await plans.post(AILSA_LP, '/fhir/Consent', consent('Patient/demo-child-1', [{ actor: `Organization/${EDUCATION}`, period }]));
      const issues = (res.body as OperationOutcome).issue ?? [];
      return { status: res.status, codes: issues.map((i) => i.code), expressions: issues.flatMap((i) => i.expression ?? []), text: issues.map((i) => i.details?.text ?? '').join(' ') };
    };
    // per-1 compares a date with a zoned dateTime over every zone (±14 h), so this passes it; the consent decision reads
    // dates as UTC days, where the grant would start after it ended and so never apply.
    const neverOpen = await refusal({ start: '2027-01-02', end: '2027-01-01T20:00:00Z' });
    expect(neverOpen).toMatchObject({ status: 422, codes: ['business-rule'], expressions: ['Consent.provision.provision[0].period'] });
    expect(neverOpen.text).toContain('the period ends (2027-01-01T20:00:00Z) before it starts (2027-01-02)');
    // A leap second is a valid R4 dateTime: taken, and read as the last millisecond of its minute (the grant ended
    // then — long past, so it opens nothing for the tests after this one).
    expect((await refusal({ start: '2016-01-01', end: '2016-12-31T23:59:60Z' })).status).toBe(201);
    // Before its start it is refused like any end before its start (per-1 reads it the same way).
    const backwards = await refusal({ start: '2017-01-01T00:00:00Z', end: '2016-12-31T23:59:60Z' });
    expect(backwards.status).toBe(422);
    expect(backwards.expressions.join(' ')).toContain('Consent.provision.provision[0].period');
    // The same date and dateTime the other way round, and a one-day grant, are fine.
    expect((await refusal({ start: '2027-01-01T20:00:00Z', end: '2027-01-02' })).status).toBe(201);
    expect((await refusal({ start: '2027-01-01', end: '2027-01-01' })).status).toBe(201);
  });

  it('needs If-Match to change a Consent (428 without it, 412 on a stale version)', async () => {
    const c = await grant(consent('Patient/demo-child-1', [{ actor: 'Organization/children1st-edinburgh' }]));
    expect((await plans.put(AILSA_LP, `/fhir/Consent/${c.id}`, { ...c, status: 'inactive' })).status).toBe(428);
    expect((await plans.put(AILSA_LP, `/fhir/Consent/${c.id}`, { ...c, status: 'inactive' }, 'W/"9"')).status).toBe(412);
    const revoked = await plans.put(AILSA_LP, `/fhir/Consent/${c.id}`, { ...c, status: 'inactive' }, 'W/"1"');
    expect(revoked.status).toBe(200);
    expect(criteriaOfEvent((await plans.mpi.auditOf(revoked)))).toEqual(['PD-L5']);
    const history = await plans.get(AILSA_LP, `/fhir/Consent/${c.id}/_history`);
    expect((history.body as Bundle).total).toBe(2);
  });
});

describe('default deny, grant, revoke', () => {
  it('education sees nothing without a Consent (answered as an unknown id), sees the plan once granted, and is refused on the very next request after revocation — same token', async () => {
    const plan = await createPlan(AILSA, 'Ailsa: the plan education waits for');
    const before = await plans.get(EDUCATION, `/fhir/CarePlan/${plan.id}`);
    expect(answerWithoutId(before, plan.id!)).toEqual(answerWithoutId(await plans.get(EDUCATION, '/fhir/CarePlan/no-such-plan'), 'no-such-plan'));
    expect(before.status).toBe(404);
    expect(criteriaOfEvent((await plans.mpi.auditOf(before)))).toContain('PD-L5');

    const c = await grant(consent('Patient/demo-child-1', [{ actor: `Organization/${EDUCATION}`, classes: ['plans'] }]));
    const read = await plans.get(EDUCATION, `/fhir/CarePlan/${plan.id}`);
    expect(read.status).toBe(200);
    // One record: the read itself carries its consent decision (BALP AuthZconsent's content) and the disclosure.
    const events = await trailOf(read);
    expect(events).toHaveLength(1);
    const [record] = events;
    expect(record!.outcome).toBe('0');
    expect(record!.subtype?.map((s) => s.code)).toEqual(['read', 'AuthZ-Consent', 'disclose']);
    expect(decisionsOf(record!)).toEqual([{ reference: `CarePlan/${plan.id}`, decision: 'permit', basis: 'consent', consent: `Consent/${c.id}` }]);
    expect(record!.entity?.some((e) => e.what?.reference === `Consent/${c.id}` && e.type?.code === 'Consent')).toBe(true);
    expect(criteriaOfEvent(record!)).toContain('PD-L5');
    expect(record!.agent?.some((a) => a.who?.reference === `Organization/${EDUCATION}` && a.type?.coding?.[0]?.code === '110152')).toBe(true);

    const revoked = await plans.put(AILSA_LP, `/fhir/Consent/${c.id}`, { ...c, status: 'inactive' }, 'W/"1"');
    expect(revoked.status).toBe(200);
    const deniedBefore = await consentDenials();
    const after = await plans.get(EDUCATION, `/fhir/CarePlan/${plan.id}`);
    expect(after.status).toBe(404);
    // Counted as a consent denial in the service's metrics (the performance evidence, SI-L4), not hidden among 404s.
    expect(await consentDenials()).toBe(deniedBefore + 1);
    const [denial, ...more] = await trailOf(after);
    expect(more).toEqual([]);
    expect(denial!.outcome).toBe('4');
    expect(decisionsOf(denial!)).toEqual([{ reference: `CarePlan/${plan.id}`, decision: 'deny', basis: 'no-consent' }]);
    expect(criteriaOfEvent(denial!)).toContain('PD-L5');
  });

  it('a narrowed Consent (assessments only) no longer opens plans', async () => {
    const plan = await createPlan(AILSA, 'Ailsa: narrowing');
    const c = await grant(consent('Patient/demo-child-1', [{ actor: 'Organization/gp-leith-cluster', classes: ['plans', 'assessments'] }]));
    expect((await plans.get('gp-leith-cluster', `/fhir/CarePlan/${plan.id}`)).status).toBe(200);
    const narrowed = consent('Patient/demo-child-1', [{ actor: 'Organization/gp-leith-cluster', classes: ['assessments'] }], { id: c.id! });
    expect((await plans.put(AILSA_LP, `/fhir/Consent/${c.id}`, narrowed, 'W/"1"')).status).toBe(200);
    expect((await plans.get('gp-leith-cluster', `/fhir/CarePlan/${plan.id}`)).status).toBe(404);
  });
});

describe('a grant to one practitioner, for a period', () => {
  it('opens the plan to the practitioner role it names and not to the rest of their agency; once its period has ended it opens nothing until it is extended', async () => {
    const plan = await createPlan(AILSA, 'Ailsa: for her guidance teacher');
    const path = `/fhir/CarePlan/${plan.id}`;
    const teacher = { agency: EDUCATION, role: 'role-aileen-fraser' };
    const colleague = { agency: EDUCATION, role: 'role-callum-stewart' };
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const ended = await grant(consent('Patient/demo-child-1', [{ actor: 'PractitionerRole/role-aileen-fraser', classes: ['plans'], period: { start: '2026-01-01', end: yesterday } }]));
    expect((await plans.get(teacher, path)).status).toBe(404);

    const extended = consent('Patient/demo-child-1', [{ actor: 'PractitionerRole/role-aileen-fraser', classes: ['plans'], period: { start: '2026-01-01', end: '2099-12-31' } }], { id: ended.id! });
    expect((await plans.put(AILSA_LP, `/fhir/Consent/${ended.id}`, extended, 'W/"1"')).status).toBe(200);
    expect((await plans.get(teacher, path)).status).toBe(200);
    expect((await plans.get(colleague, path)).status).toBe(404);
    expect((await plans.get(EDUCATION, path)).status).toBe(404);

    expect((await plans.put(AILSA_LP, `/fhir/Consent/${ended.id}`, { ...extended, status: 'inactive' }, 'W/"2"')).status).toBe(200);
    expect((await plans.get(teacher, path)).status).toBe(404);
  });
});

describe('one decision on every read path', () => {
  it('opens vread, _history, $diff, $render, search and $chronology with the grant, and closes every one of them on the very next request after revocation — the same token', async () => {
    const plan = await createPlan(AILSA, 'Ailsa: every path');
    const path = `/fhir/CarePlan/${plan.id}`;
    const ailsa = encodeURIComponent('https://fhir.infoshare.scot/id/patient/edinburgh-social-work|demo-child-1');
    const reads = [path, `${path}/_history/1`, `${path}/_history`, `${path}/$diff?from=1&to=1`, `${path}/$render?format=html`];
    /** What education sees of the plan on each path: the status of each read, whether search and chronology show it. */
    const seen = async () => {
      const statuses = await Promise.all(reads.map(async (p) => (await plans.get(EDUCATION, p)).status));
      const search = (await plans.get(EDUCATION, `/fhir/CarePlan?subject:identifier=${ailsa}&_count=100`)).body as Bundle;
      const chronology = (await plans.get(EDUCATION, `/fhir/Patient/$chronology?identifier=${ailsa}`)).body as { entry?: { item?: { reference?: string } }[] };
      return {
        statuses,
        inSearch: (search.entry ?? []).some((e) => e.resource?.id === plan.id),
        inChronology: (chronology.entry ?? []).some((e) => e.item?.reference?.startsWith(`CarePlan/${plan.id}/`)),
      };
    };

    const c = await grant(consent('Patient/demo-child-1', [{ actor: `Organization/${EDUCATION}`, classes: ['plans', 'chronology'] }]));
    expect(await seen()).toEqual({ statuses: [200, 200, 200, 200, 200], inSearch: true, inChronology: true });

    expect((await plans.put(AILSA_LP, `/fhir/Consent/${c.id}`, { ...c, status: 'inactive' }, 'W/"1"')).status).toBe(200);
    expect(await seen()).toEqual({ statuses: [404, 404, 404, 404, 404], inSearch: false, inChronology: false });
  });
});

describe('across the partnership boundary, one hub serving both partnerships', () => {
  it('an agency of the other partnership reads the plan when the cross-boundary ISP and the Consent allow it (AP-L5, IM-L5), and not without the Consent', async () => {
    const plan = await createPlan(AILSA, 'Ailsa: shared with Fife');
    expect((await plans.get('fife-social-work', `/fhir/CarePlan/${plan.id}`)).status).toBe(404);
    await grant(consent('Patient/demo-child-1', [{ actor: 'Organization/fife-social-work', classes: ['plans'] }]));
    const read = await plans.get('fife-social-work', `/fhir/CarePlan/${plan.id}`);
    expect(read.status).toBe(200);
    expect(criteriaOfEvent(await plans.mpi.auditOf(read))).toEqual(expect.arrayContaining(['AP-L5', 'IM-L4', 'IM-L5']));
    // Within the partnership, a consented read shows no boundary crossing.
    await grant(consent('Patient/demo-child-1', [{ actor: 'Organization/gp-leith-cluster', classes: ['plans'] }]));
    const local = await plans.get('gp-leith-cluster', `/fhir/CarePlan/${plan.id}`);
    expect(local.status).toBe(200);
    expect(criteriaOfEvent(await plans.mpi.auditOf(local))).not.toContain('AP-L5');
  });
});

describe('searching under consent', () => {
  it('counts and pages only what the caller may see — never what was filtered', async () => {
    const nursing = 'lothian-community-nursing';
    for (let i = 0; i < 5; i++) await createPlan(AILSA, `Ailsa ${i}`);
    for (let i = 0; i < 4; i++) await createPlan(LEAH, `Leah ${i}`);
    await grant(consent('Patient/demo-child-1', [{ actor: `Organization/${nursing}`, classes: ['plans'] }]));
    const ailsaPlans = await plans.get('edinburgh-social-work', '/fhir/CarePlan?subject:identifier=https://fhir.infoshare.scot/id/patient/edinburgh-social-work|demo-child-1&_total=accurate');
    const expected = (ailsaPlans.body as Bundle).total!;

    const seen: string[] = [];
    let next: string | undefined = '/fhir/CarePlan?_count=2&_total=accurate';
    let pages = 0;
    while (next) {
      const res = await plans.get(nursing, next);
      expect(res.status).toBe(200);
      const page = res.body as Bundle;
      expect(page.total).toBe(expected);
      expect((page.entry ?? []).length).toBeLessThanOrEqual(2);
      for (const e of page.entry ?? []) {
        expect((e.resource as CarePlan).title).toMatch(/^Ailsa/);
        seen.push(e.resource!.id!);
      }
      const link = page.link?.find((l) => l.relation === 'next')?.url;
      next = link ? link.slice(link.indexOf('/fhir/')) : undefined;
      pages++;
    }
    expect(new Set(seen).size).toBe(expected);
    expect(pages).toBe(Math.ceil(expected / 2));
    const leahOnly = await plans.get(nursing, '/fhir/CarePlan?subject:identifier=https://fhir.infoshare.scot/id/patient/edinburgh-social-work|demo-child-3&_total=accurate');
    expect((leahOnly.body as Bundle).total).toBe(0);
  });
});

describe('break-glass', () => {
  const headers = (reason?: string) => ({ 'X-Purpose-Of-Use': 'BTG', ...(reason !== undefined ? { 'X-Break-Glass-Reason': reason } : {}) });
  const getWith = async (agency: string, path: string, extra: Record<string, string>) =>
    request(plans.app).get(path).set({ ...(await plans.auth(agency)), ...extra });

  it('lets A&E read with a stated reason, audited as break-glass', async () => {
    const plan = await createPlan(LEAH, 'Leah: emergency');
    const res = await getWith('rie-emergency', `/fhir/CarePlan/${plan.id}`, headers('unresponsive at the door, no history available'));
    expect(res.status).toBe(200);
    const [record] = authz(await trailOf(res));
    expect(record?.outcomeDesc).toContain('break-glass: unresponsive at the door');
    expect(record?.purposeOfEvent?.[0]?.coding?.[0]?.code).toBe('BTG');
    expect(decisionsOf(record!)).toEqual([{ reference: `CarePlan/${plan.id}`, decision: 'permit', basis: 'break-glass' }]);
  });

  it('refuses break-glass without a reason (400) and by an agency type not allowed it (403) before reading anything — the same answer for an unknown id — both audited', async () => {
    const plan = await createPlan(LEAH, 'Leah: refused glass');
    const noReason = await getWith('rie-emergency', `/fhir/CarePlan/${plan.id}`, headers());
    expect(noReason.status).toBe(400);
    expect(await plans.mpi.auditOf(noReason)).toBeDefined();
    const wrongType = await getWith('police-scotland-e-division', `/fhir/CarePlan/${plan.id}`, headers('looking for her'));
    expect(wrongType.status).toBe(403);
    expect(issueText(wrongType.body)).toContain('A&E and out-of-hours');
    expect(criteriaOfEvent((await plans.mpi.auditOf(wrongType)))).toEqual(['SI-L3']);
    const unknown = await getWith('police-scotland-e-division', '/fhir/CarePlan/no-such-plan', headers('looking for her'));
    expect(answerWithoutId(unknown, 'no-such-plan')).toEqual(answerWithoutId(wrongType, plan.id!));
  });
});

describe("the person's own access", () => {
  const asAilsa = async () => ({ Authorization: `Bearer ${await plans.mpi.dir.token('nhs-lothian', { patient: 'demo-child-1' })}` });

  it('reads her own plan with a patient token; anyone else\'s is answered as an unknown id (404), audited with the reason', async () => {
    const own = await createPlan(AILSA, 'Ailsa: her own');
    const other = await createPlan(LEAH, 'Leah: not Ailsa\'s');
    const mine = await request(plans.app).get(`/fhir/CarePlan/${own.id}`).set(await asAilsa());
    expect(mine.status).toBe(200);
    const theirs = await request(plans.app).get(`/fhir/CarePlan/${other.id}`).set(await asAilsa());
    const unknown = await request(plans.app).get('/fhir/CarePlan/no-such-plan').set(await asAilsa());
    expect(theirs.status).toBe(404);
    expect(answerWithoutId(theirs, other.id!)).toEqual(answerWithoutId(unknown, 'no-such-plan'));
    expect((await plans.mpi.auditOf(theirs))?.outcomeDesc).toContain('own record');
  });

  it('adds her views to her plan as a new version the team reads, authored by her; never to someone else\'s', async () => {
    const own = await createPlan(AILSA, 'Ailsa: with my views');
    const other = await createPlan(LEAH, 'Leah: not for Ailsa');
    const views = { resourceType: 'Parameters', parameter: [{ name: 'views', valueString: 'I like nursery on Tuesdays.' }] };
    const added = await request(plans.app).post(`/fhir/CarePlan/${own.id}/$add-views`).set(await asAilsa()).type('application/fhir+json').send(JSON.stringify(views));
    expect(added.status).toBe(200);
    expect(criteriaOfEvent((await plans.mpi.auditOf(added)))).toEqual(expect.arrayContaining(['PC-L4']));
    const seen = await plans.get('edinburgh-social-work', `/fhir/CarePlan/${own.id}`);
    const plan = seen.body as CarePlan;
    expect(plan.meta?.versionId).toBe('2');
    expect(plan.note?.at(-1)).toMatchObject({ authorReference: { reference: 'Patient/demo-child-1' }, text: 'I like nursery on Tuesdays.' });
    const refused = await request(plans.app).post(`/fhir/CarePlan/${other.id}/$add-views`).set(await asAilsa()).type('application/fhir+json').send(JSON.stringify(views));
    expect(refused.status).toBe(404);
    expect((await plans.get('edinburgh-social-work', `/fhir/CarePlan/${other.id}`)).body).toMatchObject({ meta: { versionId: '1' } });
  });

  it('lists the Consents her Named Person / Lead Professional granted about her, and is given nobody else\'s', async () => {
    const granted = await grant(consent('Patient/demo-child-1', [{ actor: `Organization/${EDUCATION}`, classes: ['assessments'] }]));
    const listed = await request(plans.app).get('/fhir/Consent?patient=Patient/demo-child-1').set(await asAilsa());
    expect(listed.status).toBe(200);
    expect(((listed.body as Bundle).entry ?? []).map((e) => e.resource?.id)).toContain(granted.id);
    const own = await request(plans.app).get(`/fhir/Consent/${granted.id}`).set(await asAilsa());
    expect([own.status, (own.body as Consent).id]).toEqual([200, granted.id]);
    // Someone else's Consents are answered as an unknown person's: never whether they are known.
    const theirs = await request(plans.app).get('/fhir/Consent?patient=Patient/demo-child-3').set(await asAilsa());
    const nobody = await request(plans.app).get('/fhir/Consent?patient=Patient/no-such-child').set(await asAilsa());
    expect([theirs.status, (theirs.body as OperationOutcome).resourceType]).toEqual([404, 'OperationOutcome']);
    expect(answerWithoutId(theirs, 'demo-child-3')).toEqual(answerWithoutId(nobody, 'no-such-child'));
    expect((await plans.put(AILSA_LP, `/fhir/Consent/${granted.id}`, { ...granted, status: 'inactive' }, 'W/"1"')).status).toBe(200);
  });

  it('reads her own chronology; someone else\'s is answered as an unknown person (404)', async () => {
    const mine = await request(plans.app).get('/fhir/Patient/$chronology?identifier=https://fhir.infoshare.scot/id/patient/edinburgh-social-work|demo-child-1').set(await asAilsa());
    expect([mine.status, mine.body.resourceType]).toEqual([200, 'List']);
    const theirs = await request(plans.app).get('/fhir/Patient/$chronology?identifier=https://fhir.infoshare.scot/id/patient/edinburgh-social-work|demo-child-3').set(await asAilsa());
    const nobody = await request(plans.app).get('/fhir/Patient/$chronology?identifier=https://fhir.infoshare.scot/id/patient/edinburgh-social-work|no-such-child').set(await asAilsa());
    expect(theirs.status).toBe(404);
    expect(answerWithoutId(theirs, 'demo-child-3')).toEqual(answerWithoutId(nobody, 'no-such-child'));
  });

  it('asks for her chronology without naming herself: the token speaks for her; an agency must name the person (400)', async () => {
    const named = await request(plans.app).get('/fhir/Patient/$chronology?identifier=https://fhir.infoshare.scot/id/patient/edinburgh-social-work|demo-child-1').set(await asAilsa());
    const own = await request(plans.app).get('/fhir/Patient/$chronology').set(await asAilsa());
    expect([own.status, own.body.resourceType]).toEqual([200, 'List']);
    expect(own.body.subject).toEqual({ reference: 'Patient/demo-child-1' });
    expect(own.body.entry).toEqual(named.body.entry);
    const agency = await plans.get('edinburgh-social-work', '/fhir/Patient/$chronology');
    expect(agency.status).toBe(400);
    expect(agency.body.issue[0].details.text).toMatch(/Name the person/);
  });

  it('sees who read her record and when (from the audit trail), not her own reads', async () => {
    const own = await createPlan(AILSA, 'Ailsa: who looked');
    await grant(consent('Patient/demo-child-1', [{ actor: 'Organization/children1st-edinburgh', classes: ['plans'] }]));
    expect((await plans.get('children1st-edinburgh', `/fhir/CarePlan/${own.id}`)).status).toBe(200);
    await request(plans.app).get(`/fhir/CarePlan/${own.id}`).set(await asAilsa());
    await plans.indexAudit();
    const res = await request(plans.app).get('/fhir/Patient/$accesses').set(await asAilsa());
    expect(res.status).toBe(200);
    const listed = accessesOf(res.body);
    const agencies = listed.map((a) => a.agency);
    expect(agencies).toContain('Organization/children1st-edinburgh');
    expect(agencies).not.toContain('Organization/nhs-lothian');
    // Each access once, not her own reads.
    expect(listed.filter((a) => a.agency === 'Organization/children1st-edinburgh').map((a) => a.what)).toEqual(['read']);
    expect(listed.every((a) => a.what !== 'AuthZ-Consent')).toBe(true);
  });

  it('sees an access however far back in the audit log it is (older than 20,000 later entries)', async () => {
    const own = await createPlan(AILSA, 'Ailsa: long ago');
    await grant(consent('Patient/demo-child-1', [{ actor: 'Organization/lothian-community-nursing', classes: ['plans'] }]));
    const read = await plans.get('lothian-community-nursing', `/fhir/CarePlan/${own.id}`);
    expect(read.status).toBe(200);
    // 20,500 later exchanges about other people.
    const later = Array.from({ length: 20_500 }, (_, i) => ({
      requestId: `later-${i}`,
      service: 'plans' as const,
      type: 'rest' as const,
      subtype: 'read',
      action: 'R' as const,
      outcome: '0' as const,
      agent: { agency: 'edinburgh-education' },
      subject: `Person/someone-else-${i % 50}`,
      entities: [],
      criteria: [],
    }));
    await plans.mpi.dir.deps.audit.recordMany!(later);
    await plans.indexAudit();
    const res = await request(plans.app).get('/fhir/Patient/$accesses').set(await asAilsa());
    expect(res.status).toBe(200);
    const nursing = accessesOf(res.body).filter((a) => a.agency === 'Organization/lothian-community-nursing');
    expect(nursing.map((a) => a.what)).toEqual(['read']);
    expect(Date.parse(nursing[0]!.when)).toBeLessThanOrEqual(Date.now());
  });

  it('is for the person themselves: an agency token is refused (403), audited', async () => {
    const res = await plans.get('edinburgh-social-work', '/fhir/Patient/$accesses');
    expect(res.status).toBe(403);
    expect((await plans.mpi.auditOf(res)).outcome).toBe('4');
  });

  it('is never given the agency system\'s own scopes', async () => {
    const res = await request(plans.app).post('/fhir/CarePlan').set(await asAilsa()).type('application/fhir+json').send(JSON.stringify(carePlan(subjectOf(AILSA))));
    expect(res.status).toBe(403);
  });
});

/** The accesses a `$accesses` answer lists, as plain rows. */
function accessesOf(body: unknown): { when: string; agency?: string; what?: string }[] {
  return (body as { parameter?: { part: { name: string; valueInstant?: string; valueString?: string; valueReference?: { reference: string } }[] }[] }).parameter?.map((p) => ({
    when: p.part.find((x) => x.name === 'when')?.valueInstant ?? '',
    agency: p.part.find((x) => x.name === 'agency')?.valueReference?.reference,
    what: p.part.find((x) => x.name === 'what')?.valueString,
  })) ?? [];
}
