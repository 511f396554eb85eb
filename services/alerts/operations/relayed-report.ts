/**
 * `POST /fhir/$process-message` from another partnership's hub carrying a dead-letter report (issue 11 items 3 and
 * 7): a message this hub forwarded there died at that hub — the agency there refused it, or never took it within
 * the retry window — and that hub relays its report of the dead letter back, because the sender is an agency of
 * this partnership and signs in here only. Reached through forwarded-message.ts once the hub-to-hub delivery token
 * is verified (pinned key, issuer, audience, body digest, not replayed) and the Bundle is valid R4.
 *
 * In order — each refusal an OperationOutcome, audited, nothing written:
 *   400 the MessageHeader is not the message the token names;
 *   422 not a readable dead-letter report (addressee, the dead letter's recipient, when, senderMessage);
 *   403 the report is addressed to an agency this hub does not serve, or about a recipient that is not an agency
 *       of the relaying hub's partnership (a hub reports only its own agencies' dead letters);
 *   404 this hub forwarded no message `senderMessage` from that agency to that recipient (the same answer whether
 *       the message exists: a peer learns nothing of messages that are not its business).
 * No ISP or Consent check: an agency always hears about its own message (as for a report written here); the
 * relaying hub's pinned signature and the message this hub itself forwarded to it are what entitle the report.
 *
 * Then the report to the sender — this hub's own, with the dead letter's facts as the peer gave them, the
 * partnership that holds the letter (`heldBy`) and this hub's `redrive` link (peer-redrive.ts asks the peer) — is accepted by the accept script (its
 * message, its one delivery to the sender, sequence number, inbox entry, `unqueued` marker and change record in
 * one write) under an id derived from the peer's report id, and only then answered `ok`; a relay sent again is
 * answered as the first time, never a second report. It is delivered like any report written here: the sender's
 * Endpoint or its `$inbox`, retried, exactly once, never reported if it dies, re-drivable by the sender.
 */
import type { Request, Response } from 'express';
import type { Bundle } from 'fhir/r4.js';
import { causeOf, describeExchange, requestIdOf } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import { badRequest, forbidden, notFound } from '../../../shared/fhir/outcome.js';
import { refusedBySecurityModel } from '../../../shared/fhir/rest/access.js';
import type { Logger } from '../../../shared/log.js';
import { buildResponseMessage } from '../../../shared/messaging/response-message.js';
import type { DeliveryTokenClaims } from '../../../shared/messaging/delivery-token.js';
import type { AlertsContext } from '../context.js';
import { deadLetterReportOf } from '../dead-letter-reports.js';
import { eventCoding } from '../domain/alert-bundle.js';
import { DEAD_LETTER_EVENT } from '../domain/categories.js';
import { readRelayedReport } from '../domain/dead-letter-report.js';
import type { PeerHub } from '../domain/peer-hubs.js';
import type { PeerHubs } from '../peer-hubs.js';

/** A peer hub's verified exchange: which hub signed it, its token's claims, the Bundle it sent. */
export interface PeerExchange {
  readonly hub: PeerHub;
  readonly claims: DeliveryTokenClaims;
  readonly bundle: Bundle;
}

export async function acceptRelayedReport(ctx: AlertsContext, peers: PeerHubs, log: Logger, req: Request, res: Response, { hub, claims, bundle }: PeerExchange): Promise<void> {
  describeExchange(res, { subtype: '$process-message (relayed dead-letter report)' });
  const relayed = readRelayedReport(bundle);
  if (relayed.reportId !== claims.message_id) throw badRequest('The MessageHeader id is not the message the token names', 'Bundle.entry[0].resource.id');
  describeExchange(res, {
    recipientAgency: relayed.senderAgency,
    entities: [{ reference: `MessageHeader/${relayed.reportId}`, role: 'data', description: `dead-letter report relayed by the ${hub.partnership} hub (${hub.endpoint}) about ${relayed.senderMessage} to ${relayed.agencyId}` }],
  });
  const snapshot = await ctx.isp.snapshot();
  if (snapshot.agencies.get(relayed.senderAgency)?.partnership !== peers.ownPartnership) {
    refusedBySecurityModel(res);
    throw forbidden(`This hub serves ${peers.ownPartnership}; ${relayed.senderAgency} is not among its agencies`);
  }
  if (snapshot.agencies.get(relayed.agencyId)?.partnership !== hub.partnership) {
    refusedBySecurityModel(res);
    throw forbidden(`The ${hub.partnership} hub reports only the dead letters of its own agencies; ${relayed.agencyId} is not an agency of ${hub.partnership} in this directory`);
  }
  // The message must be one this hub forwarded to that hub: its own message, from that sender, to that recipient.
  const message = await ctx.store.message(relayed.senderMessage);
  if (!message || message.kind !== 'alert' || message.sender !== relayed.senderAgency || !message.recipients.includes(relayed.agencyId)) {
    refusedBySecurityModel(res);
    throw notFound(`This hub forwarded no message ${relayed.senderMessage} from ${relayed.senderAgency} to ${relayed.agencyId}`);
  }
  describeExchange(res, { purpose: message.purpose, subject: `Person/${message.personId}` });

  const cause = causeOf(req, res, `Person/${message.personId}`);
  const reported = deadLetterReportOf({
    message,
    delivery: { agencyId: relayed.agencyId, attempts: relayed.attempts ?? 0, seq: relayed.seq ?? 0 },
    countedAttempt: false,
    reason: relayed.reason ?? `The ${hub.partnership} hub gave no reason`,
    at: new Date(relayed.deadAt),
    baseUrl: ctx.baseUrl,
    cause: { requestId: cause.requestId, agent: cause.agent },
    relayedBy: { partnership: hub.partnership, reportId: relayed.reportId },
  });
  // A message of kind `alert` is always reported (only a report's own death is not).
  if (!reported) throw new Error(`message ${message.id} has no dead-letter report`);
  const { report, record, job } = reported;
  const answer = buildResponseMessage({
    requestHeaderId: relayed.reportId,
    code: 'ok',
    source: { endpoint: ctx.baseUrl, name: `infoshare hub of ${peers.ownPartnership}` },
    destination: { endpoint: hub.alertsBase, name: `infoshare hub of ${hub.partnership}` },
    details: `Accepted by the ${peers.ownPartnership} hub as report ${report.id} to ${relayed.senderAgency}`,
    event: eventCoding(DEAD_LETTER_EVENT),
    id: `${report.id}-response`,
    timestamp: new Date().toISOString(),
  });
  const result = await ctx.store.accept({ mode: 'report', message: { ...report, answer }, changeRecord: record });
  if (result.kind === 'repeat') {
    // The peer hub retried (it never saw the first answer): the same answer, never a second report.
    describeExchange(res, { subtype: '$process-message (relayed dead-letter report, repeat)' });
    await respond(req, res, 200, result.answer as Bundle, { criteria: [] });
    return;
  }
  if (result.kind !== 'accepted') throw new Error(`Unexpected answer accepting relayed report ${report.id}: ${result.kind}`);
  const queued = ctx.deliveries
    .addDeliveries([job])
    .catch((err: unknown) => log.warn({ err, messageId: report.id, requestId: requestIdOf(res) }, 'could not queue a relayed dead-letter report now; the sweeper will'));
  // A report is no alert shared: it meets no sharing criterion (as a report's delivery here).
  await respond(req, res, 200, answer, { criteria: [] });
  await queued;
}
