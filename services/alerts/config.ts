/**
 * The alerts service's own settings, from the environment (the hub's are in
 * shared/config.ts), checked at start-up with the hub's so every problem is
 * reported at once.
 *
 *   INFOSHARE_ALERTS_RETRY_WINDOW       how long a delivery is retried before it is a dead letter   default 24h
 *   INFOSHARE_ALERTS_RETRY_BASE_DELAY   the first retry's delay ceiling (doubling per retry)        default 1s
 *   INFOSHARE_ALERTS_DELIVERY_TIMEOUT   how long one delivery attempt waits for the agency's answer  default 10s
 *   INFOSHARE_ALERTS_DELIVERY_CONCURRENCY  delivery attempts in flight at once per process          default 512
 *                                       (DEFAULT_DELIVERY_CONCURRENCY: more in flight, bigger batches, less
 *                                       CPU per delivery)
 *   INFOSHARE_ALERTS_DELIVERY_PROCESSES    delivery worker processes of their own (0: in the service's  default 0
 *                                       process; accepting then shares its event loop with delivering)
 *   INFOSHARE_ALERTS_DELIVERY_NICE        how much lower the delivery worker processes' CPU priority is   default 10
 *                                       than the service's (nice increment 0-19; 0: the same): on a
 *                                       busy machine accepting an alert is not queued behind delivering
 *   INFOSHARE_ALERTS_SWEEP_INTERVAL     how often accepted deliveries not yet queued are re-queued   default 5s
 *   INFOSHARE_ALERTS_LOCK_DURATION      a delivery attempt's lock: a process that died mid-attempt   default 30s
 *                                       has its attempt re-run within about twice this
 *   INFOSHARE_ALERTS_BATCH_LINGER       batched delivery (Endpoints that opt in): how long a batch's   default 5ms
 *                                       first message waits for more to the same Endpoint
 *   INFOSHARE_ALERTS_BODY_LIMIT         largest alert message accepted (413 above it)               default 256kb
 *   INFOSHARE_ALERTS_VALIDATION_THREADS worker threads that validate incoming alert messages (R4),   default 1
 *                                       so accepting one never holds the event loop for it (0: inline)
 *
 * Durations are a number and a unit: `500ms`, `10s`, `5m`, `24h`, `2d`.
 */
import { z } from 'zod';
import { parseSettings } from '../../shared/config.js';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

/** A duration setting (`10s`, `24h`) in milliseconds; a bad one is reported with the others. */
const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const m = DURATION.exec(text.trim());
      const ms = m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : NaN;
      if (!Number.isFinite(ms) || ms <= 0) {
        ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration: write a number and a unit (ms, s, m, h, d), e.g. 10s or 24h` });
        return z.NEVER;
      }
      return ms;
    });

/**
 * Delivery attempts in flight per process, by default. The cost of a delivery falls as more are in flight: an
 * attempt waiting for its batch holds a slot, so more slots make bigger batches (512: ~35 messages per request,
 * 128: ~3) and fewer requests, signatures and answers per delivery — bench:alerts, 128 and 512 interleaved in one
 * run: 10-33 % less CPU per delivery at 512, agency-sim's share a third. A lower limit does not shorten a delivery's
 * wait under a backlog (the jobs it keeps out wait in the queue instead) and, costing more CPU per delivery on a
 * busy machine, lengthens it. Slow agencies are isolated by the per-attempt timeout and the circuit breaker, not by
 * this limit. README "Delivery".
 */
export const DEFAULT_DELIVERY_CONCURRENCY = 512;

/**
 * The delivery worker processes' nice increment by default: accepting (the sender waits for its answer) comes
 * before delivering (queued work that may wait a moment) whenever the two compete for a core. README "Delivery".
 */
export const DEFAULT_DELIVERY_NICE = 10;

const schema = z.object({
  INFOSHARE_ALERTS_RETRY_WINDOW: duration('24h'),
  INFOSHARE_ALERTS_RETRY_BASE_DELAY: duration('1s'),
  INFOSHARE_ALERTS_DELIVERY_TIMEOUT: duration('10s'),
  INFOSHARE_ALERTS_DELIVERY_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(DEFAULT_DELIVERY_CONCURRENCY),
  INFOSHARE_ALERTS_DELIVERY_PROCESSES: z.coerce.number().int().min(0).max(64).default(0),
  INFOSHARE_ALERTS_DELIVERY_NICE: z.coerce.number().int().min(0).max(19).default(DEFAULT_DELIVERY_NICE),
  INFOSHARE_ALERTS_SWEEP_INTERVAL: duration('5s'),
  INFOSHARE_ALERTS_LOCK_DURATION: duration('30s'),
  INFOSHARE_ALERTS_BATCH_LINGER: duration('5ms'),
  INFOSHARE_ALERTS_VALIDATION_THREADS: z.coerce.number().int().min(0).max(16).default(1),
  INFOSHARE_ALERTS_BODY_LIMIT: z.string().regex(/^\d+(?:\.\d+)?\s*(b|kb|mb)$/i, 'a size such as 256kb or 1mb').default('256kb'),
});

export interface AlertsConfig {
  /** A delivery is retried (backoff with jitter) until this long after acceptance, then dead-lettered (ms). */
  readonly retryWindowMs: number;
  /** The first retry waits up to this (ms), the n-th up to this × 2^(n-1) (capped): full jitter below it. */
  readonly retryBaseDelayMs: number;
  /** One delivery attempt's time limit (ms). */
  readonly deliveryTimeoutMs: number;
  /** Delivery attempts in flight at once in one process (they are I/O waits: a slow agency holds only its own). */
  readonly deliveryConcurrency: number;
  /** Delivery worker processes of the service's own (0: the worker runs in the service's process). */
  readonly deliveryProcesses: number;
  /**
   * How much lower the delivery worker processes run than the service's own (a nice increment): when the cores
   * are busy, the process that accepts alerts gets them first. Only with `deliveryProcesses` > 0.
   */
  readonly deliveryNice: number;
  /** How often the sweeper re-queues accepted deliveries whose job was not confirmed (ms). */
  readonly sweepIntervalMs: number;
  /** The delivery worker's job lock (ms): attempts of a process that died are re-run within about twice this. */
  readonly lockDurationMs: number;
  /** Batched delivery: how long the first message of a batch waits for more to the same Endpoint (ms). */
  readonly batchLingerMs: number;
  /** Body limit of the alerts service: an alert message larger than this is refused with 413. */
  readonly bodyLimit: string;
  /** Worker threads validating incoming messages (0: on the event loop, as other services validate small bodies). */
  readonly validationThreads: number;
}

export function loadAlertsConfig(env: NodeJS.ProcessEnv = process.env): AlertsConfig {
  const e = parseSettings(schema, env);
  return {
    retryWindowMs: e.INFOSHARE_ALERTS_RETRY_WINDOW,
    retryBaseDelayMs: e.INFOSHARE_ALERTS_RETRY_BASE_DELAY,
    deliveryTimeoutMs: e.INFOSHARE_ALERTS_DELIVERY_TIMEOUT,
    deliveryConcurrency: e.INFOSHARE_ALERTS_DELIVERY_CONCURRENCY,
    deliveryProcesses: e.INFOSHARE_ALERTS_DELIVERY_PROCESSES,
    deliveryNice: e.INFOSHARE_ALERTS_DELIVERY_NICE,
    sweepIntervalMs: e.INFOSHARE_ALERTS_SWEEP_INTERVAL,
    lockDurationMs: e.INFOSHARE_ALERTS_LOCK_DURATION,
    batchLingerMs: e.INFOSHARE_ALERTS_BATCH_LINGER,
    bodyLimit: e.INFOSHARE_ALERTS_BODY_LIMIT,
    validationThreads: e.INFOSHARE_ALERTS_VALIDATION_THREADS,
  };
}
