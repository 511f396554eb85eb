/**
 * The reliability tests' books: what the senders were told was accepted,
 * against what each receiving agency's system actually got. One line per test
 * (`sent / delivered / duplicated / lost`), with "duplicated" counted honestly:
 *
 * - a message the receiver *stored* more than once (its de-duplication by
 *   message id failed, or was never reached), and
 * - a message POSTed to the receiver again *after* the hub had recorded its
 *   acknowledgement (the hub forgot it was done).
 *
 * A POST repeated before the hub recorded the acknowledgement — the answer was
 * lost with a killed process, or the endpoint was down — is what at-least-once
 * delivery does; the receiver acknowledges it again without storing it twice.
 * It is reported as `resent`, not hidden and not counted as a duplicate.
 */

/** One delivery the hub owes: a message to one recipient agency. */
export interface OwedDelivery {
  readonly messageId: string;
  readonly agencyId: string;
}

/** One POST as the receiver recorded it. */
export interface ReceivedPost {
  readonly messageId: string;
  readonly agencyId: string;
  /** When it arrived (ms since the epoch). */
  readonly at: number;
  /** Whether this POST stored the message (false: recognised as already held, or refused). */
  readonly stored: boolean;
}

/** The hub's record of one delivery. */
export interface HubDelivery {
  readonly messageId: string;
  readonly agencyId: string;
  readonly state: string;
  /** When the hub recorded the acknowledgement (ms since the epoch), if it did. */
  readonly acknowledgedAt?: number;
}

export interface LedgerFigures {
  /** Deliveries owed: every recipient of every alert whose acceptance the sender saw. */
  readonly sent: number;
  /** Owed deliveries the receiver stored and the hub holds acknowledged. */
  readonly delivered: number;
  /** Stored more than once, or POSTed again after the hub recorded the acknowledgement. */
  readonly duplicated: number;
  /** Owed deliveries the receiver never stored. */
  readonly lost: number;
  /** POSTs repeated before the acknowledgement was recorded (at-least-once retries the receiver de-duplicated). */
  readonly resent: number;
  /** Stored but not (yet) acknowledged at the hub. */
  readonly unacknowledged: number;
}

const keyOf = (d: { messageId: string; agencyId: string }): string => `${d.agencyId} ${d.messageId}`;

export function reconcile(owed: readonly OwedDelivery[], posts: readonly ReceivedPost[], hub: readonly HubDelivery[]): LedgerFigures {
  const postsOf = new Map<string, ReceivedPost[]>();
  for (const p of posts) (postsOf.get(keyOf(p)) ?? postsOf.set(keyOf(p), []).get(keyOf(p))!).push(p);
  const hubOf = new Map(hub.map((d) => [keyOf(d), d]));
  let delivered = 0;
  let duplicated = 0;
  let lost = 0;
  let resent = 0;
  let unacknowledged = 0;
  for (const d of owed) {
    const received = postsOf.get(keyOf(d)) ?? [];
    const stored = received.filter((p) => p.stored).length;
    const ack = hubOf.get(keyOf(d));
    const acknowledged = ack?.state === 'acknowledged';
    const afterAck = acknowledged && ack.acknowledgedAt !== undefined ? received.filter((p) => p.at > ack.acknowledgedAt!).length : 0;
    if (stored === 0) lost++;
    else if (acknowledged) delivered++;
    else unacknowledged++;
    const twice = stored > 1 || afterAck > 0;
    if (twice) duplicated++;
    resent += Math.max(0, received.length - 1 - afterAck);
  }
  return { sent: owed.length, delivered, duplicated, lost, resent, unacknowledged };
}

/** The one line each reliability test prints. */
export function ledgerLine(test: string, figures: LedgerFigures): string {
  return `[reliability] ${test}: sent ${figures.sent} / delivered ${figures.delivered} / duplicated ${figures.duplicated} / lost ${figures.lost} (resent before acknowledgement ${figures.resent}, unacknowledged ${figures.unacknowledged})`;
}
