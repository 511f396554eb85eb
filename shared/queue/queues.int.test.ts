import type { Job } from 'bullmq';
import { once } from 'node:events';
import { connectRedis } from '../redis/connection.js';
import { queueSiteEachTest } from '../../test/queue-site.js';
import { testRedisUrl } from '../../test/redis.js';
import { jobIdOf, openQueue, startWorker } from './queues.js';

interface Delivery {
  readonly message: string;
  readonly agency: string;
}

const perTest = queueSiteEachTest('queues');

const address = { family: 'alerts', name: 'deliveries' };

function queue() {
  const q = openQueue<Delivery, string>(perTest.site, address, { backoff: { type: 'fixed', delay: 10 } });
  perTest.closeAfterTest(() => q.close());
  return q;
}

function worker(processor: (job: Job<Delivery, string>) => Promise<string>) {
  const w = startWorker<Delivery, string>(perTest.site, address, processor);
  perTest.closeAfterTest(() => w.close());
  return w;
}

describe('jobIdOf', () => {
  it('Derives the id from what the job is about', () => {
    expect(jobIdOf('msg-1', 'nhs-lothian')).toBe('msg-1~nhs-lothian');
    // Parts are FHIR ids (which may contain dots): different parts never join to the same id.
    expect(jobIdOf('a.b', 'c')).not.toBe(jobIdOf('a', 'b.c'));
  });

  it('Refuses ids BullMQ would refuse or that would break hash tags, saying why', () => {
    expect(() => jobIdOf('42')).toThrow(/looks like an integer/);
    expect(() => jobIdOf('-7')).toThrow(/looks like an integer/);
    expect(() => jobIdOf()).toThrow(/at least one part/);
    expect(() => jobIdOf('a', '')).toThrow(/no empty part/);
    expect(() => jobIdOf('msg:1')).toThrow(/must not contain/);
    expect(() => jobIdOf('{x}')).toThrow(/must not contain/);
  });
});

describe('queues on a real Redis', () => {
  it('Queues the same work once when it is added twice (a client retry), and runs it', async () => {
    const q = queue();
    const id = jobIdOf('msg-7', 'rie-emergency');
    await q.add('deliver', { message: 'msg-7', agency: 'rie-emergency' }, { jobId: id });
    await q.add('deliver', { message: 'msg-7', agency: 'rie-emergency' }, { jobId: id });
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 1 });

    const seen: string[] = [];
    const w = worker(async (job) => {
      seen.push(job.id!);
      return `delivered ${job.data.message} to ${job.data.agency}`;
    });
    const completed = new Promise<string>((resolve) => w.on('completed', (_job, result) => resolve(result)));
    expect(await completed).toBe('delivered msg-7 to rie-emergency');
    expect(seen).toEqual([id]);
    // Kept after completion, so a status can be read back.
    expect(await (await q.getJob(id))?.getState()).toBe('completed');
  });

  it('Retries a job whose processor failed, and the retry can see the earlier attempt', async () => {
    const q = queue();
    let attempts = 0;
    const w = worker(async (job) => {
      attempts += 1;
      if (job.attemptsMade === 0) throw new Error('agency endpoint unreachable');
      return 'ok';
    });
    const completed = new Promise<void>((resolve) => w.on('completed', () => resolve()));
    await q.add('deliver', { message: 'msg-8', agency: 'police-scotland-e' }, { jobId: jobIdOf('msg-8', 'police-scotland-e') });
    await completed;
    expect(attempts).toBe(2);
  });

  it('Keeps every key of a queue family under one hash tag (Redis Cluster: one slot)', async () => {
    const q = queue();
    await q.add('deliver', { message: 'msg-9', agency: 'x' }, { jobId: jobIdOf('msg-9', 'x') });
    const keys = await perTest.redis.keys(`${perTest.prefix}:*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key.startsWith(`${perTest.prefix}:{alerts}:deliveries:`)).toBe(true);
  });

  it('Closes a worker at once when its connection is cut for good (a stop that gave up on a Redis that hangs)', async () => {
    const own = connectRedis(testRedisUrl());
    const w = startWorker<Delivery, string>({ redis: own, keys: perTest.site.keys }, address, async () => 'delivered');
    await w.waitUntilReady();
    const closed = once(w, 'closed');
    own.disconnect();
    // BullMQ says `closed` once its timers are stopped and its connections closed (before: never, until closed by hand).
    await expect(closed).resolves.toBeDefined();
  });

  it('Refuses queue names that could not be one hash tag', () => {
    expect(() => openQueue(perTest.site, { family: '{alerts}', name: 'deliveries' })).toThrow(/family/);
    expect(() => openQueue(perTest.site, { family: 'alerts', name: 'Deliveries' })).toThrow(/name/);
  });
});
