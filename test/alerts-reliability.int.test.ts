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
 * short through settings, a deadline on every wait. Redis killed at the exact
 * instant of one delivery step: test/alerts-redis-step-kills.int.test.ts (a
 * suite of its own, so neither runs near the test runner's stall watchdog).
 */
import type { Redis } from 'ioredis';
import { setDeliveryBatchSize } from '../bench/alerts/batched-endpoints.js';
import { openQueue } from '../shared/queue/queues.js';
import { connectRedis, KeySpace } from '../shared/redis/connection.js';
import { AlertsKeys } from '../services/alerts/keys.js';
import { DELIVERIES_QUEUE, deliveryJobId } from '../services/alerts/workers/deliveries.js';
import { reconcile } from './delivery-ledger.js';
import { books, exactlyOnce, FAST, owedOf, recipientsOf, Sender, setBehaviour, settle, type Raised } from './alerts-reliability.js';
import { HUB_PROCESS_TEST_MS, killHubProcess, startHubProcess, stopHubProcess, until, type HubProcess } from './hub-process-control.js';
import { deletePrefix, testRedis, uniquePrefix } from './redis.js';
import { startRedisProcess } from './redis-process.js';

/**
 * How long a test waits for a first effect (a failed attempt, some acknowledgements): generous, since on a busy
 * machine a restarted hub's first deliveries can take tens of seconds; a passing run waits only as long as it takes.
 */
const WAIT_MS = 90_000;

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
      await until('a failed attempt at the down agency', async () => (await books(redis, p, toDown)).hub.some((d) => d.nextAttemptAt !== undefined), WAIT_MS);
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
  }, HUB_PROCESS_TEST_MS);

  it('the alerts process SIGKILLed while delivering, twice: after a restart everything is delivered, nothing twice, nothing given up (half the agencies batched)', async () => {
    const p = prefix('rel-kill');
    // Deliveries in waves of 16 (not the default 512 in flight): with every remaining delivery in flight at once a
    // restarted hub finished them all within one slow answer, before the second kill could land (seen once).
    const WAVES = { ...FAST, INFOSHARE_ALERTS_DELIVERY_CONCURRENCY: '16' };
    let hub = await startHubProcess(p, { env: WAVES });
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
      await until('some deliveries acknowledged', async () => (await acknowledged()) >= owed.length / 4, WAIT_MS);
      await killHubProcess(hub);
      const cut = await acknowledged();
      expect(cut).toBeLessThan(owed.length);

      // Restarted, and killed again while it re-runs what the first crash left: some attempts die twice.
      hub = await startHubProcess(p, { env: WAVES });
      await optIn();
      await until('more deliveries acknowledged', async () => (await acknowledged()) > cut, WAIT_MS);
      await killHubProcess(hub);
      const secondCut = await acknowledged();
      expect(secondCut).toBeLessThan(owed.length);

      hub = await startHubProcess(p, { env: WAVES });
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
  }, HUB_PROCESS_TEST_MS);

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
  }, HUB_PROCESS_TEST_MS);

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
      const { hub: states, received } = await books(redis, p, owed, true);
      expect(reconcile(owed, received, states)).toMatchObject(exactlyOnce(owed.length));
    } finally {
      await queue.close();
      await stopHubProcess(back);
    }
  }, HUB_PROCESS_TEST_MS);
});
