/**
 * A per-agency circuit breaker for deliveries: after `threshold` attempts in a
 * row that got no usable answer from an agency's endpoint, the endpoint is
 * left alone for `coolDownMs` — deliveries to it are rescheduled without a
 * call — then one attempt is let through as a probe; its success closes the
 * breaker, its failure opens it again for twice as long (up to `maxCoolDownMs`).
 *
 * Why: with a dead endpoint every attempt holds a worker slot for the whole
 * per-attempt timeout. A burst of alerts to that one agency would otherwise fill
 * the worker's slots with waits and delay every other agency's deliveries.
 *
 * Pure: the state is a value and the clock an argument; the worker keeps one
 * state per agency.
 */

export interface BreakerOptions {
  /** Failed attempts in a row that open the breaker. */
  readonly threshold: number;
  /** How long it first stays open. */
  readonly coolDownMs: number;
  /** Longest it stays open after repeated failed probes. */
  readonly maxCoolDownMs: number;
}

export const DEFAULT_BREAKER_OPTIONS: BreakerOptions = { threshold: 5, coolDownMs: 5_000, maxCoolDownMs: 5 * 60_000 };

export interface BreakerState {
  /** Failed attempts in a row (reset by any answer the delivery can act on). */
  readonly failures: number;
  /** Epoch ms until which no call is made; 0 when closed. */
  readonly openUntil: number;
  /** The cool-down used when it last opened (doubles per failed probe). */
  readonly coolDownMs: number;
}

export const CLOSED: BreakerState = { failures: 0, openUntil: 0, coolDownMs: 0 };

/** Whether a call may be made now; when not, until when the endpoint is left alone. */
export function breakerAllows(state: BreakerState, now: number): { readonly allowed: true } | { readonly allowed: false; readonly until: number } {
  return state.openUntil > now ? { allowed: false, until: state.openUntil } : { allowed: true };
}

/** The state after an attempt that reached the endpoint and got an answer it could act on. */
export function afterSuccess(): BreakerState {
  return CLOSED;
}

/** The state after an attempt that got no usable answer (no answer, 5xx, transient-error). */
export function afterFailure(state: BreakerState, now: number, options: BreakerOptions): BreakerState {
  const failures = state.failures + 1;
  if (failures < options.threshold) return { ...state, failures };
  // A failed probe after a cool-down doubles the next one; the first opening uses the base.
  const coolDownMs = state.coolDownMs === 0 ? options.coolDownMs : Math.min(state.coolDownMs * 2, options.maxCoolDownMs);
  return { failures, openUntil: now + coolDownMs, coolDownMs };
}
