/**
 * The reliability tests' books: what the senders were told was accepted,
 * against what each receiving agency's system (agency-sim) actually got. One
 * line per test (`sent / delivered / duplicated / lost`), with "duplicated"
 * counted honestly:
 *
 * - a message the receiver *stored* more than once (its de-duplication by
 *   message id failed), and
 * - a message the hub *sent* again after it had recorded its acknowledgement
 *   (the hub forgot it was done): an attempt whose send time — when the hub
 *   handed the POST to its HTTP client, in the attempt's transmit record in the
 *   audit trail — is later than the acknowledgement's.
 *
 * A POST repeated before the hub recorded the acknowledgement — the answer was
 * lost with a killed process, the endpoint was down, an attempt timed out — is
 * what at-least-once delivery does, and the receiver acknowledges it again
 * without storing it twice. It is reported as `resent`, not hidden and not
 * counted as a duplicate — also when a starved receiver only gets round to it
 * after the acknowledgement was recorded (session 17 counted those as
 * duplicated by their arrival time; their send times show they were sent before).
 * A repeat that arrived after the acknowledgement is counted as `resent` only when
 * the trail accounts for every arrival with a send before the acknowledgement;
 * otherwise (a send the trail does not show) it stays `duplicated`.
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
  /** When the hub sent each attempt that called the receiver (ms since the epoch; from the audit trail), in any order. */
  readonly sentAt?: readonly number[];
}

export interface LedgerFigures {
  /** Deliveries owed: every recipient of every alert whose acceptance the sender saw (or that the hub accepted). */
  readonly sent: number;
  /** Owed deliveries the receiver stored and the hub holds acknowledged. */
  readonly delivered: number;
  /** Stored more than once, or sent again after the hub recorded the acknowledgement. */
  readonly duplicated: number;
  /** Owed deliveries the receiver never got. */
  readonly lost: number;
  /** Deliveries repeated, sent before the acknowledgement was recorded (at-least-once retries the receiver de-duplicated). */
  readonly resent: number;
  /** Received but not (yet) acknowledged at the hub. */
  readonly unacknowledged: number;
  /**
   * Acknowledged deliveries whose sends the audit trail does not show (when the hub's sends were read): the
   * acknowledging attempt's transmit record commits with the acknowledgement, so any is a gap in the trail — and
   * a send after the acknowledgement could hide there.
   */
  readonly untraced: number;
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
  let untraced = 0;
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
    if (acknowledged && ack.sentAt !== undefined && ack.sentAt.length === 0) untraced++;
    if (got.stored > 1 || (acknowledged && sentAgainAfterAck(got, ack))) duplicated++;
    else resent += got.deliveries - 1;
  }
  return { sent: owed.length, delivered, duplicated, lost, resent, unacknowledged, untraced };
}

/**
 * Whether the hub sent this acknowledged delivery after it recorded the acknowledgement: an attempt sent later than
 * it, or a repeat that arrived later than it which the trail's sends before it do not account for.
 */
function sentAgainAfterAck(got: ReceivedMessage, ack: HubDelivery): boolean {
  if (ack.acknowledgedAt === undefined) return false;
  const ackAt = ack.acknowledgedAt;
  const sends = ack.sentAt ?? [];
  if (sends.some((t) => t > ackAt)) return true;
  const arrivedAfterAck = got.deliveries > 1 && got.lastAt > ackAt;
  return arrivedAfterAck && sends.length < got.deliveries;
}

/** The one line each reliability test prints. */
export function ledgerLine(test: string, figures: LedgerFigures): string {
  return `[reliability] ${test}: sent ${figures.sent} / delivered ${figures.delivered} / duplicated ${figures.duplicated} / lost ${figures.lost} (resent before acknowledgement ${figures.resent}, unacknowledged ${figures.unacknowledged}, acknowledged without a recorded send ${figures.untraced})`;
}
