/**
 * Several messages to one agency system in one HTTP request (batched delivery,
 * opt-in per Endpoint: services/alerts/domain/delivery-batch.ts) — a FHIR
 * `batch` Bundle POSTed to the Endpoint's base address, each entry one message
 * Bundle as it would have been POSTed alone (`request` `POST $process-message`).
 * The receiver answers a `batch-response` Bundle with one entry per request
 * entry, in the same order (FHIR batch rules): `response.status` and, as the
 * entry's `resource`, the response message about that message (`ok`,
 * `transient-error`, `fatal-error`) — or an OperationOutcome when the entry
 * itself could not be taken (`response.status` 4xx). Each message is answered
 * on its own, so one refused message does not fail the others.
 *
 * Pure: building and reading the two Bundles. The hub builds the request from
 * the exact bytes of each message (`batchRequestBody`: no re-serialisation, the
 * delivery token's digest covers the whole body); agency systems read it with
 * `readMessageBatch` and answer with `batchResponse`; the hub reads the answer
 * with `readBatchResponse`.
 */
import type { Bundle, BundleEntry, FhirResource } from 'fhir/r4.js';

/** The request of every entry of a message batch: what the message would have been sent with alone. */
export const BATCH_ENTRY_REQUEST = { method: 'POST', url: '$process-message' } as const;

/** The most messages one batch request may carry (receivers refuse more; the hub never sends more). */
export const MAX_MESSAGES_PER_BATCH = 100;

/**
 * The batch request body, written around the message bodies as they are (each
 * one valid JSON: the message Bundle the hub would have POSTed alone).
 */
export function batchRequestBody(batchId: string, messageBodies: readonly string[]): string {
  const request = JSON.stringify(BATCH_ENTRY_REQUEST);
  const entries = messageBodies.map((body) => `{"request":${request},"resource":${body}}`).join(',');
  return `{"resourceType":"Bundle","id":${JSON.stringify(batchId)},"type":"batch","timestamp":${JSON.stringify(new Date().toISOString())},"entry":[${entries}]}`;
}

/** Is this body a batch Bundle (rather than a single message)? */
export function isBatchBundle(body: unknown): boolean {
  const b = body as Partial<Bundle> | null;
  return typeof body === 'object' && b !== null && b.resourceType === 'Bundle' && b.type === 'batch';
}

export interface MessageBatch {
  readonly id: string;
  /** Each entry's resource, in order (each meant to be a message Bundle: the receiver checks them one by one). */
  readonly messages: readonly unknown[];
}

export interface MessageBatchProblem {
  readonly problem: string;
  readonly expression: string;
}

/** A batch request's messages, or why it is not one (with the FHIRPath of the problem). */
export function readMessageBatch(body: unknown): MessageBatch | MessageBatchProblem {
  if (!isBatchBundle(body)) return { problem: 'The body is not a batch Bundle', expression: 'Bundle.type' };
  const bundle = body as Bundle;
  if (typeof bundle.id !== 'string' || bundle.id.length === 0) return { problem: 'The batch Bundle has no id', expression: 'Bundle.id' };
  const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
  if (entries.length === 0) return { problem: 'The batch carries no message', expression: 'Bundle.entry' };
  if (entries.length > MAX_MESSAGES_PER_BATCH) return { problem: `A batch carries at most ${MAX_MESSAGES_PER_BATCH} messages`, expression: 'Bundle.entry' };
  for (const [i, entry] of entries.entries()) {
    if (entry.request?.method !== BATCH_ENTRY_REQUEST.method || entry.request.url !== BATCH_ENTRY_REQUEST.url) {
      return { problem: `Every entry of a message batch is a ${BATCH_ENTRY_REQUEST.method} ${BATCH_ENTRY_REQUEST.url}`, expression: `Bundle.entry[${i}].request` };
    }
  }
  return { id: bundle.id, messages: entries.map((e) => e.resource) };
}

export function isMessageBatchProblem(b: MessageBatch | MessageBatchProblem): b is MessageBatchProblem {
  return 'problem' in b;
}

/** One entry's answer: its HTTP-like status and what it says (a response message, or an OperationOutcome). */
export interface BatchEntryAnswer {
  readonly status: number;
  readonly resource?: unknown;
}

/** The `batch-response` Bundle answering a batch request, one entry per message, in order. */
export function batchResponse(batchId: string, answers: readonly BatchEntryAnswer[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'batch-response',
    timestamp: new Date().toISOString(),
    // FHIR does not link a batch-response to its batch; naming the batch lets a receiver's log find both.
    link: [{ relation: 'request', url: `urn:uuid:${batchId}` }],
    entry: answers.map(
      (a): BundleEntry => ({
        ...(a.resource !== undefined && a.status < 300 ? { resource: a.resource as FhirResource } : {}),
        response: {
          status: String(a.status),
          ...(a.resource !== undefined && a.status >= 300 ? { outcome: a.resource as FhirResource } : {}),
        },
      }),
    ),
  };
}

/**
 * Each entry's answer of a `batch-response`, in order; `undefined` for an entry
 * missing or unreadable. The whole answer is `undefined` when it is not a
 * batch-response at all.
 */
export function readBatchResponse(body: unknown, expected: number): (BatchEntryAnswer | undefined)[] | undefined {
  const b = body as Partial<Bundle> | null;
  if (typeof body !== 'object' || b === null || b.resourceType !== 'Bundle' || b.type !== 'batch-response') return undefined;
  const entries = Array.isArray(b.entry) ? b.entry : [];
  return Array.from({ length: expected }, (_, i) => {
    const entry = entries[i];
    const status = Number.parseInt(String(entry?.response?.status ?? ''), 10);
    if (!entry || !Number.isInteger(status) || status < 100 || status > 599) return undefined;
    const resource: unknown = entry.resource ?? entry.response?.outcome;
    return { status, ...(resource !== undefined ? { resource } : {}) };
  });
}
