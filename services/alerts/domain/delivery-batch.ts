/**
 * Batched delivery, the hub's side of it (pure): whether an agency's Endpoint
 * takes several messages per request and how many, and what each message of a
 * batch request came to — the same `AttemptResult` a request of its own would
 * have given, so the delivery policy decides for each message alone (one
 * refused message in a batch is retried or dead-lettered on its own; the others
 * are acknowledged).
 *
 * The wire format is shared/messaging/message-batch.ts.
 */
import type { Endpoint } from 'fhir/r4.js';
import { Extensions } from '../../../shared/fhir/systems.js';
import { MAX_MESSAGES_PER_BATCH, readBatchResponse } from '../../../shared/messaging/message-batch.js';
import { isResponseMessageProblem, parseResponseMessage } from '../../../shared/messaging/response-message.js';
import { classifyAttempt, type AttemptResult, type ResponseSummary } from './delivery-policy.js';

/**
 * How many messages the Endpoint takes in one request: the value of its
 * `delivery-batch-size` extension, capped at the hub's maximum; 1 (a request
 * per message, the default) when it does not opt in or states nonsense.
 */
export function batchSizeOf(endpoint: Pick<Endpoint, 'extension'> | undefined): number {
  const value = endpoint?.extension?.find((e) => e.url === Extensions.deliveryBatchSize)?.valuePositiveInt;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 2) return 1;
  return Math.min(value, MAX_MESSAGES_PER_BATCH);
}

/** A body read as JSON, or undefined when it is not JSON. */
export function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** What a response message says about a delivery, or undefined when it is not a readable response message. */
export function responseSummaryOf(parsed: unknown): ResponseSummary | undefined {
  const response = parseResponseMessage(parsed);
  if (isResponseMessageProblem(response)) return undefined;
  const details = (response.details?.issue ?? [])
    .map((i) => i.details?.text ?? i.diagnostics)
    .filter((t): t is string => typeof t === 'string' && t.length > 0)
    .join('; ');
  return { code: response.code, requestHeaderId: response.requestHeaderId, ...(details ? { details: details.slice(0, 300) } : {}) };
}

/** The answer to one batch request: the HTTP status and its parsed body (undefined when unreadable), or no answer at all. */
export type BatchAnswer = { readonly kind: 'answered'; readonly status: number; readonly body?: unknown } | { readonly kind: 'no-answer'; readonly reason: string };

/**
 * Each message's result, in the order they were sent:
 * - no answer, or a status that is not 2xx: the same for every message (as if each had been sent alone);
 * - a `batch-response`: each entry's status and response message for its message; an entry missing
 *   or unreadable is a 2xx without a response message about that message (retried);
 * - a 2xx that is no batch-response: nothing was acknowledged (every message retried).
 */
export function attemptResultsOfBatch(answer: BatchAnswer, count: number): AttemptResult[] {
  if (answer.kind === 'no-answer') return Array.from({ length: count }, () => answer);
  const { status } = answer;
  if (status < 200 || status >= 300) return Array.from({ length: count }, () => ({ kind: 'answered', status }));
  const entries = readBatchResponse(answer.body, count);
  return Array.from({ length: count }, (_, i): AttemptResult => {
    const entry = entries?.[i];
    if (!entry) return { kind: 'answered', status };
    const response = responseSummaryOf(entry.resource);
    return { kind: 'answered', status: entry.status, ...(response ? { response } : {}) };
  });
}

/**
 * Whether a batch request failed for the endpoint as a whole — no answer, or a
 * status a single message would be retried for — which is what the agency's
 * circuit breaker counts (once per request, however many messages it carried).
 * A message its entry refuses says nothing about the endpoint's health.
 */
export function endpointFailed(answer: BatchAnswer): boolean {
  if (answer.kind === 'no-answer') return true;
  if (answer.status >= 200 && answer.status < 300) return false;
  return classifyAttempt({ kind: 'answered', status: answer.status }, '').verdict === 'transient';
}
