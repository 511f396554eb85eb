/**
 * The one way a service runs a BullMQ worker, so every queue behaves alike:
 *
 * - Every attempt of every job is an exchange and is audited like an HTTP one
 *   (shared/audit): success with what the job did, a refusal (an
 *   OperationOutcome the job threw: bad data, a flow the ISP no longer allows)
 *   as outcome 4 and never retried, any other failure as outcome 8 — retried
 *   with backoff while attempts remain, each failed attempt recorded. The
 *   record carries the job's trigger (queue, job id, attempt n of m) and the
 *   id of the request that queued it (`JobOrigin`), so an auditor finds the job
 *   with the request.
 * - Logs each job's start, finish and failure with its duration and request id.
 * - Exports Prometheus metrics on the service's registry: job duration,
 *   failures, retries, and queue depth by state.
 * - `close()` stops the worker before its queue; the caller closes Redis after.
 *
 * A processor re-reads what it needs (job data are small, readonly ids) and must
 * be safe to run twice: after a crash BullMQ re-runs stalled jobs.
 */
import { performance } from 'node:perf_hooks';
import { UnrecoverableError, type BackoffStrategy, type Job, type JobsOptions, type Queue, type Worker } from 'bullmq';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { failureReason, type AuditSink, type ExchangeAgent, type ExchangeRecord } from '../audit/exchange.js';
import type { ServiceName } from '../config.js';
import { isOperationOutcomeError, type OperationOutcomeError } from '../fhir/outcome.js';
import type { Logger } from '../log.js';
import { openQueue, startWorker, type QueueAddress, type QueueSite } from './queues.js';

/** Who and what started a job. Every job's data carries it, so its records link to the request that queued it. */
export interface JobOrigin {
  /** The request (or schedule run) that queued the job. */
  readonly requestId: string;
  /** Who acted in that request. */
  readonly agent: ExchangeAgent;
}

/** The shape every job's data extends: small, readonly, ids not resources. */
export interface JobData {
  readonly origin: JobOrigin;
}

/** What a job's audit records say it is (the same for every attempt). */
export type JobDescription = Pick<ExchangeRecord, 'type' | 'subtype' | 'action'> &
  Partial<Pick<ExchangeRecord, 'subject' | 'entities' | 'dataCategory' | 'purpose' | 'recipientAgency'>>;

/** What a successful attempt returns: the job's result and what its audit record adds. */
export interface JobOutcome<Result> {
  readonly result: Result;
  readonly audit?: Partial<Pick<ExchangeRecord, 'entities' | 'criteria' | 'outcomeDescription' | 'subject' | 'recipientAgency'>>;
  /**
   * The processor committed this attempt's record itself (`AttemptRecords.success`),
   * with the state change it made (the audit outbox): the runner writes none.
   */
  readonly recorded?: true;
}

/** The record the runner writes for an attempt, for a processor that commits it with its own change instead. */
export interface AttemptRecords {
  /** This attempt's success record, as the runner would write it for `outcome.audit`. */
  success(audit: JobOutcome<unknown>['audit']): ExchangeRecord;
}

export interface WorkerDefinition<Data extends JobData, Result> {
  readonly queue: QueueAddress;
  readonly describe: (data: Data) => JobDescription;
  readonly process: (job: Job<Data, Result>, records: AttemptRecords) => Promise<JobOutcome<Result>>;
  /** Jobs run at once in this process. Default 1. */
  readonly concurrency?: number;
  /** Options for jobs added through `queue` (attempts, backoff…); shared/queue/queues.ts has the defaults. */
  readonly jobOptions?: JobsOptions;
  /**
   * The delay before a retry when the jobs' `backoff.type` is not one of BullMQ's
   * own (`fixed`, `exponential`): e.g. a delay the processor decided and carried
   * on the error it threw (the alerts' delivery policy).
   */
  readonly backoffStrategy?: BackoffStrategy;
  /**
   * How soon a job whose worker process died (SIGKILL, power cut) runs again:
   * its lock lapses after `lockDurationMs` and the stalled check, every
   * `lockDurationMs` too, puts it back to wait — so within about twice that.
   * BullMQ's default is 30 s. A short one makes the lock renewals more frequent.
   */
  readonly lockDurationMs?: number;
  /**
   * How many times a job may be found stalled (its worker died while running
   * it) before BullMQ fails it for good. BullMQ's default is 1: a second crash
   * during the same job fails it. Processors that are safe to run twice can
   * allow many.
   */
  readonly maxStalledCount?: number;
}

export interface WorkerRunnerDeps {
  readonly site: QueueSite;
  readonly service: ServiceName;
  readonly audit: AuditSink;
  readonly log: Logger;
  /** The service's metrics registry (shared/http/metrics.ts); job metrics are added to it. */
  readonly registry?: Registry;
}

/** A running worker and the producer handle on its queue. */
export interface RunningWorker<Data, Result> {
  readonly queue: Queue<Data, Result>;
  readonly worker: Worker<Data, Result>;
  /** Stops taking jobs (waits for the running ones), then closes the queue. */
  close(): Promise<void>;
}

/** The refusal a job threw, kept as its failed reason so a status URL can give the client the answer it would have had. */
export interface StoredRefusal {
  readonly status: number;
  readonly outcome: OperationOutcomeError['outcome'];
}

/** Opens the queue and starts its worker with auditing, logs and metrics. */
export function runWorker<Data extends JobData, Result>(
  deps: WorkerRunnerDeps,
  definition: WorkerDefinition<Data, Result>,
): RunningWorker<Data, Result> {
  const queueName = `${definition.queue.family}/${definition.queue.name}`;
  const metrics = deps.registry ? jobMetrics(deps.registry) : undefined;
  const queue = openQueue<Data, Result>(deps.site, definition.queue, definition.jobOptions);
  metrics?.watch(queueName, queue);
  const log = deps.log.child({ queue: queueName });

  const processor = async (job: Job<Data, Result>): Promise<Result> => {
    const attempt = job.attemptsMade + 1;
    const maxAttempts = job.opts.attempts ?? 1;
    const { origin } = job.data;
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    const recordOf = (fields: Pick<ExchangeRecord, 'outcome' | 'criteria'> & Partial<ExchangeRecord>): ExchangeRecord => ({
      requestId: origin.requestId,
      service: deps.service,
      agent: origin.agent,
      entities: [],
      ...definition.describe(job.data),
      trigger: { kind: 'job', queue: queueName, jobId: job.id ?? '', attempt, maxAttempts },
      ...fields,
    });
    const record = (fields: Pick<ExchangeRecord, 'outcome' | 'criteria'> & Partial<ExchangeRecord>): Promise<string> => deps.audit.record(recordOf(fields));
    const records: AttemptRecords = { success: (audit) => recordOf({ outcome: '0', criteria: [], ...audit }) };
    log.info({ job: job.id, requestId: origin.requestId, attempt, maxAttempts }, 'job started');

    let outcome: JobOutcome<Result>;
    try {
      outcome = await definition.process(job, records);
    } catch (err) {
      const refusal = isOperationOutcomeError(err) && err.status < 500 ? err : undefined;
      const willRetry = !refusal && !(err instanceof UnrecoverableError) && attempt < maxAttempts;
      const reason = refusal ? refusal.message : failureReason(err, { withName: true });
      const description = willRetry ? `Attempt ${attempt} of ${maxAttempts} failed (${reason}); it will be retried` : reason;
      try {
        await record({ outcome: refusal ? '4' : '8', criteria: [], outcomeDescription: description });
      } catch (auditErr) {
        // The failure stands either way; a retry (or the operator, from the log) sees it again.
        log.error({ err: auditErr, job: job.id, requestId: origin.requestId }, 'could not record a failed job attempt in the audit trail');
      }
      metrics?.duration.observe({ queue: queueName, outcome: refusal ? 'refused' : 'failed' }, seconds());
      metrics?.failures.inc({ queue: queueName, kind: refusal ? 'refused' : 'failed' });
      if (willRetry) metrics?.retries.inc({ queue: queueName });
      const fields = { job: job.id, requestId: origin.requestId, attempt, maxAttempts, durationMs: Math.round(seconds() * 1000), reason };
      if (refusal) log.info(fields, 'job refused');
      else log.warn({ ...fields, err, willRetry }, 'job failed');
      // A refusal is final, and kept as the answer the client would have had.
      if (refusal) throw new UnrecoverableError(JSON.stringify({ status: refusal.status, outcome: refusal.outcome } satisfies StoredRefusal));
      throw err;
    }
    // Recorded before the job counts as done: if this write fails the attempt fails (and is retried where allowed).
    if (!outcome.recorded) await record({ outcome: '0', criteria: [], ...outcome.audit });
    metrics?.duration.observe({ queue: queueName, outcome: 'completed' }, seconds());
    log.info({ job: job.id, requestId: origin.requestId, attempt, durationMs: Math.round(seconds() * 1000) }, 'job finished');
    return outcome.result;
  };

  const worker = startWorker<Data, Result>(deps.site, definition.queue, processor, {
    concurrency: definition.concurrency ?? 1,
    ...(definition.backoffStrategy ? { backoffStrategy: definition.backoffStrategy } : {}),
    ...(definition.lockDurationMs !== undefined ? { lockDuration: definition.lockDurationMs, stalledInterval: definition.lockDurationMs } : {}),
    ...(definition.maxStalledCount !== undefined ? { maxStalledCount: definition.maxStalledCount } : {}),
  });
  // BullMQ emits 'error' for connection trouble; unhandled, an EventEmitter error would crash the process.
  worker.on('error', (err) => log.error({ err }, 'worker error'));
  return {
    queue,
    worker,
    close: async () => {
      await worker.close();
      await queue.close();
      metrics?.unwatch(queueName);
    },
  };
}

/** The refusal a job stored (see `StoredRefusal`), or undefined when it failed for another reason. */
export function storedRefusalOf(failedReason: string | undefined): StoredRefusal | undefined {
  try {
    const parsed = JSON.parse(failedReason ?? '') as Partial<StoredRefusal>;
    if (typeof parsed.status === 'number' && parsed.outcome?.resourceType === 'OperationOutcome') return parsed as StoredRefusal;
  } catch {
    /* not a refusal */
  }
  return undefined;
}


/** What the depth gauge reads of a queue. */
interface QueueCounts {
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
}

interface JobMetrics {
  readonly duration: Histogram<'queue' | 'outcome'>;
  readonly failures: Counter<'queue' | 'kind'>;
  readonly retries: Counter<'queue'>;
  watch(name: string, queue: QueueCounts): void;
  unwatch(name: string): void;
}

const metricsByRegistry = new WeakMap<Registry, JobMetrics>();

/** One set of job metrics per registry, however many workers a service runs. */
function jobMetrics(registry: Registry): JobMetrics {
  const existing = metricsByRegistry.get(registry);
  if (existing) return existing;
  const queues = new Map<string, QueueCounts>();
  const STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;
  const metrics: JobMetrics = {
    duration: new Histogram({
      name: 'infoshare_job_duration_seconds',
      help: 'Duration of job attempts by queue and outcome (completed, refused, failed)',
      labelNames: ['queue', 'outcome'] as const,
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers: [registry],
    }),
    failures: new Counter({
      name: 'infoshare_job_failures_total',
      help: 'Failed job attempts by queue and kind (refused: bad data or not allowed, never retried; failed: retried while attempts remain)',
      labelNames: ['queue', 'kind'] as const,
      registers: [registry],
    }),
    retries: new Counter({
      name: 'infoshare_job_retries_total',
      help: 'Job attempts that failed and will be retried, by queue',
      labelNames: ['queue'] as const,
      registers: [registry],
    }),
    watch: (name, queue) => queues.set(name, queue),
    unwatch: (name) => queues.delete(name),
  };
  new Gauge({
    name: 'infoshare_queue_jobs',
    help: 'Jobs in each queue by state (read from Redis when scraped)',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const [name, queue] of queues) {
        const counts = await queue.getJobCounts(...STATES);
        for (const state of STATES) this.set({ queue: name, state }, counts[state] ?? 0);
      }
    },
  });
  metricsByRegistry.set(registry, metrics);
  return metrics;
}
