/**
 * Batched delivery end to end, with a real Redis and real HTTP: the hub's
 * services in this process on free ports, agency-sim as the receiving system,
 * the agency opting in through the directory as its own system would
 * (bench/alerts/batched-endpoints.ts). Each message of a batch keeps every
 * guarantee of a message sent alone: its own re-check, acknowledgement, retry
 * and audit records, stored once at the receiver.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { readAuditTrailOf } from '../../shared/audit/audit-client.js';
import { triggerOfEvent } from '../../shared/audit/audit-event.js';
import { demoAgencyKey } from '../../shared/client/demo-keys.js';
import { getAccessToken } from '../../shared/client/token.js';
import { connectRedis } from '../../shared/redis/connection.js';
import { setDeliveryBatchSize } from '../../bench/alerts/batched-endpoints.js';
import { alertMessage, BENCH_CATEGORY, BENCH_SENDER, subjectsTransaction, subjectValue } from '../../bench/alerts/workload.js';
import { consent, storeConsent } from '../../test/plans.js';
import { startTestHub, stopTestHub } from '../../test/in-process-hub.js';
import { uniquePrefix } from '../../test/redis.js';
import type { RunningHub } from '../hub.js';
import { MpiView } from '../mpi/view.js';
import { messageIdOf } from './domain/ids.js';
import { AlertStore, type Delivery, type DeliveryState } from './store.js';
import { AlertsKeys } from './keys.js';

const RECIPIENT = 'nhs-lothian';
const SUBJECTS = 6;

let hub: RunningHub;
let redis: Redis;
let store: AlertStore;
let token: string;
const runId = randomBytes(3).toString('hex');
const prefix = uniquePrefix('batch');
let sent = 0;

beforeAll(async () => {
  hub = await startTestHub(prefix, {
    env: {
      ...process.env,
      // A long linger so that messages raised together reliably share a batch; quick retries; a short timeout;
      // a short job lock, so a job whose lock is lost runs again within a second or two.
      INFOSHARE_ALERTS_BATCH_LINGER: '300ms',
      INFOSHARE_ALERTS_RETRY_BASE_DELAY: '100ms',
      INFOSHARE_ALERTS_DELIVERY_TIMEOUT: '6s',
      INFOSHARE_ALERTS_LOCK_DURATION: '1s',
    },
  });
  redis = connectRedis(hub.redisUrl);
  store = new AlertStore(redis, new AlertsKeys(hub.deps.keys));
  token = (await getAccessToken({ agencyId: BENCH_SENDER, tokenUrl: `${hub.urls.directory!}/auth/token`, privateKeyPem: await demoAgencyKey(BENCH_SENDER) })).access_token;
  const registered = await fetch(`${hub.urls.mpi!}/fhir`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json', prefer: 'return=minimal' },
    body: JSON.stringify(subjectsTransaction(BENCH_SENDER, runId, SUBJECTS)),
  });
  expect(registered.status).toBe(200);
  // The agency opts in, as its own system would, through the directory.
  expect(await setDeliveryBatchSize(hub.urls.directory!, RECIPIENT, 10)).toBe(1);
});

afterAll(async () => {
  await redis?.quit();
  await stopTestHub(hub, prefix);
});

afterEach(async () => {
  await fetch(`${sim()}/agencies/reset`, { method: 'POST' });
});

const sim = () => hub.urls['agency-sim']!;

/** The message id the hub gives the next alert (deterministic from the sender's MessageHeader.id), and a raise of it to RECIPIENT only. */
function nextAlert(subject: number): { messageId: string; raise: () => Promise<void> } {
  const i = sent++;
  const messageId = messageIdOf(BENCH_SENDER, `bench-msg-${runId}-${i}`);
  const raise = async () => {
    const message = alertMessage(BENCH_SENDER, BENCH_CATEGORY, runId, i, subject);
    const header = message.entry![0]!.resource as { destination?: unknown[] };
    header.destination = [{ endpoint: `Organization/${RECIPIENT}`, receiver: { reference: `Organization/${RECIPIENT}` } }];
    const res = await fetch(`${hub.urls.alerts!}/fhir/$process-message`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify(message),
    });
    expect(res.status).toBe(200);
  };
  return { messageId, raise };
}

async function raiseTogether(subjects: readonly number[]): Promise<string[]> {
  const alerts = subjects.map((s) => nextAlert(s));
  await Promise.all(alerts.map((a) => a.raise()));
  return alerts.map((a) => a.messageId);
}

async function delivery(messageId: string): Promise<Delivery> {
  const d = await store.delivery(messageId, RECIPIENT);
  if (!d) throw new Error(`no delivery of ${messageId}`);
  return d;
}

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const states = (ids: readonly string[]) => Promise.all(ids.map(async (id) => (await delivery(id)).state));
const allIn = (state: DeliveryState) => (s: DeliveryState[]) => s.every((x) => x === state);

interface SimReport {
  stats: Record<string, number>;
  batchSizes: Record<string, number>;
  messages: { messageId: string; receiveCount: number }[];
}

async function received(): Promise<SimReport> {
  const res = await fetch(`${sim()}/agencies/${RECIPIENT}/received?summary=true&count=1000`);
  expect(res.status).toBe(200);
  return (await res.json()) as SimReport;
}

const receiveCountOf = (report: SimReport, messageId: string) => report.messages.find((m) => m.messageId === messageId)?.receiveCount ?? 0;
/** Messages carried by batch requests, and the largest batch. */
const batchTotals = (report: SimReport) => {
  const sizes = Object.entries(report.batchSizes).map(([size, n]) => [Number(size), n] as const);
  return { messages: sizes.reduce((sum, [size, n]) => sum + size * n, 0), largest: Math.max(0, ...sizes.map(([size]) => size)) };
};

describe('batched delivery to an Endpoint that opts in', () => {
  it('delivers messages queued together in one request, each acknowledged on its own and stored once, each with its own audit records', async () => {
    const ids = await raiseTogether([0, 1, 2, 3]);
    await until('every message acknowledged', () => states(ids), allIn('acknowledged'));

    const report = await received();
    for (const id of ids) expect(receiveCountOf(report, id)).toBe(1);
    // The four went out in batch requests (at least two of them together), nothing else did.
    expect(batchTotals(report).messages).toBe(4);
    expect(batchTotals(report).largest).toBeGreaterThanOrEqual(2);
    for (const id of ids) expect((await delivery(id)).attempts).toBe(1);

    // Each message's own trail: its attempt acknowledged (MA-L3) and its state change.
    for (const id of ids) {
      const requestId = (await store.message(id))!.origin.requestId;
      const trail = await until(
        `the audit trail of ${id}`,
        () => readAuditTrailOf(redis, hub.deps.keys, requestId),
        (t) => t.some((e) => triggerOfEvent(e) === 'job' && e.outcome === '0') && t.some((e) => triggerOfEvent(e) === 'change'),
      );
      const attempt = trail.find((e) => triggerOfEvent(e) === 'job' && e.outcome === '0');
      expect(attempt?.outcomeDesc).toContain('acknowledged');
    }
  });

  it('retries a message the agency refuses for now alone, while the others in its batch are done', async () => {
    const alerts = [0, 1, 2].map((s) => nextAlert(s));
    const refused = alerts[1]!.messageId;
    const behave = await fetch(`${sim()}/agencies/${RECIPIENT}/behaviour`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'transient', messages: [refused], forMs: 1_500 }),
    });
    expect(behave.status).toBe(200);
    await Promise.all(alerts.map((a) => a.raise()));
    const others = alerts.filter((a) => a.messageId !== refused).map((a) => a.messageId);

    await until('the others acknowledged', () => states(others), allIn('acknowledged'));
    const waiting = await delivery(refused);
    expect(waiting.state).toBe('pending');
    expect(waiting.lastError).toContain('transient-error');

    await until('the refused one acknowledged once the agency takes it', () => delivery(refused), (d) => d.state === 'acknowledged');
    expect((await delivery(refused)).attempts).toBeGreaterThanOrEqual(2);
    const report = await received();
    expect(report.stats.transient).toBeGreaterThanOrEqual(1);
    // The others were neither retried nor stored twice; the refused one is stored once.
    for (const id of others) {
      expect((await delivery(id)).attempts).toBe(1);
      expect(receiveCountOf(report, id)).toBe(1);
    }
    expect(receiveCountOf(report, refused)).toBe(1);
  });

  it('leaves out of the batch a message whose flow was withdrawn (a Consent withholding the person’s alerts), and delivers the rest', async () => {
    const mpi = new MpiView(redis, hub.deps.keys);
    const person = await mpi.personOf(mpi.recordIdOf(BENCH_SENDER, subjectValue(runId, 5)));
    expect(person).toBeDefined();
    const withheld = consent(`Patient/${subjectValue(runId, 5)}`, [{ actor: `Organization/${RECIPIENT}`, classes: ['alerts'], type: 'deny' }], { id: `withhold-${runId}` });
    await storeConsent(redis, hub.deps.keys, withheld, person!.personId);

    const [first, withdrawn, last] = await raiseTogether([3, 5, 4]);
    await until('the flows allowed acknowledged', () => states([first!, last!]), allIn('acknowledged'));
    await until('the withheld one withdrawn', () => delivery(withdrawn!), (d) => d.state === 'withdrawn');
    expect((await delivery(withdrawn!)).lastError).toContain('consent withholds');

    const report = await received();
    expect(receiveCountOf(report, withdrawn!)).toBe(0);
    expect(batchTotals(report).messages).toBe(2);
  });

  it('stores each message of a batch once when the batch is sent again after its answer was lost, and acknowledges each once', async () => {
    // The agency takes longer than the hub waits (well beyond, so a busy machine's late timer cannot change that):
    // the first batch is stored but its answer never reaches the hub. Slow for 5.9 s from this PUT — as long as the
    // first batch may take to arrive on a busy machine (raised, accepted, queued, claimed) — and no longer by the
    // retry: sent after the 6 s timeout of an attempt that started after this PUT, it always falls after the window.
    const behave = await fetch(`${sim()}/agencies/${RECIPIENT}/behaviour`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'slow', delayMs: 8_000, forMs: 5_900 }),
    });
    expect(behave.status).toBe(200);
    const ids = await raiseTogether([0, 1, 2]);
    await until('every message acknowledged', () => states(ids), allIn('acknowledged'));
    // The slow first request finishes storing after the hub gave up on it.
    await until('the slow first request stored', received, (r) => (r.stats.duplicates ?? 0) >= 1, 10_000);

    const report = await received();
    expect(report.stats.accepted).toBe(3);
    expect(report.stats.duplicates).toBeGreaterThanOrEqual(1);
    for (const id of ids) {
      expect(report.messages.filter((m) => m.messageId === id)).toHaveLength(1);
      const d = await delivery(id);
      expect(d.attempts).toBeGreaterThanOrEqual(2);
      expect(d.state).toBe('acknowledged');
    }
  });

  it('never delivers a message twice when its job runs again while the first run is still calling the agency (a lost job lock)', async () => {
    const behave = await fetch(`${sim()}/agencies/${RECIPIENT}/behaviour`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'slow', delayMs: 4_000 }),
    });
    expect(behave.status).toBe(200);
    const [id] = await raiseTogether([2]);
    const key = new AlertsKeys(hub.deps.keys).delivery(id!, RECIPIENT);
    await until('the first run calling the agency', () => redis.hget(key, 'leaseHolder'), (holder) => holder !== null);
    // The job's lock lapses as under a long event-loop stall: BullMQ's stalled check hands the job to a second run.
    const [lock] = await redis.keys(`${hub.deps.keys.prefix}:*${id!}~${RECIPIENT}:lock`);
    expect(lock).toBeDefined();
    await redis.del(lock!);

    await until('acknowledged', () => delivery(id!), (d) => d.state === 'acknowledged');
    const requestId = (await store.message(id!))!.origin.requestId;
    // The second run found the first one's claim and waited instead of calling.
    await until(
      'the second run held back',
      () => readAuditTrailOf(redis, hub.deps.keys, requestId),
      (t) => t.some((e) => triggerOfEvent(e) === 'job' && (e.outcomeDesc ?? '').includes('another attempt of this delivery is in flight')),
    );
    // Long enough for a second call, had there been one, to have been stored.
    await new Promise((r) => setTimeout(r, 3_500));
    const report = await received();
    expect(receiveCountOf(report, id!)).toBe(1);
    expect(report.stats.duplicates ?? 0).toBe(0);
  });
});
