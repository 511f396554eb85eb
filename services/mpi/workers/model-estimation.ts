/**
 * Automatic re-estimation of the matching model (MI-L5): every `checkSeconds` the MPI looks
 * at how far the index has grown since the model in use was estimated (the configured model
 * counts as estimated from none); at the configured share (INFOSHARE_MATCH_REESTIMATE_GROWTH,
 * default 25 %) it queues one estimation job. The job runs through the shared runner, so every
 * attempt is audited (a refusal — too few records — as outcome 4, not retried), and its
 * result is a new model version with its own change record (model-estimation.ts).
 *
 * One job per model version in use (the job id names it): several MPI processes checking at
 * once queue it once, and once the new version is in use the next growth is measured from it.
 */
import type { Job } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { unprocessable } from '../../../shared/fhir/outcome.js';
import { jobIdOf } from '../../../shared/queue/queues.js';
import { runWorker, type JobData, type RunningWorker, type WorkerRunnerDeps } from '../../../shared/queue/worker-runner.js';
import { EstimationRefused } from '../domain/estimate.js';
import type { ModelEstimation } from '../model-estimation.js';
import type { EstimationTrigger } from '../domain/model-version.js';

export const MODEL_ESTIMATION_QUEUE = { family: 'mpi', name: 'model-estimation' } as const;

/** Who the automatic re-estimation is attributed to. */
export const ESTIMATION_WORKER = 'infoshare mpi (automatic re-estimation)';

export interface EstimationJobData extends JobData {
  readonly trigger: EstimationTrigger;
  /** Records in the index when the job was queued (for the audit record). */
  readonly records: number;
}

export interface EstimationJobResult {
  readonly version: number;
}

export interface EstimationWorkerDeps extends WorkerRunnerDeps {
  readonly estimation: ModelEstimation;
  /** Seconds between growth checks. */
  readonly checkSeconds: number;
}

export interface RunningEstimationWorker extends RunningWorker<EstimationJobData, EstimationJobResult> {
  /** Checks the growth now and queues a job if due (the timer's work; tests call it directly). */
  checkGrowth(): Promise<string | undefined>;
}

export function startModelEstimationWorker(deps: EstimationWorkerDeps): RunningEstimationWorker {
  const running = runWorker<EstimationJobData, EstimationJobResult>(deps, {
    queue: MODEL_ESTIMATION_QUEUE,
    // A refusal is final; a failure (a Redis blip) is worth one more try.
    jobOptions: { attempts: 2, backoff: { type: 'fixed', delay: 30_000 } },
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
  const checkGrowth = async (): Promise<string | undefined> => {
    const growth = await deps.estimation.growthCheck();
    if (!growth.due) return undefined;
    const jobId = jobIdOf('reestimate', `after-version-${growth.version}`);
    await running.queue.add(
      'estimate',
      { origin: { requestId: `reestimate-${randomUUID()}`, agent: {} }, trigger: 'index-growth', records: growth.records },
      { jobId },
    );
    return jobId;
  };
  const timer = setInterval(() => {
    checkGrowth().catch((err: unknown) => deps.log.warn({ err }, 'could not check whether the matching model is due for re-estimation'));
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
