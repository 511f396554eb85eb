/**
 * What happens after one delivery attempt of an alert to one agency (issue 11
 * §3): the agency's answer decides, never the worker's mood.
 *
 * - `ok` in a response message naming the delivered message → acknowledged.
 * - No answer (timeout, connection refused, reset), a 5xx, 408/425/429, a 2xx
 *   that is not a response message about this message, or `transient-error`
 *   → retry, after an exponential delay with full jitter (a random delay between
 *   0 and min(cap, base·2^(n-1)): many deliveries failing together spread out
 *   instead of hitting a recovering endpoint in waves), capped per attempt.
 * - `fatal-error`, or any other 4xx → dead letter at once: the receiver has said
 *   it will never take this message, so retrying only delays telling the sender.
 * - Retrying stops when the retry window (default 24 h) since acceptance (or
 *   since a re-drive) has passed: dead letter, with the last failure as reason.
 *   The last retry is brought forward to the window's end, so an endpoint that
 *   comes back just in time still gets it.
 *
 * Pure: the clock and the random source are arguments.
 */

/** How long and how often a delivery is retried. */
export interface RetryPolicy {
  /** Delay ceiling of the first retry (the n-th retry's ceiling is base·2^(n-1), up to `maxDelayMs`). */
  readonly baseDelayMs: number;
  /** No single wait between attempts is longer than this. */
  readonly maxDelayMs: number;
  /** How long after acceptance (or a re-drive) a delivery is still retried. */
  readonly windowMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  baseDelayMs: 1_000,
  maxDelayMs: 10 * 60_000,
  windowMs: 24 * 3600_000,
};

/** The codes of a FHIR response message (MessageHeader.response.code). */
export type ResponseCode = 'ok' | 'transient-error' | 'fatal-error';

/** What the receiver's response message said, as far as the delivery cares. */
export interface ResponseSummary {
  readonly code: ResponseCode;
  /** MessageHeader.response.identifier: the id of the message it answers. */
  readonly requestHeaderId: string;
  /** The receiver's own words (OperationOutcome text), when it gave any. */
  readonly details?: string;
}

/** What one attempt came to. */
export type AttemptResult =
  /** The receiver answered; `response` when the body was a readable response message. */
  | { readonly kind: 'answered'; readonly status: number; readonly response?: ResponseSummary }
  /** No answer: timeout, connection refused or reset, DNS… (`reason` says which). */
  | { readonly kind: 'no-answer'; readonly reason: string };

/** How the receiver's answer is classified (before the window is considered). */
export type Verdict =
  | { readonly verdict: 'acknowledged' }
  | { readonly verdict: 'transient'; readonly reason: string }
  | { readonly verdict: 'fatal'; readonly reason: string };

/** What to do with the delivery after an attempt. */
export type DeliveryAction =
  | { readonly action: 'acknowledged' }
  | { readonly action: 'retry'; readonly delayMs: number; readonly nextAttemptAt: Date; readonly reason: string }
  | { readonly action: 'dead-letter'; readonly reason: string };

/** Statuses that say "not now" rather than "never": retried like a 5xx. */
const RETRYABLE_CLIENT_STATUSES = new Set([408, 425, 429]);

/** Classifies one answer to the delivery of the message whose MessageHeader.id is `deliveredHeaderId`. */
export function classifyAttempt(result: AttemptResult, deliveredHeaderId: string): Verdict {
  if (result.kind === 'no-answer') return { verdict: 'transient', reason: `No answer: ${result.reason}` };
  const { status, response } = result;
  const about = response && response.requestHeaderId === deliveredHeaderId ? response : undefined;
  const said = about?.details ? `: ${about.details}` : '';
  // The receiver's own verdict on this message wins over the status where it says "not ok".
  if (about?.code === 'fatal-error') return { verdict: 'fatal', reason: `The agency refused the message (fatal-error, HTTP ${status})${said}` };
  if (about?.code === 'transient-error') return { verdict: 'transient', reason: `The agency could not take the message now (transient-error, HTTP ${status})${said}` };
  if (status >= 200 && status < 300) {
    if (about?.code === 'ok') return { verdict: 'acknowledged' };
    if (response) return { verdict: 'transient', reason: `HTTP ${status}, but the response message answers ${response.requestHeaderId}, not ${deliveredHeaderId}` };
    return { verdict: 'transient', reason: `HTTP ${status} without a readable response message` };
  }
  if (status >= 500 || RETRYABLE_CLIENT_STATUSES.has(status)) return { verdict: 'transient', reason: `The endpoint answered HTTP ${status}` };
  if (status >= 400) return { verdict: 'fatal', reason: `The endpoint refused the delivery with HTTP ${status}` };
  // 1xx/3xx: redirects are not followed (the delivery token is for this endpoint only).
  return { verdict: 'fatal', reason: `The endpoint answered HTTP ${status}; redirects are not followed: register the final address` };
}

/**
 * The delay before retry number `retry` (1 = the first retry): full jitter,
 * a uniform random delay in [0, min(maxDelayMs, baseDelayMs·2^(retry-1))).
 * `random` returns a number in [0, 1) (Math.random).
 */
export function retryDelayMs(retry: number, policy: RetryPolicy, random: () => number): number {
  const exponent = Math.min(Math.max(retry, 1) - 1, 40); // 2^40 s is far past any cap: keeps the number finite
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}

export interface AttemptContext {
  /** Which attempt this was (1 = the first delivery). */
  readonly attempt: number;
  /** Start of the retry window: the delivery's acceptance, or its latest re-drive. */
  readonly windowStart: Date;
  readonly now: Date;
  readonly policy: RetryPolicy;
  readonly random: () => number;
  /**
   * True when the queue will not run this job again (its attempts are used up):
   * a retry is then a dead letter too, so a delivery never ends without a state.
   */
  readonly lastAttempt?: boolean;
}

/** The delivery's next step after an attempt that ended with `verdict`. */
export function nextStep(verdict: Verdict, context: AttemptContext): DeliveryAction {
  if (verdict.verdict === 'acknowledged') return { action: 'acknowledged' };
  if (verdict.verdict === 'fatal') return { action: 'dead-letter', reason: verdict.reason };
  return retryOrGiveUp(verdict.reason, context);
}

/** Retry after a transient failure, or dead letter when the window has passed (or no attempt is left). */
export function retryOrGiveUp(reason: string, context: AttemptContext): DeliveryAction {
  const { attempt, windowStart, now, policy, random } = context;
  const windowEnd = windowStart.getTime() + policy.windowMs;
  if (now.getTime() >= windowEnd) {
    return { action: 'dead-letter', reason: `Not delivered within the retry window of ${describeDuration(policy.windowMs)} (${attempt} attempt(s)); last failure: ${reason}` };
  }
  if (context.lastAttempt) return { action: 'dead-letter', reason: `Not delivered after ${attempt} attempt(s), the most a delivery is given; last failure: ${reason}` };
  const delayMs = Math.min(retryDelayMs(attempt, policy, random), windowEnd - now.getTime());
  return { action: 'retry', delayMs, nextAttemptAt: new Date(now.getTime() + delayMs), reason };
}

/**
 * How many attempts a delivery job is given: a backstop only — the retry window
 * is what ends retrying. Once the ceiling has reached the cap, full jitter waits
 * maxDelay/2 on average, so a window holds about window/(maxDelay/2) attempts
 * after the ramp; this allows four times that.
 */
export function maxAttemptsWithin(policy: RetryPolicy): number {
  const ramp = Math.ceil(Math.log2(Math.max(policy.maxDelayMs / policy.baseDelayMs, 1))) + 1;
  return ramp + Math.ceil((8 * policy.windowMs) / policy.maxDelayMs);
}

/** `86400000` → `24 h`, `90000` → `90 s`: for reasons a person reads. */
export function describeDuration(ms: number): string {
  if (ms % 3600_000 === 0) return `${ms / 3600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}
