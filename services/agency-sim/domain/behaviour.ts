/**
 * How a simulated agency system answers deliveries, as tests and demos tell it
 * to (`PUT /agencies/<id>/behaviour`):
 *
 * - `ok`        store and acknowledge (response code `ok`) — the default;
 * - `down`      the system is unreachable: the connection is dropped without an
 *               answer (`failure: "reset"`, the default) or answered 503 (`failure: "503"`);
 * - `slow`      wait `delayMs`, then behave as `ok` (a sender timing out first retries
 *               the same message, which arrives as a duplicate);
 * - `transient` answer `transient-error` (try again later), store nothing;
 * - `fatal`     answer `fatal-error` (never send this again), store nothing.
 *
 * `forMs` limits the behaviour: after it the agency answers `ok` again (an
 * endpoint down for a while, then back). `messages` (transient and fatal only)
 * limits it to these MessageHeader ids: the others are answered `ok` — one bad
 * message among good ones, alone or in a batch.
 */
import { z } from 'zod';
import { invalidResource } from '../../../shared/fhir/outcome.js';

export const BEHAVIOUR_MODES = ['ok', 'down', 'slow', 'transient', 'fatal'] as const;
export type BehaviourMode = (typeof BEHAVIOUR_MODES)[number];

export interface Behaviour {
  readonly mode: BehaviourMode;
  /** `slow`: how long to wait before answering. */
  readonly delayMs?: number;
  /** `down`: drop the connection (`reset`) or answer 503. */
  readonly failure?: 'reset' | '503';
  /** Epoch ms after which the agency answers `ok` again; absent = until told otherwise. */
  readonly until?: number;
  /** `transient` / `fatal`: only the messages with these MessageHeader ids; absent = every message. */
  readonly messages?: readonly string[];
}

export const OK_BEHAVIOUR: Behaviour = { mode: 'ok' };

/** Reads a behaviour request body; a 422 OperationOutcome naming the field when it is not one. */
export function parseBehaviour(body: unknown, options: { readonly maxDelayMs: number; readonly nowMs: number }): Behaviour {
  const schema = z
    .object({
      mode: z.enum(BEHAVIOUR_MODES),
      delayMs: z.number().int().min(0).max(options.maxDelayMs).optional(),
      failure: z.enum(['reset', '503']).optional(),
      forMs: z.number().int().min(1).max(7 * 24 * 3_600_000).optional(),
      messages: z.array(z.string().min(1).max(200)).min(1).max(1000).optional(),
    })
    .strict()
    .refine((b) => b.mode !== 'slow' || b.delayMs !== undefined, { message: 'slow needs delayMs', path: ['delayMs'] })
    .refine((b) => b.delayMs === undefined || b.mode === 'slow', { message: 'delayMs applies to slow only', path: ['delayMs'] })
    .refine((b) => b.failure === undefined || b.mode === 'down', { message: 'failure applies to down only', path: ['failure'] })
    .refine((b) => b.messages === undefined || b.mode === 'transient' || b.mode === 'fatal', { message: 'messages applies to transient and fatal only', path: ['messages'] });
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || 'body';
    throw invalidResource(`Behaviour: ${field}: ${issue?.message ?? 'invalid'} (send {"mode": "ok|down|slow|transient|fatal", "delayMs"?, "failure"?, "forMs"?, "messages"?})`, field);
  }
  const { mode, delayMs, failure, forMs, messages } = parsed.data;
  return {
    mode,
    ...(delayMs !== undefined ? { delayMs } : {}),
    ...(mode === 'down' ? { failure: failure ?? 'reset' } : {}),
    ...(forMs !== undefined ? { until: options.nowMs + forMs } : {}),
    ...(messages !== undefined ? { messages } : {}),
  };
}

/** The behaviour in force at `nowMs`: a timed one that has run out is `ok` again. */
export function behaviourAt(stored: Behaviour | undefined, nowMs: number): Behaviour {
  if (!stored) return OK_BEHAVIOUR;
  if (stored.until !== undefined && nowMs >= stored.until) return OK_BEHAVIOUR;
  return stored;
}

/** The behaviour one message meets: one limited to other messages answers this one `ok`. */
export function behaviourFor(behaviour: Behaviour, messageId: string): Behaviour {
  return behaviour.messages && !behaviour.messages.includes(messageId) ? OK_BEHAVIOUR : behaviour;
}
