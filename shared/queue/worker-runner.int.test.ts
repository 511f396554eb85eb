import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { readAuditEvents, RedisAuditSink } from '../audit/audit-client.js';
import { criteriaOfEvent, requestDetailsOfEvent } from '../audit/audit-event.js';
import { unprocessable } from '../fhir/outcome.js';
import { createLogger } from '../log.js';
import { KeySpace } from '../redis/connection.js';
import { deletePrefix, testRedis, uniquePrefix } from '../../test/redis.js';
import { runWorker, storedRefusalOf, type JobData, type RunningWorker } from './worker-runner.js';

interface Delivery extends JobData {
  readonly messageId: string;
}

const log = createLogger('worker-runner-test', 'silent');


describe('runWorker', () => {
  let redis: Redis;
  let keys: KeySpace;
  let prefix: string;
  let registry: Registry;
  let running: RunningWorker<Delivery, string> | undefined;

  beforeEach(() => {
    redis = testRedis();
    prefix = uniquePrefix('runner');
    keys = new KeySpace(prefix);
    registry = new Registry();
  });

  afterEach(async () => {
    await running?.close();
    running = undefined;
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  function start(process: (job: Job<Delivery, string>) => Promise<string>, attempts = 3) {
    running = runWorker<Delivery, string>(
      { site: { redis, keys }, service: 'alerts', audit: new RedisAuditSink(redis, keys, { log }), log, registry },
      {
        queue: { family: 'alerts', name: 'deliveries' },
        jobOptions: { attempts, backoff: { type: 'fixed', delay: 10 } },
        describe: (data) => ({ type: 'transmit', subtype: 'deliver', action: 'C', entities: [{ reference: `MessageHeader/${data.messageId}` }] }),
        process: async (job) => ({ result: await process(job), audit: { criteria: ['MA-L3'], recipientAgency: 'edinburgh-social-work' } }),
      },
    );
    return running;
  }

  const origin = { requestId: 'req-raise-1', agent: { clientId: 'nhs-lothian', agency: 'nhs-lothian' } };

  /** The job once it is in one of `states` (by default: finished either way). */
  async function settled(jobId: string, states: readonly string[] = ['completed', 'failed']): Promise<Job<Delivery, string>> {
    // Generous: on a loaded machine BullMQ's retry backoff and worker polling can take seconds.
    const deadline = Date.now() + 25_000;
    while (Date.now() < deadline) {
      const job = await running!.queue.getJob(jobId);
      const state = await job?.getState();
      // Read again once finished: the job read above may predate its finishing (and lack its return value).
      if (job && state !== undefined && states.includes(state)) return (await running!.queue.getJob(jobId)) ?? job;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`job ${jobId} did not finish`);
  }

  it('audits a job under the request that queued it, with its queue, id and attempt — and no invented HTTP facts', async () => {
    const { queue } = start(async (job) => `delivered ${job.data.messageId}`);
    await queue.add('deliver', { origin, messageId: 'msg-1' }, { jobId: 'msg-1~social-work' });
    const job = await settled('msg-1~social-work');
    expect(job.returnvalue).toBe('delivered msg-1');
    const [event] = (await readAuditEvents(redis, keys)).map((e) => e.event);
    expect(event?.outcome).toBe('0');
    expect(criteriaOfEvent(event!)).toEqual(['MA-L3']);
    expect(requestDetailsOfEvent(event!)).toEqual({ trigger: 'job', queue: 'alerts/deliveries', job: 'msg-1~social-work', attempt: '1 of 3' });
    expect(event?.entity?.find((e) => e.what?.identifier)?.what?.identifier?.value).toBe('req-raise-1');
    expect(event?.agent.some((a) => a.who?.reference === 'Organization/nhs-lothian')).toBe(true);
  });

  it('records every failed attempt, retries while attempts remain, and counts failures and retries', async () => {
    let calls = 0;
    const { queue } = start(async () => {
      calls += 1;
      if (calls < 3) throw new Error('endpoint unreachable');
      return 'delivered';
    });
    await queue.add('deliver', { origin, messageId: 'msg-2' }, { jobId: 'msg-2~police' });
    expect((await settled('msg-2~police')).returnvalue).toBe('delivered');
    const events = (await readAuditEvents(redis, keys)).map((e) => e.event);
    expect(events.map((e) => [e.outcome, requestDetailsOfEvent(e).attempt])).toEqual([
      ['8', '1 of 3'],
      ['8', '2 of 3'],
      ['0', '3 of 3'],
    ]);
    expect(events[0]?.outcomeDesc).toBe('Attempt 1 of 3 failed (Error: endpoint unreachable); it will be retried');
    expect(criteriaOfEvent(events[0]!)).toEqual([]);
    const metrics = await registry.metrics();
    expect(metrics).toContain('infoshare_job_failures_total{queue="alerts/deliveries",kind="failed"} 2');
    expect(metrics).toContain('infoshare_job_retries_total{queue="alerts/deliveries"} 2');
    expect(metrics).toMatch(/infoshare_job_duration_seconds_count\{queue="alerts\/deliveries",outcome="completed"\} 1/);
    expect(metrics).toMatch(/infoshare_queue_jobs\{queue="alerts\/deliveries",state="completed"\} 1/);
  });

  it('never retries a job refused for its data: one record (outcome 4), the refusal kept for the status', async () => {
    let calls = 0;
    const { queue } = start(async () => {
      calls += 1;
      throw unprocessable('The alert names no Named Person or Lead Professional');
    });
    await queue.add('deliver', { origin, messageId: 'msg-3' }, { jobId: 'msg-3~fire' });
    const job = await settled('msg-3~fire');
    expect(calls).toBe(1);
    expect(storedRefusalOf(job.failedReason)?.status).toBe(422);
    const events = (await readAuditEvents(redis, keys)).map((e) => e.event);
    expect(events).toHaveLength(1);
    expect(events[0]?.outcome).toBe('4');
    expect(events[0]?.outcomeDesc).toContain('Named Person');
  });

  it('gives up after the last attempt with a final failure record', async () => {
    const { queue } = start(async () => {
      throw new Error('still down');
    }, 2);
    await queue.add('deliver', { origin, messageId: 'msg-4' }, { jobId: 'msg-4~housing' });
    expect(await (await settled('msg-4~housing')).getState()).toBe('failed');
    const events = (await readAuditEvents(redis, keys)).map((e) => e.event);
    expect(events.map((e) => e.outcomeDesc)).toEqual(['Attempt 1 of 2 failed (Error: still down); it will be retried', 'Error: still down']);
  });

  it('waits before a retry as long as the processor said, through a custom backoff strategy', async () => {
    class RetryAfter extends Error {
      constructor(readonly delayMs: number) {
        super(`retry in ${delayMs} ms`);
      }
    }
    const startedAt: number[] = [];
    running = runWorker<Delivery, string>(
      { site: { redis, keys }, service: 'alerts', audit: new RedisAuditSink(redis, keys, { log }), log },
      {
        queue: { family: 'alerts', name: 'deliveries' },
        jobOptions: { attempts: 3, backoff: { type: 'decided-by-processor' } },
        backoffStrategy: (_attempts, _type, err) => (err instanceof RetryAfter ? err.delayMs : 0),
        describe: () => ({ type: 'transmit', subtype: 'deliver', action: 'C' }),
        process: async () => {
          startedAt.push(Date.now());
          if (startedAt.length === 1) throw new RetryAfter(600);
          return { result: 'delivered' };
        },
      },
    );
    await running.queue.add('deliver', { origin, messageId: 'msg-5' }, { jobId: 'msg-5~education' });
    // Completed, not merely finished: under load the retry can be caught between its failed attempt and its delay.
    expect((await settled('msg-5~education', ['completed'])).returnvalue).toBe('delivered');
    expect(startedAt[1]! - startedAt[0]!).toBeGreaterThanOrEqual(600);
  });
});
