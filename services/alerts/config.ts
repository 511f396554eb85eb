/**
 * The alerts service's own settings, from the environment (the hub's are in
 * shared/config.ts), checked at start-up with the hub's so every problem is
 * reported at once.
 *
 *   INFOSHARE_ALERTS_RETRY_WINDOW       how long a delivery is retried before it is a dead letter   default 24h
 *   INFOSHARE_ALERTS_RETRY_BASE_DELAY   the first retry's delay ceiling (doubling per retry)        default 1s
 *   INFOSHARE_ALERTS_DELIVERY_TIMEOUT   how long one delivery attempt waits for the agency's answer  default 10s
 *   INFOSHARE_ALERTS_DELIVERY_CONCURRENCY  delivery attempts in flight at once per process          default 128
 *                                       (DEFAULT_DELIVERY_CONCURRENCY: the in-flight limit bounds the time a
 *                                       delivery spends inside a busy worker, limit / throughput)
 *   INFOSHARE_ALERTS_DELIVERY_PROCESSES    delivery worker processes of their own (0: in the service's  default 0
 *                                       process; accepting then shares its event loop with delivering)
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
 * Delivery attempts in flight per process, by default: the knee of what an attempt costs, under the latency
 * bound. Little's law: a worker whose slots are all busy keeps each attempt about limit / throughput — at the
 * ~700-800 deliveries/s two cores manage, 128 is ~170 ms, inside the issue's 250 ms end-to-end p99; 512 is
 * ~700 ms. Below 128 batches no longer form (bench:alerts, byDeliveryConcurrency, same run: CPU per delivery at
 * the fixed rate 64 +36 %, 32 +58 % over 128) and the CPU that costs queues everything; above it they grow
 * (512: batches of ~35) for ~10 % less CPU per delivery while each delivery waits longer. README "Delivery".
 */
export const DEFAULT_DELIVERY_CONCURRENCY = 128;

const schema = z.object({
  INFOSHARE_ALERTS_RETRY_WINDOW: duration('24h'),
  INFOSHARE_ALERTS_RETRY_BASE_DELAY: duration('1s'),
  INFOSHARE_ALERTS_DELIVERY_TIMEOUT: duration('10s'),
  INFOSHARE_ALERTS_DELIVERY_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(DEFAULT_DELIVERY_CONCURRENCY),
  INFOSHARE_ALERTS_DELIVERY_PROCESSES: z.coerce.number().int().min(0).max(64).default(0),
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
    sweepIntervalMs: e.INFOSHARE_ALERTS_SWEEP_INTERVAL,
    lockDurationMs: e.INFOSHARE_ALERTS_LOCK_DURATION,
    batchLingerMs: e.INFOSHARE_ALERTS_BATCH_LINGER,
    bodyLimit: e.INFOSHARE_ALERTS_BODY_LIMIT,
    validationThreads: e.INFOSHARE_ALERTS_VALIDATION_THREADS,
  };
}
