/**
 * The re-clustering pass, run by itself (Registrar.recluster; `POST /matching/$recluster`
 * runs it on demand). A registration that changed the index asks for a pass
 * `INFOSHARE_MPI_RECLUSTER_DELAY` seconds later (default 300; 0: only on demand). The
 * requests coalesce: while a pass is waiting, asking again adds nothing (one job id), so a
 * bulk load of many Bundles gets one pass after it (and a change made while a pass runs, one more), and the index converges on the Persons
 * its records make whatever order they came in. Each attempt is audited by the shared
 * runner; what the pass changes carries its own change records.
 *
 * A new model version asks for its pass at once (`requestPrompt`): the Persons a first load was
 * decided into under the shipped default are decided again under the model estimated from it,
 * not 300 s later. The pass keeps every reviewer decision (clustering.ts: a `link` joins, a
 * `not-link` separates, whatever the model says).
 */
import type { Queue } from 'bullmq';
import { jobIdOf, openQueue, pendingWork, type QueueSite } from '../../../shared/queue/queues.js';
import { runWorker, type JobData, type JobOrigin, type RunningWorker, type WorkerRunnerDeps } from '../../../shared/queue/worker-runner.js';
import type { PendingWork } from '../domain/report.js';
import type { Registrar, ReclusterResult } from '../registration.js';

export const RECLUSTER_QUEUE = { family: 'mpi', name: 'recluster' } as const;

/** One waiting pass at a time; gone once run, so the next change asks for the next one. */
const PENDING = jobIdOf('recluster', 'pending');
/**
 * The pass asked for by a change made while the pending one runs: that one keeps its id until it ends, and may have
 * read the index before the change (its "left to the next pass" changes among them), so asking under PENDING again
 * would add nothing — and nothing else would look at the change until the next registration.
 */
const AFTER_RUNNING = jobIdOf('recluster', 'after-running');
const CHANGE_PASSES = [PENDING, AFTER_RUNNING] as const;
/** A pass under one of these states has not read the index yet: it will see a change made now. */
const NOT_STARTED: ReadonlySet<string> = new Set(['delayed', 'waiting', 'prioritized']);
const JOB_OPTIONS = { attempts: 3, backoff: { type: 'exponential', delay: 5_000 }, removeOnComplete: true, removeOnFail: true } as const;

export interface ReclusterWorkerDeps extends WorkerRunnerDeps {
  readonly registrar: Registrar;
}

export function startReclusterWorker(deps: ReclusterWorkerDeps): RunningWorker<JobData, ReclusterResult> {
  return runWorker<JobData, ReclusterResult>(deps, {
    queue: RECLUSTER_QUEUE,
    jobOptions: JOB_OPTIONS,
    concurrency: 1,
    describe: () => ({ type: 'rest', subtype: 'recluster', action: 'U', dataCategory: 'demographics', purpose: 'identity-matching' }),
    process: async (job) => {
      const result = await deps.registrar.recluster('infoshare mpi (re-clustering pass)', job.data.origin);
      const changed = result.moved + result.relabelled + result.reviewsOpened + result.reviewsWithdrawn > 0;
      return {
        result,
        audit: {
          outcomeDescription:
            `Re-clustered ${result.records} record(s) into ${result.persons} Person(s): moved ${result.moved}, relabelled ${result.relabelled}, opened ${result.reviewsOpened} and withdrew ${result.reviewsWithdrawn} review(s)` +
            `; planned in ${result.planningSeconds} s without the index lock, held it ${result.lockedSeconds} s in ${result.batches} batch(es)` +
            (result.skipped > 0 ? `; left ${result.skipped} change(s) the index made stale meanwhile to the next pass` : ''),
          // Automatic matching at work only when the pass changed the index.
          criteria: changed ? ['MI-L3'] : [],
        },
      };
    },
  });
}

/** Asks for a pass after a change (the producer side). */
export class ReclusterRequests {
  private opened?: Queue<JobData, ReclusterResult>;

  constructor(
    private readonly site: QueueSite,
    /** Seconds after the first change the pass runs; 0 never queues one. */
    private readonly delaySeconds: number,
  ) {}

  private get queue(): Queue<JobData, ReclusterResult> {
    this.opened ??= openQueue(this.site, RECLUSTER_QUEUE, JOB_OPTIONS);
    return this.opened;
  }

  /**
   * Queues a pass unless one has yet to start (it will read the index after this change). A running pass keeps its
   * id until it ends, and may have read the index before the change: then the pass comes under the other id.
   */
  async request(origin: JobOrigin): Promise<void> {
    if (this.delaySeconds <= 0) return;
    const states = await Promise.all(CHANGE_PASSES.map((id) => this.queue.getJobState(id)));
    if (states.some((state) => NOT_STARTED.has(state))) return;
    const free = states[0] === 'active' ? AFTER_RUNNING : PENDING;
    // Two requests at once may both add: BullMQ keeps the first job under an id and ignores the other.
    await this.queue.add('recluster', { origin }, { jobId: free, delay: this.delaySeconds * 1000 });
  }

  /**
   * Asks for a pass to run now: a waiting (delayed) pass is brought forward; if a pass is running
   * — it may have read the index or the model before the change — another follows it. Nothing
   * when passes are on demand only.
   */
  async requestPrompt(origin: JobOrigin, reason: string): Promise<void> {
    if (this.delaySeconds <= 0) return;
    const pending = await this.queue.getJob(PENDING);
    const state = pending ? await pending.getState() : undefined;
    if (state === 'delayed' && (await pending!.promote().then(() => true, () => false))) return;
    if (state === 'waiting' || state === 'prioritized') return;
    if (state !== 'active' && state !== 'delayed') {
      await this.queue.add('recluster', { origin }, { jobId: PENDING });
      return;
    }
    // Running (or it started as we looked): it may have read the former model — one more pass after it.
    await this.queue.add('recluster', { origin }, { jobId: jobIdOf('recluster', 'after', reason) });
  }

  /** A pass queued or running, for the matching report. */
  pending(): Promise<PendingWork | undefined> {
    return pendingWork(this.queue);
  }

  async close(): Promise<void> {
    await this.opened?.close();
  }
}
