/**
 * The agency simulator in a real hub (real Redis, real HTTP on free ports):
 * deliveries signed as the hub signs them, posted to the Endpoint address the
 * directory holds for the agency.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, FhirResource, MessageHeader } from 'fhir/r4.js';
import { loadSigningKeyFile, generateKeyPair, type SigningKey } from '../../shared/auth/keys.js';
import { CodeSystems, Extensions, IdentifierSystems } from '../../shared/fhir/systems.js';
import { signDeliveryToken, DELIVERY_TOKEN_TTL_SECONDS } from '../../shared/messaging/delivery-token.js';
import { batchRequestBody, readBatchResponse } from '../../shared/messaging/message-batch.js';
import { isResponseMessageProblem, parseResponseMessage, type ParsedResponseMessage } from '../../shared/messaging/response-message.js';
import { demoAgencyKey } from '../../shared/client/demo-keys.js';
import { getAccessToken } from '../../shared/client/token.js';
import { alertMessage } from '../../test/alerts.js';
import { DirectoryView } from '../directory/view.js';
import { AgencySimKeys } from './keys.js';
import type { RunningHub } from '../hub.js';
import { MpiView } from '../mpi/view.js';
import { startTestHub, stopTestHub } from '../../test/in-process-hub.js';
import { uniquePrefix } from '../../test/redis.js';

let hub: RunningHub;
let hubKey: SigningKey;
let simUrl: string;
const prefix = uniquePrefix('sim');

beforeAll(async () => {
  hub = await startTestHub(prefix);
  hubKey = await loadSigningKeyFile(hub.config.token.signingKeyFile);
  simUrl = hub.config.urls['agency-sim'];
});

afterAll(async () => {
  await stopTestHub(hub, prefix);
});

afterEach(async () => {
  await fetch(`${simUrl}/agencies/reset`, { method: 'POST' });
});

/** A message Bundle as the hub would deliver it (an alert raised, with this agency's sequence number). */
function message(id = randomUUID(), seq = 1): string {
  const bundle: Bundle<FhirResource> = {
    resourceType: 'Bundle',
    type: 'message',
    timestamp: new Date().toISOString(),
    entry: [
      {
        fullUrl: `urn:uuid:${id}`,
        resource: {
          resourceType: 'MessageHeader',
          id,
          extension: [{ url: Extensions.deliverySequence, valueUnsignedInt: seq }],
          eventCoding: { system: CodeSystems.alertEvent, code: 'alert-raised' },
          source: { endpoint: 'Organization/edinburgh-social-work' },
          focus: [{ reference: 'urn:uuid:flag-1' }],
        } satisfies MessageHeader,
      },
      { fullUrl: 'urn:uuid:flag-1', resource: { resourceType: 'Flag', status: 'active', code: { text: 'Child protection concern' }, subject: { reference: 'Patient/demo-child-1' } } },
    ],
  };
  return JSON.stringify(bundle);
}

const messageIdOf = (body: string) => (JSON.parse(body) as { entry: { resource: { id: string } }[] }).entry[0]!.resource.id;

interface Delivery {
  readonly agency: string;
  readonly body: string;
  readonly token: string;
}

function delivery(agency: string, body = message(), options: { key?: SigningKey; tokenFor?: string; nowMs?: number } = {}): Delivery {
  const { token } = signDeliveryToken(
    { messageId: messageIdOf(body), recipient: options.tokenFor ?? agency, body },
    options.key ?? hubKey,
    hub.config.token.issuer,
    options.nowMs,
  );
  return { agency, body, token };
}

/** POSTs a delivery to the agency's Endpoint address as the directory holds it, as the hub's delivery worker does. */
async function deliver(d: Delivery, body = d.body): Promise<Response> {
  const [endpoint] = await new DirectoryView(hub.deps.redis, hub.deps.keys).endpointsOf(d.agency);
  if (!endpoint) throw new Error(`${d.agency} has no Endpoint`);
  return fetch(`${endpoint.address}/$process-message`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${d.token}` },
    body,
  });
}

async function acknowledged(res: Response): Promise<ParsedResponseMessage> {
  expect(res.status).toBe(200);
  const parsed = parseResponseMessage(await res.json());
  if (isResponseMessageProblem(parsed)) throw new Error(parsed.problem);
  return parsed;
}

interface ReceivedReport {
  stats: Record<string, number>;
  batchSizes: Record<string, number>;
  total: number;
  messages: { messageId: string; receiveCount: number; seq?: number; event?: { code: string }; message?: Bundle }[];
}

async function received(agency: string): Promise<ReceivedReport> {
  const res = await fetch(`${simUrl}/agencies/${agency}/received`);
  expect(res.status).toBe(200);
  return (await res.json()) as ReceivedReport;
}

async function behave(agency: string, behaviour: object): Promise<void> {
  const res = await fetch(`${simUrl}/agencies/${agency}/behaviour`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(behaviour),
  });
  expect(res.status).toBe(200);
}

async function refusal(res: Response): Promise<string> {
  expect(res.status).toBe(401);
  const body = (await res.json()) as { resourceType: string; issue: { details?: { text?: string } }[] };
  expect(body.resourceType).toBe('OperationOutcome');
  return body.issue[0]?.details?.text ?? '';
}

describe('Agency simulator: receiving deliveries', () => {
  it('The demo Endpoints point at this hub’s simulator, on the port it actually listens on', async () => {
    const [endpoint] = await new DirectoryView(hub.deps.redis, hub.deps.keys).endpointsOf('nhs-fife');
    expect(endpoint?.address).toBe(`${hub.config.internalUrls['agency-sim']}/agencies/nhs-fife/fhir`);
    expect(simUrl).not.toBe('http://localhost:4010');
  });

  it('Stores a valid delivery and acknowledges it with an ok response message naming the message', async () => {
    const d = delivery('nhs-fife', message(randomUUID(), 7));
    const ack = await acknowledged(await deliver(d));
    expect(ack).toMatchObject({ requestHeaderId: messageIdOf(d.body), code: 'ok', sourceAgency: 'nhs-fife' });
    const report = await received('nhs-fife');
    expect(report.stats).toMatchObject({ accepted: 1, duplicates: 0, refused: 0 });
    expect(report.messages).toHaveLength(1);
    expect(report.messages[0]).toMatchObject({ messageId: messageIdOf(d.body), receiveCount: 1, seq: 7, event: { code: 'alert-raised' } });
    expect(report.messages[0]?.message).toEqual(JSON.parse(d.body));
  });

  it('Acknowledges a second delivery of the same message id again but stores it once, counted as a duplicate', async () => {
    const body = message();
    await acknowledged(await deliver(delivery('nhs-fife', body)));
    const again = await acknowledged(await deliver(delivery('nhs-fife', body)));
    expect(again.code).toBe('ok');
    expect(again.details?.issue[0]?.details?.text).toMatch(/already received/);
    const report = await received('nhs-fife');
    expect(report.total).toBe(1);
    expect(report.messages[0]?.receiveCount).toBe(2);
    expect(report.stats).toMatchObject({ accepted: 1, duplicates: 1 });
  });

  it('Stores each message of a batch once — one sent before, one twice in the same batch — and answers each ok in order', async () => {
    const before = message();
    await acknowledged(await deliver(delivery('nhs-fife', before)));
    const fresh = message();
    const batchId = randomUUID();
    const body = batchRequestBody(batchId, [fresh, before, fresh]);
    const ids = [fresh, before, fresh].map(messageIdOf);
    const { token } = signDeliveryToken({ messageId: batchId, messageIds: ids, recipient: 'nhs-fife', body }, hubKey, hub.config.token.issuer);
    const [endpoint] = await new DirectoryView(hub.deps.redis, hub.deps.keys).endpointsOf('nhs-fife');
    const res = await fetch(endpoint!.address, { method: 'POST', headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${token}` }, body });
    expect(res.status).toBe(200);
    const answers = readBatchResponse(await res.json(), 3)!;
    const parsed = answers.map((a) => parseResponseMessage(a?.resource) as ParsedResponseMessage);
    expect(parsed.map((p) => [p.requestHeaderId, p.code])).toEqual(ids.map((id) => [id, 'ok']));
    expect(parsed.map((p) => /already received/.test(p.details?.issue[0]?.details?.text ?? ''))).toEqual([false, true, true]);
    const report = await received('nhs-fife');
    expect(report.messages.map((m) => [m.messageId, m.receiveCount])).toEqual([
      [messageIdOf(before), 2],
      [messageIdOf(fresh), 2],
    ]);
    expect(report.stats).toMatchObject({ accepted: 2, duplicates: 2, batches: 1 });
    expect(report.batchSizes).toEqual({ 3: 1 });
  });

  it('Keeps the bytes each message of a batch came as (its entry’s text in the body), readable as the message', async () => {
    // Pretty-printed: written out again, each message would come back in other bytes.
    const messages = [message(), message()].map((m) => JSON.stringify(JSON.parse(m), null, 2));
    const batchId = randomUUID();
    const body = batchRequestBody(batchId, messages);
    const { token } = signDeliveryToken({ messageId: batchId, messageIds: messages.map(messageIdOf), recipient: 'nhs-fife', body }, hubKey, hub.config.token.issuer);
    const [endpoint] = await new DirectoryView(hub.deps.redis, hub.deps.keys).endpointsOf('nhs-fife');
    const res = await fetch(endpoint!.address, { method: 'POST', headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${token}` }, body });
    expect(res.status).toBe(200);
    const keys = new AgencySimKeys(hub.deps.keys);
    for (const m of messages) expect(await hub.deps.redis.hget(keys.messages('nhs-fife'), messageIdOf(m))).toContain(`"message":${m}}`);
    expect((await received('nhs-fife')).messages.map((m) => m.message)).toEqual(messages.map((m) => JSON.parse(m) as unknown));
  });

  it('Counts a batch whose every message it refused as told (transient): the request and its size, nothing stored', async () => {
    await behave('nhs-fife', { mode: 'transient' });
    const batchId = randomUUID();
    const messages = [message(), message()];
    const body = batchRequestBody(batchId, messages);
    const { token } = signDeliveryToken({ messageId: batchId, messageIds: messages.map(messageIdOf), recipient: 'nhs-fife', body }, hubKey, hub.config.token.issuer);
    const [endpoint] = await new DirectoryView(hub.deps.redis, hub.deps.keys).endpointsOf('nhs-fife');
    const res = await fetch(endpoint!.address, { method: 'POST', headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${token}` }, body });
    expect(res.status).toBe(200);
    const answers = readBatchResponse(await res.json(), 2)!;
    expect(answers.map((a) => (parseResponseMessage(a?.resource) as ParsedResponseMessage).code)).toEqual(['transient-error', 'transient-error']);
    const report = await received('nhs-fife');
    expect(report).toMatchObject({ total: 0, stats: { transient: 2, batches: 1 } });
    expect(report.batchSizes).toEqual({ 2: 1 });
  });

  it('Keeps each agency’s messages apart', async () => {
    await acknowledged(await deliver(delivery('nhs-fife')));
    expect((await received('fife-education')).total).toBe(0);
  });

  it('Refuses a forged token (signed with another key under the hub’s kid) with 401, storing nothing', async () => {
    const forger = generateKeyPair('ES256').signingKey;
    const text = await refusal(await deliver(delivery('nhs-fife', message(), { key: { ...forger, kid: hubKey.kid } })));
    expect(text).toMatch(/invalid signature/);
    expect(await received('nhs-fife')).toMatchObject({ total: 0, stats: { refused: 1 } });
  });

  it('Refuses a token addressed to another agency with 401', async () => {
    const text = await refusal(await deliver(delivery('nhs-fife', message(), { tokenFor: 'nhs-lothian' })));
    expect(text).toMatch(/not addressed to this agency/);
    expect((await received('nhs-fife')).total).toBe(0);
  });

  it('Refuses an expired token with 401', async () => {
    const stale = delivery('nhs-fife', message(), { nowMs: Date.now() - (DELIVERY_TOKEN_TTL_SECONDS + 120) * 1000 });
    expect(await refusal(await deliver(stale))).toMatch(/expired/);
  });

  it('Refuses a body changed after the hub signed it with 401', async () => {
    const d = delivery('nhs-fife');
    const tampered = d.body.replace('Child protection concern', 'Nothing to see');
    expect(await refusal(await deliver(d, tampered))).toMatch(/body/);
    expect((await received('nhs-fife')).total).toBe(0);
  });

  it('Refuses a delivery without a token with 401', async () => {
    expect(await refusal(await deliver({ ...delivery('nhs-fife'), token: '' }))).toMatch(/required|malformed/);
  });

  it('Refuses a replayed token (same jti) with 401, even after the first was acknowledged', async () => {
    const d = delivery('nhs-fife');
    await acknowledged(await deliver(d));
    expect(await refusal(await deliver(d))).toMatch(/replay/);
    const report = await received('nhs-fife');
    expect(report.messages[0]?.receiveCount).toBe(1);
    expect(report.stats).toMatchObject({ accepted: 1, replays: 1 });
  });

  it('Refuses a replayed token whose body it refused (400) the first time as a replay', async () => {
    const notMessage = JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: [] });
    const d = { agency: 'nhs-fife', body: notMessage, token: signDeliveryToken({ messageId: 'm', recipient: 'nhs-fife', body: notMessage }, hubKey, hub.config.token.issuer).token };
    expect((await deliver(d)).status).toBe(400);
    expect(await refusal(await deliver(d))).toMatch(/replay/);
    expect(await received('nhs-fife')).toMatchObject({ total: 0, stats: { replays: 1 } });
  });

  it('Refuses a replayed token of a message it refused as told (transient) as a replay, counting the refusal once', async () => {
    await behave('nhs-fife', { mode: 'transient' });
    const d = delivery('nhs-fife');
    expect((await acknowledged(await deliver(d))).code).toBe('transient-error');
    expect(await refusal(await deliver(d))).toMatch(/replay/);
    expect(await received('nhs-fife')).toMatchObject({ total: 0, stats: { transient: 1, replays: 1 } });
  });

  it('Keeps the bytes a single message came as (what the token’s digest covers), readable as the message', async () => {
    // Pretty-printed: written out again, the message would come back in other bytes.
    const body = JSON.stringify(JSON.parse(message()), null, 2);
    await acknowledged(await deliver(delivery('nhs-fife', body)));
    const stored = await hub.deps.redis.hget(new AgencySimKeys(hub.deps.keys).messages('nhs-fife'), messageIdOf(body));
    expect(stored).toContain(`"message":${body}}`);
    expect((await received('nhs-fife')).messages[0]?.message).toEqual(JSON.parse(body));
  });

  it('Refuses a body that is not a message Bundle with 400, and an unknown agency with 404', async () => {
    const notMessage = JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: [] });
    const { token } = signDeliveryToken({ messageId: 'm', recipient: 'nhs-fife', body: notMessage }, hubKey, hub.config.token.issuer);
    const res = await deliver({ agency: 'nhs-fife', body: notMessage, token });
    expect(res.status).toBe(400);
    const unknown = await fetch(`${simUrl}/agencies/no-such-agency/fhir/$process-message`, { method: 'POST' });
    expect(unknown.status).toBe(404);
  });
});

describe('Agency simulator: behaviour modes', () => {
  it('transient: answers transient-error and keeps nothing; back to ok it stores the retry', async () => {
    await behave('nhs-fife', { mode: 'transient' });
    const body = message();
    expect((await acknowledged(await deliver(delivery('nhs-fife', body)))).code).toBe('transient-error');
    expect((await received('nhs-fife')).total).toBe(0);
    await behave('nhs-fife', { mode: 'ok' });
    expect((await acknowledged(await deliver(delivery('nhs-fife', body)))).code).toBe('ok');
    expect(await received('nhs-fife')).toMatchObject({ total: 1, stats: { transient: 1, accepted: 1 } });
  });

  it('fatal: answers fatal-error and keeps nothing', async () => {
    await behave('nhs-fife', { mode: 'fatal' });
    expect((await acknowledged(await deliver(delivery('nhs-fife')))).code).toBe('fatal-error');
    expect(await received('nhs-fife')).toMatchObject({ total: 0, stats: { fatal: 1 } });
  });

  it('down: drops the connection without an answer (the sender sees a network error)', async () => {
    await behave('nhs-fife', { mode: 'down' });
    await expect(deliver(delivery('nhs-fife'))).rejects.toThrow();
    expect(await received('nhs-fife')).toMatchObject({ total: 0, stats: { down: 1 } });
  });

  it('down with failure 503: answers 503 with an OperationOutcome', async () => {
    await behave('nhs-fife', { mode: 'down', failure: '503' });
    const res = await deliver(delivery('nhs-fife'));
    expect(res.status).toBe(503);
    expect(((await res.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
  });

  it('down for a while: answers ok again once forMs has passed', async () => {
    // The window opens when the simulator takes the PUT, which is after `asked`. A delivery answered less than
    // FOR_MS after `asked` was taken inside it: a 503. One answered later (a busy machine between the two
    // requests) may legitimately have fallen after the window: then only "ok again" is checked.
    const FOR_MS = 2_000;
    const asked = Date.now();
    await behave('nhs-fife', { mode: 'down', failure: '503', forMs: FOR_MS });
    const during = await deliver(delivery('nhs-fife'));
    if (Date.now() - asked < FOR_MS) expect(during.status).toBe(503);
    else expect([200, 503]).toContain(during.status);
    // Back once the window has passed: waited for (up to 15 s), not assumed at a fixed time.
    let after = await deliver(delivery('nhs-fife'));
    for (const deadline = Date.now() + 15_000; after.status === 503 && Date.now() < deadline; after = await deliver(delivery('nhs-fife'))) {
      await after.arrayBuffer();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await acknowledged(after)).code).toBe('ok');
  });

  it('slow: answers ok after the delay; a sender that gave up first and retries gets ok again, stored once', async () => {
    // The sender gives up after 1 s — long enough for its request to have reached the simulator on a busy machine
    // (given up before it was even sent, there would be no first arrival to count) — well before the 2 s delay ends.
    await behave('nhs-fife', { mode: 'slow', delayMs: 2_000 });
    const body = message();
    const started = Date.now();
    const gaveUp = fetch(`${simUrl}/agencies/nhs-fife/fhir/$process-message`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${delivery('nhs-fife', body).token}` },
      body,
      signal: AbortSignal.timeout(1_000),
    });
    await expect(gaveUp).rejects.toThrow();
    await behave('nhs-fife', { mode: 'ok' });
    expect((await acknowledged(await deliver(delivery('nhs-fife', body)))).code).toBe('ok');
    // The abandoned first delivery still completes on the agency's side: after its 2 s delay, or later on a busy
    // machine — waited for (up to 10 s), not assumed done at a fixed time.
    await new Promise((r) => setTimeout(r, Math.max(0, 2_100 - (Date.now() - started))));
    let report = await received('nhs-fife');
    for (const deadline = Date.now() + 10_000; report.messages[0]?.receiveCount !== 2 && Date.now() < deadline; report = await received('nhs-fife')) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(report.total).toBe(1);
    expect(report.messages[0]?.receiveCount).toBe(2);
  });

  it('Refuses a behaviour it does not know with 422, naming the field', async () => {
    const res = await fetch(`${simUrl}/agencies/nhs-fife/behaviour`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'slow' }),
    });
    expect(res.status).toBe(422);
    expect(JSON.stringify(await res.json())).toMatch(/delayMs/);
  });

  it('A reset forgets what was received and goes back to ok', async () => {
    await behave('nhs-fife', { mode: 'fatal' });
    await deliver(delivery('nhs-fife'));
    await fetch(`${simUrl}/agencies/nhs-fife/reset`, { method: 'POST' });
    expect(await received('nhs-fife')).toMatchObject({ total: 0, stats: { fatal: 0 }, behaviour: { mode: 'ok' } });
  });
});

describe('Demo people in the index', () => {
  it('The people the demo CareTeams name are records of their NP’s and LP’s agencies, resolving to one Person', async () => {
    const mpi = new MpiView(hub.deps.redis, hub.deps.keys);
    const nhsLothian = mpi.recordIdOf('nhs-lothian', 'demo-child-1');
    const socialWork = mpi.recordIdOf('edinburgh-social-work', 'demo-child-1');
    const [a, b] = await Promise.all([mpi.personOf(nhsLothian), mpi.personOf(socialWork)]);
    expect(a?.personId).toBeDefined();
    expect(a?.personId).toBe(b?.personId);
    const identifiers = await mpi.identifiersOf(nhsLothian);
    expect(identifiers).toEqual(expect.arrayContaining([expect.objectContaining({ system: IdentifierSystems.chi, value: '1403231206' })]));
  });
});

describe('Agency simulator with the hub delivering', () => {
  const SENDER = 'edinburgh-social-work';

  async function tokenOf(agency: string): Promise<string> {
    return (await getAccessToken({ agencyId: agency, tokenUrl: hub.config.token.tokenUrl, privateKeyPem: await demoAgencyKey(agency) })).access_token;
  }

  /** Raises a child-protection alert about demo-child-1 (known to the index by the sender's own identifier) to one agency. */
  async function raise(destination: string): Promise<string> {
    const res = await fetch(`${hub.config.urls.alerts}/fhir/$process-message`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${await tokenOf(SENDER)}` },
      body: JSON.stringify(alertMessage({ sender: SENDER, subject: { local: 'demo-child-1' }, destinations: [destination] })),
    });
    expect(res.status).toBe(200);
    return res.headers.get('content-location')!.split('/$delivery-status/')[1]!;
  }

  async function waitFor<T>(what: string, read: () => Promise<T>, done: (t: T) => boolean): Promise<T> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const value = await read();
      if (done(value)) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function statusText(messageId: string): Promise<string> {
    const res = await fetch(`${hub.config.urls.alerts}/fhir/$delivery-status/${messageId}`, { headers: { authorization: `Bearer ${await tokenOf(SENDER)}` } });
    return JSON.stringify(await res.json());
  }

  it('An alert raised about a demo child is delivered by the hub to the recipient’s simulated system, stored once and acknowledged', async () => {
    const messageId = await raise('rie-emergency');
    const report = await waitFor('the delivery', () => received('rie-emergency'), (r) => r.total > 0);
    expect(report.messages[0]).toMatchObject({ receiveCount: 1, event: { code: 'alert-raised' } });
    expect(report.messages[0]?.seq).toBeGreaterThan(0);
    await waitFor('the acknowledgement', () => statusText(messageId), (t) => t.includes('acknowledged'));
  });

  it('Pulling the inbox with fhir-kit-client (catching up) takes each message once: one already pushed is a duplicate, acknowledged again', async () => {
    const messageId = await raise('vhk-emergency');
    await waitFor('the push', () => received('vhk-emergency'), (r) => r.total > 0);
    await waitFor('the acknowledgement', () => statusText(messageId), (t) => t.includes('acknowledged'));

    const pull = async () => {
      const res = await fetch(`${simUrl}/agencies/vhk-emergency/pull`, { method: 'POST' });
      expect(res.status).toBe(200);
      return (await res.json()) as { pulled: number; duplicates: number; lastSeq: number };
    };
    const first = await pull();
    expect(first).toMatchObject({ pulled: 0, duplicates: 1 });
    expect(first.lastSeq).toBeGreaterThan(0);
    const report = await received('vhk-emergency');
    expect(report.total).toBe(1);
    expect(report.messages[0]?.receiveCount).toBe(2);
    expect(await statusText(messageId)).toContain('acknowledged');
    // The next pull continues after the last sequence number: nothing new, nothing twice.
    expect(await pull()).toMatchObject({ pulled: 0, duplicates: 0, lastSeq: first.lastSeq });
  });
});
