/**
 * Automatic estimation of the matching model (MI-L5), so that a partnership's first load is
 * decided by a model learnt from its own records without anyone asking.
 *
 * When an estimation is due (`ModelEstimation.growthCheck`): the first once the index holds
 * INFOSHARE_MATCH_ESTIMATE_MIN_RECORDS records while the configured model is in use, then each
 * time the index has grown by INFOSHARE_MATCH_REESTIMATE_GROWTH (default 25 %) since the model
 * in use was estimated. Every registration that changes the index asks (`EstimationRequests`),
 * and so does a timer every INFOSHARE_MATCH_REESTIMATE_CHECK_SECONDS (after a restart, or for a
 * change made by another process that could not ask).
 *
 * When it runs: once a load has ended, not during it. A due estimation is one job, delayed by
 * INFOSHARE_MATCH_ESTIMATE_QUIET_SECONDS (default 30); each further change to the index pushes
 * it back by as much (BullMQ deduplication, debounce mode), so a load of many Bundles —
 * transaction after transaction, or a background load's chunks — is estimated once, from all of
 * it, when no registration has changed the index for that long. The job's id names the model
 * version in use and the records it was estimated (or last refused) from, so several MPI
 * processes asking at once queue it once; it checks again when it runs and does nothing if the
 * model in use changed meanwhile (an estimation on demand came first).
 *
 * Every attempt is audited by the shared runner (a refusal — too few records, too few people
 * recorded twice — as outcome 4, not retried, and remembered: the next attempt waits for the
 * share of growth from there). Its result is a new model version with its own change record,
 * which asks for a re-clustering pass at once (model-estimation.ts, workers/recluster.ts).
 */
import type { Job, Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { unprocessable } from '../../../shared/fhir/outcome.js';
import { openQueue, pendingWork, type QueueSite } from '../../../shared/queue/queues.js';
import { runWorker, type JobData, type RunningWorker, type WorkerRunnerDeps } from '../../../shared/queue/worker-runner.js';
import { EstimationRefused } from '../domain/estimate.js';
import type { PendingWork } from '../domain/report.js';
import type { GrowthCheck, ModelEstimation } from '../model-estimation.js';
import type { EstimationTrigger } from '../domain/model-version.js';

export const MODEL_ESTIMATION_QUEUE = { family: 'mpi', name: 'model-estimation' } as const;

/** Who the automatic estimation is attributed to. */
export const ESTIMATION_WORKER = 'infoshare mpi (automatic estimation)';

// A refusal is final; a failure (a Redis blip) is worth one more try.
const JOB_OPTIONS = { attempts: 2, backoff: { type: 'fixed', delay: 30_000 } } as const;

export interface EstimationJobData extends JobData {
  readonly trigger: EstimationTrigger;
  /** Records in the index when the job was queued (for the audit record). */
  readonly records: number;
  /** The model version in use when it was queued: the job does nothing if another is in use by the time it runs. */
  readonly version: number;
}

export interface EstimationJobResult {
  /** The version estimated, or undefined when the job found nothing to do. */
  readonly version?: number;
}

/** The deduplication id of the estimation due now: one per model version in use and growth step. */
export function estimationDueId(growth: Pick<GrowthCheck, 'version' | 'baseline'>): string {
  return `estimate-version-${growth.version}-from-${growth.baseline}`;
}

/** Asks for an estimation when one is due (the producer side: the registrar after each change, and the timer). */
export class EstimationRequests {
  private opened?: Queue<EstimationJobData, EstimationJobResult>;

  constructor(
    private readonly site: QueueSite,
    private readonly estimation: ModelEstimation,
    /** Seconds without a change before a due estimation runs. */
    private readonly quietSeconds: number,
  ) {}

  private get queue(): Queue<EstimationJobData, EstimationJobResult> {
    this.opened ??= openQueue(this.site, MODEL_ESTIMATION_QUEUE, JOB_OPTIONS);
    return this.opened;
  }

  /**
   * The index changed (or the timer looked): if an estimation is due, queues it `quietSeconds`
   * from now — or, if it is queued and still waiting, pushes it back to then. Returns the
   * deduplication id when one is due.
   */
  async indexChanged(): Promise<string | undefined> {
    // Off: not even the growth check's round trip on the registration path.
    if (!this.estimation.automatic) return undefined;
    const growth = await this.estimation.growthCheck();
    if (!growth.due) return undefined;
    const id = estimationDueId(growth);
    await this.queue.add(
      'estimate',
      {
        origin: { requestId: `estimate-${randomUUID()}`, agent: {} },
        trigger: growth.version === 0 ? 'initial-load' : 'index-growth',
        records: growth.records,
        version: growth.version,
      },
      { delay: this.quietSeconds * 1000, deduplication: { id, reschedule: true } },
    );
    return id;
  }

  /** An estimation queued or running, for the matching report. */
  pending(): Promise<PendingWork | undefined> {
    return pendingWork(this.queue);
  }

  async close(): Promise<void> {
    await this.opened?.close();
  }
}

export interface EstimationWorkerDeps extends WorkerRunnerDeps {
  readonly estimation: ModelEstimation;
  readonly requests: EstimationRequests;
  /** Seconds between growth checks. */
  readonly checkSeconds: number;
}

export interface RunningEstimationWorker extends RunningWorker<EstimationJobData, EstimationJobResult> {
  /** Checks now whether an estimation is due and asks for it (the timer's work; tests call it directly). */
  checkGrowth(): Promise<string | undefined>;
}

export function startModelEstimationWorker(deps: EstimationWorkerDeps): RunningEstimationWorker {
  const running = runWorker<EstimationJobData, EstimationJobResult>(deps, {
    queue: MODEL_ESTIMATION_QUEUE,
    jobOptions: JOB_OPTIONS,
    concurrency: 1,
    describe: (data) => ({
      type: 'rest',
      subtype: '$estimate-model',
      action: 'U',
      dataCategory: 'demographics',
      purpose: 'identity-matching',
      entities: [{ reference: 'Basic/matching-model', role: 'domain-resource', description: `${data.trigger}: ${data.records} records in the index` }],
    }),
    process: (job) => estimate(deps, job),
  });
  const checkGrowth = () => deps.requests.indexChanged();
  const timer = setInterval(() => {
    checkGrowth().catch((err: unknown) => deps.log.warn({ err }, 'could not check whether the matching model is due for estimation'));
  }, deps.checkSeconds * 1000);
  timer.unref();
  return {
    ...running,
    checkGrowth,
    close: async () => {
      clearInterval(timer);
      await running.close();
    },
  };
}

async function estimate(deps: EstimationWorkerDeps, job: Job<EstimationJobData, EstimationJobResult>) {
  const growth = await deps.estimation.growthCheck();
  if (growth.version !== job.data.version || !growth.due) {
    return {
      result: {},
      audit: { outcomeDescription: `No estimation needed: model version ${growth.version} is in use, estimated from ${growth.baseline} of the ${growth.records} records in the index` },
    };
  }
  try {
    const version = await deps.estimation.estimate({ trigger: job.data.trigger, requestedBy: ESTIMATION_WORKER, cause: job.data.origin });
    return {
      result: { version: version.version },
      audit: {
        outcomeDescription: `Matching model version ${version.version} estimated from ${version.records} records (${version.trigger}); link ≥ ${version.model.thresholds.upper}, review ≥ ${version.model.thresholds.lower}`,
        criteria: ['MI-L5'],
      },
    };
  } catch (err) {
    // Too small an index is an answer, not a failure: recorded as a refusal and not retried.
    if (err instanceof EstimationRefused) throw unprocessable(err.message);
    throw err;
  }
}
