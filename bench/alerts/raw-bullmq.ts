/**
 * The raw-BullMQ baseline of `bench:alerts`: the same enqueue mode as the hub
 * (one `addBulk` per alert, one job per recipient, deterministic job ids), the
 * same job data shape and size, the same job options, on the same Redis, with
 * a processor that does nothing — what queueing alone costs, so the hub's
 * deliveries per second can be read as a share of it.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { jobIdOf, openQueue, startWorker } from '../../shared/queue/queues.js';
import { KeySpace } from '../../shared/redis/connection.js';
import { redisCpuSeconds } from '../common/process-cpu.js';

export interface RawBullmqRun {
  /** Alerts to enqueue (each one `addBulk` of `recipients` jobs). */
  readonly alerts: number;
  readonly recipients: readonly string[];
  /** `addBulk` calls in flight at once (as many as the hub's concurrent requests). */
  readonly producerConcurrency: number;
  /** Jobs the worker runs at once (the hub's delivery worker concurrency). */
  readonly workerConcurrency: number;
  /** The hub's delivery job options (attempts, backoff, retention): same options, same Lua work per job. */
  readonly jobOptions: JobsOptions;
  /** Job data as the hub writes it, minus the ids this run fills in. */
  readonly origin: unknown;
}

export interface RawBullmqResult {
  readonly jobs: number;
  readonly jobsPerSecond: number;
  readonly seconds: number;
  readonly jobBytes: number;
  /**
   * CPU time per job: this process (producer and worker: BullMQ's client side) and redis-server — what queueing
   * alone costs, the denominator of a CPU-based ratio that a shared machine does not blur.
   */
  readonly cpuMsPerJob: { readonly client: number; readonly redis: number; readonly total: number };
}

/** Enqueues and drains `alerts × recipients` jobs; times from the first add to the last completion. */
export async function rawBullmqBaseline(redis: Redis, run: RawBullmqRun, progress: (m: string) => void): Promise<RawBullmqResult> {
  const site = { redis, keys: new KeySpace(`bench-raw-${randomUUID().slice(0, 8)}`) };
  const address = { family: 'bench-raw-delivery', name: 'deliveries' };
  const queue = openQueue(site, address, run.jobOptions);
  const total = run.alerts * run.recipients.length;
  let completed = 0;
  let finish: () => void = () => {};
  const allDone = new Promise<void>((resolve) => (finish = resolve));
  const worker = startWorker(
    site,
    address,
    // Trivial processor: the baseline measures the queue, not the work.
    () => {
      if (++completed === total) finish();
      return Promise.resolve();
    },
    { concurrency: run.workerConcurrency },
  );
  const sample = jobData(run.origin, randomUUID(), run.recipients[0] ?? 'agency');
  try {
    await worker.waitUntilReady();
    progress(`raw BullMQ: ${run.alerts} addBulk calls of ${run.recipients.length} jobs, ${run.producerConcurrency} in flight, worker concurrency ${run.workerConcurrency}`);
    const start = performance.now();
    const cpuBefore = { client: process.cpuUsage(), redis: await redisCpuSeconds(redis) };
    let next = 0;
    await Promise.all(
      Array.from({ length: run.producerConcurrency }, async () => {
        while (next < run.alerts) {
          next++;
          const messageId = randomUUID();
          await queue.addBulk(
            run.recipients.map((agencyId) => ({
              name: 'deliver',
              data: jobData(run.origin, messageId, agencyId),
              opts: { jobId: jobIdOf(messageId, agencyId) },
            })),
          );
        }
      }),
    );
    await allDone;
    const seconds = (performance.now() - start) / 1000;
    const used = process.cpuUsage(cpuBefore.client);
    const perJob = (cpuSeconds: number) => Math.round((cpuSeconds * 1e6) / total) / 1000;
    const client = perJob((used.user + used.system) / 1e6);
    const redisMs = perJob((await redisCpuSeconds(redis)) - cpuBefore.redis);
    return {
      jobs: total,
      jobsPerSecond: Math.round(total / seconds),
      seconds,
      jobBytes: Buffer.byteLength(JSON.stringify(sample)),
      cpuMsPerJob: { client, redis: redisMs, total: Math.round((client + redisMs) * 1000) / 1000 },
    };
  } finally {
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
}

function jobData(origin: unknown, messageId: string, agencyId: string) {
  return { origin, messageId, agencyId };
}
