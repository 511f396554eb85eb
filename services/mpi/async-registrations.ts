/**
 * Bulk registration in the background (`Prefer: respond-async` on a transaction
 * Bundle): an agency's initial load of tens of thousands of records should not
 * hold one HTTP request open for a minute. The Bundle is validated while the
 * client waits (all or nothing, as ever); the accepted records then go on a
 * BullMQ queue, a worker registers them chunk by chunk with progress, and the
 * client polls a status URL for the transaction-response.
 *
 * - One job per (agency, Bundle content): posting the same Bundle again — a
 *   client retry — returns the same job instead of loading it twice.
 * - Safe to run twice (BullMQ re-runs a job stalled by a crash): record ids are
 *   deterministic, so registering a record again is a re-submission (a new
 *   version, re-matched), never a second record or a second Person.
 * - Checked again when it runs: the submitting agency must still be an active
 *   partner; if not, the job fails with the 403 it would have got.
 * - Audited when the records are actually registered, with the criteria the
 *   registrations show, besides the audit of the 202 that accepted them.
 */
import { createHash } from 'node:crypto';
import { UnrecoverableError, type Job, type Queue, type Worker } from 'bullmq';
import type { Bundle, OperationOutcome, Patient } from 'fhir/r4.js';
import type { AuditSink, ExchangeAgent } from '../../shared/audit/exchange.js';
import { canonicalJson } from '../../shared/canonical-json.js';
import { forbidden, internalError, isOperationOutcomeError, OperationOutcomeError } from '../../shared/fhir/outcome.js';
import type { Logger } from '../../shared/log.js';
import { jobIdOf, openQueue, startWorker, type QueueSite } from '../../shared/queue/queues.js';
import { registrationCriteria } from './domain/criteria.js';
import type { MpiContext } from './context.js';
import { submissionOf } from './operations/register.js';
import { transactionResponse } from './operations/transaction-response.js';

const QUEUE = { family: 'mpi', name: 'registrations' } as const;
/** Records of a load not yet registered are kept at most this long (as long as failed jobs). */
const RECORDS_TTL_SECONDS = 7 * 24 * 3600;

/** What an accepted load is: who sent it and the records as validated at acceptance. */
export interface AcceptedLoad {
  /** The request that accepted the Bundle; the completion is audited as `<requestId>.registered`. */
  readonly requestId: string;
  readonly agencyId: string;
  /** Who the links and reviews are attributed to. */
  readonly actor: string;
  readonly agent: ExchangeAgent;
  readonly patients: readonly Patient[];
}

/**
 * The job itself stays small: BullMQ reads a job's data whole on every status
 * poll, and a load can be tens of megabytes. The records wait under their own key.
 */
export interface RegistrationJobData extends Omit<AcceptedLoad, 'patients'> {
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

/** What the status URL says about a job (only to the agency that submitted it). */
export type RegistrationStatus =
  | { readonly state: 'in-progress'; readonly progress: RegistrationProgress }
  | { readonly state: 'complete'; readonly result: RegistrationJobResult }
  | { readonly state: 'failed'; readonly error: OperationOutcomeError };

/** A failure the worker keeps for the status URL: the answer the client would have had. */
interface StoredFailure {
  readonly status: number;
  readonly outcome: OperationOutcome;
}

export class AsyncRegistrations {
  private opened?: Queue<RegistrationJobData, RegistrationJobResult>;
  private worker?: Worker<RegistrationJobData, RegistrationJobResult>;

  constructor(
    private readonly site: QueueSite,
    private readonly audit: AuditSink,
    private readonly log: Logger,
  ) {}

  /** Opened on first use, so building an MPI context (the fixture loader does) opens nothing. */
  private get queue(): Queue<RegistrationJobData, RegistrationJobResult> {
    // No automatic retries of a whole load: a failure is reported, and the client posts again.
    this.opened ??= openQueue(this.site, QUEUE, { attempts: 1 });
    return this.opened;
  }

  /** Starts registering accepted loads in this process (one at a time: registration holds the index lock anyway). */
  startWorker(ctx: MpiContext): void {
    this.worker = startWorker(this.site, QUEUE, (job) => this.process(ctx, job), { concurrency: 1 });
    this.worker.on('failed', (job, err) => this.log.warn({ job: job?.id, err: err.message }, 'background registration failed'));
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
    const recordsKey = this.site.keys.key(QUEUE.family, 'registration-records', id);
    // Stored before the job exists, so a worker never meets a job without its records; expires as failed jobs do.
    await this.site.redis.set(recordsKey, records, 'EX', RECORDS_TTL_SECONDS);
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
      return { state: 'failed', error: failureOf(finished.failedReason) };
    }
    const progress = job.progress as Partial<RegistrationProgress> | number;
    const done = typeof progress === 'object' && typeof progress.done === 'number' ? progress.done : 0;
    return { state: 'in-progress', progress: { done, total: job.data.total } };
  }

  /**
   * Cancels a load that has not started, or forgets a finished one's result.
   * A load already registering is not stopped part-way (its records would be
   * half in the index): 'running'.
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
    await this.worker?.close();
    await this.opened?.close();
  }

  private async ownJob(jobId: string, agencyId: string): Promise<Job<RegistrationJobData, RegistrationJobResult> | undefined> {
    const job = await this.queue.getJob(jobId);
    // Another agency's load is, to the caller, unknown: its existence is not theirs to learn.
    return job && job.data.agencyId === agencyId ? job : undefined;
  }

  private async process(ctx: MpiContext, job: Job<RegistrationJobData, RegistrationJobResult>): Promise<RegistrationJobResult> {
    const { agencyId, actor, total, recordsKey } = job.data;
    try {
      const stored = await this.site.redis.get(recordsKey);
      if (stored === null) throw new Error(`The records of background registration ${job.id} are gone (expired or removed)`);
      const patients = JSON.parse(stored) as Patient[];
      const partnership = await ctx.partnership.snapshot();
      const agency = partnership.agency(agencyId);
      if (!agency || !agency.active || agency.type === 'partnership') {
        throw forbidden(`${agencyId} is no longer an active agency of a partnership in the directory; nothing was registered`);
      }
      const submitting = { agencyId: agency.id, system: agency.patientIdentifierSystem, systemsByAgency: partnership.systemsByAgency };
      const submissions = patients.map((p) => submissionOf(p, submitting));
      const results = await ctx.registrar.register(submissions, actor, agencyId, partnership, {
        onProgress: (done) => {
          // Progress is advice for the status URL; a lost update must not fail the load.
          job.updateProgress({ done, total } satisfies RegistrationProgress).catch(() => undefined);
        },
      });
      await this.audit.record({
        requestId: `${job.data.requestId}.registered`,
        service: 'mpi',
        type: 'rest',
        subtype: 'transaction',
        action: 'C',
        outcome: '0',
        outcomeDescription: `Background registration ${job.id} finished: ${results.length} record(s)`,
        httpStatus: 200,
        method: 'POST',
        path: '/fhir',
        agent: job.data.agent,
        entities: results.map((r) => ({ reference: `Patient/${r.recordId}`, role: 'subject' as const, description: r.plan.outcome })),
        dataCategory: 'demographics',
        purpose: 'identity-matching',
        criteria: registrationCriteria(results),
      });
      return { bundle: transactionResponse(results, ctx.baseUrl, true) };
    } catch (err) {
      // Refusals are kept as the answer the client would have had; anything else is a server failure (500, no detail).
      if (isOperationOutcomeError(err)) throw new UnrecoverableError(JSON.stringify({ status: err.status, outcome: err.outcome } satisfies StoredFailure));
      throw err;
    } finally {
      // Done either way (a load is not retried; posting it again stores the records again). After a
      // crash this is not reached, and the re-run of the stalled job still finds its records.
      await this.site.redis.unlink(recordsKey);
    }
  }
}

/** The refusal kept by the worker, or a plain 500 (no detail) for anything else. */
function failureOf(reason: string | undefined): OperationOutcomeError {
  try {
    const parsed = JSON.parse(reason ?? '') as Partial<StoredFailure>;
    if (typeof parsed.status === 'number' && parsed.outcome?.resourceType === 'OperationOutcome') return new OperationOutcomeError(parsed.outcome, parsed.status);
  } catch {
    /* not one of ours */
  }
  return internalError();
}
