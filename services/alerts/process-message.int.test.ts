/**
 * Raising an alert through `POST /fhir/$process-message` against a real Redis:
 * accepted (the message and a delivery per ISP-routed agency written together,
 * one BullMQ job each), answered with a response message and a status URL,
 * idempotent per sender and MessageHeader.id; and refused, audited, with
 * nothing accepted, when it should be.
 */
import type { Bundle, CapabilityStatement, Flag, MessageHeader, OperationOutcome, Parameters, Patient } from 'fhir/r4.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import request from 'supertest';
import { PROJECT_ROOT } from '../../shared/config.js';
import { Extensions } from '../../shared/fhir/systems.js';
import { readDemoAgencySigningKey } from '../../fixtures/keys/demo-keys.js';
import { CLIENT_ASSERTION_TYPE } from '../../shared/auth/client-assertion.js';
import { signClientAssertion } from '../../shared/client/client-assertion.js';
import { readAuditTrailOf } from '../../shared/audit/audit-client.js';
import { requestDetailsOfEvent } from '../../shared/audit/audit-event.js';
import { criteriaOf } from '../../test/mpi.js';
import { alertMessage, startTestAlerts, type TestAlerts } from '../../test/alerts.js';
import { answerWithoutId } from '../../test/refusals.js';
import { DELIVERIES_QUEUE, type DeliveryJobData } from './workers/deliveries.js';
import { openQueue } from '../../shared/queue/queues.js';

let alerts: TestAlerts;

beforeAll(async () => {
  alerts = await startTestAlerts();
  // Social work's record of Ailsa (the directory's CareTeam names her demo-child-1), with her CHI.
  await alerts.mpi.registered('edinburgh-social-work', 'demo-child-1', {
    given: ['Ailsa'],
    family: 'Morrison',
    birthDate: '2023-03-14',
    gender: 'female',
    postcode: 'EH6 8BN',
    chi: '1403231206',
  });
});

afterAll(async () => {
  await alerts.close();
});

const recipientsOf = (status: Parameters) =>
  (status.parameter ?? [])
    .filter((p) => p.name === 'recipient')
    .map((p) => ({
      agency: p.part?.find((q) => q.name === 'agency')?.valueReference?.reference,
      state: p.part?.find((q) => q.name === 'state')?.valueCode,
      sequence: p.part?.find((q) => q.name === 'sequence')?.valueInteger,
    }));

const outcomeText = (res: { body: unknown }) => ((res.body as OperationOutcome).issue ?? []).map((i) => i.details?.text ?? '').join(' ');

describe('raising an alert', () => {
  it('accepts a child-protection alert, routes it to every agency the ISP allows and queues one delivery each', async () => {
    const message = alertMessage({ sender: 'edinburgh-social-work', subject: { local: 'demo-child-1' } });
    const res = await alerts.post('edinburgh-social-work', message);
    expect(res.status).toBe(200);
    const answer = res.body as Bundle;
    const header = answer.entry?.[0]?.resource as MessageHeader;
    expect(answer.type).toBe('message');
    expect(header.response).toMatchObject({ identifier: (message.entry?.[0]?.resource as MessageHeader).id, code: 'ok' });
    const statusUrl = res.headers['content-location'] as string;
    const messageId = statusUrl.split('/$delivery-status/')[1]!;
    expect(messageId).toMatch(/^msg-/);

    const status = await alerts.get('edinburgh-social-work', new URL(statusUrl).pathname);
    expect(status.status).toBe(200);
    // CP-IS: child protection goes to unscheduled care and the NHS board — never police, fire or education — and across to Fife's A&E and out-of-hours.
    expect(recipientsOf(status.body as Parameters).map((r) => r.agency).sort()).toEqual(
      ['lueccs-ooh', 'nhs-lothian', 'rie-emergency', 'vhk-emergency'].map((a) => `Organization/${a}`),
    );
    expect(recipientsOf(status.body as Parameters).every((r) => r.state === 'pending' && r.sequence === 1)).toBe(true);

    const queue = openQueue(alerts.mpi.dir.deps, DELIVERIES_QUEUE);
    try {
      const job = await queue.getJob(`${messageId}~nhs-lothian`);
      expect(job?.data).toEqual({ origin: expect.objectContaining({ requestId: res.headers['x-request-id'] }), messageId, agencyId: 'nhs-lothian' });
    } finally {
      await queue.close();
    }
    expect(await alerts.ctx.store.unqueued()).toEqual([]);
    const audit = await alerts.mpi.auditOf(res);
    expect(criteriaOf(audit)).toEqual(expect.arrayContaining(['IM-L4', 'IM-L5', 'PD-L4']));
    // Accepted is not yet delivered: the deliveries claim MA-L3/L4/L5 as their recipients acknowledge.
    expect(criteriaOf(audit).filter((c) => c.startsWith('MA-'))).toEqual([]);
  });

  it('answers a re-sent message with the same answer and never accepts a second alert', async () => {
    const message = alertMessage({ sender: 'edinburgh-social-work', subject: { local: 'demo-child-1' } });
    const first = await alerts.post('edinburgh-social-work', message);
    const again = await alerts.post('edinburgh-social-work', message);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(again.headers['content-location']).toBe(first.headers['content-location']);
    const status = await alerts.get('edinburgh-social-work', new URL(first.headers['content-location'] as string).pathname);
    // One delivery each: the nhs-lothian sequence moved once for this message.
    expect(recipientsOf(status.body as Parameters).find((r) => r.agency === 'Organization/nhs-lothian')?.sequence).toBe(2);
  });

  it('records the acceptance once — its exchange record (200, committed with the acceptance) beside its change record — and a re-sent message once more as a repeat', async () => {
    const message = alertMessage({ sender: 'edinburgh-social-work', subject: { local: 'demo-child-1' } });
    const first = await alerts.post('edinburgh-social-work', message);
    const again = await alerts.post('edinburgh-social-work', message);
    expect([first.status, again.status]).toEqual([200, 200]);
    // The acceptance's records (its change and the request's own) wait in the {alerts} audit outbox until the relay moves
    // them; the repeat's record is written to the audit stream as it is answered.
    await alerts.ctx.relay.flush();
    const trail = async (res: request.Response) => {
      const events = await readAuditTrailOf(alerts.mpi.dir.redis, alerts.mpi.dir.keys, res.headers['x-request-id'] as string);
      // The request's own records: its HTTP exchange and its change (its deliveries' attempts, recorded under the same request id, aside).
      return events
        .map((e) => {
          const { trigger, status } = requestDetailsOfEvent(e);
          return { subtype: e.subtype?.at(-1)?.code, outcome: e.outcome, criteria: criteriaOf(e).sort(), trigger, status };
        })
        .filter((e) => (e.trigger === undefined && e.subtype?.startsWith('$process-message')) || (e.trigger === 'change' && e.subtype === 'alert-raised'))
        .map(({ subtype, outcome, criteria, status }) => ({ subtype, outcome, criteria, ...(status ? { status } : {}) }));
    };
    expect(await trail(first)).toEqual(
      expect.arrayContaining([
        { subtype: 'alert-raised', outcome: '0', criteria: [] },
        { subtype: '$process-message', outcome: '0', criteria: ['IM-L4', 'IM-L5', 'PD-L4'], status: '200' },
      ]),
    );
    expect(await trail(first)).toHaveLength(2);
    // The repeat wrote nothing in the accept script: its one record is written as it is answered, claiming nothing.
    expect(await trail(again)).toEqual([{ subtype: '$process-message (repeat)', outcome: '0', criteria: [], status: '200' }]);
  });

  it('fills in the Named Person / Lead Professional from the directory when the message has none, and says so', async () => {
    const res = await alerts.post('edinburgh-social-work', alertMessage({ sender: 'edinburgh-social-work', subject: { local: 'demo-child-1' }, careTeam: null }));
    expect(res.status).toBe(200);
    const texts = JSON.stringify(res.body);
    expect(texts).toContain('filled them in from the directory');
  });

  it('narrows the recipients to the destinations named, and refuses a destination the ISP does not allow', async () => {
    const narrowed = await alerts.post('edinburgh-social-work', alertMessage({ sender: 'edinburgh-social-work', subject: { local: 'demo-child-1' }, destinations: ['rie-emergency'] }));
    expect(narrowed.status).toBe(200);
    const status = await alerts.get('edinburgh-social-work', new URL(narrowed.headers['content-location'] as string).pathname);
    expect(recipientsOf(status.body as Parameters).map((r) => r.agency)).toEqual(['Organization/rie-emergency']);

    const widened = await alerts.post(
      'edinburgh-social-work',
      alertMessage({ sender: 'edinburgh-social-work', subject: { local: 'demo-child-1' }, destinations: ['rie-emergency', 'police-scotland-e-division'] }),
    );
    expect(widened.status).toBe(403);
    expect(outcomeText(widened)).toContain('police-scotland-e-division');
  });

  it('resolves the subject by the identifier system the directory gives the sender now, not the one it gave for its last alert', async () => {
    // An alert first, so the partnership as last read (on which the accept starts its subject read early) has the old system.
    expect((await alerts.post('edinburgh-social-work', alertMessage({ sender: 'edinburgh-social-work', subject: { local: 'demo-child-1' } }))).status).toBe(200);
    const org = await alerts.mpi.dir.store.read('Organization', 'edinburgh-social-work');
    const system = 'https://social-work.example.org/client-number';
    const others = (org.extension ?? []).filter((e) => e.url !== Extensions.patientIdentifierSystem);
    await alerts.mpi.dir.store.update({ ...org, extension: [...others, { url: Extensions.patientIdentifierSystem, valueUri: system }] });
    try {
      // The Patient also carries an identifier in the old system, of no one the index knows: read by it, a 422.
      const message = alertMessage({ sender: 'edinburgh-social-work', subject: { local: 'NOT-REGISTERED-EITHER' } });
      const patient = message.entry!.find((e) => e.resource?.resourceType === 'Patient')!.resource as Patient;
      patient.identifier = [{ system, value: 'demo-child-1' }, ...(patient.identifier ?? [])];
      const res = await alerts.post('edinburgh-social-work', message);
      expect(res.status).toBe(200);
      // Under the new system the old one's identifier is not the sender's own (and there is no CHI): a 422.
      const old = alertMessage({ sender: 'edinburgh-social-work', subject: { local: 'demo-child-1' } });
      expect((await alerts.post('edinburgh-social-work', old)).status).toBe(422);
    } finally {
      await alerts.mpi.dir.store.update(org);
    }
  });

  it('shows the delivery status to the sender only', async () => {
    const res = await alerts.post('edinburgh-social-work', alertMessage({ sender: 'edinburgh-social-work', subject: { local: 'demo-child-1' } }));
    const path = new URL(res.headers['content-location'] as string).pathname;
    const other = await alerts.get('nhs-lothian', path);
    expect(other.status).toBe(404);
    const never = await alerts.get('nhs-lothian', '/fhir/$delivery-status/msg-never-sent');
    expect(answerWithoutId(other, path.split('/').pop()!)).toEqual(answerWithoutId(never, 'msg-never-sent'));
    expect(criteriaOf(await alerts.mpi.auditOf(other))).toContain('SI-L3');
  });
});

describe('refusing an alert message', () => {
  it('refuses a body that is not a message Bundle (400)', async () => {
    const res = await alerts.post('edinburgh-social-work', { resourceType: 'Bundle', type: 'collection', entry: [] });
    expect(res.status).toBe(400);
    expect((res.body as OperationOutcome).resourceType).toBe('OperationOutcome');
    expect(await alerts.mpi.auditOf(res)).toBeDefined();
  });

  it('refuses a message whose sender is another agency than the token’s (403)', async () => {
    const res = await alerts.post('nhs-lothian', alertMessage({ sender: 'edinburgh-social-work', subject: { local: 'demo-child-1' } }));
    expect(res.status).toBe(403);
    expect(outcomeText(res)).toContain('edinburgh-social-work');
  });

  it('refuses a message claiming another sender before judging its shape: 403, not 422, for one that is not valid R4 too', async () => {
    const message = alertMessage({ sender: 'edinburgh-social-work', subject: { local: 'demo-child-1' } });
    (message.entry![1]!.resource as unknown as Record<string, unknown>).status = 'banana';
    const res = await alerts.post('nhs-lothian', message);
    expect(res.status).toBe(403);
    expect(outcomeText(res)).toContain('edinburgh-social-work');
    expect(criteriaOf(await alerts.mpi.auditOf(res))).toEqual(['SI-L3']);
  });

  it('refuses an alert without NP/LP details when the directory knows none for the person (422, PD-L4)', async () => {
    await alerts.mpi.registered('edinburgh-social-work', 'SW-NO-NPLP', { given: ['Callum'], family: 'Baxter', birthDate: '2015-06-01', gender: 'male', postcode: 'EH7 4AA' });
    const res = await alerts.post('edinburgh-social-work', alertMessage({ sender: 'edinburgh-social-work', subject: { local: 'SW-NO-NPLP' }, careTeam: null }));
    expect(res.status).toBe(422);
    expect(outcomeText(res)).toContain('Named Person / Lead Professional');
    expect(criteriaOf(await alerts.mpi.auditOf(res))).toEqual(['PD-L4']);
  });

  it('refuses an alert about a subject the index does not know (422)', async () => {
    const res = await alerts.post('edinburgh-social-work', alertMessage({ sender: 'edinburgh-social-work', subject: { local: 'NOT-REGISTERED' } }));
    expect(res.status).toBe(422);
    expect(outcomeText(res)).toContain('NOT-REGISTERED');
  });
});

/** An agency of the directory that is party to no ISP (created on first use), with a valid access token. */
let outsiderToken: string | undefined;
async function postAsOutsider(body: unknown): Promise<request.Response> {
  if (!outsiderToken) {
    const org = await alerts.mpi.dir.store.read('Organization', 'children1st-edinburgh');
    await alerts.mpi.dir.store.create({ ...org, id: 'outsider-trust', name: 'Outsider Trust', endpoint: undefined });
    const assertion = signClientAssertion({ clientId: 'outsider-trust', tokenUrl: alerts.config.token.tokenUrl, key: readDemoAgencySigningKey('children1st-edinburgh') });
    const token = await request(alerts.mpi.dir.app)
      .post('/auth/token')
      .type('form')
      .send({ grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion });
    expect(token.status).toBe(200);
    outsiderToken = (token.body as { access_token: string }).access_token;
  }
  return request(alerts.app).post('/fhir/$process-message').set({ Authorization: `Bearer ${outsiderToken}` }).type('application/fhir+json').send(JSON.stringify(body));
}

describe('bad alert messages', () => {
  const valid = () => alertMessage({ sender: 'edinburgh-social-work', subject: { local: 'demo-child-1' } });

  it('refuses a message whose first entry is not a MessageHeader (400)', async () => {
    const message = valid();
    message.entry = message.entry!.slice(1);
    const res = await alerts.post('edinburgh-social-work', message);
    expect(res.status).toBe(400);
    expect(outcomeText(res)).toContain('MessageHeader');
  });

  it('refuses a message with a datatype invariant broken in an entry (a ContactPoint value without its system: cpt-2), naming where (422)', async () => {
    const message = valid();
    (message.entry![2]!.resource as unknown as Record<string, unknown>).telecom = [{ value: '0131 496 0000' }];
    const res = await alerts.post('edinburgh-social-work', message);
    expect(res.status).toBe(422);
    expect(outcomeText(res)).toContain('Constraint cpt-2 not met');
    expect(JSON.stringify(res.body)).toContain('Bundle.entry[2].resource.telecom[0]');
    (message.entry![2]!.resource as unknown as Record<string, unknown>).telecom = [{ system: 'phone', value: '0131 496 0000' }];
    expect((await alerts.post('edinburgh-social-work', message)).status).toBe(200);
  });

  it('refuses a message about no Flag, and one whose focus is not in the Bundle (422)', async () => {
    const noFlag = valid();
    noFlag.entry = noFlag.entry!.filter((e) => e.resource?.resourceType !== 'Flag');
    const res = await alerts.post('edinburgh-social-work', noFlag);
    expect(res.status).toBe(422);
    expect(outcomeText(res)).toContain('not in the Bundle');

    const patientFocus = valid();
    (patientFocus.entry![0]!.resource as MessageHeader).focus = [{ reference: 'Patient/subject' }];
    const wrong = await alerts.post('edinburgh-social-work', patientFocus);
    expect(wrong.status).toBe(422);
    expect(outcomeText(wrong)).toContain('must be a Flag');
  });

  it('refuses a message that is not valid R4, listing the problems (422)', async () => {
    const message = valid();
    (message.entry![1]!.resource as unknown as Record<string, unknown>).status = 'banana';
    const res = await alerts.post('edinburgh-social-work', message);
    expect(res.status).toBe(422);
    // An alert whose period ends before it starts (R4's per-1), validated on the service's worker thread like the rest.
    const backwards = valid();
    (backwards.entry![1]!.resource as Flag).period = { start: '2026-11-02', end: '2026-10-01' };
    const refused = await alerts.post('edinburgh-social-work', backwards);
    expect(refused.status).toBe(422);
    expect((refused.body as OperationOutcome).issue.flatMap((i) => i.expression ?? [])).toEqual(['Bundle.entry[1].resource.period']);
  });

  it('reads a leap second (`:60`) in an alert’s period: raised as sent, and an end before it refused as ending before it starts (422)', async () => {
    const leap = valid();
    (leap.entry![1]!.resource as Flag).period = { start: '2016-12-31T23:59:60Z' };
    const raised = await alerts.post('edinburgh-social-work', leap);
    expect(raised.status).toBe(200);
    const flagId = ((raised.body as Bundle).entry?.[0]?.resource as MessageHeader).focus?.[0]?.reference?.split('/')[1];
    const read = await alerts.get('edinburgh-social-work', `/fhir/Flag/${flagId}`);
    expect(read.status).toBe(200);
    // Read, not rewritten: the Flag keeps the instant its sender wrote.
    expect((read.body as Flag).period).toEqual({ start: '2016-12-31T23:59:60Z' });
    // The leap second is the last second of 2016, after 23:59:59 — so this period ends before it starts (R4's per-1).
    // Before 2026-12-07 `:60` read as no instant at all and this message was accepted.
    const backwards = valid();
    (backwards.entry![1]!.resource as Flag).period = { start: '2016-12-31T23:59:60Z', end: '2016-12-31T23:59:59Z' };
    const refused = await alerts.post('edinburgh-social-work', backwards);
    expect(refused.status).toBe(422);
    expect((refused.body as OperationOutcome).issue.flatMap((i) => i.expression ?? [])).toEqual(['Bundle.entry[1].resource.period']);
  });

  it('refuses a Bundle over the alerts body limit (413)', async () => {
    const message = valid();
    (message.entry![1]!.resource as Flag).code.text = 'x'.repeat(300 * 1024);
    const res = await alerts.post('edinburgh-social-work', message);
    expect(res.status).toBe(413);
    expect((res.body as OperationOutcome).resourceType).toBe('OperationOutcome');
    expect(await alerts.mpi.auditOf(res)).toBeDefined();
  });

  it('refuses raising without system/Flag.write (403)', async () => {
    const res = await alerts.post('edinburgh-social-work', valid(), 'system/Flag.read');
    expect(res.status).toBe(403);
    expect(criteriaOf(await alerts.mpi.auditOf(res))).toEqual(['SI-L3']);
  });

  it('refuses an agency that is party to no ISP (403), however valid its token', async () => {
    const res = await postAsOutsider(alertMessage({ sender: 'outsider-trust', subject: { local: 'X-1' } }));
    expect(res.status).toBe(403);
    expect(outcomeText(res)).toContain('not party to an Information Sharing Protocol');
    expect((await alerts.mpi.auditOf(res)).outcome).toBe('4');
  });

  // Authenticate → authorise (scope, ISP) → validate, as everywhere in the hub: a caller who may not raise alerts
  // learns nothing of how its message would have been judged — the same 403 for a good message and a bad one.
  describe('who may raise alerts is decided before the message is looked at', () => {
    const malformed = {
      'not a message Bundle': { resourceType: 'Bundle', type: 'collection', entry: [] },
      'a message without its MessageHeader': { ...valid(), entry: valid().entry!.slice(1) },
      'a message that is not valid R4': (() => {
        const message = valid();
        (message.entry![1]!.resource as unknown as Record<string, unknown>).status = 'banana';
        return message;
      })(),
      'not JSON object at all': ['an', 'array'],
    };

    it.each(Object.entries(malformed))('without system/Flag.write: %s is 403, as a valid message is', async (_what, body) => {
      const good = await alerts.post('edinburgh-social-work', valid(), 'system/Flag.read');
      const bad = await alerts.post('edinburgh-social-work', body, 'system/Flag.read');
      expect([good.status, bad.status]).toEqual([403, 403]);
      expect(outcomeText(bad)).toEqual(outcomeText(good));
      expect(criteriaOf(await alerts.mpi.auditOf(bad))).toEqual(['SI-L3']);
    });

    it.each(Object.entries(malformed))('from an agency party to no ISP: %s is 403, as a valid message is', async (_what, body) => {
      const good = await postAsOutsider(alertMessage({ sender: 'outsider-trust', subject: { local: 'X-1' } }));
      const bad = await postAsOutsider(body);
      expect([good.status, bad.status]).toEqual([403, 403]);
      expect(outcomeText(bad)).toEqual(outcomeText(good));
    });

    it('an acknowledgement needs no write scope: a malformed one is judged by its shape (400), not refused for the scope', async () => {
      const response = {
        resourceType: 'Bundle',
        type: 'collection',
        entry: [{ resource: { resourceType: 'MessageHeader', id: 'ack-1', response: { identifier: 'msg-x', code: 'ok' }, source: { endpoint: 'Organization/nhs-lothian' } } }],
      };
      const res = await alerts.post('nhs-lothian', response, 'system/Flag.read');
      expect(res.status).toBe(400);
      expect(outcomeText(res)).toContain('type "message"');
    });
  });

  it('accepts nothing for a refused message', async () => {
    const before = await alerts.mpi.dir.redis.keys(`${alerts.mpi.dir.keys.prefix}:{alerts}:msg:*`);
    await alerts.post('nhs-lothian', valid());
    await alerts.post('edinburgh-social-work', { ...valid(), type: 'collection' });
    const after = await alerts.mpi.dir.redis.keys(`${alerts.mpi.dir.keys.prefix}:{alerts}:msg:*`);
    expect(after.sort()).toEqual(before.sort());
  });
});

describe('nothing accepted is lost', () => {
  it('queues a delivery accepted whose job was never added (the service died in between)', async () => {
    const res = await alerts.post('edinburgh-social-work', alertMessage({ sender: 'edinburgh-social-work', subject: { local: 'demo-child-1' }, destinations: ['rie-emergency'] }));
    const accepted = (await alerts.ctx.store.message((res.headers['content-location'] as string).split('/$delivery-status/')[1]!))!;
    // The state a crash between the accept script and addBulk leaves: a message and its delivery, a marker, no job.
    const messageId = `${accepted.id}-crash`;
    const result = await alerts.ctx.store.accept({
      mode: 'access',
      message: { ...accepted, id: messageId, recipients: ['rie-emergency'], answer: null },
      changeRecord: { requestId: 'crash-test', service: 'alerts', agent: {}, type: 'rest', subtype: 'test', action: 'C', outcome: '0', entities: [], criteria: [] },
    });
    expect(result.kind).toBe('accepted');
    const queue = openQueue<DeliveryJobData, unknown>(alerts.mpi.dir.deps, DELIVERIES_QUEUE);
    try {
      expect(await queue.getJob(`${messageId}~rie-emergency`)).toBeUndefined();
      expect(await alerts.ctx.store.unqueued()).toEqual([`${messageId}~rie-emergency`]);
      expect(await alerts.ctx.deliveries.sweepUnqueued()).toBe(1);
      const job = await queue.getJob(`${messageId}~rie-emergency`);
      expect(job?.data).toEqual({ messageId, agencyId: 'rie-emergency', origin: accepted.origin });
      expect(await alerts.ctx.store.unqueued()).toEqual([]);
      // A second sweep finds nothing to do; adding the same delivery again queues nothing new.
      expect(await alerts.ctx.deliveries.sweepUnqueued()).toBe(0);
      await alerts.ctx.deliveries.addDeliveries([{ origin: accepted.origin, messageId, agencyId: 'rie-emergency' }]);
      const jobs = await queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized', 'waiting-children']);
      expect(jobs.filter((j) => j.id === `${messageId}~rie-emergency`)).toHaveLength(1);
    } finally {
      await queue.close();
    }
  });
});

describe('the acceptance and its audit records, one write', () => {
  it('commits the request’s own record with the acceptance, and neither when the script refuses the message', async () => {
    const res = await alerts.post('edinburgh-social-work', alertMessage({ sender: 'edinburgh-social-work', subject: { local: 'demo-child-1' }, destinations: ['rie-emergency'] }));
    const accepted = (await alerts.ctx.store.message((res.headers['content-location'] as string).split('/$delivery-status/')[1]!))!;
    const record = (requestId: string, subtype: string, httpStatus?: number) =>
      ({ requestId, service: 'alerts', agent: { agency: 'edinburgh-social-work' }, type: 'rest', subtype, action: 'C', outcome: '0', ...(httpStatus ? { httpStatus } : {}), entities: [], criteria: [] }) as const;
    const attempt = (requestId: string, messageId: string) =>
      alerts.ctx.store.accept({
        mode: 'access',
        message: { ...accepted, id: messageId, recipients: ['rie-emergency'], answer: null },
        changeRecord: record(requestId, 'change'),
        exchangeRecord: record(requestId, '$process-message', 200),
      });
    // Accepted: both records, the change's and the request's, in the outbox with it. The same message again: the script
    // refuses it (a repeat) and writes neither.
    expect((await attempt('one-write-1', `${accepted.id}-one-write`)).kind).toBe('accepted');
    expect((await attempt('one-write-2', `${accepted.id}-one-write`)).kind).toBe('repeat');
    await alerts.ctx.relay.flush();
    const subtypes = async (requestId: string) =>
      (await readAuditTrailOf(alerts.mpi.dir.redis, alerts.mpi.dir.keys, requestId)).map((e) => ({ subtype: e.subtype?.at(-1)?.code, status: requestDetailsOfEvent(e).status }));
    expect(await subtypes('one-write-1')).toEqual([{ subtype: 'change' }, { subtype: '$process-message', status: '200' }]);
    expect(await subtypes('one-write-2')).toEqual([]);
  });
});

describe('the README’s example', () => {
  it('is a message the hub accepts as it stands', async () => {
    const readme = await fs.readFile(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Alerts'));
    const example = /```json\n([\s\S]*?)\n```/.exec(section)?.[1];
    const res = await alerts.post('edinburgh-social-work', JSON.parse(example!));
    expect(res.status).toBe(200);
    expect(((res.body as Bundle).entry?.[0]?.resource as MessageHeader).response).toMatchObject({ identifier: 'sw-msg-20261206-0001', code: 'ok' });
  });
});

describe('the CapabilityStatement', () => {
  it('lists $process-message, $delivery-status and the Flag look-ups', async () => {
    const res = await request(alerts.app).get('/fhir/metadata');
    expect(res.status).toBe(200);
    const rest = (res.body as CapabilityStatement).rest?.[0];
    expect(rest?.operation?.map((o) => o.name)).toEqual(expect.arrayContaining(['process-message', 'delivery-status']));
    const flag = rest?.resource?.find((r) => r.type === 'Flag');
    expect(flag?.interaction?.map((i) => i.code)).toEqual(['read', 'search-type']);
    expect(flag?.searchParam?.map((p) => p.name)).toEqual(['subject', 'status']);
  });
});
