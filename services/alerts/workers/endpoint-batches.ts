/**
 * Batched delivery's I/O, per worker process: the attempts bound for an
 * Endpoint that takes batches (domain/delivery-batch.ts `batchSizeOf`) wait
 * here a moment — until the batch is full, or `lingerMs` has passed since its
 * first message while no request to that Endpoint is out, or the request out
 * is answered — and go out in ONE request: a FHIR `batch` Bundle of the message Bundles (shared/messaging/
 * message-batch.ts), one delivery token over the whole body naming every
 * message, one kept-alive connection.
 *
 * Each attempt gets back the result its own request would have given
 * (`attemptResultsOfBatch`) and carries on exactly as before: its own delivery
 * policy verdict, its own state change and audit records, its own retry or dead
 * letter. Everything an attempt decides before sending — the claim on the
 * delivery, the ISP and consent re-check, the minimised message, the circuit
 * breaker — it has decided before it joins a batch. The batch request itself
 * is one exchange: its BALP transmit record (naming every message) is committed
 * with the first message's step.
 */
import { randomUUID } from 'node:crypto';
import { failureReason, type ExchangeRecord } from '../../../shared/audit/exchange.js';
import { outboundCallRecord, type OutboundCall } from '../../../shared/audit/outbound.js';
import { FHIR_JSON } from '../../../shared/fhir/express.js';
import type { KeepAliveClient } from '../../../shared/http/keep-alive-client.js';
import { batchRequestBody } from '../../../shared/messaging/message-batch.js';
import { attemptResultsOfBatch, jsonOrUndefined, type BatchAnswer } from '../domain/delivery-batch.js';
import type { AttemptResult } from '../domain/delivery-policy.js';

/** Where a batch goes: the Endpoint's base address, for one agency, at most `maxSize` messages per request. */
export interface BatchTarget {
  readonly url: string;
  readonly agencyId: string;
  readonly maxSize: number;
}

/** One message joining a batch: its exact body, its MessageHeader.id, and what the batch's transmit record says of it. */
export interface BatchedMessage {
  readonly headerId: string;
  readonly body: string;
  /** The request that raised it (the batch's transmit record names the first message's). */
  readonly origin: Pick<OutboundCall, 'requestId' | 'agent'>;
  readonly entities: NonNullable<OutboundCall['entities']>;
  readonly dataCategory: OutboundCall['dataCategory'];
}

/** What one message's part of a batch request came to. */
export interface BatchedOutcome {
  readonly result: AttemptResult;
  /** The batch request's transmit record: on the first message's outcome only (one exchange, one record). */
  readonly callRecord?: ExchangeRecord;
}

export interface EndpointBatchesDeps {
  readonly http: KeepAliveClient;
  readonly service: OutboundCall['service'];
  /** Signs the delivery token of one batch request (its id, every message id in order, the exact body). */
  readonly sign: (batchId: string, headerIds: readonly string[], recipient: string, body: string) => string;
  /** One request's time limit (ms), as for a single message. */
  readonly timeoutMs: number;
  /** How long the first message of a batch waits for company (ms). */
  readonly lingerMs: number;
  /** Told after each request what it came to for the endpoint as a whole (the agency's circuit breaker). */
  readonly onAnswer?: (agencyId: string, answer: BatchAnswer) => void;
}

/** A batch-response is a few hundred bytes per message; this leaves room for the largest batch. */
const MAX_BATCH_ANSWER_BYTES = 4 * 1024 * 1024;

interface Waiting {
  readonly message: BatchedMessage;
  readonly resolve: (outcome: BatchedOutcome) => void;
  readonly reject: (err: unknown) => void;
}

interface OpenBatch {
  readonly target: BatchTarget;
  readonly waiting: Waiting[];
  timer?: NodeJS.Timeout;
}

/** Per endpoint: the batch being filled, and how many of its requests are out. */
interface EndpointState {
  open?: OpenBatch;
  inFlight: number;
}

/**
 * Requests out at once per endpoint before a batch that is not full waits for
 * one of them to be answered: under load the messages that arrive meanwhile
 * make the next batch bigger (as group commit does), at low rates a message
 * waits only the linger.
 */
const REQUESTS_IN_FLIGHT_PER_ENDPOINT = 1;

export class EndpointBatches {
  private readonly endpoints = new Map<string, EndpointState>();

  constructor(private readonly deps: EndpointBatchesDeps) {}

  /** Adds the message to its endpoint's open batch and resolves with its own result once the batch is answered. */
  deliver(target: BatchTarget, message: BatchedMessage): Promise<BatchedOutcome> {
    const key = `${target.agencyId} ${target.url}`;
    return new Promise<BatchedOutcome>((resolve, reject) => {
      let state = this.endpoints.get(key);
      if (!state) {
        state = { inFlight: 0 };
        this.endpoints.set(key, state);
      }
      state.open ??= { target, waiting: [] };
      state.open.waiting.push({ message, resolve, reject });
      this.schedule(key, state);
    });
  }

  /** Sends what waits now (a stopping worker does not leave attempts hanging). */
  flushAll(): void {
    for (const [key, state] of this.endpoints) if (state.open) this.send(key, state);
  }

  /** A full batch goes at once; one that is not waits the linger, or for the request in flight to be answered. */
  private schedule(key: string, state: EndpointState): void {
    const batch = state.open;
    if (!batch || batch.waiting.length === 0) return;
    if (batch.waiting.length >= Math.max(1, batch.target.maxSize)) this.send(key, state);
    else if (state.inFlight < REQUESTS_IN_FLIGHT_PER_ENDPOINT && !batch.timer) batch.timer = setTimeout(() => this.send(key, state), this.deps.lingerMs);
  }

  private send(key: string, state: EndpointState): void {
    const batch = state.open;
    if (!batch) return;
    state.open = undefined;
    clearTimeout(batch.timer);
    state.inFlight++;
    void this.post(batch.target, batch.waiting)
      .catch((err: unknown) => {
        for (const w of batch.waiting) w.reject(err);
      })
      .finally(() => {
        state.inFlight--;
        this.schedule(key, state);
      });
  }

  private async post(target: BatchTarget, waiting: readonly Waiting[]): Promise<void> {
    const messages = waiting.map((w) => w.message);
    const headerIds = messages.map((m) => m.headerId);
    const batchId = randomUUID();
    const body = batchRequestBody(batchId, messages.map((m) => m.body));
    const token = this.deps.sign(batchId, headerIds, target.agencyId, body);
    const first = messages[0]!;
    const call: OutboundCall = {
      ...first.origin,
      service: this.deps.service,
      subtype: '$process-message',
      action: 'C',
      method: 'POST',
      url: target.url,
      recipientAgency: target.agencyId,
      entities: messages.flatMap((m) => m.entities),
      ...(first.dataCategory ? { dataCategory: first.dataCategory } : {}),
    };
    let answer: BatchAnswer;
    let callRecord: ExchangeRecord;
    const sentAt = new Date();
    try {
      const answered = await this.deps.http.post({
        url: target.url,
        headers: { 'Content-Type': FHIR_JSON, Accept: FHIR_JSON, Authorization: `Bearer ${token}` },
        body,
        timeoutMs: this.deps.timeoutMs,
        maxAnswerBytes: MAX_BATCH_ANSWER_BYTES,
      });
      answer = { kind: 'answered', status: answered.status, ...(answered.text !== undefined ? { body: jsonOrUndefined(answered.text) } : {}) };
      callRecord = outboundCallRecord(call, { status: answered.status, sentAt });
    } catch (err) {
      answer = { kind: 'no-answer', reason: noAnswerReason(err, this.deps.timeoutMs) };
      callRecord = outboundCallRecord(call, { failure: failureReason(err), sentAt });
    }
    this.deps.onAnswer?.(target.agencyId, answer);
    const results = attemptResultsOfBatch(answer, waiting.length);
    waiting.forEach((w, i) => w.resolve({ result: results[i]!, ...(i === 0 ? { callRecord } : {}) }));
  }
}

/** Why there was no answer, in one line: the timeout, or the network error's code. */
export function noAnswerReason(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${timeoutMs} ms`;
  const code = err instanceof Error ? ((err as NodeJS.ErrnoException).code ?? (err.cause as { code?: unknown } | undefined)?.code) : undefined;
  if (typeof code === 'string') return `${code} (${failureReason(err)})`;
  return failureReason(err);
}
