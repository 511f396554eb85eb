/**
 * Issue 11's "Bad input" list, item by item, against the alerts service on a real Redis: each is a clear
 * OperationOutcome with the right 4xx, audited under its request id as a refusal (outcome 4 or 8), and nothing
 * accepted is lost or changed — no message accepted for a refused raise, no delivery moved by a refused response.
 * Where a longer test of the same refusal lives elsewhere, its name is given beside the item.
 */
import type { Flag, MessageHeader, OperationOutcome } from 'fhir/r4.js';
import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { buildResponseMessage } from '../../shared/messaging/response-message.js';
import { alertMessage, startTestAlerts, type TestAlerts } from '../../test/alerts.js';
import type { DeliveryState } from './store.js';

const SENDER = 'edinburgh-social-work';
const RECIPIENT = 'rie-emergency';

let alerts: TestAlerts;
/** A message raised to RECIPIENT alone, and another: what the responses below try to move. */
let delivered: string;
let other: string;

const valid = () => alertMessage({ sender: SENDER, subject: { local: 'demo-child-1' }, destinations: [RECIPIENT] });
const messageIdOf = (res: request.Response) => (res.headers['content-location'] as string).split('/$delivery-status/')[1]!;

beforeAll(async () => {
  alerts = await startTestAlerts();
  await alerts.mpi.registered(SENDER, 'demo-child-1', { given: ['Ailsa'], family: 'Morrison', birthDate: '2023-03-14', gender: 'female', postcode: 'EH6 8BN', chi: '1403231206' });
  // The recipient pulls (its endpoint off): its deliveries wait for its own response, which nothing else moves.
  const store = alerts.mpi.dir.store;
  const endpoint = await store.read('Endpoint', `${RECIPIENT}-fhir`);
  await store.update({ ...endpoint, status: 'off' }, { cause: { requestId: 'test-bad-input', agent: {} } });
  delivered = messageIdOf(await alerts.post(SENDER, valid()));
  other = messageIdOf(await alerts.post(SENDER, valid()));
  // A response the recipient really sent: its id is what a replay reuses.
  const acknowledged = await alerts.post(RECIPIENT, buildResponseMessage({ requestHeaderId: delivered, code: 'ok', source: { agency: RECIPIENT }, id: 'ack-first' }));
  expect(acknowledged.status).toBe(200);
});

afterAll(async () => {
  await alerts.close();
});

/** Every message the hub has accepted (its key per message). */
const acceptedMessages = async () => (await alerts.mpi.dir.redis.keys(`${alerts.mpi.dir.keys.prefix}:{alerts}:msg:*`)).sort();
const stateOf = async (messageId: string, agency = RECIPIENT): Promise<DeliveryState | undefined> => (await alerts.ctx.store.delivery(messageId, agency))?.state;

/** The refusal every item must be: the status, an OperationOutcome saying why, audited as a refusal. */
async function expectRefusal(res: request.Response, status: number, says: string | RegExp): Promise<void> {
  expect([res.status, (res.body as OperationOutcome).resourceType]).toEqual([status, 'OperationOutcome']);
  const text = ((res.body as OperationOutcome).issue ?? []).map((i) => i.details?.text ?? '').join(' ');
  expect(text).toMatch(says);
  const record = await alerts.mpi.auditOf(res);
  expect(['4', '8']).toContain(record.outcome);
}

const withHeader = (change: (header: MessageHeader) => void) => {
  const message = valid();
  change(message.entry![0]!.resource as MessageHeader);
  return message;
};

describe("issue 11's bad input, raising an alert: refused, audited, nothing accepted", () => {
  const items: ReadonlyArray<readonly [item: string, body: () => unknown, status: number, says: string | RegExp]> = [
    // process-message: 'refuses a body that is not a message Bundle (400)'
    ['not a message Bundle (a collection)', () => ({ ...valid(), type: 'collection' }), 400, /type "message"/],
    ['not a Bundle at all (a Patient)', () => ({ resourceType: 'Patient' }), 400, /Bundle/],
    // process-message: 'refuses a message whose first entry is not a MessageHeader (400)'
    ['no MessageHeader', () => ({ ...valid(), entry: valid().entry!.slice(1) }), 400, /MessageHeader/],
    // process-message: 'refuses a message about no Flag, and one whose focus is not in the Bundle (422)'
    ['no Flag (its focus then names nothing in the Bundle)', () => ({ ...valid(), entry: valid().entry!.filter((e) => e.resource?.resourceType !== 'Flag') }), 422, /not in the Bundle/],
    ['a focus missing from the Bundle', () => withHeader((h) => (h.focus = [{ reference: 'Flag/not-in-this-bundle' }])), 422, /Flag\/not-in-this-bundle is not in the Bundle/],
    ['no focus at all', () => withHeader((h) => delete h.focus), 422, /focus must reference the Flag/],
    // lifecycle: 'the subject … is refused (422) when neither identifier names anyone'
    ['an unknown subject identifier', () => alertMessage({ sender: SENDER, subject: { local: 'NOT-REGISTERED' } }), 422, /NOT-REGISTERED/],
    // process-message: 'refuses a message whose sender is another agency than the token's (403)' (sender and source both)
    ['a sender spoofing another agency in MessageHeader.source (sender itself right)', () => withHeader((h) => (h.source = { endpoint: 'Organization/nhs-lothian' })), 403, /nhs-lothian/],
    ['a sender spoofing another agency in MessageHeader.sender (source itself right)', () => withHeader((h) => (h.sender = { reference: 'Organization/nhs-lothian' })), 403, /nhs-lothian/],
    // process-message: 'refuses a Bundle over the alerts body limit (413)'
    ['an oversized Bundle (over the body limit)', () => {
      const message = valid();
      (message.entry![1]!.resource as Flag).code.text = 'x'.repeat(300 * 1024);
      return message;
    }, 413, /.{6}/],
    ['a Bundle of too many entries (within the byte limit)', () => {
      const message = valid();
      message.entry = [...message.entry!, ...Array.from({ length: 60 }, (_, i) => ({ fullUrl: `urn:test:Provenance/p${i}`, resource: { resourceType: 'Provenance' as const, id: `p${i}`, target: [{ reference: 'Flag/x' }], recorded: '2026-11-02T10:00:00Z', agent: [{ who: { reference: `Organization/${SENDER}` } }] } }))];
      return message;
    }, 422, /at most \d+ entries/],
  ];

  it.each(items)('%s', async (_item, body, status, says) => {
    const before = await acceptedMessages();
    await expectRefusal(await alerts.post(SENDER, body()), status, says);
    expect(await acceptedMessages()).toEqual(before);
  });
  // A sender not party to the ISP: process-message.int.test.ts 'refuses an agency that is party to no ISP (403), however
  // valid its token' (audited as a refusal there), and the same 403 for its malformed messages.
});

describe("issue 11's bad input, reading: another agency's inbox or delivery status", () => {
  it("another agency's delivery status is the 404 of a message never sent, audited as a denial (process-message: 'shows the delivery status to the sender only')", async () => {
    const res = await alerts.get('nhs-lothian', `/fhir/$delivery-status/${delivered}`);
    await expectRefusal(res, 404, /.{6}/);
    expect((await alerts.get(SENDER, `/fhir/$delivery-status/${delivered}`)).status).toBe(200);
  });

  it("another agency's inbox cannot be named: 400, never the caller's own answered as if it were theirs (deliveries: 'refuses a query it cannot honour')", async () => {
    await expectRefusal(await alerts.get('nhs-lothian', `/fhir/$inbox?after=0&agency=${RECIPIENT}`), 400, /its own inbox/);
  });
});

describe("issue 11's bad input, responses: forged, replayed, unsigned, and for a message never received — the delivery untouched", () => {
  const ack = (requestHeaderId: string, id: string, agency = RECIPIENT) => buildResponseMessage({ requestHeaderId, code: 'fatal-error', source: { agency }, id });
  const postWith = (authorization: string | undefined, body: unknown) => {
    const req = request(alerts.app).post('/fhir/$process-message').type('application/fhir+json');
    return (authorization ? req.set({ Authorization: authorization }) : req).send(JSON.stringify(body));
  };

  it('unsigned (no token, or alg none): 401', async () => {
    const [header, payload] = (await alerts.auth(RECIPIENT)).Authorization.slice(7).split('.') as [string, string];
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    expect(header.length).toBeGreaterThan(0);
    await expectRefusal(await postWith(undefined, ack(other, 'ack-unsigned')), 401, /.{6}/);
    await expectRefusal(await postWith(`Bearer ${none}`, ack(other, 'ack-alg-none')), 401, /.{6}/);
    expect(await stateOf(other)).not.toMatch(/acknowledged|dead-letter/);
  });

  it("forged: a token signed by another key under the hub's kid is 401; a response naming another agency as its source is 403 (deliveries: 'leaves a message … until it acknowledges it')", async () => {
    const token = (await alerts.auth(RECIPIENT)).Authorization.slice(7);
    const decoded = jwt.decode(token, { complete: true })!;
    const forged = jwt.sign(decoded.payload, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, { algorithm: 'ES256', keyid: decoded.header.kid });
    await expectRefusal(await postWith(`Bearer ${forged}`, ack(other, 'ack-forged')), 401, /.{6}/);
    // nhs-lothian's own token, a response that says it is the recipient's.
    await expectRefusal(await alerts.post('nhs-lothian', ack(other, 'ack-spoofed')), 403, new RegExp(RECIPIENT));
    expect(await stateOf(other)).not.toMatch(/acknowledged|dead-letter/);
  });

  it('replayed: a response id that already answered one message, sent again about another, is 409', async () => {
    await expectRefusal(await alerts.post(RECIPIENT, ack(other, 'ack-first')), 409, /.{6}/);
    expect(await stateOf(other)).not.toMatch(/acknowledged|dead-letter/);
    expect(await stateOf(delivered)).toBe('acknowledged');
  });

  it('for a message never received: one never sent, and one sent to another agency, are the same 404 (the latter audited as a denial)', async () => {
    const never = await alerts.post('nhs-lothian', ack('msg-never-sent', 'ack-never', 'nhs-lothian'));
    const notTheirs = await alerts.post('nhs-lothian', ack(other, 'ack-not-theirs', 'nhs-lothian'));
    await expectRefusal(never, 404, /msg-never-sent/);
    await expectRefusal(notTheirs, 404, new RegExp(other));
    expect(await stateOf(other)).not.toMatch(/acknowledged|dead-letter/);
    expect(await stateOf(other, 'nhs-lothian')).toBeUndefined();
  });
});
