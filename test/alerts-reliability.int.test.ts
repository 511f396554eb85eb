/**
 * Reliability of alert delivery, with real processes (issue 11, item 11): the
 * hub runs as a child process (test/hub-process.ts) — directory, MPI, alerts
 * and agency-sim — and is made to fail for real: an agency's endpoint down,
 * the alerts process SIGKILLed while it delivers, Redis itself SIGKILLed and
 * restarted from its AOF, the process killed between accepting an alert and
 * queueing its deliveries. Each test prints one ledger line (test/delivery-ledger.ts):
 * sent / delivered / duplicated / lost, reconciled from the receiver's records
 * (agency-sim) against the hub's delivery records.
 *
 * Every test is bounded: a few dozen alerts, retries and lock timeouts made
 * short through settings, a deadline on every wait.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { setDeliveryBatchSize } from '../bench/alerts/batched-endpoints.js';
import { alertMessage, BENCH_CATEGORY, BENCH_SENDER, subjectsTransaction } from '../bench/alerts/workload.js';
import { openQueue } from '../shared/queue/queues.js';
import { connectRedis, KeySpace } from '../shared/redis/connection.js';
import { messageIdOf } from '../services/alerts/domain/ids.js';
import { AlertsKeys } from '../services/alerts/keys.js';
import { DELIVERIES_QUEUE, deliveryJobId } from '../services/alerts/workers/deliveries.js';
import { AgencySimKeys } from '../services/agency-sim/keys.js';
import { ledgerLine, reconcile, type HubDelivery, type LedgerFigures, type OwedDelivery, type ReceivedMessage } from './delivery-ledger.js';
import { killHubProcess, startHubProcess, stopHubProcess, tokenFor, until, type HubProcess } from './hub-process-control.js';
import { deletePrefix, testRedis, uniquePrefix } from './redis.js';
import { startRedisAnswerProxy } from './redis-answer-proxy.js';
import { startRedisProcess } from './redis-process.js';

/** Settings that keep each test short: quick retries, a frequent sweeper, a short per-attempt timeout, a dead process's attempts re-run within seconds. */
const FAST = {
  INFOSHARE_ALERTS_RETRY_BASE_DELAY: '100ms',
  INFOSHARE_ALERTS_SWEEP_INTERVAL: '500ms',
  INFOSHARE_ALERTS_DELIVERY_TIMEOUT: '2s',
  INFOSHARE_ALERTS_LOCK_DURATION: '2s',
} as const;

const SUBJECTS = 10;

/** One alert as the sender saw it. */
interface Raised {
  readonly index: number;
  readonly messageId: string;
  /** 200: accepted; undefined: no answer (the process died, the request timed out). */
  readonly status?: number;
}

/** A sender (edinburgh-education) raising wellbeing alerts through one hub process. */
class Sender {
  private token?: string;
  readonly runId = randomBytes(3).toString('hex');

  constructor(private hub: HubProcess) {}

  /** Points the sender at a restarted hub (new ports). */
  use(hub: HubProcess): void {
    this.hub = hub;
    this.token = undefined;
  }

  private async bearer(): Promise<string> {
    this.token ??= await tokenFor(this.hub, BENCH_SENDER);
    return this.token;
  }

  async registerSubjects(): Promise<void> {
    const res = await fetch(`${this.hub.urls.mpi}/fhir`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await this.bearer()}`, 'content-type': 'application/fhir+json', prefer: 'return=minimal' },
      body: JSON.stringify(subjectsTransaction(BENCH_SENDER, this.runId, SUBJECTS)),
    });
    if (res.status !== 200) throw new Error(`registering the subjects answered ${res.status}: ${await res.text()}`);
  }

  /** The hub's id of alert `index`'s message (known before it is raised). */
  messageIdOf(index: number): string {
    return messageIdOf(BENCH_SENDER, `bench-msg-${this.runId}-${index}`);
  }

  /** Raises alert `index` (the same index again is the same message: a client retry). */
  async raise(index: number, timeoutMs = 10_000): Promise<Raised> {
    const messageId = this.messageIdOf(index);
    try {
      const res = await fetch(`${this.hub.urls.alerts}/fhir/$process-message`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await this.bearer()}`, 'content-type': 'application/fhir+json' },
        body: JSON.stringify(alertMessage(BENCH_SENDER, BENCH_CATEGORY, this.runId, index, index % SUBJECTS)),
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.arrayBuffer();
      return { index, messageId, status: res.status };
    } catch {
      return { index, messageId };
    }
  }
}

/** The recipients the hub accepted a message for (its stored message), or none when it holds no such message. */
async function recipientsOf(redis: Redis, prefix: string, messageId: string): Promise<string[]> {
  const stored = await redis.hget(new AlertsKeys(new KeySpace(prefix)).message(messageId), 'recipients');
  return stored ? (JSON.parse(stored) as string[]) : [];
}

/** Tells agency-sim how one agency's system behaves from now on. */
async function setBehaviour(hub: HubProcess, agencyId: string, behaviour: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${hub.urls['agency-sim']}/agencies/${agencyId}/behaviour`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(behaviour),
  });
  if (!res.ok) throw new Error(`setting ${agencyId}'s behaviour answered ${res.status}: ${await res.text()}`);
}

/** What the hub and the receiver hold about the owed deliveries. */
async function books(redis: Redis, prefix: string, owed: readonly OwedDelivery[]): Promise<{ hub: (HubDelivery & { nextAttemptAt?: string })[]; received: ReceivedMessage[] }> {
  const space = new KeySpace(prefix);
  const alerts = new AlertsKeys(space);
  const sim = new AgencySimKeys(space);
  const hub = await Promise.all(
    owed.map(async (d): Promise<HubDelivery & { nextAttemptAt?: string }> => {
      const [state, acknowledgedAt, nextAttemptAt] = await redis.hmget(alerts.delivery(d.messageId, d.agencyId), 'state', 'acknowledgedAt', 'nextAttemptAt');
      return {
        ...d,
        state: state ?? 'missing',
        ...(nextAttemptAt ? { nextAttemptAt } : {}),
        ...(state === 'acknowledged' && acknowledgedAt ? { acknowledgedAt: Date.parse(acknowledgedAt) } : {}),
      };
    }),
  );
  const received = await Promise.all(
    owed.map(async (d): Promise<ReceivedMessage> => {
      const [held, count, last] = await Promise.all([
        redis.hexists(sim.messages(d.agencyId), d.messageId),
        redis.hget(sim.receiveCounts(d.agencyId), d.messageId),
        redis.hget(sim.lastReceived(d.agencyId), d.messageId),
      ]);
      return { ...d, stored: held, deliveries: Number(count ?? 0), lastAt: Number(last ?? 0) };
    }),
  );
  return { hub, received };
}

/** Every recipient of every message the hub accepted among `raised` (read from its stored messages). */
async function owedOf(redis: Redis, prefix: string, raised: readonly Raised[]): Promise<OwedDelivery[]> {
  const lists = await Promise.all(raised.map((r) => recipientsOf(redis, prefix, r.messageId)));
  return raised.flatMap((r, i) => lists[i]!.map((agencyId) => ({ messageId: r.messageId, agencyId })));
}

/** Waits until every owed delivery is acknowledged at the hub, then reconciles and prints the ledger line. */
async function settle(name: string, redis: Redis, prefix: string, owed: readonly OwedDelivery[], timeoutMs = 60_000): Promise<LedgerFigures> {
  await until(
    `every delivery acknowledged (${name})`,
    async () => (await books(redis, prefix, owed)).hub.every((d) => d.state === 'acknowledged'),
    timeoutMs,
  ).catch(() => undefined);
  const { hub, received } = await books(redis, prefix, owed);
  const figures = reconcile(owed, received, hub);
  // Whatever is not acknowledged when the wait ends, by the hub's state (pending: still being retried).
  const byState = new Map<string, number>();
  for (const d of hub) if (d.state !== 'acknowledged') byState.set(d.state, (byState.get(d.state) ?? 0) + 1);
  const unsettled = [...byState].map(([state, n]) => `${state} ${n}`);
  process.stdout.write(`${ledgerLine(name, figures)}${unsettled.length ? ` — not acknowledged at the hub: ${unsettled.join(', ')}` : ''}\n`);
  return figures;
}

/** `promise`, or a failure naming what was awaited once `ms` have passed (every wait has a deadline). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)));
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every owed delivery stored once and acknowledged; none lost, none twice. */
const exactlyOnce = (sent: number): Partial<LedgerFigures> => ({ sent, delivered: sent, duplicated: 0, lost: 0, unacknowledged: 0 });

describe('alert delivery when things fail (real processes)', () => {
  let redis: Redis;
  const prefixes: string[] = [];
  const prefix = (label: string): string => {
    const p = uniquePrefix(label);
    prefixes.push(p);
    return p;
  };

  beforeAll(() => {
    redis = testRedis();
  });

  afterAll(async () => {
    for (const p of prefixes) await deletePrefix(redis, p);
    redis.disconnect();
  });

  it('an agency endpoint down for a while, then back: every message reaches it exactly once', async () => {
    const p = prefix('rel-down');
    const hub = await startHubProcess(p, { env: FAST });
    try {
      const sender = new Sender(hub);
      await sender.registerSubjects();
      const probe = await sender.raise(0);
      expect(probe.status).toBe(200);
      const downAgency = (await recipientsOf(redis, p, probe.messageId))[0]!;
      await setBehaviour(hub, downAgency, { mode: 'down' });
      const raised = [probe];
      for (let i = 1; i < 20; i++) raised.push(await sender.raise(i));
      expect(raised.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
      const owed = await owedOf(redis, p, raised);
      const toDown = owed.filter((d) => d.agencyId === downAgency && d.messageId !== probe.messageId);

      // While it is down: it gets nothing, and its deliveries are retried (or held back by its circuit breaker), not given up.
      await until('a failed attempt at the down agency', async () => (await books(redis, p, toDown)).hub.some((d) => d.nextAttemptAt !== undefined), 30_000);
      await new Promise((r) => setTimeout(r, 2_000));
      const during = await books(redis, p, toDown);
      expect(during.received.filter((m) => m.stored > 0)).toEqual([]);
      expect(during.hub.filter((d) => d.state !== 'pending')).toEqual([]);

      await setBehaviour(hub, downAgency, { mode: 'ok' });
      const figures = await settle(`agency endpoint down (${toDown.length} messages waiting for it), then back`, redis, p, owed);
      expect(figures).toMatchObject(exactlyOnce(owed.length));
    } finally {
      await stopHubProcess(hub);
    }
  }, 120_000);

  it('the alerts process SIGKILLed while delivering, twice: after a restart everything is delivered, nothing twice, nothing given up (half the agencies batched)', async () => {
    const p = prefix('rel-kill');
    let hub = await startHubProcess(p, { env: FAST });
    // Half the recipients take batches (the hub's fixture load at each start sets their Endpoints back: opt in again).
    let batched: string[] = [];
    const optIn = async () => {
      for (const agency of batched) await setDeliveryBatchSize(hub.urls.directory!, agency, 10);
    };
    try {
      const sender = new Sender(hub);
      await sender.registerSubjects();
      const first = await sender.raise(0);
      batched = (await recipientsOf(redis, p, first.messageId)).slice(0, 3);
      await optIn();
      // Slow receivers: deliveries are in flight when the process dies — twice, so slow enough that a restarted
      // hub (kept-alive connections, one write per attempt) cannot finish them all before the second kill.
      for (const agency of await recipientsOf(redis, p, first.messageId)) await setBehaviour(hub, agency, { mode: 'slow', delayMs: 600 });
      const raised = [first];
      for (let i = 1; i < 30; i++) raised.push(await sender.raise(i));
      expect(raised.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
      const owed = await owedOf(redis, p, raised);
      const acknowledged = async () => (await books(redis, p, owed)).hub.filter((d) => d.state === 'acknowledged').length;
      await until('some deliveries acknowledged', async () => (await acknowledged()) >= owed.length / 4, 30_000);
      await killHubProcess(hub);
      const cut = await acknowledged();
      expect(cut).toBeLessThan(owed.length);

      // Restarted, and killed again while it re-runs what the first crash left: some attempts die twice.
      hub = await startHubProcess(p, { env: FAST });
      await optIn();
      await until('more deliveries acknowledged', async () => (await acknowledged()) > cut, 30_000);
      await killHubProcess(hub);
      const secondCut = await acknowledged();
      expect(secondCut).toBeLessThan(owed.length);

      hub = await startHubProcess(p, { env: FAST });
      await optIn();
      const figures = await settle(
        `alerts process SIGKILLed twice (${batched.join(', ')} batched), with ${owed.length - cut} then ${owed.length - secondCut} of ${owed.length} deliveries outstanding`,
        redis,
        p,
        owed,
      );
      expect(figures).toMatchObject(exactlyOnce(owed.length));
      // No delivery job was given up for having stalled twice.
      const queue = openQueue({ redis, keys: new KeySpace(p) }, DELIVERIES_QUEUE);
      expect(await queue.getJobCounts('failed')).toEqual({ failed: 0 });
      await queue.close();
    } finally {
      await stopHubProcess(hub);
    }
  }, 120_000);

  it('Redis SIGKILLed and restarted from its AOF: every alert whose acceptance the sender saw is delivered', async () => {
    const p = prefix('rel-redis');
    const server = await startRedisProcess('always');
    const own = connectRedis(server.url);
    own.on('error', () => {});
    let hub: HubProcess | undefined;
    try {
      hub = await startHubProcess(p, { redisUrl: server.url, env: FAST });
      const sender = new Sender(hub);
      await sender.registerSubjects();
      // Alerts go out at a steady pace while Redis dies and comes back.
      const sending = (async () => {
        const raised: Raised[] = [];
        for (let i = 0; i < 40; i++) {
          raised.push(await sender.raise(i, 5_000));
          await new Promise((r) => setTimeout(r, 50));
        }
        return raised;
      })();
      await new Promise((r) => setTimeout(r, 1_000));
      await server.kill();
      await new Promise((r) => setTimeout(r, 1_000));
      await server.restart();
      const raised = await sending;
      const accepted = raised.filter((r) => r.status === 200);
      expect(accepted.length).toBeGreaterThan(0);
      const owed = await owedOf(own, p, accepted);
      expect(owed.length).toBe(accepted.length * 6);
      const figures = await settle(`Redis SIGKILLed and restarted (${accepted.length} of ${raised.length} alerts accepted)`, own, p, owed);
      expect(figures).toMatchObject(exactlyOnce(owed.length));
    } finally {
      if (hub) await stopHubProcess(hub);
      own.disconnect();
      await server.stop();
    }
  }, 120_000);

  // Redis killed at the worst instant of one delivery step: the step's command has run (and is in the AOF: `appendfsync
  // always`) but its answer never reached the client, which sends the command again once Redis is back (ioredis
  // re-sends unanswered commands). Each step must come to the same thing the second time (a proxy loses the answer).
  // The step's command is named with the alert's message id wherever it carries it: the probe's own records (the
  // audit relay copying "Delivered to … and acknowledged" a moment after the probe settled) must not be taken for it.
  it.each([
    ['the receiver has remembered the delivery token (its replay check)', (): string[] => ['{agency-sim}:jti:'], undefined],
    ['the receiver has stored the message', (messageId: string): string[] => ['{agency-sim}:msg:', messageId], undefined],
    ['the hub has recorded the acknowledgement', (messageId: string): string[] => ['and acknowledged', messageId], undefined],
    [
      'the hub has recorded a failed attempt to retry',
      (messageId: string): string[] => ['could not take the message now (transient-error', messageId],
      { mode: 'transient', forMs: 1_500 },
    ],
  ] as const)('Redis SIGKILLed the moment %s, before the answer got back: delivered exactly once, no dead letter', async (_step, stepCommand, behaviour) => {
    const p = prefix('rel-step');
    const server = await startRedisProcess('always');
    const proxy = await startRedisAnswerProxy(server.url);
    const own = connectRedis(server.url);
    own.on('error', () => {});
    let hub: HubProcess | undefined;
    try {
      hub = await startHubProcess(p, { redisUrl: proxy.url, env: FAST });
      const sender = new Sender(hub);
      await sender.registerSubjects();
      const probe = await sender.raise(0);
      expect(probe.status).toBe(200);
      const probeOwed = await owedOf(own, p, [probe]);
      await until('the probe delivered', async () => (await books(own, p, probeOwed)).hub.every((d) => d.state === 'acknowledged'), 30_000);
      const recipients = await recipientsOf(own, p, probe.messageId);
      if (behaviour) for (const agency of recipients) await setBehaviour(hub, agency, behaviour);

      const held = proxy.holdAnswerTo(...stepCommand(sender.messageIdOf(1)));
      const raised = await sender.raise(1);
      expect(raised.status).toBe(200);
      const { answered } = await within(held, 30_000, `the command of the step "${_step}" reaching Redis`);
      await within(answered, 10_000, `Redis answering the step "${_step}"`);
      await server.kill();
      await server.restart();

      const owed = await owedOf(own, p, [raised]);
      expect(owed).toHaveLength(6);
      const figures = await settle(`Redis SIGKILLed the moment ${_step}`, own, p, owed, 30_000);
      expect(figures).toMatchObject(exactlyOnce(owed.length));
    } finally {
      if (hub) await stopHubProcess(hub);
      own.disconnect();
      await proxy.close();
      await server.stop();
    }
  }, 120_000);

  it('the alerts service killed between accepting an alert and queueing its deliveries: nothing is lost', async () => {
    const p = prefix('rel-queue');
    const setup = await startHubProcess(p, { env: FAST });
    const sender = new Sender(setup);
    await sender.registerSubjects();
    await stopHubProcess(setup);

    // The third alert is accepted (written with its deliveries), then the process dies before queueing them.
    const doomed = await startHubProcess(p, { env: { ...FAST, INFOSHARE_FAILPOINTS: 'alerts.after-accept@3' } });
    sender.use(doomed);
    const raised = [await sender.raise(0), await sender.raise(1), await sender.raise(2)];
    expect(raised.map((r) => r.status)).toEqual([200, 200, undefined]);
    expect(await doomed.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const recipients = await recipientsOf(redis, p, raised[0]!.messageId);
    expect(recipients).toHaveLength(6);
    // The sender never saw an answer for the third, but the hub accepted it, for the same recipients; its deliveries wait, unqueued.
    const third = raised[2]!.messageId;
    expect(await recipientsOf(redis, p, third)).toEqual(recipients);
    const keys = new AlertsKeys(new KeySpace(p));
    expect((await redis.smembers(keys.unqueued)).sort()).toEqual(recipients.map((a) => deliveryJobId(third, a)).sort());

    const back = await startHubProcess(p, { env: FAST });
    const queue = openQueue({ redis, keys: new KeySpace(p) }, DELIVERIES_QUEUE);
    try {
      const owed = await owedOf(redis, p, raised);
      const figures = await settle('alerts service killed between accepting and queueing', redis, p, owed);
      expect(figures).toMatchObject(exactlyOnce(owed.length));
      expect(await redis.scard(keys.unqueued)).toBe(0);

      // The sender retries the unanswered one, as a client does: the same answer, no second job, no second delivery.
      sender.use(back);
      expect(await sender.raise(2)).toMatchObject({ status: 200, messageId: third });
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(owed.length);
      const { hub: states, received } = await books(redis, p, owed);
      expect(reconcile(owed, received, states)).toMatchObject(exactlyOnce(owed.length));
    } finally {
      await queue.close();
      await stopHubProcess(back);
    }
  }, 120_000);
});
