/**
 * Reliability of alert delivery, with real processes (issue 11, item 11): the
 * hub runs as a child process (test/hub-process.ts) and is made to fail for
 * real. Here: the process killed between accepting an alert (the accept script
 * wrote the message and its deliveries) and queueing its delivery jobs.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { alertMessage, BENCH_CATEGORY, BENCH_SENDER, subjectsTransaction } from '../bench/alerts/workload.js';
import { openQueue } from '../shared/queue/queues.js';
import { KeySpace } from '../shared/redis/connection.js';
import { messageIdOf } from '../services/alerts/domain/ids.js';
import { AlertsKeys } from '../services/alerts/keys.js';
import { DELIVERIES_QUEUE, deliveryJobId } from '../services/alerts/workers/deliveries.js';
import { startHubProcess, stopHubProcess, tokenFor, until, type HubProcess } from './hub-process-control.js';
import { deletePrefix, testRedis, uniquePrefix } from './redis.js';

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

  /** Raises alert `index` (the same index again is the same message: a client retry). */
  async raise(index: number, timeoutMs = 10_000): Promise<Raised> {
    const messageId = messageIdOf(BENCH_SENDER, `bench-msg-${this.runId}-${index}`);
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

  it('the alerts service killed between accepting an alert and queueing its deliveries: every accepted delivery is queued after a restart, once', async () => {
    const p = prefix('rel-queue');
    const setup = await startHubProcess(p);
    const sender = new Sender(setup);
    await sender.registerSubjects();
    await stopHubProcess(setup);

    // The third alert is accepted (written with its deliveries), then the process dies before queueing them.
    const doomed = await startHubProcess(p, { env: { INFOSHARE_FAILPOINTS: 'alerts.after-accept@3', INFOSHARE_TEST_SKIP_FIXTURES: '1' } });
    sender.use(doomed);
    const raised = [await sender.raise(0), await sender.raise(1), await sender.raise(2)];
    expect(raised.map((r) => r.status)).toEqual([200, 200, undefined]);
    expect(await doomed.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const recipients = await recipientsOf(redis, p, raised[0]!.messageId);
    expect(recipients).toHaveLength(6);
    // The sender never saw an answer for the third, but the hub accepted it, for the same recipients.
    expect(await recipientsOf(redis, p, raised[2]!.messageId)).toEqual(recipients);
    const keys = new AlertsKeys(new KeySpace(p));
    const third = raised[2]!.messageId;
    // Its deliveries wait, unqueued.
    expect((await redis.smembers(keys.unqueued)).sort()).toEqual(recipients.map((a) => deliveryJobId(third, a)).sort());

    const queue = openQueue({ redis, keys: new KeySpace(p) }, DELIVERIES_QUEUE);
    const back = await startHubProcess(p, { env: { INFOSHARE_TEST_SKIP_FIXTURES: '1' } });
    try {
      await until('the sweeper to queue what was accepted', async () => (await redis.scard(keys.unqueued)) === 0, 20_000);
      const owed = raised.flatMap((r) => recipients.map((agencyId) => deliveryJobId(r.messageId, agencyId)));
      const jobs = await Promise.all(owed.map((id) => queue.getJob(id)));
      expect(owed.filter((_, i) => !jobs[i])).toEqual([]);

      // The sender retries the unanswered one, as a client does: the same answer, and no second job or delivery.
      sender.use(back);
      const retried = await sender.raise(2);
      expect(retried).toMatchObject({ status: 200, messageId: third });
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(owed.length);
      process.stdout.write(`[reliability] alerts service killed between accepting and queueing: accepted ${owed.length} deliveries / queued ${owed.length} / lost 0\n`);
    } finally {
      await queue.close();
      await stopHubProcess(back);
    }
  }, 90_000);
});
