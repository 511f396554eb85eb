/**
 * An alert's life after it is raised, against a real Redis: updates and the
 * close go to the raise's recipients; A&E looks the person up (by CHI, or by
 * its own identifier) and sees only what the ISP lets it see, each look-up
 * notifying the Named Person / Lead Professional's agency and readable at
 * `$accesses`; a raise through fhir-kit-client, over real HTTP.
 */
import type { Bundle, CareTeam, Flag, MessageHeader, OperationOutcome, Parameters } from 'fhir/r4.js';
import request from 'supertest';
import { fhirClient, fhirErrorResponse } from '../../shared/client/fhir.js';
import { listen, type Listening } from '../../shared/runtime/listen.js';
import { IdentifierSystems } from '../../shared/fhir/systems.js';
import { alertMessage, startTestAlerts, type TestAlerts } from '../../test/alerts.js';
import { criteriaOf } from '../../test/mpi.js';
import { consent, storeConsent } from '../../test/plans.js';
import { answerWithoutId } from '../../test/refusals.js';

let alerts: TestAlerts;
const CHI = '1403231206';

beforeAll(async () => {
  alerts = await startTestAlerts();
  await alerts.mpi.registered('edinburgh-social-work', 'demo-child-1', { given: ['Ailsa'], family: 'Morrison', birthDate: '2023-03-14', gender: 'female', postcode: 'EH6 8BN', chi: CHI });
  // A&E's own record of her, linked by CHI.
  await alerts.mpi.registered('rie-emergency', 'RIE-778', { given: ['Ailsa'], family: 'Morrison', birthDate: '2023-03-14', gender: 'female', postcode: 'EH6 8BN', chi: CHI });
});

afterAll(async () => {
  await alerts.close();
});

const statusOf = async (res: { headers: Record<string, string> }) => {
  const status = await alerts.get('edinburgh-social-work', new URL(res.headers['content-location']!).pathname);
  return (status.body as Parameters).parameter ?? [];
};
const recipientAgencies = (parameters: Parameters['parameter']) =>
  (parameters ?? []).filter((p) => p.name === 'recipient').map((p) => p.part?.find((q) => q.name === 'agency')?.valueReference?.reference);
const flagIdOf = (answer: unknown) => ((answer as Bundle).entry?.[0]?.resource as MessageHeader).focus?.[0]?.reference?.split('/')[1];

describe('updating and closing an alert', () => {
  it('sends the update and the close to the agencies the raise went to, and refuses anything after the close', async () => {
    const raise = await alerts.post('edinburgh-social-work', alertMessage({ sender: 'edinburgh-social-work', flagId: 'cp-life-1', subject: { local: 'demo-child-1' }, destinations: ['rie-emergency', 'nhs-lothian'] }));
    expect(raise.status).toBe(200);
    const update = await alerts.post('edinburgh-social-work', alertMessage({ sender: 'edinburgh-social-work', flagId: 'cp-life-1', event: 'alert-updated', subject: { local: 'demo-child-1' }, detail: 'Plan reviewed' }));
    expect(update.status).toBe(200);
    expect(recipientAgencies(await statusOf(update)).sort()).toEqual(['Organization/nhs-lothian', 'Organization/rie-emergency']);
    const close = await alerts.post('edinburgh-social-work', alertMessage({ sender: 'edinburgh-social-work', flagId: 'cp-life-1', event: 'alert-closed', subject: { local: 'demo-child-1' } }));
    expect(close.status).toBe(200);
    expect(recipientAgencies(await statusOf(close)).sort()).toEqual(['Organization/nhs-lothian', 'Organization/rie-emergency']);
    const flag = await alerts.ctx.store.flag(flagIdOf(close.body)!);
    expect(flag?.status).toBe('inactive');
    expect((flag?.flag as Flag).period?.end).toBeDefined();

    const late = await alerts.post('edinburgh-social-work', alertMessage({ sender: 'edinburgh-social-work', flagId: 'cp-life-1', event: 'alert-updated', subject: { local: 'demo-child-1' } }));
    expect(late.status).toBe(409);
  });

  it('refuses raising the same alert twice, and updating one never raised', async () => {
    const first = await alerts.post('edinburgh-social-work', alertMessage({ sender: 'edinburgh-social-work', flagId: 'cp-life-2', subject: { local: 'demo-child-1' } }));
    expect(first.status).toBe(200);
    const twice = await alerts.post('edinburgh-social-work', alertMessage({ sender: 'edinburgh-social-work', flagId: 'cp-life-2', subject: { local: 'demo-child-1' } }));
    expect(twice.status).toBe(409);
    const never = await alerts.post('edinburgh-social-work', alertMessage({ sender: 'edinburgh-social-work', flagId: 'never-raised', event: 'alert-updated', subject: { local: 'demo-child-1' } }));
    expect(never.status).toBe(422);
  });
});

describe('the subject', () => {
  it('is found by CHI when the sender has not registered its own record of the person', async () => {
    const res = await alerts.post('edinburgh-social-work', alertMessage({ sender: 'edinburgh-social-work', subject: { local: 'SW-NOT-YET-77', chi: CHI } }));
    expect(res.status).toBe(200);
    const flag = await alerts.ctx.store.flag(flagIdOf(res.body)!);
    const [person] = await alerts.mpi.store.getLinks(['edinburgh-social-work.demo-child-1']);
    expect(flag?.personId).toBe(person?.personId);
  });

  it('is refused (422) when neither identifier names anyone, saying why for each', async () => {
    const res = await alerts.post('edinburgh-social-work', alertMessage({ sender: 'edinburgh-social-work', subject: { local: 'SW-NOBODY', chi: '0101010019' } }));
    expect(res.status).toBe(422);
    const text = JSON.stringify(res.body);
    expect(text).toContain('SW-NOBODY');
    expect(text).toContain('0101010019');
  });
});

describe('looking a person up', () => {
  let flagId: string;

  beforeAll(async () => {
    const raise = await alerts.post('edinburgh-social-work', alertMessage({ sender: 'edinburgh-social-work', flagId: 'cp-lookup', subject: { chi: CHI }, detail: 'Bruising noted at nursery' }));
    expect(raise.status).toBe(200);
    flagId = flagIdOf(raise.body)!;
  });

  it('shows A&E the active alerts about the person found by CHI, with the NP/LP, and notifies the NP/LP’s agency', async () => {
    // _format and _pretty, which every FHIR interaction takes, as a real client may send them.
    const res = await alerts.get('rie-emergency', `/fhir/Flag?subject=${encodeURIComponent(`${IdentifierSystems.chi}|${CHI}`)}&status=active&_format=json&_pretty=true`);
    expect(res.status).toBe(200);
    const bundle = res.body as Bundle;
    const flags = (bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource as Flag);
    expect(flags.map((f) => f.id)).toContain(flagId);
    expect(flags.every((f) => f.status === 'active')).toBe(true);
    const careTeams = (bundle.entry ?? []).filter((e) => e.search?.mode === 'include').map((e) => e.resource as CareTeam);
    expect(careTeams.length).toBeGreaterThan(0);
    expect(criteriaOf(await alerts.mpi.auditOf(res))).toEqual(expect.arrayContaining(['MA-L5', 'PD-L3']));

    const accesses = await alerts.get('edinburgh-social-work', `/fhir/Flag/${flagId}/$accesses`);
    expect(accesses.status).toBe(200);
    const first = (accesses.body as Parameters).parameter?.[0];
    expect(first?.part?.find((p) => p.name === 'agency')?.valueReference?.reference).toBe('Organization/rie-emergency');
    const notice = first?.part?.find((p) => p.name === 'notification')?.valueString;
    const message = await alerts.ctx.store.message(notice!);
    expect(message).toMatchObject({ kind: 'access', event: 'alert-accessed', sender: 'rie-emergency', recipients: ['edinburgh-social-work'] });
  });

  it('finds the same alerts by the looking agency’s own identifier', async () => {
    const res = await alerts.get('rie-emergency', `/fhir/Flag?subject=${encodeURIComponent('https://fhir.infoshare.scot/id/patient/rie-emergency|RIE-778')}`);
    expect(((res.body as Bundle).entry ?? []).map((e) => e.resource?.id)).toContain(flagId);
  });

  it('shows police nothing of a child-protection alert, and reading it by id is the 404 of an unknown id', async () => {
    const search = await alerts.get('police-scotland-e-division', `/fhir/Flag?subject=${encodeURIComponent(`${IdentifierSystems.chi}|${CHI}`)}`);
    expect(search.status).toBe(200);
    expect((search.body as Bundle).total).toBe(0);
    expect((search.body as Bundle).entry ?? []).toEqual([]);
    const read = await alerts.get('police-scotland-e-division', `/fhir/Flag/${flagId}`);
    const unknown = await alerts.get('police-scotland-e-division', '/fhir/Flag/flag-unknown');
    expect(read.status).toBe(404);
    expect(answerWithoutId(read, flagId)).toEqual(answerWithoutId(unknown, 'flag-unknown'));
    expect(criteriaOf(await alerts.mpi.auditOf(read))).toContain('SI-L3');
  });

  it('keeps the look-ups from anyone but the NP/LP’s agency and the sender: the 404 of an unknown id, audited as a denial', async () => {
    const res = await alerts.get('rie-emergency', `/fhir/Flag/${flagId}/$accesses`);
    expect(res.status).toBe(404);
    expect(answerWithoutId(res, flagId)).toEqual(answerWithoutId(await alerts.get('rie-emergency', '/fhir/Flag/flag-unknown/$accesses'), 'flag-unknown'));
    const audited = await alerts.mpi.auditOf(res);
    expect(criteriaOf(audited)).toContain('SI-L3');
    expect(audited.outcomeDesc).toContain('neither the sender nor');
  });

  it('refuses a search it cannot honour (400)', async () => {
    const res = await alerts.get('rie-emergency', '/fhir/Flag?patient=x');
    expect(res.status).toBe(400);
  });

  it("hides the alerts from an agency a Consent withholds the person's alerts from — search and read as if there were none, no access notified, audited as a consent denial", async () => {
    const byChi = `/fhir/Flag?subject=${encodeURIComponent(`${IdentifierSystems.chi}|${CHI}`)}`;
    const flagIds = async (agency: string) => ((await alerts.get(agency, byChi)).body as Bundle).entry?.filter((e) => e.search?.mode === 'match').map((e) => e.resource?.id) ?? [];
    const accessesBy = async (agency: string) =>
      ((await alerts.get('edinburgh-social-work', `/fhir/Flag/${flagId}/$accesses`)).body as Parameters).parameter?.filter((p) => p.part?.some((q) => q.name === 'agency' && q.valueReference?.reference === `Organization/${agency}`)).length ?? 0;
    expect(await flagIds('lueccs-ooh')).toContain(flagId);
    const lookedUp = await accessesBy('lueccs-ooh');

    const [link] = await alerts.mpi.store.getLinks(['edinburgh-social-work.demo-child-1']);
    await storeConsent(alerts.mpi.dir.redis, alerts.mpi.dir.keys, consent('Patient/demo-child-1', [{ actor: 'Organization/lueccs-ooh', classes: ['alerts'], type: 'deny' }], { id: 'withhold-alerts-from-ooh' }), link!.personId);

    const search = await alerts.get('lueccs-ooh', byChi);
    expect(search.status).toBe(200);
    expect((search.body as Bundle).entry ?? []).toEqual([]);
    expect((search.body as Bundle).total).toBe(0);
    const searched = await alerts.mpi.auditOf(search);
    expect(criteriaOf(searched)).toContain('PD-L5');
    expect(JSON.stringify(searched)).toContain('withhold-alerts-from-ooh');

    const consentDenials = async () => Number(/^infoshare_access_denials_total\{reason="consent"[^}]*\} (\d+)$/m.exec((await request(alerts.app).get('/metrics')).text)?.[1] ?? 0);
    const deniedBefore = await consentDenials();
    const read = await alerts.get('lueccs-ooh', `/fhir/Flag/${flagId}`);
    expect(read.status).toBe(404);
    // Counted as a consent denial in the service's metrics (SI-L4), not among the unknown ids' 404s.
    expect(await consentDenials()).toBe(deniedBefore + 1);
    expect(answerWithoutId(read, flagId)).toEqual(answerWithoutId(await alerts.get('lueccs-ooh', '/fhir/Flag/flag-unknown'), 'flag-unknown'));
    const readAudit = await alerts.mpi.auditOf(read);
    expect(readAudit.outcomeDesc).toContain('consent withholds');
    expect(criteriaOf(readAudit)).toEqual(expect.arrayContaining(['PD-L5', 'SI-L3']));
    // Nothing was shown, so nothing was looked up: the NP/LP is not told of a look-up that found nothing.
    expect(await accessesBy('lueccs-ooh')).toBe(lookedUp);

    // The Consent names out-of-hours only: A&E and the sender still see the alert.
    expect(await flagIds('rie-emergency')).toContain(flagId);
    expect((await alerts.get('edinburgh-social-work', `/fhir/Flag/${flagId}`)).status).toBe(200);
  });
});

describe('a real FHIR client', () => {
  let server: Listening;

  beforeAll(async () => {
    server = await listen(alerts.app, 0, '127.0.0.1');
  });

  afterAll(async () => {
    await server.close();
  });

  it('raises an alert with fhir-kit-client and reads the delivery status and the alert back', async () => {
    const base = `http://127.0.0.1:${server.port}/fhir`;
    const client = fhirClient(base, await alerts.mpi.token('edinburgh-social-work'));
    const answer = (await client.operation({ name: 'process-message', input: { ...alertMessage({ sender: 'edinburgh-social-work', subject: { local: 'demo-child-1' } }) } })) as unknown as Bundle;
    const header = answer.entry?.[0]?.resource as MessageHeader;
    expect(header.response?.code).toBe('ok');
    const messageId = (answer.entry?.[1]?.resource as OperationOutcome).issue[0]?.diagnostics;
    const status = (await client.operation({ name: `delivery-status/${messageId ?? ''}`, method: 'GET' })) as unknown as Parameters;
    expect(status.parameter?.find((p) => p.name === 'message')?.valueString).toBe(messageId);

    const refused = await client.operation({ name: 'process-message', input: { resourceType: 'Bundle', type: 'collection' } }).catch((err: unknown) => fhirErrorResponse(err));
    expect(refused).toMatchObject({ status: 400, data: { resourceType: 'OperationOutcome' } });
  });
});
