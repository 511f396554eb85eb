/**
 * Alert delivery end to end in a running hub (real Redis, real HTTP between the
 * services): the alerts service delivers to agency-sim at the Endpoints the
 * directory holds, agency-sim checks the hub's delivery token and answers with
 * a response message. Raised → delivered once to every routed agency →
 * acknowledged; a fatal answer → dead letter, pushed to the sender's own
 * agency-sim endpoint as a report → re-driven → acknowledged.
 */
import { randomBytes } from 'node:crypto';
import type { Bundle, MessageHeader, Parameters } from 'fhir/r4.js';
import { demoAgencyKey } from '../shared/client/demo-keys.js';
import { getAccessToken } from '../shared/client/token.js';
import type { RunningHub } from '../services/hub.js';
import { alertMessage, BENCH_CATEGORY, BENCH_SENDER, subjectsTransaction } from '../bench/alerts/workload.js';
import { deadLetterReportIdOf } from '../services/alerts/domain/ids.js';
import { uniquePrefix } from './redis.js';
import { startTestHub, stopTestHub } from './in-process-hub.js';

const prefix = uniquePrefix('e2e-alerts');
const runId = randomBytes(3).toString('hex');
let hub: RunningHub;
let token: string;

beforeAll(async () => {
  hub = await startTestHub(prefix);
  ({ access_token: token } = await getAccessToken({
    agencyId: BENCH_SENDER,
    tokenUrl: `${hub.config.urls.directory}/auth/token`,
    privateKeyPem: await demoAgencyKey(BENCH_SENDER),
  }));
  const registered = await call('mpi', 'POST', '/fhir', subjectsTransaction(BENCH_SENDER, runId, 2));
  expect(registered.status).toBe(200);
});

afterAll(() => stopTestHub(hub, prefix));

async function call(service: 'alerts' | 'mpi', method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${hub.config.urls[service]}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function sim(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${hub.config.urls['agency-sim']}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

type Recipients = Map<string, string>;

async function recipientsOf(messageId: string): Promise<Recipients> {
  const res = await call('alerts', 'GET', `/fhir/$delivery-status/${messageId}`);
  const status = (await res.json()) as Parameters;
  return new Map(
    (status.parameter ?? [])
      .filter((p) => p.name === 'recipient')
      .map((p) => [
        p.part?.find((q) => q.name === 'agency')?.valueReference?.reference?.replace('Organization/', '') ?? '',
        p.part?.find((q) => q.name === 'state')?.valueCode ?? '',
      ]),
  );
}

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value instanceof Map ? [...value] : value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function timesReceived(agency: string, messageId: string): Promise<number> {
  const res = await sim('GET', `/agencies/${agency}/received`);
  const report = (await res.json()) as { messages: { messageId: string; receiveCount: number }[] };
  return report.messages.find((m) => m.messageId === messageId)?.receiveCount ?? 0;
}

interface SimReceived {
  readonly messageId: string;
  readonly receiveCount: number;
  readonly message: Bundle;
}

async function receivedBy(agency: string): Promise<SimReceived[]> {
  const res = await sim('GET', `/agencies/${agency}/received?count=1000`);
  return ((await res.json()) as { messages: SimReceived[] }).messages;
}

async function raise(i: number, destinations?: string[]): Promise<string> {
  const message = alertMessage(BENCH_SENDER, BENCH_CATEGORY, runId, i, 0);
  if (destinations) {
    const header = message.entry?.[0]?.resource as MessageHeader;
    header.destination = destinations.map((d) => ({ endpoint: `Organization/${d}`, receiver: { reference: `Organization/${d}` } }));
  }
  const res = await call('alerts', 'POST', '/fhir/$process-message', message);
  expect(res.status).toBe(200);
  return res.headers.get('content-location')!.split('/$delivery-status/')[1]!;
}

describe('alert delivery through agency-sim', () => {
  it('delivers an alert once to every agency the ISP routes it to, each acknowledging it', async () => {
    const messageId = await raise(1);
    const states = await until('every recipient acknowledged', () => recipientsOf(messageId), (r) => r.size > 0 && [...r.values()].every((s) => s === 'acknowledged'));
    expect(states.size).toBeGreaterThan(1);
    for (const agency of states.keys()) expect(await timesReceived(agency, messageId)).toBe(1);
  });

  it("dead-letters a message an agency refuses, pushes the report to the sender's own endpoint once, and delivers the message when the sender re-drives it", async () => {
    const first = await raise(2);
    const recipients = [...(await recipientsOf(first)).keys()];
    await until('the first alert acknowledged', () => recipientsOf(first), (r) => [...r.values()].every((s) => s === 'acknowledged'));
    const agency = recipients[0]!;
    expect((await sim('PUT', `/agencies/${agency}/behaviour`, { mode: 'fatal' })).status).toBe(200);
    try {
      const messageId = await raise(3, [agency]);
      await until('a dead letter', () => recipientsOf(messageId), (r) => r.get(agency) === 'dead-letter');
      const letters = (await (await call('alerts', 'GET', '/fhir/$dead-letters')).json()) as Parameters;
      expect(JSON.stringify(letters)).toContain(messageId);

      // The sender's system hears of it without asking: a delivery-dead-letter message at its agency-sim endpoint.
      const reportId = deadLetterReportIdOf(messageId, agency, 0);
      const reports = await until(
        'the report at the sender',
        () => receivedBy(BENCH_SENDER),
        (got) => got.some((m) => m.messageId === reportId),
      );
      const report = reports.find((m) => m.messageId === reportId)!;
      expect(report.receiveCount).toBe(1);
      const header = report.message.entry?.[0]?.resource as MessageHeader;
      expect(header.eventCoding?.code).toBe('delivery-dead-letter');
      const parts = (report.message.entry?.[1]?.resource as Parameters).parameter?.[0]?.part ?? [];
      expect(parts.find((p) => p.name === 'message')?.valueString).toBe(messageId);
      expect(parts.find((p) => p.name === 'agency')?.valueReference?.reference).toBe(`Organization/${agency}`);
      expect(parts.find((p) => p.name === 'reason')?.valueString).toContain('fatal-error');
      // agency-sim acknowledged it: the report's own delivery, on its status URL for the sender.
      await until('the report acknowledged', () => recipientsOf(reportId), (r) => r.get(BENCH_SENDER) === 'acknowledged');

      expect((await sim('PUT', `/agencies/${agency}/behaviour`, { mode: 'ok' })).status).toBe(200);
      const redriven = await call('alerts', 'POST', `/fhir/$redrive/${messageId}?agency=${agency}`);
      expect(redriven.status).toBe(202);
      await until('the re-driven delivery acknowledged', () => recipientsOf(messageId), (r) => r.get(agency) === 'acknowledged');
      expect(await timesReceived(agency, messageId)).toBe(1);
      // One report, for the one death: the re-drive that was delivered is not reported.
      const toSender = (await receivedBy(BENCH_SENDER)).filter((m) => (m.message.entry?.[0]?.resource as MessageHeader).eventCoding?.code === 'delivery-dead-letter');
      expect(toSender.map((m) => m.messageId)).toEqual([reportId]);
    } finally {
      await sim('PUT', `/agencies/${agency}/behaviour`, { mode: 'ok' });
    }
  });
});
