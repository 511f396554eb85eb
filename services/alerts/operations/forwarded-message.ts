/**
 * `POST /fhir/$process-message` from another partnership's hub (MA-L5): an
 * alert one of its agencies raised, forwarded here because an agency this hub
 * serves is a recipient. Told apart from an agency's own raise by its token:
 * a hub-to-hub delivery token (`typ` infoshare-delivery+jwt), never an access
 * token (routes.ts sends only those here).
 *
 * In order — each refusal an OperationOutcome, audited, nothing written:
 *   401 the token is not signed by a configured peer hub's pinned key (for this
 *       partnership, unexpired, over these exact bytes), or was used before;
 *   400/422 not a valid alert message, or not the message the token names;
 *   403 the sender is not an agency of the signing hub's partnership, a
 *       recipient is not an agency this hub serves, or *this* hub's ISP does not
 *       allow the flow (the origin checked its own: both must allow it);
 *   409/422 a follow-up for an alert this hub never accepted, or closed.
 * Then the same accept script as a local raise writes the alert and its
 * deliveries (so this hub's own retries, dead letters and inbox apply), the
 * answer — a response message `ok` — is audited and sent, and the delivery
 * jobs are added. The origin's delivery is acknowledged by this answer only,
 * so nothing is "delivered" before it is accepted here; a 5xx or no answer
 * makes the origin retry, and a retry is answered as the first time
 * (idempotent per origin message and recipient).
 *
 * The same route takes the dead-letter report of a message this hub forwarded,
 * relayed back by the hub where it died (relayed-report.ts): the token is
 * checked alike, then the MessageHeader's event (`delivery-dead-letter`) says
 * which it is.
 *
 * At this hub a forwarded alert is one alert per (origin alert, recipient):
 * the origin sends each recipient its own cut of the message (minimised under
 * its ISP), and this hub cuts it again under its own when delivering.
 */
import type { Request, Response } from 'express';
import type { Bundle, CareTeam, Flag, Patient } from 'fhir/r4.js';
import { changeRecord } from '../../../shared/audit/outbox.js';
import { causeOf, describeExchange, requestIdOf } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import { badRequest, conflict, forbidden, unprocessable } from '../../../shared/fhir/outcome.js';
import { refusedBySecurityModel } from '../../../shared/fhir/rest/access.js';
import { validBody } from '../../../shared/fhir/request-body.js';
import type { Logger } from '../../../shared/log.js';
import { buildResponseMessage } from '../../../shared/messaging/response-message.js';
import type { AlertsContext } from '../context.js';
import { ALERTS_TAG } from '../keys.js';
import { eventCoding, hubMessage } from '../domain/alert-bundle.js';
import { purposeOf } from '../domain/categories.js';
import { asAgencyMessage, forwardedFlagIdOf, forwardedMessageIdOf, forwardedSubjectIdOf } from '../domain/peer-hubs.js';
import { npLpAgenciesOf, parseAlertMessage, subjectKeysOf, type AlertMessage } from '../domain/message.js';
import type { StoredFlag } from '../store.js';
import type { PeerHubs } from '../peer-hubs.js';
import { isDeadLetterReport } from '../domain/dead-letter-report.js';
import { acceptRelayedReport } from './relayed-report.js';
import { verifiedPeerRequest } from './peer-exchange.js';

/** What a forwarded exchange shows: an alert across the boundary, checked against this side's signed ISP. */
const FORWARDED_CRITERIA = ['MA-L5', 'IM-L4', 'IM-L5'];

export function forwardedMessage(ctx: AlertsContext, peers: PeerHubs, log: Logger) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$process-message (forwarded)', action: 'C', dataCategory: 'alert' });
    // Who acted: the peer hub (its partnership), for the audit record of this exchange and its change.
    const { hub, claims } = await verifiedPeerRequest(peers, log, req, res);

    const sent = await validBody<Bundle>(req, 'Bundle', ctx.validation);
    // A message this hub forwarded there died at that hub: its report comes back to the sender here (relayed-report.ts).
    if (isDeadLetterReport(sent)) return acceptRelayedReport(ctx, peers, log, req, res, { hub, claims, bundle: sent });
    const message = parseAlertMessage(asAgencyMessage(sent));
    if (message.headerId !== claims.message_id) throw badRequest('The MessageHeader id is not the message the token names', 'Bundle.entry[0].resource.id');
    const purpose = purposeOf(message.category);
    const recipients = [...new Set(message.destinations ?? [])];
    const snapshot = await ctx.isp.snapshot();
    const sender = snapshot.agencies.get(message.senderAgency);
    res.locals.auth = { sub: `hub:${hub.partnership}`, agency: message.senderAgency, partnership: hub.partnership, scopes: [] };
    describeExchange(res, { purpose, entities: [{ reference: `MessageHeader/${message.headerId}`, role: 'data', description: `forwarded by the ${hub.partnership} hub (${hub.endpoint})` }] });
    if (sender?.partnership !== hub.partnership) {
      refusedBySecurityModel(res);
      throw forbidden(`The ${hub.partnership} hub forwards only its own agencies' alerts; ${message.senderAgency} is not an agency of ${hub.partnership} in this directory`);
    }
    if (recipients.length === 0) throw unprocessable('A forwarded message names its recipient in MessageHeader.destination', 'Bundle.entry[0].resource.destination');
    const foreign = recipients.filter((r) => snapshot.agencies.get(r)?.partnership !== peers.ownPartnership);
    if (foreign.length > 0) {
      refusedBySecurityModel(res);
      throw forbidden(`This hub serves ${peers.ownPartnership}; ${foreign.join(', ')} ${foreign.length > 1 ? 'are' : 'is'} not among its agencies`);
    }
    // Both ISPs must allow it: the origin checked its own; this is this partnership's.
    for (const receiver of recipients) {
      const decision = await ctx.isp.checkFlow({ senderAgencyId: message.senderAgency, receiverAgencyId: receiver, category: 'alert', purpose });
      if (!decision.allowed) {
        describeExchange(res, { criteriaOnDenial: ['IM-L4'] });
        throw forbidden(`This partnership's ISP does not let ${message.senderAgency} send a ${message.category} alert to ${receiver}: ${decision.detail}`);
      }
    }

    const messageId = forwardedMessageIdOf(hub.partnership, message.senderAgency, message.headerId, recipients);
    const flagId = forwardedFlagIdOf(hub.partnership, message.senderAgency, message.flagLocalId, recipients);
    const existing = message.event === 'alert-raised' ? undefined : await ctx.store.flag(flagId);
    if (message.event !== 'alert-raised') {
      if (!existing) throw unprocessable(`This hub never accepted alert ${message.flagLocalId} for ${recipients.join(', ')}: forward its raise first`, 'Bundle.entry[0].resource.focus');
      if (existing.status !== 'active') throw conflict(`Alert ${message.flagLocalId} is closed at this hub`, 'Bundle.entry[0].resource.eventCoding');
    }
    const personId = existing?.personId ?? (await subjectOf(ctx, message, hub.partnership));
    const now = new Date();
    const timestamp = now.toISOString();
    const flag: Flag = { ...message.flag, id: flagId, subject: { reference: `Patient/${personId}` } };
    const patient: Patient = { ...message.patient, id: personId };
    const careTeam: CareTeam | undefined = message.careTeam ? { ...message.careTeam, id: `${flagId}-np-lp`, subject: { reference: `Patient/${personId}` } } : undefined;
    const bundle = hubMessage({ messageId, event: message.event, senderAgency: message.senderAgency, baseUrl: ctx.baseUrl, timestamp, flag, patient, ...(careTeam ? { careTeam } : {}), ...(message.provenance ? { provenance: message.provenance } : {}) });
    const answer = buildResponseMessage({
      requestHeaderId: message.headerId,
      code: 'ok',
      source: { endpoint: ctx.baseUrl, name: `infoshare hub of ${peers.ownPartnership}` },
      destination: { endpoint: hub.alertsBase, name: `infoshare hub of ${hub.partnership}` },
      details: `Accepted by the ${peers.ownPartnership} hub as message ${messageId} for ${recipients.join(', ')}; delivered from here under its ISP`,
      event: eventCoding(message.event),
      id: `${messageId}-response`,
      timestamp,
    });
    const cause = causeOf(req, res, `Person/${personId}`);
    const origin = { requestId: cause.requestId, agent: cause.agent };
    const flagState: StoredFlag = {
      id: flagId,
      sender: message.senderAgency,
      localId: message.flagLocalId,
      status: message.event === 'alert-closed' || flag.status !== 'active' ? 'inactive' : 'active',
      personId,
      alertCategory: message.category,
      purpose,
      recipients: existing?.recipients ?? recipients,
      raisedBy: existing?.raisedBy ?? messageId,
      lastMessage: messageId,
      updatedAt: timestamp,
      flag,
      careTeam: careTeam ?? existing?.careTeam,
      npLpAgencies: careTeam ? npLpAgenciesOf(careTeam) : (existing?.npLpAgencies ?? []),
    };
    const result = await ctx.store.accept({
      mode: existing ? 'follow-up' : 'raise',
      expectedRecipients: existing?.recipients ?? recipients,
      message: {
        id: messageId,
        kind: 'alert',
        event: message.event,
        sender: message.senderAgency,
        headerId: message.headerId,
        flagId,
        personId,
        alertCategory: message.category,
        category: 'alert',
        purpose,
        recipients,
        acceptedAt: timestamp,
        origin,
        bundle,
        answer,
        npLpFromDirectory: false,
      },
      flag: flagState,
      changeRecord: changeRecord(
        { requestId: cause.requestId, service: 'alerts', agent: cause.agent },
        {
          subtype: `${message.event} (forwarded)`,
          action: existing ? 'U' : 'C',
          subject: `Person/${personId}`,
          dataCategory: 'alert',
          purpose,
          entities: [{ reference: `Flag/${flagId}`, role: 'domain-resource', description: `message ${messageId} to ${recipients.join(', ')}, forwarded by the ${hub.partnership} hub as ${message.headerId}` }],
          outcomeDescription: `Accepted forwarded ${message.event} message ${messageId} with ${recipients.length} delivery(ies)`,
        },
        ALERTS_TAG,
      ),
    });
    switch (result.kind) {
      case 'accepted':
        break;
      case 'repeat':
        // The origin hub retried (it never saw the first answer): the same answer, never a second alert.
        describeExchange(res, { subtype: '$process-message (forwarded, repeat)' });
        await respond(req, res, 200, result.answer as Bundle, { criteria: [] });
        return;
      case 'flag-exists':
        throw conflict(`Alert ${message.flagLocalId} was already raised here by message ${result.raisedBy}`, 'Bundle.entry[0].resource.eventCoding');
      case 'no-flag':
        throw unprocessable(`This hub never accepted alert ${message.flagLocalId}: forward its raise first`, 'Bundle.entry[0].resource.focus');
      case 'flag-closed':
        throw conflict(`Alert ${message.flagLocalId} is closed at this hub`, 'Bundle.entry[0].resource.eventCoding');
      case 'stale':
        throw conflict(`Alert ${message.flagLocalId} changed while this message was being accepted: send it again`);
    }
    const queued = ctx.deliveries
      .addDeliveries(recipients.map((agencyId) => ({ origin, messageId, agencyId })))
      .catch((err: unknown) => log.warn({ err, messageId, requestId: requestIdOf(res) }, 'could not queue forwarded deliveries now; the sweeper will'));
    await respond(req, res, 200, answer, { criteria: FORWARDED_CRITERIA });
    await queued;
  };
}

/**
 * The index Person a forwarded alert is about, when this partnership's index
 * knows them by the CHI the message carries; otherwise a stable id of the
 * origin's subject (the alert is still delivered; a look-up here cannot find it
 * by identifier until the person is registered with this index).
 */
async function subjectOf(ctx: AlertsContext, message: AlertMessage, originPartnership: string): Promise<string> {
  // The origin's cut of the Patient carries no agency identifier (minimised), at most the CHI.
  const key = subjectKeysOf(message.patient, '').find((k) => k.kind === 'chi');
  if (key) {
    const persons = await ctx.mpi.personsWithChi(key.value);
    if (persons.length === 1) return persons[0]!;
  }
  return forwardedSubjectIdOf(originPartnership, message.flag.subject?.reference ?? message.flagLocalId);
}
