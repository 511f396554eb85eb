/**
 * BullMQ wiring every queue in the hub uses (alerts delivery, acknowledgements,
 * background MPI work…), so each service gets the same three guarantees:
 *
 * - Cluster-ready keys: a queue's keys live under `<prefix>:{<family>}:<name>:…`
 *   (`KeySpace.queuePrefix`), one hash tag per family, since BullMQ's Lua
 *   scripts touch several keys of a queue at once (CROSSSLOT otherwise).
 * - Idempotent adds: job ids are derived from what the job is about
 *   (`jobIdOf('msg-1', 'nhs-lothian')` → `msg-1~nhs-lothian`), so adding the
 *   same work twice — a client retry, a re-run request — queues it once. BullMQ 6
 *   refuses custom ids that look like integers or contain `:`; `jobIdOf` refuses
 *   such parts first, with a clear message.
 * - Jobs must be safe to run twice: after a crash BullMQ re-runs stalled jobs.
 *   Processors check what is already done before doing it again.
 *
 * "Accepted" means stored: `add` resolves only after Redis has answered, and the
 * hub's Redis runs `appendfsync always` (README, durability).
 */
import { Queue, Worker, type BackoffStrategy, type JobsOptions, type Processor, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { KeySpace } from '../redis/connection.js';

/** Where a service's queues live: its command connection and key namespace. */
export interface QueueSite {
  readonly redis: Redis;
  readonly keys: KeySpace;
}

/** A queue by family (the hash tag its keys share) and name. */
export interface QueueAddress {
  readonly family: string;
  readonly name: string;
}

/** Retried with backoff for transient failures; kept a while after completion so a status can be read back. */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { age: 24 * 3600 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * A job id from the parts that identify the work, joined with `~` — a character
 * FHIR ids never contain, so different parts never give the same id. BullMQ 6
 * refuses custom ids that look like integers or contain `:`; braces would be
 * read as hash tags.
 */
export function jobIdOf(...parts: string[]): string {
  if (parts.length === 0 || parts.some((p) => p.length === 0)) throw new Error('A job id needs at least one part, and no empty part');
  const bad = parts.find((p) => /[~:{}]/.test(p));
  if (bad !== undefined) throw new Error(`Job id part "${bad}" must not contain ~, : or braces`);
  const id = parts.join('~');
  if (String(Number.parseInt(id, 10)) === id) throw new Error(`Job id "${id}" looks like an integer, which BullMQ refuses for custom ids: add a word to it`);
  return id;
}

function checkAddress({ family, name }: QueueAddress): void {
  for (const [what, value] of [['family', family], ['name', name]] as const) {
    if (!NAME.test(value)) throw new Error(`Queue ${what} "${value}" must be lower-case letters, digits and hyphens`);
  }
}

/** A producer's handle on a queue (shares the service's command connection). */
export function openQueue<Data, Result>(site: QueueSite, address: QueueAddress, jobOptions: JobsOptions = {}): Queue<Data, Result> {
  checkAddress(address);
  return new Queue<Data, Result>(address.name, {
    connection: site.redis,
    prefix: site.keys.queuePrefix(address.family),
    defaultJobOptions: { ...DEFAULT_JOB_OPTIONS, ...jobOptions },
  });
}

/**
 * A consumer. BullMQ opens its own blocking connection from the one given;
 * close workers before queues, and both before the Redis connection.
 *
 * A worker lives no longer than that connection: when it ends for good — a stop that gave up on a Redis that hangs
 * cuts it (shared/runtime/shutdown.ts) — the worker is closed at once, without waiting for its running jobs (their
 * locks lapse and they run again, as after a crash). Else a worker whose service's close had not reached it yet would
 * meet the cut first and wait 15 s to retry (BullMQ's `runRetryDelay`), then run on with its timers in a process
 * that is stopping.
 */
export function startWorker<Data, Result>(
  site: QueueSite,
  address: QueueAddress,
  processor: Processor<Data, Result>,
  options: Pick<WorkerOptions, 'concurrency' | 'lockDuration' | 'stalledInterval' | 'maxStalledCount' | 'autorun'> & { readonly backoffStrategy?: BackoffStrategy } = {},
): Worker<Data, Result> {
  checkAddress(address);
  const worker = new Worker<Data, Result>(address.name, processor, {
    connection: site.redis,
    prefix: site.keys.queuePrefix(address.family),
    concurrency: options.concurrency ?? 1,
    ...(options.lockDuration !== undefined ? { lockDuration: options.lockDuration } : {}),
    ...(options.stalledInterval !== undefined ? { stalledInterval: options.stalledInterval } : {}),
    ...(options.maxStalledCount !== undefined ? { maxStalledCount: options.maxStalledCount } : {}),
    ...(options.autorun !== undefined ? { autorun: options.autorun } : {}),
    ...(options.backoffStrategy ? { settings: { backoffStrategy: options.backoffStrategy } } : {}),
  });
  const closeWithConnection = () => void worker.close(true).catch(() => undefined);
  site.redis.once('end', closeWithConnection);
  worker.once('closed', () => site.redis.off('end', closeWithConnection));
  return worker;
}

/**
 * Whether a queue has work not yet finished: `running` if a job is active, `waiting` if one is
 * queued or delayed; undefined when none. (For status pages: what a service will do by itself.)
 */
export async function pendingWork(queue: Queue): Promise<{ readonly state: 'waiting' | 'running' } | undefined> {
  const counts = await queue.getJobCounts('active', 'waiting', 'prioritized', 'delayed');
  if ((counts.active ?? 0) > 0) return { state: 'running' };
  if ((counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0) > 0) return { state: 'waiting' };
  return undefined;
}
