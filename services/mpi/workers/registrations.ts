/**
 * Background loads (`Prefer: respond-async` on a transaction Bundle): an
 * agency's initial load of tens of thousands of records should not hold one
 * HTTP request open for a minute. The Bundle is validated while the client
 * waits (all or nothing, as ever); the accepted records then go on this queue,
 * the worker registers them chunk by chunk with progress, and the client polls
 * a status URL for the transaction-response.
 *
 * - One job per (agency, Bundle content): posting the same Bundle again — a
 *   client retry — returns the same job instead of loading it twice.
 * - Safe to run twice (BullMQ re-runs a job stalled by a crash): record ids are
 *   deterministic, so registering a record again is a re-submission (a new
 *   version, re-matched), never a second record or a second Person; a chunk
 *   cut short by the crash is completed from its journal (registration.ts).
 * - Checked again when it runs: the submitting agency must still be an active
 *   partner; if not, the job is refused with the 403 it would have had.
 * - Audited by the shared runner (shared/queue/worker-runner.ts): acceptance is
 *   the 202's record; then every attempt — completion with the registrations'
 *   criteria, refusal at run time, failure — under the request id that queued it.
 */
import { createHash } from 'node:crypto';
import type { Job, Queue } from 'bullmq';
import type { Bundle, Patient } from 'fhir/r4.js';
import { canonicalJson } from '../../../shared/canonical-json.js';
import { forbidden, internalError, OperationOutcomeError } from '../../../shared/fhir/outcome.js';
import { parseKeepingSpellings, spellingsKept, stringifyKeepingSpellings } from '../../../shared/fhir/number-spelling.js';
import { jobIdOf, openQueue, type QueueSite } from '../../../shared/queue/queues.js';
import { runWorker, storedRefusalOf, type JobData, type JobOrigin, type RunningWorker, type WorkerRunnerDeps } from '../../../shared/queue/worker-runner.js';
import { registrationCriteria } from '../domain/criteria.js';
import type { PartnershipView } from '../partnership.js';
import type { Registrar } from '../registration.js';
import { activeSubmittingAgency, submissionOf } from '../submission.js';
import { transactionResponse } from '../transaction-response.js';

export const REGISTRATIONS_QUEUE = { family: 'mpi', name: 'registrations' } as const;

/** No automatic retries of a whole load: a failure is reported, and the client posts again. */
const JOB_OPTIONS = { attempts: 1 } as const;

/** Records of a load not yet registered are kept at most this long (as long as failed jobs). */
const RECORDS_TTL_SECONDS = 7 * 24 * 3600;

/**
 * The job stays small: BullMQ reads a job's data whole on every status poll, and
 * a load can be tens of megabytes. The records wait under their own key.
 */
export interface RegistrationJobData extends JobData {
  readonly agencyId: string;
  /** Who the links and reviews are attributed to. */
  readonly actor: string;
  readonly total: number;
  /** Redis key (string) holding the records' JSON until the job has run. */
  readonly recordsKey: string;
}

export interface RegistrationJobResult {
  /** A `transaction-response` Bundle (minimal entries: status, location, outcome). */
  readonly bundle: Bundle;
}

export interface RegistrationProgress {
  readonly done: number;
  readonly total: number;
}

/** What an accepted load is: who sent it and the records as validated at acceptance. */
export interface AcceptedLoad {
  readonly origin: JobOrigin;
  readonly agencyId: string;
  readonly actor: string;
  readonly patients: readonly Patient[];
}

/** What the status URL says about a job (only to the agency that submitted it). */
export type RegistrationStatus =
  | { readonly state: 'in-progress'; readonly progress: RegistrationProgress }
  | { readonly state: 'complete'; readonly result: RegistrationJobResult }
  | { readonly state: 'failed'; readonly error: OperationOutcomeError };

export interface RegistrationWorkerDeps extends WorkerRunnerDeps {
  readonly registrar: Registrar;
  readonly partnership: PartnershipView;
  /** Absolute FHIR base for the transaction-response's locations. */
  readonly baseUrl: string;
}

/** Registers accepted loads in this process, one at a time (registration holds the index lock anyway). */
export function startRegistrationWorker(deps: RegistrationWorkerDeps): RunningWorker<RegistrationJobData, RegistrationJobResult> {
  return runWorker<RegistrationJobData, RegistrationJobResult>(deps, {
    queue: REGISTRATIONS_QUEUE,
    jobOptions: JOB_OPTIONS,
    concurrency: 1,
    describe: () => ({ type: 'rest', subtype: 'transaction', action: 'C', dataCategory: 'demographics', purpose: 'identity-matching' }),
    process: (job) => registerLoad(deps, job),
  });
}

async function registerLoad(deps: RegistrationWorkerDeps, job: Job<RegistrationJobData, RegistrationJobResult>) {
  const { agencyId, actor, total, recordsKey, origin } = job.data;
  try {
    const stored = await deps.site.redis.get(recordsKey);
    if (stored === null) throw new Error(`The records of background registration ${job.id} are gone (expired or removed)`);
    const patients = parseKeepingSpellings(stored) as Patient[];
    const partnership = await deps.partnership.snapshot();
    const agency = activeSubmittingAgency(partnership, agencyId);
    if (!agency) throw forbidden(`${agencyId} is no longer an active agency of a partnership in the directory; nothing was registered`);
    const results = await deps.registrar.register(
      patients.map((p) => submissionOf(p, agency)),
      actor,
      agencyId,
      partnership,
      {
        cause: origin,
        onProgress: (done) => {
          // Progress is advice for the status URL; a lost update must not fail the load.
          job.updateProgress({ done, total } satisfies RegistrationProgress).catch(() => undefined);
        },
      },
    );
    return {
      result: { bundle: transactionResponse(results, deps.baseUrl, true) },
      audit: {
        outcomeDescription: `Background registration ${job.id} finished: ${results.length} record(s)`,
        entities: results.map((r) => ({ reference: `Patient/${r.recordId}`, role: 'subject' as const, description: r.plan.outcome })),
        criteria: registrationCriteria(results),
      },
    };
  } finally {
    // Done either way (a load is not retried; posting it again stores the records again). After a
    // crash this is not reached, and the re-run of the stalled job still finds its records.
    await deps.site.redis.unlink(recordsKey);
  }
}

/** The producer side: queue a load, read its status, cancel it. */
export class BackgroundLoads {
  private opened?: Queue<RegistrationJobData, RegistrationJobResult>;

  constructor(private readonly site: QueueSite) {}

  /** Opened on first use, so building an MPI context (the fixture loader does) opens nothing. */
  private get queue(): Queue<RegistrationJobData, RegistrationJobResult> {
    this.opened ??= openQueue(this.site, REGISTRATIONS_QUEUE, JOB_OPTIONS);
    return this.opened;
  }

  /**
   * Queues an accepted load; the same agency posting the same records again gets
   * the same job (`repeat`: nothing new is queued, the earlier job's result stands).
   */
  async accept(load: AcceptedLoad): Promise<{ jobId: string; repeat: boolean }> {
    const records = canonicalJson(load.patients);
    const id = jobIdOf('registration', load.agencyId, createHash('sha256').update(records).digest('hex').slice(0, 32));
    // A failed attempt is kept for its status URL, but posting the Bundle again must run it again.
    const earlier = await this.queue.getJob(id);
    if (earlier) {
      if ((await earlier.getState()) !== 'failed') return { jobId: id, repeat: true };
      await earlier.remove();
    }
    const recordsKey = this.site.keys.key(REGISTRATIONS_QUEUE.family, 'registration-records', id);
    // Stored before the job exists, so a worker never meets a job without its records; expires as failed jobs do.
    // The records as sent where a decimal was written otherwise than JSON would (`1.50`: number-spelling.ts); the job's id stays the canonical JSON's.
    await this.site.redis.set(recordsKey, spellingsKept() ? stringifyKeepingSpellings(load.patients) : records, 'EX', RECORDS_TTL_SECONDS);
    const { patients, ...who } = load;
    await this.queue.add('register', { ...who, total: patients.length, recordsKey }, { jobId: id });
    return { jobId: id, repeat: false };
  }

  /** The job's state for the agency that submitted it; undefined when unknown to that agency. */
  async status(jobId: string, agencyId: string): Promise<RegistrationStatus | undefined> {
    const job = await this.ownJob(jobId, agencyId);
    if (!job) return undefined;
    const state = await job.getState();
    if (state === 'completed' || state === 'failed') {
      // It may have finished between reading the job and reading its state: read it again for the outcome.
      const finished = job.finishedOn ? job : ((await this.queue.getJob(jobId)) ?? job);
      if (state === 'completed') return { state: 'complete', result: finished.returnvalue };
      // The refusal the worker kept is the answer the client would have had; anything else a plain 500.
      const refusal = storedRefusalOf(finished.failedReason);
      return { state: 'failed', error: refusal ? new OperationOutcomeError(refusal.outcome, refusal.status) : internalError() };
    }
    const progress = job.progress as Partial<RegistrationProgress> | number;
    const done = typeof progress === 'object' && typeof progress.done === 'number' ? progress.done : 0;
    return { state: 'in-progress', progress: { done, total: job.data.total } };
  }

  /**
   * Cancels a load that has not started, or forgets a finished one's result.
   * A load already registering is not stopped part-way: 'running'.
   */
  async cancel(jobId: string, agencyId: string): Promise<'cancelled' | 'forgotten' | 'running' | undefined> {
    const job = await this.ownJob(jobId, agencyId);
    if (!job) return undefined;
    const state = await job.getState();
    if (state === 'active') return 'running';
    await job.remove();
    await this.site.redis.unlink(job.data.recordsKey);
    return state === 'completed' || state === 'failed' ? 'forgotten' : 'cancelled';
  }

  async close(): Promise<void> {
    await this.opened?.close();
  }

  private async ownJob(jobId: string, agencyId: string): Promise<Job<RegistrationJobData, RegistrationJobResult> | undefined> {
    const job = await this.queue.getJob(jobId);
    // Another agency's load is, to the caller, unknown: its existence is not theirs to learn.
    return job && job.data.agencyId === agencyId ? job : undefined;
  }
}
