/**
 * The reliability tests' books: what the senders were told was accepted,
 * against what each receiving agency's system (agency-sim) actually got. One
 * line per test (`sent / delivered / duplicated / lost`), with "duplicated"
 * counted honestly:
 *
 * - a message the receiver *stored* more than once (its de-duplication by
 *   message id failed), and
 * - a message POSTed to the receiver again *after* the hub had recorded its
 *   acknowledgement (the hub forgot it was done).
 *
 * A POST repeated before the hub recorded the acknowledgement — the answer was
 * lost with a killed process, or the endpoint was down — is what at-least-once
 * delivery does, and the receiver acknowledges it again without storing it
 * twice. It is reported as `resent`, not hidden and not counted as a duplicate.
 */

/** One delivery the hub owes: a message to one recipient agency. */
export interface OwedDelivery {
  readonly messageId: string;
  readonly agencyId: string;
}

/** One message as the receiver holds it. */
export interface ReceivedMessage {
  readonly messageId: string;
  readonly agencyId: string;
  /** How many times it was delivered (every POST that passed the receiver's checks). */
  readonly deliveries: number;
  /** How many times the receiver stored it (1 when its de-duplication works). */
  readonly stored: number;
  /** When the last delivery arrived (ms since the epoch). */
  readonly lastAt: number;
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
  /** Deliveries owed: every recipient of every alert whose acceptance the sender saw (or that the hub accepted). */
  readonly sent: number;
  /** Owed deliveries the receiver stored and the hub holds acknowledged. */
  readonly delivered: number;
  /** Stored more than once, or delivered again after the hub recorded the acknowledgement. */
  readonly duplicated: number;
  /** Owed deliveries the receiver never got. */
  readonly lost: number;
  /** Deliveries repeated before the acknowledgement was recorded (at-least-once retries the receiver de-duplicated). */
  readonly resent: number;
  /** Received but not (yet) acknowledged at the hub. */
  readonly unacknowledged: number;
}

const keyOf = (d: { messageId: string; agencyId: string }): string => `${d.agencyId} ${d.messageId}`;

export function reconcile(owed: readonly OwedDelivery[], received: readonly ReceivedMessage[], hub: readonly HubDelivery[]): LedgerFigures {
  const receivedOf = new Map(received.map((r) => [keyOf(r), r]));
  const hubOf = new Map(hub.map((d) => [keyOf(d), d]));
  let delivered = 0;
  let duplicated = 0;
  let lost = 0;
  let resent = 0;
  let unacknowledged = 0;
  for (const d of owed) {
    const got = receivedOf.get(keyOf(d));
    if (!got || got.stored === 0) {
      lost++;
      continue;
    }
    const ack = hubOf.get(keyOf(d));
    const acknowledged = ack?.state === 'acknowledged';
    if (acknowledged) delivered++;
    else unacknowledged++;
    // The last delivery arrived after the hub knew it was acknowledged: the hub sent it again although done.
    const afterAck = acknowledged && ack.acknowledgedAt !== undefined && got.deliveries > 1 && got.lastAt > ack.acknowledgedAt;
    if (got.stored > 1 || afterAck) duplicated++;
    else resent += got.deliveries - 1;
  }
  return { sent: owed.length, delivered, duplicated, lost, resent, unacknowledged };
}

/** The one line each reliability test prints. */
export function ledgerLine(test: string, figures: LedgerFigures): string {
  return `[reliability] ${test}: sent ${figures.sent} / delivered ${figures.delivered} / duplicated ${figures.duplicated} / lost ${figures.lost} (resent before acknowledgement ${figures.resent}, unacknowledged ${figures.unacknowledged})`;
}
