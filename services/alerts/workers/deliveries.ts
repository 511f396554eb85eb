/**
 * The delivery queue: one BullMQ job per recipient of an accepted message, in
 * the queue family `{alerts-delivery}` (its own hash tag: BullMQ's scripts
 * touch several keys of a queue at once), job id `<messageId>~<agencyId>`
 * (`jobIdOf`), so adding the same delivery twice — the accepting request and
 * the sweeper, or a retried request — queues it once.
 *
 * Producer side: `DeliveryQueue.addDeliveries` after the accept script,
 * `sweepUnqueued` for deliveries accepted whose job was never confirmed (the
 * service died in between), and `forgetFinishedJob` before a re-drive.
 *
 * Worker side (`startDeliveryWorker`), one attempt of one recipient's delivery:
 * re-read the delivery (already acknowledged, dead, withdrawn or waiting to be
 * pulled → nothing to do: jobs run twice after crashes); re-check the ISP at
 * that moment (a flow withdrawn since acceptance → `withdrawn`, audited, never
 * retried); no active Endpoint → `awaiting-pull` (the agency's inbox); else cut
 * the message for the recipient (domain/minimise.ts), sign a delivery token for
 * it (shared/messaging), POST it to `<Endpoint.address>/$process-message`
 * through `auditedCall` with the per-attempt timeout, read the response message
 * and let the delivery policy (domain/delivery-policy.ts) decide: acknowledged,
 * retry (a BullMQ delayed retry after the policy's backoff with jitter — never
 * a sleep in the worker), or dead letter. The new state and its change record
 * are written in one script (`AlertStore.stepDeliveries`, with the other attempts
 * ending at the same time, each move decided on its own), and only if the
 * delivery is still pending — an acknowledgement that came in by pull
 * meanwhile is never undone.
 *
 * Each run of an attempt first claims its delivery (`AlertStore.claimDeliveries`,
 * in the same script as the read): a job BullMQ hands to a second run while the
 * first is still calling (its lock lapsed under load) waits for the claim instead
 * of delivering the message again; and a run calls only if its call ends before
 * its claim does (domain/delivery-claim.ts), so no run sends after another one
 * recorded the acknowledgement. Each call's transmit record carries its send time. An Endpoint that opts in to batches
 * (domain/delivery-batch.ts) gets the message in one request with others bound
 * for it (endpoint-batches.ts); the attempt carries on with its own answer.
 *
 * One agency's dead or slow endpoint never holds up the others: attempts run
 * concurrently (I/O waits, `DEFAULT_DELIVERY_CONCURRENCY` per process), each
 * is cut off at the per-attempt timeout, a waiting retry is a delayed job that
 * holds no slot, and a per-agency circuit breaker (domain/circuit-breaker.ts)
 * stops calling an endpoint that keeps failing, so a burst of alerts to it does
 * not fill the slots with timeouts.
 *
 * A delivery that dies carries its report to the sender (dead-letter-reports.ts) into the same step script; once
 * written, the report's job is added at once (the sweeper adds it if that fails). A report is delivered like any
 * message to its one recipient — the sender of the message that died — without the ISP and Consent re-checks (an
 * agency always hears about its own message) and uncut (addressed and numbered only: domain/minimise.ts).
 */
import { randomUUID } from 'node:crypto';
import { UnrecoverableError, type Job, type JobsOptions, type Queue } from 'bullmq';
import { Counter, type Registry } from 'prom-client';
import type { Bundle, Endpoint } from 'fhir/r4.js';
import { failureReason, type ExchangeRecord } from '../../../shared/audit/exchange.js';
import { outboundCallRecord, type OutboundCall } from '../../../shared/audit/outbound.js';
import { KeepAliveClient } from '../../../shared/http/keep-alive-client.js';
import type { OutboxRelay } from '../../../shared/audit/outbox-relay.js';
import { changeRecord } from '../../../shared/audit/outbox.js';
import type { SigningKey } from '../../../shared/auth/keys.js';
import { FHIR_JSON } from '../../../shared/fhir/express.js';
import { forbidden, notFound, unprocessable } from '../../../shared/fhir/outcome.js';
import { stringifyKeepingSpellings } from '../../../shared/fhir/number-spelling.js';
import type { AgencyType, DataCategory, Purpose } from '../../../shared/fhir/systems.js';
import { decideFlow, flowCriteria, type AllowedFlow, type IspRegistry, type IspSnapshot } from '../../../shared/isp/registry.js';
import { signDeliveryToken } from '../../../shared/messaging/delivery-token.js';
import { jobIdOf, openQueue, type QueueSite } from '../../../shared/queue/queues.js';
import { DelayedRun } from '../../../shared/runtime/delayed-run.js';
import { TickBatch } from '../../../shared/runtime/tick-batch.js';
import { KeptReads } from '../../../shared/runtime/kept-reads.js';
import { runWorker, type AttemptRecords, type JobData, type JobOutcome, type RunningWorker, type WorkerRunnerDeps } from '../../../shared/queue/worker-runner.js';
import type { DirectoryView } from '../../directory/view.js';
import type { KeptAlertConsent } from '../../plans/view.js';
import { afterFailure, afterSuccess, breakerAllows, CLOSED, DEFAULT_BREAKER_OPTIONS, type BreakerOptions, type BreakerState } from '../domain/circuit-breaker.js';
import { batchSizeOf, endpointFailed, jsonOrUndefined, responseSummaryOf } from '../domain/delivery-batch.js';
import { deliveryCriteria } from '../domain/delivery-criteria.js';
import { callEndsWithinClaim, claimLeaseMs } from '../domain/delivery-claim.js';
import {
  classifyAttempt,
  DEFAULT_RETRY_POLICY,
  maxAttemptsWithin,
  nextStep,
  retryOrGiveUp,
  type AttemptContext,
  type AttemptResult,
  type DeliveryAction,
  type RetryPolicy,
} from '../domain/delivery-policy.js';
import { addressedMessage, minimisedMessage } from '../domain/minimise.js';
import { deadLetterReportOf } from '../dead-letter-reports.js';
import type { PeerHubs } from '../peer-hubs.js';
import type { AlertStore, ClaimResult, Delivery, DeliveryClaim, DeliveryState, DeliveryStep, DeliveryStepOf, StepResult, StoredMessage } from '../store.js';
import { DEFAULT_DELIVERY_CONCURRENCY } from '../config.js';
import { DELIVERY_STORE } from '../keys.js';
import { EndpointBatches, noAnswerReason } from './endpoint-batches.js';

export const DELIVERIES_QUEUE = { family: 'alerts-delivery', name: 'deliveries' } as const;

/** A delivery job: which message to which agency, and the request that caused it. Nothing else: the worker re-reads. */
export interface DeliveryJobData extends JobData {
  readonly messageId: string;
  readonly agencyId: string;
}

/** The job id of one recipient's delivery of one message. */
export function deliveryJobId(messageId: string, agencyId: string): string {
  return jobIdOf(messageId, agencyId);
}

/** `<messageId>~<agencyId>` → its parts (message ids and agency ids never contain `~`). */
export function deliveryOfJobId(jobId: string): { messageId: string; agencyId: string } | undefined {
  const [messageId, agencyId, ...rest] = jobId.split('~');
  return messageId && agencyId && rest.length === 0 ? { messageId, agencyId } : undefined;
}

/** The producer's handle on the delivery queue. */
export class DeliveryQueue {
  private opened?: Queue<DeliveryJobData>;

  constructor(
    private readonly site: QueueSite,
    private readonly store: AlertStore,
    /** The retry policy the jobs are added under (their attempts backstop and backoff). */
    private readonly policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  ) {}

  /** Opened on first use, so building the service's context opens nothing. */
  private get queue(): Queue<DeliveryJobData> {
    this.opened ??= openQueue<DeliveryJobData, unknown>(this.site, DELIVERIES_QUEUE, deliveryJobOptions(this.policy));
    return this.opened;
  }

  /**
   * Removes the finished (failed or completed) job of a delivery, so that adding
   * it again — a re-drive — queues a new job rather than finding the old one.
   * A job still waiting, delayed or running is left alone.
   */
  async forgetFinishedJob(messageId: string, agencyId: string): Promise<boolean> {
    const job = await this.queue.getJob(deliveryJobId(messageId, agencyId));
    if (!job) return false;
    const state = await job.getState();
    if (state !== 'failed' && state !== 'completed') return false;
    await job.remove();
    return true;
  }

  /**
   * Queues a re-driven delivery (already `pending` again in the store). An
   * earlier job that was still running when the re-drive began may finish just
   * now, and its id would make the add a no-op: such a job is replaced.
   */
  async redrive(job: DeliveryJobData): Promise<void> {
    await this.addDeliveries([job]);
    if (await this.forgetFinishedJob(job.messageId, job.agencyId)) await this.addDeliveries([job]);
  }

  /**
   * Adds the jobs (one round trip: addBulk), then clears their `unqueued`
   * markers. If this fails the markers stay and the sweeper adds them later.
   */
  async addDeliveries(jobs: readonly DeliveryJobData[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.queue.addBulk(jobs.map((data) => ({ name: 'deliver', data, opts: { jobId: deliveryJobId(data.messageId, data.agencyId) } })));
    await this.store.markQueued(jobs.map((j) => deliveryJobId(j.messageId, j.agencyId)));
  }

  /**
   * Re-queues deliveries accepted but not confirmed queued (the accepting process
   * died between the accept script and addBulk). Safe at any time and from any
   * process: a job that exists is not added again. Returns how many it re-added.
   */
  async sweepUnqueued(): Promise<number> {
    let swept = 0;
    for (;;) {
      const ids = await this.store.unqueued();
      if (ids.length === 0) return swept;
      swept += await this.requeue(ids);
    }
  }

  /**
   * The periodic sweep: re-queues only the deliveries that were already
   * unqueued at the previous sweep (`earlier`), so the deliveries of requests
   * still between their accept script and addBulk — under load, hundreds — are
   * left to those requests (a grace period of one sweep interval). Returns how
   * many it re-added and the markers it saw, for the next sweep.
   */
  async sweepUnqueuedSince(earlier: ReadonlySet<string>): Promise<{ swept: number; seen: Set<string> }> {
    const seen = new Set(await this.store.allUnqueued());
    const due = [...seen].filter((id) => earlier.has(id));
    return { swept: due.length > 0 ? await this.requeue(due) : 0, seen };
  }

  /** Adds the jobs of these unqueued deliveries (clearing their markers); a marker naming no message is dropped. */
  private async requeue(ids: readonly string[]): Promise<number> {
    const jobs: DeliveryJobData[] = [];
    const unreadable: string[] = [];
    const origins = new Map<string, DeliveryJobData['origin'] | undefined>();
    for (const id of ids) {
      const parts = deliveryOfJobId(id);
      if (!parts) {
        unreadable.push(id);
        continue;
      }
      if (!origins.has(parts.messageId)) origins.set(parts.messageId, (await this.store.message(parts.messageId))?.origin);
      const origin = origins.get(parts.messageId);
      if (!origin) unreadable.push(id);
      else jobs.push({ origin, ...parts });
    }
    await this.addDeliveries(jobs);
    // A marker naming no message cannot be delivered; dropping it keeps the sweep from spinning on it.
    await this.store.markQueued(unreadable);
    return jobs.length;
  }

  async close(): Promise<void> {
    await this.opened?.close();
  }
}

/** What an attempt came to (the job's result, kept a day with the completed job). */
export interface DeliveryJobResult {
  readonly state: DeliveryState;
  /** The attempt found the delivery already settled (by an earlier run of the job, or an acknowledgement by pull): nothing done. */
  readonly settled?: boolean;
}

/**
 * A transient failure, retried by the queue after `delayMs` — the delivery
 * policy's backoff with jitter, decided in the processor and stored as the
 * delivery's `nextAttemptAt`; the worker's backoff strategy hands it to BullMQ.
 */
export class RetryDelivery extends Error {
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
    this.name = 'RetryDelivery';
  }
}

/** The `backoff.type` of delivery jobs: the delay comes from the processor (`RetryDelivery`). */
export const DELIVERY_BACKOFF_TYPE = 'delivery-policy';

/**
 * Options of every delivery job (producer and worker use the same). The retry
 * window ends retrying; the attempts count is only a backstop (`maxAttemptsWithin`).
 */
export function deliveryJobOptions(policy: RetryPolicy): JobsOptions {
  return {
    attempts: maxAttemptsWithin(policy),
    backoff: { type: DELIVERY_BACKOFF_TYPE },
    removeOnComplete: { age: 24 * 3600 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

/**
 * How long after a step its records wait in the outbox for the relay pass that moves them on to the audit stream
 * (ms): the steps of that while share one pass. At a steady 100 alerts/s (600 deliveries, a step per batch answer of
 * two or three) a pass per step was ~250 passes a second of three round trips each (two of them fsync'd writes); at
 * 20 ms it was still ~50 passes a second, each a fixed cost however few records it moves. The records are committed
 * with the step either way (the outbox), and the trail shows them at most this much later — still well inside the
 * relay timer's own 500 ms.
 */
const RELAY_DELAY_MS = 100;

/** How long the first message of a batch waits for more to the same Endpoint (`INFOSHARE_ALERTS_BATCH_LINGER`), ms. */
export const DEFAULT_BATCH_LINGER_MS = 5;


/**
 * Parallel requests to one agency's Endpoint from one delivery process at most. The attempts in flight (512 by
 * default) are sized for batching; an Endpoint that takes one message per request should not get that many
 * connections at once — 128, the most it got before the in-flight limit was raised.
 */
const MAX_CONNECTIONS_PER_ENDPOINT = 128;

/** Answers larger than this are not read as response messages (an acknowledgement is a few hundred bytes). */
const MAX_ANSWER_BYTES = 256 * 1024;

export interface DeliveryWorkerDeps extends WorkerRunnerDeps {
  readonly store: AlertStore;
  /** Moves each step's change record on to the audit trail at once (its timer would catch up otherwise). */
  readonly relay?: OutboxRelay;
  readonly isp: IspRegistry;
  /** Where each agency takes deliveries (its Endpoints). */
  readonly directory: Pick<DirectoryView, 'endpointsOf' | 'endpointsRevision'>;
  /** Agencies another partnership's hub serves: their deliveries go to that hub, signed by this one (MA-L5). */
  readonly peers?: Pick<PeerHubs, 'targetOf'>;
  /**
   * The person's Consents, asked at each attempt: one that withholds their alerts from the recipient withdraws the
   * delivery. Their revision is read with the attempt's claim; each decision is made under it.
   */
  readonly consent?: Pick<KeptAlertConsent, 'revision' | 'alertDeliveryUnder'>;
  /** The partnership signing key: signs each attempt's delivery token (ES256). */
  readonly signingKey: SigningKey;
  /** The alerts service's FHIR base (`http://localhost:4002/fhir`): a dead-letter report's source and links. */
  readonly baseUrl: string;
  /** Where a dead-letter report's delivery job is added, once the report is written with its dead letter. */
  readonly reports: Pick<DeliveryQueue, 'addDeliveries'>;
  /** The hub's token issuer (`config.token.issuer`): the delivery token's `iss`. */
  readonly issuer: string;
  readonly policy: RetryPolicy;
  /** One attempt's time limit (ms): a slow endpoint holds a worker slot at most this long. */
  readonly timeoutMs: number;
  readonly concurrency?: number;
  /** The job lock (ms; BullMQ's 30 s by default): a dead process's attempts run again within about twice this. */
  readonly lockDurationMs?: number;
  /** Batched delivery (Endpoints that opt in): how long a batch's first message waits for company (ms). */
  readonly batchLingerMs?: number;
  /**
   * Runs `start` so that the commands it starts synchronously on the connection `store`, `isp`, `directory` and
   * `consent` read on leave in one socket write (shared/redis/sent-together.ts); without it they leave one by one.
   */
  readonly sentTogether?: <T>(start: () => T) => T;
  readonly breaker?: BreakerOptions;
  /** The clock and the jitter's randomness (tests fix them). */
  readonly now?: () => Date;
  readonly random?: () => number;
}

/** What an attempt did, as counted on /metrics (`infoshare_alert_delivery_attempts_total`). */
type AttemptOutcome = DeliveryState | 'retry' | 'not-called' | 'settled' | 'error';

const attemptCounters = new WeakMap<Registry, Counter<'outcome'>>();

/** One counter per registry, however many workers a service runs. */
function attemptCounter(registry: Registry): Counter<'outcome'> {
  let counter = attemptCounters.get(registry);
  if (!counter) {
    counter = new Counter({
      name: 'infoshare_alert_delivery_attempts_total',
      help: 'Alert delivery attempts by outcome: acknowledged, retry, dead-letter, withdrawn, awaiting-pull, not-called (the agency breaker is open), settled (nothing left to do), error (the hub failed; retried)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    });
    attemptCounters.set(registry, counter);
  }
  return counter;
}

/** Starts delivering accepted messages, one job per recipient. */
export function startDeliveryWorker(deps: DeliveryWorkerDeps): RunningWorker<DeliveryJobData, DeliveryJobResult> {
  const concurrency = deps.concurrency ?? DEFAULT_DELIVERY_CONCURRENCY;
  // Per process: each worker process learns an endpoint is down from its own attempts.
  const breakers = new Map<string, BreakerState>();
  const now = () => (deps.now ? deps.now() : new Date()).getTime();
  // Kept-alive connections per endpoint, at most one per attempt in flight and never more than an agency's system
  // is asked to take at once (attempts beyond wait for a connection, within their own timeout).
  const http = new KeepAliveClient({ maxSocketsPerEndpoint: Math.min(concurrency, MAX_CONNECTIONS_PER_ENDPOINT) });
  // An attempt's claim on its delivery outlasts everything it may wait for before the agency answers.
  const leaseMs = claimLeaseMs(deps.timeoutMs, deps.batchLingerMs ?? DEFAULT_BATCH_LINGER_MS);
  const messages = new MessageCache(deps.store);
  const shared: AttemptShared = {
    breakers,
    http,
    endpoints: new EndpointCache(deps.directory),
    // The attempts that start together claim their deliveries in one script, read with what they re-check against,
    // and the attempts one batch answer settles move them on in one: each claim and each move is still decided on
    // its own (store.ts).
    starts: attemptStarts(deps, messages, now, leaseMs),
    steps: new TickBatch<DeliveryStepOf, StepResult>((steps) => deps.store.stepDeliveries(steps)),
    leaseMs,
    relayPass: new DelayedRun(() => deps.relay?.flushQuietly() ?? Promise.resolve(), RELAY_DELAY_MS),
    batches: new EndpointBatches({
      http,
      service: deps.service,
      timeoutMs: deps.timeoutMs,
      lingerMs: deps.batchLingerMs ?? DEFAULT_BATCH_LINGER_MS,
      sign: (batchId, headerIds, recipient, body) => signDeliveryToken({ messageId: batchId, messageIds: headerIds, recipient, body }, deps.signingKey, deps.issuer, now()).token,
      // Once per request: a batch that failed as a whole is one failure of the endpoint, however many messages it carried.
      onAnswer: (agencyId, answer) =>
        breakers.set(agencyId, endpointFailed(answer) ? afterFailure(breakers.get(agencyId) ?? CLOSED, now(), deps.breaker ?? DEFAULT_BREAKER_OPTIONS) : afterSuccess()),
    }),
  };
  const counter = deps.registry ? attemptCounter(deps.registry) : undefined;
  const count = (outcome: AttemptOutcome) => counter?.inc({ outcome });
  const running = runWorker<DeliveryJobData, DeliveryJobResult>(deps, {
    queue: DELIVERIES_QUEUE,
    jobOptions: deliveryJobOptions(deps.policy),
    concurrency,
    ...(deps.lockDurationMs !== undefined ? { lockDurationMs: deps.lockDurationMs } : {}),
    // An attempt is safe to run again (it re-reads the delivery; receivers de-duplicate by message id), so
    // however often the process dies mid-attempt, the delivery is never failed for having stalled: BullMQ's
    // default (1) would fail it on the second crash and leave it pending with no job.
    maxStalledCount: Number.MAX_SAFE_INTEGER,
    backoffStrategy: (_attemptsMade, _type, err) => (err instanceof RetryDelivery ? err.delayMs : deps.policy.baseDelayMs),
    describe: (data) => ({
      type: 'transmit',
      subtype: '$process-message',
      action: 'C',
      dataCategory: 'alert',
      recipientAgency: data.agencyId,
      entities: [{ reference: `MessageHeader/${data.messageId}`, role: 'data' }],
    }),
    process: (job, records) => new DeliveryAttempt(deps, shared, job, records, count).run(),
  });
  return {
    ...running,
    close: async () => {
      shared.batches.flushAll();
      await running.close();
      // The steps' relay passes the attempts did not wait for: the records are committed either way (the outbox),
      // but a process that stops should leave the trail caught up, and nothing of the worker's running after close.
      await shared.relayPass.settled();
      shared.http.close();
    },
  };
}

/** What an attempt starts from: its claim, and what it re-checks against, as they stood in the claim's round trip. */
export interface AttemptStart {
  readonly claim: ClaimResult;
  /** The stored message (kept for its recipients: read once, by the first of them). */
  readonly message: Promise<StoredMessage | undefined>;
  /** The ISP as it stands (its revision checked, re-read when it moved). */
  readonly partnership: IspSnapshot;
  readonly endpointsRevision: string;
  /** The Consents' revision (undefined without a consent re-check). */
  readonly consentRevision: string | undefined;
}

/**
 * The attempts that start together (one event-loop turn), started in ONE socket write and one round trip: their
 * claims (one script), the messages not kept yet, the ISP's two revisions, the Endpoints' and the Consents' — made
 * after every one of them asked, so each re-check read is as fresh as a read per attempt and as the claim itself.
 * Before, the claim, the message, the revision reads and (once the claim was back) the Consents' revision left in
 * four writes and two round trips.
 */
export function attemptStarts(
  deps: Pick<DeliveryWorkerDeps, 'store' | 'isp' | 'directory' | 'consent' | 'sentTogether'>,
  /** The stored messages, each kept for its recipients (`MessageCache`). */
  messages: { get(messageId: string): Promise<StoredMessage | undefined> },
  now: () => number,
  leaseMs: number,
): TickBatch<DeliveryClaim, AttemptStart> {
  const sentTogether = deps.sentTogether ?? (<T>(start: () => T) => start());
  return new TickBatch<DeliveryClaim, AttemptStart>(async (claims) => {
    const started = sentTogether(() => ({
      claims: deps.store.claimDeliveries(claims, now(), leaseMs),
      messages: claims.map((c) => messages.get(c.messageId)),
      partnership: deps.isp.snapshot(),
      endpointsRevision: deps.directory.endpointsRevision(),
      consentRevision: deps.consent?.revision(),
    }));
    // Each attempt awaits its own message (a failed read fails that attempt, when it needs it).
    for (const read of started.messages) read.catch(() => undefined);
    const [claimed, partnership, endpointsRevision, consentRevision] = await Promise.all([started.claims, started.partnership, started.endpointsRevision, started.consentRevision]);
    return claimed.map((claim, i) => ({ claim, message: started.messages[i]!, partnership, endpointsRevision, consentRevision }));
  });
}

/** What the attempts of one worker process share. */
interface AttemptShared {
  readonly breakers: Map<string, BreakerState>;
  readonly http: KeepAliveClient;
  /** The open batch per Endpoint that takes batches. */
  readonly batches: EndpointBatches;
  readonly endpoints: EndpointCache;
  /** Claims of the attempts starting together, in one script (`AlertStore.claimDeliveries`), with their re-check reads. */
  readonly starts: TickBatch<DeliveryClaim, AttemptStart>;
  /** Moves of the attempts ending together, in one script (`AlertStore.stepDeliveries`). */
  readonly steps: TickBatch<DeliveryStepOf, StepResult>;
  /** How long an attempt's claim on its delivery runs (ms). */
  readonly leaseMs: number;
  /** The relay pass the steps asked for and did not wait for, one for the steps of `RELAY_DELAY_MS` (the worker's close waits for it). */
  readonly relayPass: DelayedRun;
}

/**
 * Each agency's Endpoints as the directory holds them now: re-read whenever an
 * Endpoint was written since (one round trip to check), so a deregistered or
 * moved endpoint is seen at the next attempt, as before, without a search per attempt.
 */
class EndpointCache {
  private revision: string | undefined;
  private readonly byAgency = new Map<string, Endpoint[]>();

  constructor(private readonly directory: Pick<DirectoryView, 'endpointsOf'>) {}

  /** The agency's Endpoints under the Endpoints' revision read at this attempt (with its claim). */
  async of(agencyId: string, revision: string): Promise<Endpoint[]> {
    // The revision before the data: a write in between leaves newer data under the older revision — early, never stale.
    if (revision !== this.revision) {
      this.byAgency.clear();
      this.revision = revision;
    }
    let endpoints = this.byAgency.get(agencyId);
    if (!endpoints) {
      endpoints = await this.directory.endpointsOf(agencyId);
      if (this.revision === revision) this.byAgency.set(agencyId, endpoints);
    }
    return endpoints;
  }
}

/** Stored messages most recently delivered, parsed: never changed once accepted, each read once for its recipients. */
const MESSAGES_CACHED = 1_000;

/**
 * The accepted messages the worker is delivering, parsed once for all their
 * recipients (a message is written once, by the accept script, and never
 * changed: a cached one is never stale). The read itself is what is kept, from
 * the moment it is asked for: a message's recipients are queued together, so
 * their attempts start within a round trip of each other and would otherwise
 * each read it before the first read came back. A read that fails or finds no
 * message is not kept. Least recently used ones are dropped.
 */
class MessageCache {
  private readonly kept = new KeptReads<string, StoredMessage | undefined>(MESSAGES_CACHED, (message) => message !== undefined);

  constructor(private readonly store: AlertStore) {}

  get(messageId: string): Promise<StoredMessage | undefined> {
    return this.kept.get(messageId, () => this.store.message(messageId));
  }
}

/** One attempt of one delivery. Safe to run twice: it re-reads the delivery, and receivers de-duplicate by message id. */
class DeliveryAttempt {
  private readonly messageId: string;
  private readonly agencyId: string;
  private readonly now: () => Date;
  private readonly breakers: Map<string, BreakerState>;
  /** The record of the call to the agency's endpoint, once made: committed with the next step (or on its own if that fails). */
  private callRecord: ExchangeRecord | undefined;
  /** This run's claim on the delivery (`AlertStore.claimDelivery`): unique per run, so a second run of the job is another holder. */
  private readonly holder = randomUUID();
  /** The delivery as this run claimed it (what a dead letter's report says of its attempts, number and re-drives). */
  private delivery: Delivery | undefined;

  constructor(
    private readonly deps: DeliveryWorkerDeps,
    private readonly shared: AttemptShared,
    private readonly job: Job<DeliveryJobData, DeliveryJobResult>,
    private readonly records: AttemptRecords,
    private readonly count: (outcome: AttemptOutcome) => void,
  ) {
    this.messageId = job.data.messageId;
    this.agencyId = job.data.agencyId;
    this.now = deps.now ?? (() => new Date());
    this.breakers = shared.breakers;
  }

  /** What the attempt threw for, when it throws (a retry, a withdrawal, a dead letter); anything else is the hub's own error. */
  private thrownAs: AttemptOutcome = 'error';

  async run(): Promise<JobOutcome<DeliveryJobResult>> {
    try {
      const outcome = await this.attempt();
      this.count(outcome.result.settled ? 'settled' : outcome.result.state);
      return outcome;
    } catch (err) {
      this.count(this.thrownAs);
      // An attempt that called nobody and moved nothing gives its claim back, so its retry need not wait for it to lapse.
      if (this.thrownAs === 'error' || this.thrownAs === 'not-called') {
        await this.deps.store.releaseDelivery(this.messageId, this.agencyId, this.holder).catch(() => undefined);
      }
      throw err;
    }
  }

  private async attempt(): Promise<JobOutcome<DeliveryJobResult>> {
    const { messageId, agencyId } = this;
    // Before the claim is asked: the claim script's clock reads later, so its lease runs at least until this plus its length.
    const claimAskedAt = this.now().getTime();
    // Read and claimed in one step: while this run holds the claim no other run of the job calls the agency. What the
    // attempt re-checks against is read in the claim's round trip (each read as current as the claim; the reads of
    // attempts that start together are shared). A claim that finds nothing to do leaves them unused.
    const start = await this.shared.starts.submit({ messageId, agencyId, holder: this.holder });
    const { claim } = start;
    if (claim.kind === 'missing') throw notFound(`There is no delivery of message ${messageId} to ${agencyId}`);
    if (claim.kind === 'settled') return settled(claim.delivery.state);
    if (claim.kind === 'leased') {
      // Another run of this job is calling the agency right now (this job's lock lapsed while it ran): wait for it.
      this.thrownAs = 'not-called';
      const waitMs = Math.max(0, claim.untilMs - this.now().getTime()) + 100;
      throw new RetryDelivery(`not called: another attempt of this delivery is in flight (its claim runs until ${new Date(claim.untilMs).toISOString()})`, waitMs);
    }
    const { delivery } = claim;
    this.delivery = delivery;
    const message = await start.message;
    if (!message) throw notFound(`Message ${messageId} is not stored`);
    const about = aboutMessage(message);

    // The ISP as it stands at this attempt (its snapshot is re-read whenever the directory's agencies or ISPs
    // moved): a flow withdrawn since acceptance is not delivered.
    const { partnership } = start;
    // A dead-letter report goes to the sender about its own message: no ISP term stands between them.
    const decision =
      message.kind === 'report'
        ? undefined
        : decideFlow(partnership, { senderAgencyId: message.sender, receiverAgencyId: agencyId, category: about.dataCategory, purpose: about.purpose }, this.now());
    if (decision && !decision.allowed) {
      const reason = `Withdrawn: the ISP no longer allows ${message.sender} to send this alert to ${agencyId} (${decision.detail})`;
      const step = await this.step(message, { to: 'withdrawn', lastError: reason }, reason);
      if (step.kind !== 'applied') return settled(step.state);
      // A refusal: audited as outcome 4, never retried.
      this.thrownAs = 'withdrawn';
      throw forbidden(reason);
    }

    const recipient = partnership.agencies.get(agencyId);
    // Consent at this attempt too (the same decision as every plans read): a Consent that withholds the person's
    // alerts from this agency withdraws the delivery. An access notice goes to the NP/LP's agency and is not withheld.
    if (this.deps.consent && start.consentRevision !== undefined && message.kind === 'alert' && recipient) {
      const consent = await this.deps.consent.alertDeliveryUnder(start.consentRevision, { personId: message.personId, senderAgency: message.sender, recipient: { id: agencyId, type: recipient.type }, purpose: about.purpose, now: this.now() });
      if (!consent.permit) {
        const reason = `Withdrawn: consent withholds this person's alerts from ${agencyId} (${consent.detail})`;
        const step = await this.step(message, { to: 'withdrawn', lastError: reason }, reason);
        if (step.kind !== 'applied') return settled(step.state);
        this.thrownAs = 'withdrawn';
        throw forbidden(reason);
      }
    }
    // An agency a peer hub serves is delivered to through that hub (peer-hubs.ts), never at its own Endpoint — a
    // dead-letter report too: the sender of a message forwarded here hears through its own hub (relayed-report.ts).
    const forward = await this.deps.peers?.targetOf(agencyId);
    const endpoint = forward ? undefined : activeEndpointOf(await this.shared.endpoints.of(agencyId, start.endpointsRevision));
    const url = forward?.url ?? (endpoint ? `${endpoint.address.replace(/\/+$/, '')}/$process-message` : undefined);
    if (!recipient || !url) {
      const what = `${agencyId} has no active Endpoint: the message waits in its inbox (GET /fhir/$inbox) to be pulled`;
      return this.succeed(message, { to: 'awaiting-pull' }, what, { outcomeDescription: what, ...about.audit });
    }

    const now = this.now();
    const context: AttemptContext = {
      // The queue's attempt number drives the backoff (a re-drive starts again from the first).
      attempt: this.job.attemptsMade + 1,
      windowStart: new Date(delivery.windowStart ?? delivery.createdAt),
      now,
      policy: this.deps.policy,
      random: this.deps.random ?? Math.random,
      lastAttempt: this.job.attemptsMade + 1 >= (this.job.opts.attempts ?? 1),
    };

    // An endpoint that keeps failing is left alone for a while: no call, the attempt waits for the probe.
    const breaker = this.breakers.get(agencyId) ?? CLOSED;
    const allowed = breakerAllows(breaker, now.getTime());
    if (!allowed.allowed) {
      const reason = `not called: ${agencyId}'s endpoint failed ${breaker.failures} attempt(s) in a row and is left alone until ${new Date(allowed.until).toISOString()}`;
      // Past the window, the dead letter gives the endpoint's own last failure, not the breaker's.
      const action = retryOrGiveUp(delivery.lastError ?? reason, context);
      if (action.action === 'retry') {
        this.thrownAs = 'not-called';
        throw new RetryDelivery(reason, Math.max(action.delayMs, allowed.until - now.getTime()));
      }
      return this.finish(message, action, { fatal: false, counted: false, decision, recipientType: recipient.type });
    }

    const bundle = decision
      ? minimisedMessage(message.bundle as Bundle, { agencyId, agencyType: recipient.type, categories: decision.term.categories, seq: delivery.seq })
      : addressedMessage(message.bundle as Bundle, { agencyId, seq: delivery.seq });
    const headerId = bundle.entry?.[0]?.resource?.id ?? messageId;
    const body = stringifyKeepingSpellings(bundle); // decimals as the sender wrote them (1.50): shared/fhir/number-spelling.ts
    // An Endpoint that takes batches gets this message with others bound for it (endpoint-batches.ts); the
    // batcher updates the agency's breaker once per request.
    const batchSize = endpoint ? batchSizeOf(endpoint) : 1;
    // The call must be over while this run still holds its claim, or it could be sent after another run delivered the
    // message and recorded the acknowledgement (domain/delivery-claim.ts): a run that lost that much time calls no one.
    const nowMs = this.now().getTime();
    const lingerMs = batchSize > 1 ? (this.deps.batchLingerMs ?? DEFAULT_BATCH_LINGER_MS) : 0;
    if (!callEndsWithinClaim({ claimAskedAtMs: claimAskedAt, leaseMs: this.shared.leaseMs, nowMs, timeoutMs: this.deps.timeoutMs, lingerMs })) {
      this.thrownAs = 'not-called';
      throw new RetryDelivery(`not called: ${nowMs - claimAskedAt} ms since this attempt's claim, its call could outlast the claim`, this.deps.policy.baseDelayMs);
    }
    let result: AttemptResult;
    if (endpoint && batchSize > 1) {
      const about = aboutMessage(message).audit;
      const outcome = await this.shared.batches.deliver(
        { url: endpoint.address.replace(/\/+$/, ''), agencyId, maxSize: batchSize },
        { headerId, body, origin: this.job.data.origin, entities: about.entities, dataCategory: about.dataCategory },
      );
      this.callRecord = outcome.callRecord;
      result = outcome.result;
    } else {
      const token = forward
        ? await forward.sign(headerId, body)
        : signDeliveryToken({ messageId: headerId, recipient: agencyId, body }, this.deps.signingKey, this.deps.issuer, now.getTime()).token;
      result = await this.post(message, url, body, token);
    }
    const verdict = classifyAttempt(result, headerId);
    if (batchSize === 1) {
      this.breakers.set(
        agencyId,
        verdict.verdict === 'transient' ? afterFailure(breaker, this.now().getTime(), this.deps.breaker ?? DEFAULT_BREAKER_OPTIONS) : afterSuccess(),
      );
    }
    const action = nextStep(verdict, { ...context, now: this.now() });
    return this.finish(message, action, { fatal: verdict.verdict === 'fatal', counted: true, decision, recipientType: recipient.type });
  }

  /** Records what the attempt decided; throws for a retry or a dead letter so the runner audits and schedules it. */
  private async finish(
    message: StoredMessage,
    action: DeliveryAction,
    /** `decision` is the ISP's, absent for a dead-letter report (which no ISP term decides). */
    how: { readonly fatal: boolean; readonly counted: boolean; readonly decision: AllowedFlow | undefined; readonly recipientType: AgencyType },
  ): Promise<JobOutcome<DeliveryJobResult>> {
    const { agencyId } = this;
    const about = aboutMessage(message);
    switch (action.action) {
      case 'acknowledged': {
        const what = `Delivered to ${agencyId} and acknowledged`;
        // A report is no alert shared: it meets no sharing criterion.
        const criteria = how.decision ? [...new Set([...deliveryCriteria(how.recipientType, how.decision.crossesBoundary), 'MA-L3', ...flowCriteria(how.decision)])].sort() : [];
        return this.succeed(message, { to: 'acknowledged', countAttempt: how.counted }, what, { outcomeDescription: what, criteria, ...about.audit });
      }
      case 'retry': {
        const what = `Not delivered to ${agencyId}: ${action.reason}; next attempt at ${action.nextAttemptAt.toISOString()}`;
        const step = await this.step(message, { to: 'pending', countAttempt: how.counted, lastError: action.reason, nextAttemptAt: action.nextAttemptAt }, what);
        if (step.kind !== 'applied') return settled(step.state);
        this.thrownAs = 'retry';
        throw new RetryDelivery(action.reason, action.delayMs);
      }
      case 'dead-letter': {
        const what = `Dead letter: ${action.reason}`;
        const { origin } = this.job.data;
        // One instant for the dead letter and its report: the report says when it died as `deadAt` does.
        const at = this.now();
        const reported = this.delivery
          ? deadLetterReportOf({ message, delivery: this.delivery, countedAttempt: how.counted, reason: action.reason, at, baseUrl: this.deps.baseUrl, cause: origin })
          : undefined;
        const step = await this.step(
          message,
          { to: 'dead-letter', at, countAttempt: how.counted, lastError: action.reason, ...(reported ? { report: reported.report } : {}) },
          what,
          reported ? [reported.record] : [],
        );
        if (step.kind !== 'applied') return settled(step.state);
        if (reported) {
          const { job } = reported;
          await this.deps.reports.addDeliveries([job]).catch((err: unknown) => this.deps.log.warn({ err, ...job }, 'could not queue a dead-letter report now; the sweeper will'));
        }
        // The agency refused it: a refusal (outcome 4). The window ran out: a failure (outcome 8). Neither is retried.
        this.thrownAs = 'dead-letter';
        if (how.fatal) throw unprocessable(what);
        throw new UnrecoverableError(what);
      }
    }
  }

  /**
   * Ends the attempt in a state it succeeded in, committing the attempt's own
   * exchange record with the move and its change record (one script, one write
   * for the attempt's records: the runner writes none).
   */
  private async succeed(
    message: StoredMessage,
    change: Pick<DeliveryStep, 'to' | 'countAttempt'> & { readonly to: DeliveryState },
    what: string,
    audit: NonNullable<JobOutcome<DeliveryJobResult>['audit']>,
  ): Promise<JobOutcome<DeliveryJobResult>> {
    const step = await this.step(message, change, what, [this.records.success(audit)]);
    if (step.kind !== 'applied') return settled(step.state);
    return { result: { state: change.to }, audit, recorded: true };
  }

  /**
   * Moves the delivery on from `pending` with its change record (one script); `moved` when it was no longer pending.
   * `withRecords` are committed with the move; the call record, if a call was made, in any case.
   */
  private async step(
    message: StoredMessage,
    change: Pick<DeliveryStep, 'to' | 'countAttempt' | 'lastError' | 'nextAttemptAt' | 'report'> & { readonly at?: Date },
    what: string,
    withRecords: readonly ExchangeRecord[] = [],
  ): Promise<{ kind: 'applied' } | { kind: 'moved'; state: DeliveryState }> {
    const { origin } = this.job.data;
    const call = this.callRecord;
    let result;
    try {
      result = await this.shared.steps.submit({
        messageId: this.messageId,
        agencyId: this.agencyId,
        step: {
          ...change,
          from: ['pending'],
          leaseHolder: this.holder,
          at: change.at ?? this.now(),
          sender: message.sender,
          record: changeRecord(
            { requestId: origin.requestId, service: this.deps.service, agent: origin.agent },
            { subtype: '$process-message', action: 'U', outcomeDescription: what, ...aboutMessage(message).audit },
            DELIVERY_STORE,
          ),
          withRecords,
          ...(call ? { happenedRecords: [call] } : {}),
        },
      });
      this.callRecord = undefined;
    } catch (err) {
      // The call was made whatever the store says: its record goes to the trail on its own (the attempt fails and is retried).
      if (call) {
        this.callRecord = undefined;
        await this.deps.audit.record(call).catch(() => undefined);
      }
      throw err;
    }
    if (result.kind === 'applied') {
      // The records are committed with the move (the outbox): copying them on to the audit stream need not hold the
      // job's slot — the relay pass (up to three round trips, each waiting out an fsync) runs while the worker takes
      // its next job, one pass for the steps of a few ms. A failed pass is logged and left to the relay's timer; the
      // worker's close starts a waiting pass and waits for it.
      if (this.deps.relay) this.shared.relayPass.request();
      return { kind: 'applied' };
    }
    if (result.kind === 'moved') return result;
    // Another run of this job claimed the delivery after this run's claim lapsed: that run decides; this one did nothing more.
    if (result.kind === 'lease-lost') return { kind: 'moved', state: 'pending' };
    throw new Error(`The delivery of ${this.messageId} to ${this.agencyId} could not be updated (${result.kind})`);
  }

  /**
   * POSTs the message over a kept-alive connection with the per-attempt timeout,
   * reading the answer as a response message. The call's BALP transmit record
   * (`outboundCallRecord`) is committed with the step that follows. Never throws
   * for the endpoint's failure: no answer is a result too.
   */
  private async post(message: StoredMessage, url: string, body: string, token: string): Promise<AttemptResult> {
    const { origin } = this.job.data;
    const { timeoutMs } = this.deps;
    const call: OutboundCall = {
      requestId: origin.requestId,
      service: this.deps.service,
      agent: origin.agent,
      subtype: '$process-message',
      action: 'C',
      method: 'POST',
      url,
      recipientAgency: this.agencyId,
      ...aboutMessage(message).audit,
    };
    const sentAt = this.now();
    try {
      const answer = await this.shared.http.post({
        url,
        headers: { 'Content-Type': FHIR_JSON, Accept: FHIR_JSON, Authorization: `Bearer ${token}` },
        body,
        timeoutMs,
        maxAnswerBytes: MAX_ANSWER_BYTES,
      });
      this.callRecord = outboundCallRecord(call, { status: answer.status, sentAt });
      const response = answer.text === undefined ? undefined : responseSummaryOf(jsonOrUndefined(answer.text));
      return { kind: 'answered', status: answer.status, ...(response ? { response } : {}) };
    } catch (err) {
      this.callRecord = outboundCallRecord(call, { failure: failureReason(err), sentAt });
      return { kind: 'no-answer', reason: noAnswerReason(err, timeoutMs) };
    }
  }
}

/** What the audit records of a delivery say it is about. */
function aboutMessage(message: StoredMessage) {
  const dataCategory = message.category as DataCategory;
  const purpose = message.purpose as Purpose;
  return {
    dataCategory,
    purpose,
    audit: {
      subject: `Person/${message.personId}`,
      entities: [
        { reference: `MessageHeader/${message.id}`, role: 'data' as const },
        { reference: `Flag/${message.flagId}`, role: 'data' as const },
      ],
      dataCategory,
      purpose,
    } satisfies Partial<ExchangeRecord>,
  };
}

function settled(state: DeliveryState): JobOutcome<DeliveryJobResult> {
  return { result: { state, settled: true }, audit: { outcomeDescription: `Nothing to do: the delivery is already ${state}` } };
}

/** The Endpoint an agency takes deliveries at: its first active http(s) one, by id, so every attempt picks the same. */
export function activeEndpointOf(endpoints: readonly Endpoint[]): Endpoint | undefined {
  return endpoints
    .filter((e) => e.status === 'active' && /^https?:\/\//.test(e.address))
    .sort((a, b) => (a.id ?? '').localeCompare(b.id ?? ''))[0];
}
