/**
 * Delivering accepted alerts to agency endpoints over real HTTP, against a
 * real Redis: acknowledged, retried after a transient failure, dead-lettered
 * after a fatal one and re-driven, stopped when the ISP flow is withdrawn, not
 * held up by another agency's dead endpoint, and pulled from the inbox and
 * acknowledged by an agency without an endpoint.
 *
 * The receiving agency systems are a small HTTP server in this test that checks
 * the hub's delivery token (shared/messaging) and answers as told per agency.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import type { AuditEvent, Bundle, Endpoint, Flag, MessageHeader, OperationOutcome, Parameters } from 'fhir/r4.js';
import { pino } from 'pino';
import request from 'supertest';
import { staticKeyResolver } from '../../shared/auth/jwks-resolver.js';
import { publicJwks } from '../../shared/auth/keys.js';
import { Extensions } from '../../shared/fhir/systems.js';
import { verifyDeliveryToken } from '../../shared/messaging/delivery-token.js';
import { buildResponseMessage, type ResponseCode } from '../../shared/messaging/response-message.js';
import { readAuditTrailOf } from '../../shared/audit/audit-client.js';
import { criteriaOfEvent, requestDetailsOfEvent, triggerOfEvent } from '../../shared/audit/audit-event.js';
import { alertMessage, startTestAlerts, type TestAlerts } from '../../test/alerts.js';
import type { DeliveryState } from './store.js';
import { ALERTS_TAG, DELIVERY_STORE } from './keys.js';
import { deadLetterReportIdOf } from './domain/ids.js';
import { consent, storeConsent } from '../../test/plans.js';
import { answerWithoutId } from '../../test/refusals.js';
import { readOnlyRedis } from '../../test/redis.js';
import { serviceRouter } from '../../shared/http/router.js';
import { createServiceApp } from '../../shared/http/service-app.js';
import { loadAlertsConfig } from './config.js';
import { createAlertsContext, retryPolicyOf } from './module.js';
import { DeliveryQueue } from './workers/deliveries.js';
import { alertsRoutes } from './routes.js';

/** How a simulated agency answers: a response code, an HTTP failure, or no answer in time. */
type Behaviour = ResponseCode | 'down' | 'hang';

interface Received {
  readonly agency: string;
  readonly messageId: string;
  readonly seq: number | undefined;
  readonly bundle: Bundle;
  /** The body as sent (a decimal's spelling: `1.50`). */
  readonly text: string;
  readonly at: number;
}

const SENDER = 'edinburgh-social-work';
const TIMEOUT_MS = 1000;

let alerts: TestAlerts;
let server: http.Server;
let receiverBase: string;
const behaviour = new Map<string, Behaviour[]>();
const received: Received[] = [];
const refusedTokens: string[] = [];

beforeAll(async () => {
  alerts = await startTestAlerts({ INFOSHARE_ALERTS_RETRY_WINDOW: '6s', INFOSHARE_ALERTS_DELIVERY_TIMEOUT: `${TIMEOUT_MS}ms` });
  await alerts.mpi.registered(SENDER, 'demo-child-1', { given: ['Ailsa'], family: 'Morrison', birthDate: '2023-03-14', gender: 'female', postcode: 'EH6 8BN', chi: '1403231206' });
  const resolveKey = staticKeyResolver(publicJwks([alerts.mpi.dir.signingKey]));
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void answer(req, res, Buffer.concat(chunks), resolveKey);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  receiverBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await alerts.close();
});

/** The simulated agency system: checks the delivery token, then answers as its behaviour says. */
async function answer(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, resolveKey: ReturnType<typeof staticKeyResolver>) {
  const agency = /^\/agencies\/([^/]+)\/fhir\/\$process-message$/.exec(req.url ?? '')?.[1] ?? '';
  const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  const verified = await verifyDeliveryToken(token, body, resolveKey, { issuer: alerts.config.token.issuer, recipient: agency });
  if (!verified.ok) {
    refusedTokens.push(`${agency}: ${verified.problem}`);
    res.writeHead(401).end();
    return;
  }
  const queue = behaviour.get(agency) ?? [];
  const now = (queue.length > 1 ? queue.shift() : queue[0]) ?? 'ok';
  const bundle = JSON.parse(body.toString('utf8')) as Bundle;
  const header = bundle.entry?.[0]?.resource as MessageHeader;
  const seq = header.extension?.find((x) => x.url === Extensions.deliverySequence);
  received.push({ agency, messageId: verified.claims.message_id, seq: seq?.valueUnsignedInt ?? seq?.valueInteger, bundle, text: body.toString('utf8'), at: Date.now() });
  if (now === 'hang') return; // never answers: the hub's timeout ends the attempt
  if (now === 'down') {
    res.writeHead(503).end();
    return;
  }
  const response = buildResponseMessage({ requestHeaderId: header.id ?? '', code: now, source: { agency }, destination: { agency: 'hub' }, ...(now === 'ok' ? {} : { details: `simulated ${now}` }) });
  res.writeHead(200, { 'Content-Type': 'application/fhir+json' }).end(JSON.stringify(response));
}

/** Points an agency's Endpoint at the test receiver (or switches it off). */
async function connect(agency: string, status: Endpoint['status'] = 'active'): Promise<void> {
  const store = alerts.mpi.dir.store;
  const endpoint = await store.read('Endpoint', `${agency}-fhir`);
  await store.update({ ...endpoint, status, address: `${receiverBase}/agencies/${agency}/fhir` }, { cause: { requestId: 'test-connect', agent: {} } });
}

async function raise(destination: string): Promise<string> {
  const res = await alerts.post(SENDER, alertMessage({ sender: SENDER, subject: { local: 'demo-child-1' }, destinations: [destination] }));
  expect(res.status).toBe(200);
  return (res.headers['content-location'] as string).split('/$delivery-status/')[1]!;
}

async function deliveryState(messageId: string, agency: string): Promise<DeliveryState | undefined> {
  return (await alerts.ctx.store.delivery(messageId, agency))?.state;
}

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const settledAs = (messageId: string, agency: string, state: DeliveryState) =>
  until(`${messageId} to ${agency}`, () => deliveryState(messageId, agency), (s) => s === state);

const receivedBy = (agency: string, messageId: string) => received.filter((r) => r.agency === agency && r.messageId === messageId);

/** Waits for the dead letter's audit records: the attempt that ended it (with `outcome`) and its change record. */
async function deadLetterAudited(messageId: string, outcome: '4' | '8'): Promise<void> {
  const requestId = (await alerts.ctx.store.message(messageId))!.origin.requestId;
  const deadLetter = (e: { outcomeDesc?: string }) => (e.outcomeDesc ?? '').includes('Dead letter');
  await until(
    `the dead letter of ${messageId} in the audit trail`,
    () => readAuditTrailOf(alerts.mpi.dir.redis, alerts.mpi.dir.keys, requestId),
    (trail) => trail.some((e) => triggerOfEvent(e) === 'job' && e.outcome === outcome && deadLetter(e)) && trail.some((e) => triggerOfEvent(e) === 'change' && deadLetter(e)),
  );
}

/** The `store` detail of an audit trail's change records whose description says `what`: how an auditor tells a delivery's moves from an accept. */
const storesOfChanges = (trail: readonly AuditEvent[], what: string) =>
  trail.filter((e) => triggerOfEvent(e) === 'change' && (e.outcomeDesc ?? '').includes(what)).map((e) => requestDetailsOfEvent(e).store);

const outcomeText = (res: { body: unknown }) => ((res.body as OperationOutcome).issue ?? []).map((i) => i.details?.text ?? i.diagnostics ?? '').join(' ');

describe('pushing alerts to agency endpoints', () => {
  it('delivers to the agency endpoint with a valid delivery token and its sequence number, and records the acknowledgement', async () => {
    await connect('nhs-lothian');
    behaviour.set('nhs-lothian', ['ok']);
    const messageId = await raise('nhs-lothian');
    await settledAs(messageId, 'nhs-lothian', 'acknowledged');

    const [got, ...more] = receivedBy('nhs-lothian', messageId);
    expect(more).toHaveLength(0);
    expect(got?.seq).toBe((await alerts.ctx.store.delivery(messageId, 'nhs-lothian'))?.seq);
    expect(got?.bundle.entry?.map((e) => e.resource?.resourceType)).toEqual(['MessageHeader', 'Flag', 'Patient', 'CareTeam']);
    expect(refusedTokens).toEqual([]);

    const requestId = (await alerts.ctx.store.message(messageId))!.origin.requestId;
    const trail = await until(
      'the delivery in the audit trail',
      () => readAuditTrailOf(alerts.mpi.dir.redis, alerts.mpi.dir.keys, requestId),
      (events) => events.some((e) => triggerOfEvent(e) === 'job' && e.outcome === '0'),
    );
    const job = trail.find((e) => triggerOfEvent(e) === 'job' && e.outcome === '0');
    expect(criteriaOfEvent(job!)).toEqual(expect.arrayContaining(['MA-L3', 'MA-L4', 'IM-L4']));
    expect(trail.some((e) => triggerOfEvent(e) === 'outbound' && e.outcome === '0')).toBe(true);
    expect(trail.some((e) => triggerOfEvent(e) === 'change' && (e.outcomeDesc ?? '').includes('acknowledged'))).toBe(true);
    // The accept's change record names the alerts store, the delivery's move the delivery store.
    expect(storesOfChanges(trail, `Accepted alert-raised message ${messageId}`)).toEqual([ALERTS_TAG]);
    expect(storesOfChanges(trail, 'acknowledged')).toEqual([DELIVERY_STORE]);
    const metrics = await request(alerts.app).get('/metrics');
    expect(metrics.text).toMatch(/infoshare_alert_delivery_attempts_total\{outcome="acknowledged",service="alerts"\} [1-9]/);
  });

  it('delivers a decimal as its sender wrote it (1.50, not 1.5), and reads the Flag back so', async () => {
    await connect('nhs-lothian');
    behaviour.set('nhs-lothian', ['ok']);
    const message = alertMessage({ sender: SENDER, subject: { local: 'demo-child-1' }, destinations: ['nhs-lothian'] });
    (message.entry![1]!.resource as Flag).extension = [{ url: 'https://example.org/fhir/StructureDefinition/risk-score', valueDecimal: 1.5 }];
    // As text: JSON.stringify would write 1.50 as 1.5.
    const text = JSON.stringify(message).replace('"valueDecimal":1.5}', '"valueDecimal":1.50}');
    const res = await request(alerts.app).post('/fhir/$process-message').set(await alerts.auth(SENDER)).type('application/fhir+json').send(text);
    expect(res.status).toBe(200);
    const messageId = (res.headers['content-location'] as string).split('/$delivery-status/')[1]!;
    await settledAs(messageId, 'nhs-lothian', 'acknowledged');
    expect(receivedBy('nhs-lothian', messageId)[0]?.text).toContain('"valueDecimal":1.50}');
    const flagId = ((res.body as Bundle).entry?.[0]?.resource as MessageHeader).focus?.[0]?.reference?.split('/')[1];
    const flag = await request(alerts.app).get(`/fhir/Flag/${flagId}`).set(await alerts.auth(SENDER)).buffer(true).parse((r, done) => {
      let body = '';
      r.on('data', (c: Buffer) => (body += c.toString('utf8')));
      r.on('end', () => done(null, body));
    });
    expect(flag.status).toBe(200);
    expect(flag.body as string).toContain('"valueDecimal":1.50}');
  });

  it('retries after a transient error and a 503, then delivers once it is acknowledged', async () => {
    await connect('rie-emergency');
    behaviour.set('rie-emergency', ['transient-error', 'down', 'ok']);
    const messageId = await raise('rie-emergency');
    await settledAs(messageId, 'rie-emergency', 'acknowledged');
    expect(receivedBy('rie-emergency', messageId)).toHaveLength(3);
    const delivery = await alerts.ctx.store.delivery(messageId, 'rie-emergency');
    expect(delivery).toMatchObject({ attempts: 3, state: 'acknowledged' });
    expect(delivery?.lastError).toBeUndefined();
  });

  it('dead-letters a fatal error at once, shows it to the sender only, and re-drives it on request', async () => {
    await connect('lueccs-ooh');
    behaviour.set('lueccs-ooh', ['fatal-error']);
    const messageId = await raise('lueccs-ooh');
    await settledAs(messageId, 'lueccs-ooh', 'dead-letter');
    expect(receivedBy('lueccs-ooh', messageId)).toHaveLength(1);
    // The attempt that ended it is audited as the agency's refusal (outcome 4), beside its change record.
    await deadLetterAudited(messageId, '4');

    const letters = await alerts.get(SENDER, '/fhir/$dead-letters');
    expect(letters.status).toBe(200);
    const mine = ((letters.body as Parameters).parameter ?? []).filter((p) => p.name === 'deadLetter');
    const letter = mine.find((p) => p.part?.some((q) => q.name === 'message' && q.valueString === messageId));
    expect(letter?.part?.find((q) => q.name === 'reason')?.valueString).toContain('simulated fatal-error');
    const others = await alerts.get('nhs-lothian', '/fhir/$dead-letters');
    expect(JSON.stringify(others.body)).not.toContain(messageId);
    // Naming an agency is refused, not ignored: the caller would take its own dead letters for that agency's.
    const named = await alerts.get('nhs-lothian', `/fhir/$dead-letters?agency=${SENDER}`);
    expect(named.status).toBe(400);
    expect(outcomeText(named)).toContain("does not take 'agency'");
    expect((await alerts.mpi.auditOf(named)).outcome).toBe('4');
    const status = await alerts.get(SENDER, `/fhir/$delivery-status/${messageId}`);
    expect(JSON.stringify(status.body)).toContain('dead-letter');
    // A parameter the status does not take is refused (400) to the sender; to anyone else the message stays unknown (404).
    expect((await alerts.get(SENDER, `/fhir/$delivery-status/${messageId}?agency=lueccs-ooh`)).status).toBe(400);
    expect((await alerts.get('nhs-lothian', `/fhir/$delivery-status/${messageId}?agency=lueccs-ooh`)).status).toBe(404);
    expect((await request(alerts.app).post(`/fhir/$redrive/${messageId}?agency=lueccs-ooh&force=true`).set(await alerts.auth(SENDER))).status).toBe(400);

    const redrivePath = `/fhir/$redrive/${messageId}?agency=lueccs-ooh`;
    // Another agency's message is answered as an unknown one (404: its existence is not revealed), audited as a denial.
    const notTheirs = await request(alerts.app).post(redrivePath).set(await alerts.auth('nhs-lothian'));
    const unknownToThem = await request(alerts.app).post('/fhir/$redrive/msg-never-sent?agency=lueccs-ooh').set(await alerts.auth('nhs-lothian'));
    expect(notTheirs.status).toBe(404);
    expect(answerWithoutId(notTheirs, messageId)).toEqual(answerWithoutId(unknownToThem, 'msg-never-sent'));
    const deniedRecord = await alerts.mpi.auditOf(notTheirs);
    expect(criteriaOfEvent(deniedRecord)).toContain('SI-L3');
    expect(deniedRecord.outcomeDesc).toContain('not the sender');
    // Whose message it is comes before what the request lacks: without ?agency it is still the unknown id's 404.
    const notTheirsNoAgency = await request(alerts.app).post(`/fhir/$redrive/${messageId}`).set(await alerts.auth('nhs-lothian'));
    const unknownNoAgency = await request(alerts.app).post('/fhir/$redrive/msg-never-sent').set(await alerts.auth('nhs-lothian'));
    expect(notTheirsNoAgency.status).toBe(404);
    expect(answerWithoutId(notTheirsNoAgency, messageId)).toEqual(answerWithoutId(unknownNoAgency, 'msg-never-sent'));
    expect((await request(alerts.app).post(`/fhir/$redrive/${messageId}`).set(await alerts.auth(SENDER))).status).toBe(400);
    behaviour.set('lueccs-ooh', ['ok']);
    const redriven = await request(alerts.app).post(redrivePath).set(await alerts.auth(SENDER));
    expect(redriven.status).toBe(202);
    const redriveTrail = await readAuditTrailOf(alerts.mpi.dir.redis, alerts.mpi.dir.keys, redriven.headers['x-request-id'] as string);
    expect(storesOfChanges(redriveTrail, `Re-driven by ${SENDER}`)).toEqual([DELIVERY_STORE]);
    await settledAs(messageId, 'lueccs-ooh', 'acknowledged');
    expect(receivedBy('lueccs-ooh', messageId)).toHaveLength(2);
    expect((await alerts.ctx.store.delivery(messageId, 'lueccs-ooh'))?.redrives).toBe(1);
    const again = await request(alerts.app).post(redrivePath).set(await alerts.auth(SENDER));
    expect(again.status).toBe(409);
    const gone = await alerts.get(SENDER, '/fhir/$dead-letters');
    expect(JSON.stringify(gone.body)).not.toContain(messageId);
  });

  it('dead-letters a delivery whose endpoint stays down past the retry window, saying so', async () => {
    await connect('nhs-lothian');
    behaviour.set('nhs-lothian', ['down']);
    const messageId = await raise('nhs-lothian');
    await settledAs(messageId, 'nhs-lothian', 'dead-letter');
    const delivery = await alerts.ctx.store.delivery(messageId, 'nhs-lothian');
    expect(delivery?.lastError).toMatch(/^Not delivered within the retry window of 6 s \(\d+ attempt\(s\)\); last failure: The endpoint answered HTTP 503/);
    expect(receivedBy('nhs-lothian', messageId).length).toBeGreaterThan(1);
    // The window running out is a failure of the delivery (outcome 8), not a refusal.
    await deadLetterAudited(messageId, '8');
    behaviour.set('nhs-lothian', ['ok']);
  });

  it('keeps delivering to other agencies while one agency endpoint hangs', async () => {
    await connect('rie-emergency');
    await connect('lueccs-ooh');
    behaviour.set('rie-emergency', ['hang']);
    behaviour.set('lueccs-ooh', ['ok']);
    const stuck = await Promise.all(Array.from({ length: 8 }, () => raise('rie-emergency')));
    await until('the hanging endpoint is being called', async () => received.filter((r) => stuck.includes(r.messageId)).length, (n) => n >= 4);
    const started = Date.now();
    const messageId = await raise('lueccs-ooh');
    await settledAs(messageId, 'lueccs-ooh', 'acknowledged');
    // Delivered while the hanging agency's attempts were still waiting for their timeout.
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS);
    expect(await Promise.all(stuck.map((id) => deliveryState(id, 'rie-emergency')))).toEqual(stuck.map(() => 'pending'));
    behaviour.set('rie-emergency', ['ok']);
    for (const id of stuck) await settledAs(id, 'rie-emergency', 'acknowledged');
  });
});

describe('agencies that pull their inbox', () => {
  it('leaves a message for an agency without an endpoint in its inbox, with gap-revealing sequence numbers, until it acknowledges it', async () => {
    await connect('rie-emergency', 'off');
    const first = await raise('rie-emergency');
    const second = await raise('rie-emergency');
    await settledAs(first, 'rie-emergency', 'awaiting-pull');
    await settledAs(second, 'rie-emergency', 'awaiting-pull');
    const seqOf = async (id: string) => (await alerts.ctx.store.delivery(id, 'rie-emergency'))!.seq;
    const [s1, s2] = [await seqOf(first), await seqOf(second)];
    expect(s2).toBe(s1 + 1);

    const page = await alerts.get('rie-emergency', `/fhir/$inbox?after=${s1 - 1}&_count=1`);
    expect(page.status).toBe(200);
    const bundle = page.body as Bundle;
    expect(bundle.type).toBe('searchset');
    const message = bundle.entry?.[0]?.resource as Bundle;
    const header = message.entry?.[0]?.resource as MessageHeader;
    expect(header.id).toBe(first);
    expect(header.extension?.find((x) => x.url === Extensions.deliverySequence)).toMatchObject({ url: Extensions.deliverySequence });
    const next = bundle.link?.find((l) => l.relation === 'next')?.url;
    expect(next).toContain(`after=${s1}`);
    const rest = await alerts.get('rie-emergency', new URL(next!).pathname + new URL(next!).search);
    expect(((rest.body as Bundle).entry?.[0]?.resource as Bundle).entry?.[0]?.resource?.id).toBe(second);

    const ack = (requestHeaderId: string, id?: string) =>
      buildResponseMessage({ requestHeaderId, code: 'ok', source: { agency: 'rie-emergency' }, ...(id ? { id } : {}) });
    const acked = await alerts.post('rie-emergency', ack(first, 'ack-rie-1'));
    expect(acked.status).toBe(200);
    expect(await deliveryState(first, 'rie-emergency')).toBe('acknowledged');
    expect(criteriaOfEvent(await alerts.mpi.auditOf(acked))).toContain('MA-L3');
    const ackTrail = await readAuditTrailOf(alerts.mpi.dir.redis, alerts.mpi.dir.keys, acked.headers['x-request-id'] as string);
    expect(storesOfChanges(ackTrail, 'acknowledged')).toEqual([DELIVERY_STORE]);

    const repeated = await alerts.post('rie-emergency', ack(first, 'ack-rie-1'));
    expect(repeated.status).toBe(200);
    const replayed = await alerts.post('rie-emergency', ack(second, 'ack-rie-1'));
    expect(replayed.status).toBe(409);
    expect(await deliveryState(second, 'rie-emergency')).toBe('awaiting-pull');
    const unknown = await alerts.post('rie-emergency', ack('msg-never-sent'));
    expect(unknown.status).toBe(404);
    // A message the agency was not sent is answered as one never sent (404), audited as a denial.
    const lothianAck = (requestHeaderId: string) => buildResponseMessage({ requestHeaderId, code: 'ok', source: { agency: 'nhs-lothian' }, id: `ack-lothian-${requestHeaderId}` });
    const notTheirs = await alerts.post('nhs-lothian', lothianAck(second));
    const unknownToThem = await alerts.post('nhs-lothian', lothianAck('msg-never-sent'));
    expect(notTheirs.status).toBe(404);
    expect(answerWithoutId(notTheirs, second)).toEqual(answerWithoutId(unknownToThem, 'msg-never-sent'));
    const deniedRecord = await alerts.mpi.auditOf(notTheirs);
    expect(criteriaOfEvent(deniedRecord)).toContain('SI-L3');
    expect(deniedRecord.outcomeDesc).toContain('not the recipient');
    const spoofed = await alerts.post('nhs-lothian', buildResponseMessage({ requestHeaderId: second, code: 'ok', source: { agency: 'rie-emergency' } }));
    expect(spoofed.status).toBe(403);
    expect(outcomeText(spoofed)).toContain('rie-emergency');
    expect(await deliveryState(second, 'rie-emergency')).toBe('awaiting-pull');
  });

  it('takes a pulled message answered transient-error as noted, fatal-error as a dead letter the sender sees, and no response without its own id', async () => {
    await connect('rie-emergency', 'off');
    const messageId = await raise('rie-emergency');
    await settledAs(messageId, 'rie-emergency', 'awaiting-pull');
    const answerWith = (code: ResponseCode, id?: string) =>
      alerts.post('rie-emergency', buildResponseMessage({ requestHeaderId: messageId, code, source: { agency: 'rie-emergency' }, ...(id ? { id } : {}) }));

    const withoutId = buildResponseMessage({ requestHeaderId: messageId, code: 'ok', source: { agency: 'rie-emergency' } });
    delete (withoutId.entry![0]!.resource as MessageHeader).id;
    const unnamed = await alerts.post('rie-emergency', withoutId);
    expect(unnamed.status).toBe(422);
    expect(outcomeText(unnamed)).toContain('its own MessageHeader.id');
    expect(await deliveryState(messageId, 'rie-emergency')).toBe('awaiting-pull');

    const later = await answerWith('transient-error', `ack-rie-later-${messageId}`);
    expect(later.status).toBe(200);
    expect(await deliveryState(messageId, 'rie-emergency')).toBe('awaiting-pull');

    const refused = await answerWith('fatal-error', `ack-rie-refused-${messageId}`);
    expect(refused.status).toBe(200);
    expect(await deliveryState(messageId, 'rie-emergency')).toBe('dead-letter');
    const letters = ((await alerts.get(SENDER, '/fhir/$dead-letters')).body as Parameters).parameter ?? [];
    const letter = letters.find((p) => p.name === 'deadLetter' && p.part?.some((q) => q.name === 'message' && q.valueString === messageId));
    expect(letter?.part?.find((q) => q.name === 'agency')?.valueReference?.reference).toBe('Organization/rie-emergency');
    expect(letter?.part?.find((q) => q.name === 'reason')?.valueString).toContain('fatal-error');
    // A refusal by pull is reported to the sender as a pushed one is, written with the dead letter.
    const report = await alerts.ctx.store.message(deadLetterReportIdOf(messageId, 'rie-emergency', 0));
    expect(report).toMatchObject({ kind: 'report', sender: SENDER, recipients: [SENDER], origin: { requestId: refused.headers['x-request-id'] as string } });
  });

  it('says so in its log when the report of a refused pulled message cannot be queued at once, and the sweeper queues it', async () => {
    // A replica of the alerts service whose delivery queue Redis refuses writes (NOPERM: its BullMQ adds fail), logging to a list.
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const deps = { ...alerts.mpi.dir.deps, log };
    const config = loadAlertsConfig({});
    const refusing = await readOnlyRedis(deps.redis, deps.keys.prefix);
    const ctx = { ...createAlertsContext(deps, config), deliveries: undefined as unknown as DeliveryQueue };
    ctx.deliveries = new DeliveryQueue({ redis: refusing.redis, keys: deps.keys }, ctx.store, retryPolicyOf(config));
    const routes = serviceRouter();
    routes.use(alertsRoutes(ctx, log));
    const replica = createServiceApp({ service: 'alerts', redis: deps.redis, audit: deps.audit, log, bodyLimit: '1mb', rawBodyPaths: /^\/fhir\/\$process-message$/, routes });
    try {
      await connect('rie-emergency', 'off');
      await connect(SENDER, 'off');
      const messageId = await raise('rie-emergency');
      await settledAs(messageId, 'rie-emergency', 'awaiting-pull');
      const refusal = buildResponseMessage({ requestHeaderId: messageId, code: 'fatal-error', source: { agency: 'rie-emergency' }, id: `ack-rie-unqueued-${messageId}` });
      const refused = await request(replica).post('/fhir/$process-message').set(await alerts.auth('rie-emergency')).type('application/fhir+json').send(JSON.stringify(refusal));

      // The agency's answer does not depend on the queue: the dead letter and its report are written.
      expect(refused.status).toBe(200);
      expect(await deliveryState(messageId, 'rie-emergency')).toBe('dead-letter');
      const reportId = deadLetterReportIdOf(messageId, 'rie-emergency', 0);
      expect((await alerts.ctx.store.delivery(reportId, SENDER))?.state).toBe('pending');
      const warning = lines.find((l) => l.msg === 'could not queue a dead-letter report now; the sweeper will');
      expect(warning).toMatchObject({ level: 40, messageId: reportId, agencyId: SENDER, err: expect.objectContaining({ message: expect.any(String) }) });
      // Left for the sweeper, which queues it: the report reaches the sender (its inbox: it has no endpoint).
      expect(await alerts.ctx.store.allUnqueued()).toContain(`${reportId}~${SENDER}`);
      await alerts.ctx.deliveries.sweepUnqueued();
      await settledAs(reportId, SENDER, 'awaiting-pull');
    } finally {
      await ctx.deliveries.close();
      await refusing.close();
      await ctx.relay.close();
      await ctx.validation.close();
    }
  });

  it('refuses a query it cannot honour', async () => {
    const bad = await alerts.get('rie-emergency', '/fhir/$inbox?after=soon');
    expect(bad.status).toBe(400);
    expect((bad.body as OperationOutcome).resourceType).toBe('OperationOutcome');
    // Naming another agency's inbox is refused, not answered with the caller's own as if it were that one.
    const another = await alerts.get('rie-emergency', '/fhir/$inbox?after=0&agency=nhs-lothian');
    expect(another.status).toBe(400);
    expect(outcomeText(another)).toContain('its own inbox');
    expect((await alerts.mpi.auditOf(another)).outcome).toBe('4');
  });
});

describe('reporting dead letters to their senders', () => {
  const RECIPIENT = 'lueccs-ooh';
  /** The `deadLetter` parts of a report message as the sender received it. */
  const partsOf = (bundle: Bundle) => {
    const parameters = bundle.entry?.find((e) => e.resource?.resourceType === 'Parameters')?.resource as Parameters;
    return new Map((parameters.parameter?.[0]?.part ?? []).map((p) => [p.name, p] as const));
  };

  afterEach(() => {
    behaviour.set(RECIPIENT, ['ok']);
    behaviour.set(SENDER, ['ok']);
  });

  it('pushes the report to the sender endpoint once — which message, which recipient, why, when — audited, and acknowledged like any delivery', async () => {
    await connect(SENDER);
    await connect(RECIPIENT);
    behaviour.set(RECIPIENT, ['fatal-error']);
    const messageId = await raise(RECIPIENT);
    await settledAs(messageId, RECIPIENT, 'dead-letter');
    const reportId = deadLetterReportIdOf(messageId, RECIPIENT, 0);
    await settledAs(reportId, SENDER, 'acknowledged');

    const [report, ...more] = receivedBy(SENDER, reportId);
    expect(more).toHaveLength(0);
    const header = report!.bundle.entry?.[0]?.resource as MessageHeader;
    expect(header.eventCoding?.code).toBe('delivery-dead-letter');
    expect(header.destination?.[0]?.receiver?.reference).toBe(`Organization/${SENDER}`);
    expect(report!.seq).toBe((await alerts.ctx.store.delivery(reportId, SENDER))!.seq);
    const stored = (await alerts.ctx.store.message(messageId))!;
    const dead = (await alerts.ctx.store.delivery(messageId, RECIPIENT))!;
    const parts = partsOf(report!.bundle);
    expect(parts.get('message')?.valueString).toBe(messageId);
    expect(parts.get('senderMessage')?.valueString).toBe(stored.headerId);
    expect(parts.get('agency')?.valueReference?.reference).toBe(`Organization/${RECIPIENT}`);
    expect(parts.get('reason')?.valueString).toBe(dead.lastError);
    expect(parts.get('reason')?.valueString).toContain('simulated fatal-error');
    expect(parts.get('died')?.valueInstant).toBe(dead.deadAt);
    expect(parts.get('attempts')?.valueInteger).toBe(dead.attempts);
    expect(parts.get('redrive')?.valueUrl).toContain(`/$redrive/${messageId}?agency=${RECIPIENT}`);

    // Audited under the request that raised the alert: the report written with the dead letter, and its delivery.
    const trail = await until(
      'the report and its delivery in the audit trail',
      () => readAuditTrailOf(alerts.mpi.dir.redis, alerts.mpi.dir.keys, stored.origin.requestId),
      (events) =>
        events.some((e) => triggerOfEvent(e) === 'change' && (e.outcomeDesc ?? '').includes(`reported to its sender ${SENDER} as message ${reportId}`)) &&
        events.some((e) => triggerOfEvent(e) === 'job' && (e.outcomeDesc ?? '').includes(`Delivered to ${SENDER} and acknowledged`)),
    );
    expect(storesOfChanges(trail, `reported to its sender ${SENDER} as message ${reportId}`)).toEqual([DELIVERY_STORE]);
    // The sender follows the report like any message it is party to.
    const status = await alerts.get(SENDER, `/fhir/$delivery-status/${reportId}`);
    expect(status.status).toBe(200);
    expect(JSON.stringify(status.body)).toContain('acknowledged');
  });

  it("leaves the report in the sender's inbox when it has no endpoint, given whole, until it pulls and acknowledges it", async () => {
    await connect(SENDER, 'off');
    await connect(RECIPIENT);
    behaviour.set(RECIPIENT, ['fatal-error']);
    const after = await alerts.ctx.store.lastSequenceOf(SENDER);
    const messageId = await raise(RECIPIENT);
    await settledAs(messageId, RECIPIENT, 'dead-letter');
    const reportId = deadLetterReportIdOf(messageId, RECIPIENT, 0);
    await settledAs(reportId, SENDER, 'awaiting-pull');
    expect(receivedBy(SENDER, reportId)).toHaveLength(0);

    const page = await alerts.get(SENDER, `/fhir/$inbox?after=${after}`);
    expect(page.status).toBe(200);
    const pulled = ((page.body as Bundle).entry ?? []).map((e) => e.resource as Bundle).find((b) => b.entry?.[0]?.resource?.id === reportId);
    expect((pulled?.entry?.[0]?.resource as MessageHeader).eventCoding?.code).toBe('delivery-dead-letter');
    expect(partsOf(pulled!).get('message')?.valueString).toBe(messageId);
    const acked = await alerts.post(SENDER, buildResponseMessage({ requestHeaderId: reportId, code: 'ok', source: { agency: SENDER }, id: `ack-${reportId}` }));
    expect(acked.status).toBe(200);
    expect(await deliveryState(reportId, SENDER)).toBe('acknowledged');
    await connect(SENDER);
  });

  it("never reports a report's own dead letter: it stays in the sender's $dead-letters, where it can be re-driven", async () => {
    await connect(SENDER);
    await connect(RECIPIENT);
    behaviour.set(RECIPIENT, ['fatal-error']);
    behaviour.set(SENDER, ['fatal-error']);
    const messageId = await raise(RECIPIENT);
    await settledAs(messageId, RECIPIENT, 'dead-letter');
    const reportId = deadLetterReportIdOf(messageId, RECIPIENT, 0);
    await settledAs(reportId, SENDER, 'dead-letter');
    // A report of it would have been written with its dead letter: there is none.
    expect(await alerts.ctx.store.message(deadLetterReportIdOf(reportId, SENDER, 0))).toBeUndefined();
    expect(received.filter((r) => r.agency === SENDER && (r.bundle.entry?.[0]?.resource as MessageHeader).eventCoding?.code === 'delivery-dead-letter' && partsOf(r.bundle).get('message')?.valueString === reportId)).toHaveLength(0);
    const letters = await alerts.get(SENDER, '/fhir/$dead-letters');
    expect(JSON.stringify(letters.body)).toContain(`$redrive/${reportId}?agency=${SENDER}`);

    behaviour.set(SENDER, ['ok']);
    expect((await request(alerts.app).post(`/fhir/$redrive/${reportId}?agency=${SENDER}`).set(await alerts.auth(SENDER))).status).toBe(202);
    await settledAs(reportId, SENDER, 'acknowledged');
  });

  it('reports a re-driven letter that dies again with a new report, and says nothing when a re-driven letter is delivered', async () => {
    await connect(SENDER);
    await connect(RECIPIENT);
    behaviour.set(RECIPIENT, ['fatal-error']);
    const messageId = await raise(RECIPIENT);
    await settledAs(messageId, RECIPIENT, 'dead-letter');
    await settledAs(deadLetterReportIdOf(messageId, RECIPIENT, 0), SENDER, 'acknowledged');
    const redrive = async () => request(alerts.app).post(`/fhir/$redrive/${messageId}?agency=${RECIPIENT}`).set(await alerts.auth(SENDER));

    // Pending again when the re-drive is answered; dead again at its next attempt.
    expect((await redrive()).status).toBe(202);
    await settledAs(messageId, RECIPIENT, 'dead-letter');
    const second = deadLetterReportIdOf(messageId, RECIPIENT, 1);
    await settledAs(second, SENDER, 'acknowledged');
    expect(receivedBy(SENDER, second)).toHaveLength(1);

    behaviour.set(RECIPIENT, ['ok']);
    expect((await redrive()).status).toBe(202);
    await settledAs(messageId, RECIPIENT, 'acknowledged');
    // Delivered after its second re-drive: no report (it would have been written with a dead letter).
    expect(await alerts.ctx.store.message(deadLetterReportIdOf(messageId, RECIPIENT, 2))).toBeUndefined();
  });
});

describe('re-checking the ISP at delivery', () => {
  it('withdraws a queued delivery when the ISP flow is withdrawn meanwhile, and never sends it', async () => {
    await connect('vhk-emergency');
    behaviour.set('vhk-emergency', ['down']);
    const messageId = await raise('vhk-emergency');
    await until('a first failed attempt', async () => receivedBy('vhk-emergency', messageId).length, (n) => n >= 1);
    const calls = receivedBy('vhk-emergency', messageId).length;

    // Amending the cross-boundary ISP voids its signatures: it allows nothing until every partner signs again.
    const store = alerts.mpi.dir.store;
    const isp = await store.read('Contract', 'isp-lothian-fife');
    await store.update({ ...isp, title: `${isp.title ?? ''} (amended)` }, { cause: { requestId: 'test-amend', agent: {} } });

    await settledAs(messageId, 'vhk-emergency', 'withdrawn');
    expect(receivedBy('vhk-emergency', messageId).length).toBeLessThanOrEqual(calls + 1);
    const delivery = await alerts.ctx.store.delivery(messageId, 'vhk-emergency');
    expect(delivery?.lastError).toContain('no longer allows');
    const requestId = (await alerts.ctx.store.message(messageId))!.origin.requestId;
    // The attempt's own record (a refusal, outcome 4) follows its committed change.
    await until(
      'the withdrawal in the audit trail',
      () => readAuditTrailOf(alerts.mpi.dir.redis, alerts.mpi.dir.keys, requestId),
      (trail) => trail.some((e) => triggerOfEvent(e) === 'job' && e.outcome === '4' && (e.outcomeDesc ?? '').includes('Withdrawn')),
    );
    const ack = await alerts.post('vhk-emergency', buildResponseMessage({ requestHeaderId: messageId, code: 'ok', source: { agency: 'vhk-emergency' } }));
    expect(ack.status).toBe(409);
    expect(outcomeText(ack)).toContain('never delivered');
  });

  it("withdraws a delivery a Consent withholds: the person's alerts denied to the recipient are never sent to it", async () => {
    await connect('nhs-lothian');
    behaviour.set('nhs-lothian', ['ok']);
    const [link] = await alerts.mpi.store.getLinks(['edinburgh-social-work.demo-child-1']);
    const withheld = consent('Patient/demo-child-1', [{ actor: 'Organization/nhs-lothian', classes: ['alerts'], type: 'deny' }], { id: 'withhold-alerts-from-nhs' });
    await storeConsent(alerts.mpi.dir.redis, alerts.mpi.dir.keys, withheld, link!.personId);
    const messageId = await raise('nhs-lothian');
    await settledAs(messageId, 'nhs-lothian', 'withdrawn');
    expect(receivedBy('nhs-lothian', messageId)).toHaveLength(0);
    expect((await alerts.ctx.store.delivery(messageId, 'nhs-lothian'))?.lastError).toContain('consent withholds');
  });

  it("keeps a message waiting in an agency's inbox from being pulled once a Consent withholds the person's alerts from it, and says so", async () => {
    await connect('lueccs-ooh', 'off');
    const messageId = await raise('lueccs-ooh');
    await settledAs(messageId, 'lueccs-ooh', 'awaiting-pull');
    const seq = (await alerts.ctx.store.delivery(messageId, 'lueccs-ooh'))!.seq;
    const page = async () => (await alerts.get('lueccs-ooh', `/fhir/$inbox?after=${seq - 1}&_count=1`)).body as Bundle;
    expect(((await page()).entry?.[0]?.resource as Bundle).entry?.[0]?.resource?.id).toBe(messageId);

    const [link] = await alerts.mpi.store.getLinks(['edinburgh-social-work.demo-child-1']);
    const withheld = consent('Patient/demo-child-1', [{ actor: 'Organization/lueccs-ooh', classes: ['alerts'], type: 'deny' }], { id: 'withhold-alerts-from-lueccs' });
    await storeConsent(alerts.mpi.dir.redis, alerts.mpi.dir.keys, withheld, link!.personId);
    const after = await page();
    expect(after.entry?.map((e) => e.search?.mode)).toEqual(['outcome']);
    expect(JSON.stringify(after.entry?.[0]?.resource)).toContain(`Message ${seq} (${messageId}) is withheld: consent withholds this person's alerts from lueccs-ooh`);
  });
});
