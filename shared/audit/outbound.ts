/**
 * Calls the hub makes to other systems — delivering an alert to an agency's
 * endpoint, asking another system for data — are exchanges too: each is
 * recorded as a BALP `transmit` (PrivacyDisclosure source) with the URL, the
 * method and the answer's status as its trigger, the receiving agency, and the
 * request (or job origin) it was made for. Recorded once the call is answered
 * or has failed; if the record cannot be written the call's caller fails (a
 * job is then retried, so a transmit may be recorded twice — never not at all).
 */
import { failureReason, type AuditSink, type ExchangeRecord } from './exchange.js';

/** What the call is, for its record. */
export type OutboundCall = Pick<ExchangeRecord, 'requestId' | 'service' | 'agent' | 'subtype'> &
  Partial<Pick<ExchangeRecord, 'action' | 'subject' | 'entities' | 'dataCategory' | 'purpose' | 'recipientAgency' | 'criteria'>> & {
    readonly method: string;
    readonly url: string;
  };

/** The status a call was answered with: a 4xx is the receiver refusing (outcome 4), a 5xx its failure (8). */
export interface Answered<T> {
  readonly status: number;
  readonly value: T;
}

/**
 * The record of a call that was answered (`status`) or failed (`failure`, its
 * reason), sent at `sentAt` when the caller gives it: criteria count only for a 2xx answer; a 4xx is the receiver refusing
 * (outcome 4), a 5xx or no answer a failure (8). For callers that commit the
 * record themselves (with a state change, through the audit outbox).
 */
export function outboundCallRecord(call: OutboundCall, result: ({ readonly status: number } | { readonly failure: string }) & { readonly sentAt?: Date }): ExchangeRecord {
  const { method, url, criteria, ...described } = call;
  const base = { type: 'transmit' as const, action: call.action ?? 'C', entities: [], ...described };
  const sent = result.sentAt ? { sentAt: result.sentAt.toISOString() } : {};
  if ('failure' in result) {
    return { ...base, outcome: '8', outcomeDescription: `The call failed: ${result.failure}`, criteria: [], trigger: { kind: 'outbound', method, url, ...sent } };
  }
  const { status } = result;
  const ok = status >= 200 && status < 300;
  return {
    ...base,
    outcome: ok ? '0' : status < 500 ? '4' : '8',
    ...(ok ? {} : { outcomeDescription: `The receiver answered ${status}` }),
    criteria: ok ? (criteria ?? []) : [],
    trigger: { kind: 'outbound', method, url, status, ...sent },
  };
}

/**
 * Makes the call and records it. Criteria count only for a 2xx answer. A
 * network failure is recorded as outcome 8 and rethrown.
 */
export async function auditedCall<T>(audit: AuditSink, call: OutboundCall, send: () => Promise<Answered<T>>): Promise<Answered<T>> {
  let answered: Answered<T>;
  try {
    answered = await send();
  } catch (err) {
    await audit.record(outboundCallRecord(call, { failure: failureReason(err) }));
    throw err;
  }
  await audit.record(outboundCallRecord(call, { status: answered.status }));
  return answered;
}
