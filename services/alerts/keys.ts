/**
 * Every Redis key of the alerts service, in one place. All alert state shares
 * the hash tag `{alerts}`, so the accept script (store.ts) can write an alert,
 * its per-recipient deliveries, the recipients' sequence numbers and inboxes,
 * the `unqueued` set and the audit change record in ONE atomic call — on
 * Redis Cluster too (one slot). The delivery queue is a BullMQ queue of its own
 * family, `{alerts-delivery}` (workers/deliveries.ts).
 */
import { outboxKey } from '../../shared/audit/outbox.js';
import type { KeySpace } from '../../shared/redis/connection.js';

export const ALERTS_TAG = 'alerts';

/**
 * The `store` its change records name (an AuditEvent's `store` detail) for a
 * delivery's moves — acknowledged, dead letter, re-driven, reported — as against
 * `ALERTS_TAG` for an accepted message or a look-up: an auditor tells the two
 * apart by it.
 */
export const DELIVERY_STORE = 'alerts-delivery';

export class AlertsKeys {
  constructor(private readonly space: KeySpace) {}

  /** Hash: one accepted message (alert raised/updated/closed, or an access notification): see store.ts `StoredMessage`. */
  message(messageId: string): string {
    return this.space.key(ALERTS_TAG, 'msg', messageId);
  }
  /** Hash: one recipient's delivery of a message: state, attempts, lastError, nextAttemptAt, seq, … (store.ts `Delivery`). */
  delivery(messageId: string, agencyId: string): string {
    return this.space.key(ALERTS_TAG, 'dlv', messageId, agencyId);
  }
  /** Hash: one alert (Flag) as it stands: status, recipients of its raise, latest message, the Flag and NP/LP CareTeam JSON. */
  flag(flagId: string): string {
    return this.space.key(ALERTS_TAG, 'flag', flagId);
  }
  /** Set: the Flag ids about one index Person (look-up by subject). */
  personFlags(personId: string): string {
    return this.space.key(ALERTS_TAG, 'person', personId);
  }
  /** List: the latest look-ups of a Flag (newest first, JSON), kept to the last `ACCESSES_KEPT`. */
  accesses(flagId: string): string {
    return this.space.key(ALERTS_TAG, 'accesses', flagId);
  }
  /** Hash: agency id → the last sequence number given to a message for that agency. */
  get sequences(): string {
    return this.space.key(ALERTS_TAG, 'seq');
  }
  /** Sorted set: an agency's delivered messages, member message id, score its sequence number. */
  inbox(agencyId: string): string {
    return this.space.key(ALERTS_TAG, 'inbox', agencyId);
  }
  /** Sorted set: one sender's dead letters, member `<messageId>~<agencyId>`, score when they died (ms). */
  deadLetters(senderAgencyId: string): string {
    return this.space.key(ALERTS_TAG, 'dead', senderAgencyId);
  }
  /**
   * Hash: response message id → the delivery it acknowledged (`<messageId>~<agencyId>`), so a
   * response message replayed against another delivery is recognised (and refused).
   */
  get acknowledgements(): string {
    return this.space.key(ALERTS_TAG, 'acks');
  }
  /**
   * Set: deliveries accepted whose BullMQ job is not confirmed yet, member the
   * job id `<messageId>~<agencyId>`. Written by the accept script, cleared once
   * the jobs are added; the sweeper re-adds whatever it finds (a no-op when the
   * job exists: the id is deterministic).
   */
  get unqueued(): string {
    return this.space.key(ALERTS_TAG, 'unqueued');
  }
  /**
   * Stream: change records committed with accepts — a message accepted (with the request's own record), a look-up's
   * access notification (shared/audit/outbox.ts). Relayed by the accepting process right after its answer.
   */
  get outbox(): string {
    return outboxKey(this.space, ALERTS_TAG);
  }
  /**
   * Stream: change records committed with a delivery's moves (attempted, acknowledged, dead letter, re-driven,
   * withdrawn, reported). Relayed after `outbox` (an accept's records ahead of its deliveries'), by whoever made the
   * move — the delivery process for the worker's steps —, so the accepting process copies only its own records.
   */
  get deliveryOutbox(): string {
    return this.space.key(ALERTS_TAG, 'delivery-audit-outbox');
  }
  /** Both outboxes, accepts' first (what a reader waits on to see the trail caught up). */
  get outboxes(): readonly [string, string] {
    return [this.outbox, this.deliveryOutbox];
  }
}
