/**
 * Dead letters reported to their senders (issue 11: dead letters are "visible through the API, reported to the
 * sender, and can be re-driven"). When a delivery becomes a dead letter — the agency answered `fatal-error`
 * (pushed, or to a pulled message), or the retry window ran out — the move's caller (the delivery worker, the
 * acknowledgement) passes the report built here with the move: the step script (store.ts) accepts it in the same
 * call as the dead letter, so there is never a dead letter without its report, and a report is written once.
 * It is then one more message with one recipient, the sender, delivered by the delivery worker like any other
 * (its Endpoint, or its `$inbox` when it has none; retries, exactly once, every attempt audited) — except that
 * no ISP or Consent stands between an agency and news of its own message, and there is nothing to minimise.
 *
 * A report that itself dies is not reported (domain/dead-letter-report.ts): it stays a dead letter in the
 * sender's `$dead-letters`, and can be re-driven. A dead letter that is re-driven and delivered is not
 * reported: the sender asked for the re-drive and follows it on `$delivery-status`, as it follows every
 * delivery that succeeds; one that dies again is reported again (a new report: its id counts the re-drives).
 *
 * A message another partnership's hub forwarded here has a sender that hub serves: its report is delivered through
 * that hub like any delivery to its agencies (peer-hubs.ts), and that hub builds its own report to the sender from
 * it here too (`relayedBy`: operations/relayed-report.ts).
 */
import type { ExchangeAgent, ExchangeRecord } from '../../shared/audit/exchange.js';
import { changeRecord } from '../../shared/audit/outbox.js';
import { DELIVERY_STORE } from './keys.js';
import type { JobData } from '../../shared/queue/worker-runner.js';
import { DEAD_LETTER_EVENT } from './domain/categories.js';
import { deadLetterReport, reportsItsDeadLetters } from './domain/dead-letter-report.js';
import { deadLetterReportIdOf, relayedReportIdOf } from './domain/ids.js';
import type { AcceptedMessage, Delivery, StoredMessage } from './store.js';

export interface DeadLetterOf {
  /** The message whose delivery died. */
  readonly message: StoredMessage;
  /** The delivery as it was before the move (its attempts before this one, sequence number, re-drives). */
  readonly delivery: Pick<Delivery, 'agencyId' | 'attempts' | 'seq' | 'redrives'>;
  /** This move counts one more attempt. */
  readonly countedAttempt: boolean;
  readonly reason: string;
  readonly at: Date;
  /** The alerts service's FHIR base (`http://localhost:4002/fhir`). */
  readonly baseUrl: string;
  /** The request the dead letter comes from (the report's deliveries are audited under it, as the letter's were). */
  readonly cause: { readonly requestId: string; readonly agent: ExchangeAgent };
  /**
   * The letter died at another partnership's hub, which relayed its report here (this hub forwarded the message
   * there): that partnership and its report's id. The report here is the one to the sender, named after the relayed
   * one (`relayedReportIdOf`) so a relay sent again is accepted once.
   */
  readonly relayedBy?: { readonly partnership: string; readonly reportId: string };
}

/** A dead letter's report: the message, its change record (both committed with the move) and its one delivery's job. */
export interface DeadLetterReport {
  readonly report: AcceptedMessage;
  readonly record: ExchangeRecord;
  /**
   * The report's delivery to the sender, to queue once the move is applied (the sweeper queues it if that fails):
   * a `DeliveryJobData`, spelt out because the delivery worker imports this module.
   */
  readonly job: JobData & { readonly messageId: string; readonly agencyId: string };
}

/** The report of a dead letter, or undefined for a report's own (never reported). */
export function deadLetterReportOf(dead: DeadLetterOf): DeadLetterReport | undefined {
  const { message, delivery, at, cause } = dead;
  if (!reportsItsDeadLetters(message.kind)) return undefined;
  const { relayedBy } = dead;
  const reportId = relayedBy ? relayedReportIdOf(relayedBy.partnership, relayedBy.reportId) : deadLetterReportIdOf(message.id, delivery.agencyId, delivery.redrives ?? 0);
  const deadAt = at.toISOString();
  const bundle = deadLetterReport({
    reportId,
    senderAgency: message.sender,
    ...(message.headerId ? { senderHeaderId: message.headerId } : {}),
    event: message.event,
    flagId: message.flagId,
    baseUrl: dead.baseUrl,
    messageId: message.id,
    agencyId: delivery.agencyId,
    deadAt,
    attempts: delivery.attempts + (dead.countedAttempt ? 1 : 0),
    seq: delivery.seq,
    reason: dead.reason,
    ...(relayedBy ? { heldBy: relayedBy.partnership } : {}),
  });
  const report: AcceptedMessage = {
    id: reportId,
    kind: 'report',
    event: DEAD_LETTER_EVENT,
    sender: message.sender,
    flagId: message.flagId,
    personId: message.personId,
    alertCategory: message.alertCategory,
    category: message.category,
    purpose: message.purpose,
    recipients: [message.sender],
    acceptedAt: deadAt,
    origin: { requestId: cause.requestId, agent: cause.agent },
    bundle,
    answer: null,
    npLpFromDirectory: false,
  };
  const record = changeRecord(
    { requestId: cause.requestId, service: 'alerts', agent: cause.agent },
    {
      subtype: DEAD_LETTER_EVENT,
      action: 'C',
      subject: `Person/${message.personId}`,
      dataCategory: 'alert',
      purpose: message.purpose,
      entities: [
        { reference: `MessageHeader/${message.id}`, role: 'data' },
        { reference: `MessageHeader/${reportId}`, role: 'data', description: `report of the dead letter to ${message.sender}` },
      ],
      outcomeDescription: `Dead letter of message ${message.id} to ${delivery.agencyId}${relayedBy ? ` (held by the ${relayedBy.partnership} hub, its report ${relayedBy.reportId})` : ''} reported to its sender ${message.sender} as message ${reportId}`,
    },
    DELIVERY_STORE,
  );
  return { report, record, job: { origin: report.origin, messageId: reportId, agencyId: message.sender } };
}
