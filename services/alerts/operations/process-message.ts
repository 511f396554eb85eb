/**
 * `POST /fhir/$process-message`: an agency raises, updates or closes an alert
 * (README "Alerts"). A response message (MessageHeader.response present) is an
 * agency acknowledging a message it pulled: handed to acknowledge.ts.
 *
 * In order — who may raise alerts at all before anything about the message (as everywhere in the hub:
 * authenticate → authorise / ISP → validate), each refusal an OperationOutcome, audited, nothing written:
 *   403 no `system/Flag.write`; 403 the token's agency is not party to a signed ISP;
 *   400 not a message Bundle / no MessageHeader first;
 *   403 the message claims another sender than the token's agency (read before validation);
 *   422 not valid R4, no Flag or a focus missing from the Bundle, …;
 *   200 with the first answer again when this sender sent this MessageHeader.id before;
 *   403 a destination the ISP does not allow;
 *   422 the subject is unknown to the index; 422 no NP/LP details and none in the directory (PD-L4);
 *   409 raising an alert raised before, or following up a closed one.
 * A body that presents itself as a response message (`claimsToBeResponse`) is an acknowledgement: any
 * authenticated agency may send one (no scope), so only its shape is checked here (400).
 * The reads those checks need (an earlier answer, the subject in the index, the alert followed up) are started
 * at once, beside the partnership's and the validation, and each is looked at only in its place above.
 * Then the accept script writes the message and its deliveries in one go
 * (store.ts), with the change record and this request's own audit record in the `{alerts}` outbox (the
 * record is committed with the acceptance: no second write before the answer), the answer is sent — 200, a
 * response message, and `Content-Location` = the status URL — and the delivery jobs are added.
 */
import type { Request, Response } from 'express';
import type { Bundle, CareTeam, Flag, Patient, Provenance } from 'fhir/r4.js';
import { changeRecord } from '../../../shared/audit/outbox.js';
import { authContext } from '../../../shared/auth/middleware.js';
import { hasScope, writeScope } from '../../../shared/auth/scopes.js';
import { causeOf, describeExchange, exchangeRecordOf, recordedWithChange, requestIdOf } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import { conflict, forbidden, unprocessable } from '../../../shared/fhir/outcome.js';
import { refusedBySecurityModel } from '../../../shared/fhir/rest/access.js';
import { validBody } from '../../../shared/fhir/request-body.js';
import type { IspSnapshot } from '../../../shared/isp/registry.js';
import type { Logger } from '../../../shared/log.js';
import { failpoint } from '../../../shared/runtime/failpoints.js';
import { TickBatch } from '../../../shared/runtime/tick-batch.js';
import type { AlertsContext } from '../context.js';
import { ALERTS_TAG } from '../keys.js';
import { acceptedAnswer } from '../domain/answers.js';
import { hubMessage, eventCoding } from '../domain/alert-bundle.js';
import { purposeOf } from '../domain/categories.js';
import { flagIdOf, messageIdOf } from '../domain/ids.js';
import { claimedSendersOf, claimsToBeResponse, messageKindOf, npLpAgenciesOf, parseAlertMessage, subjectKeysOf, type AlertMessage } from '../domain/message.js';
import { acceptanceCriteria, routeAlert, type Recipient } from '../domain/routing.js';
import type { StoredFlag } from '../store.js';
import type { DeliveryJobData } from '../workers/deliveries.js';
import { directoryCareTeamFor, resolveSubject, type ResolvedSubject } from '../subjects.js';
import { acknowledge } from './acknowledge.js';

const HEADER = 'Bundle.entry[0].resource';
const SUBJECT_IDENTIFIER = 'Bundle.entry.resource.ofType(Patient).identifier';
/** The most alerts whose deliveries are queued in one addBulk. */
const QUEUE_GROUP_ALERTS = 50;

export function processMessage(ctx: AlertsContext, log: Logger) {
  // The deliveries of the alerts accepted in one event-loop turn are queued with one addBulk (one MULTI, one
  // marker clean-up): per alert, BullMQ's pipeline set-up cost as much as its jobs. A failure leaves the markers
  // of the whole group for the sweeper, as a failed addBulk of one alert did.
  const queueing = new TickBatch<readonly DeliveryJobData[], void>(async (groups) => {
    await ctx.deliveries.addDeliveries(groups.flat());
    return groups.map(() => undefined);
  }, QUEUE_GROUP_ALERTS);
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$process-message', action: 'C', dataCategory: 'alert' });
    if (claimsToBeResponse(req.body) && messageKindOf(req.body) === 'response') {
      await acknowledge(ctx, log)(req, res);
      return;
    }
    // Who may raise alerts, decided by the token and the partnership alone, before anything about the
    // message: a caller refused here learns nothing of how its message would have been judged.
    const auth = authContext(res);
    if (!hasScope(auth.scopes, writeScope('Flag'))) {
      refusedBySecurityModel(res);
      throw forbidden(`Raising, updating or closing an alert needs the scope ${writeScope('Flag')}`);
    }
    const sender = auth.agency;
    // The message is validated (on a validation thread) while the partnership is read; its verdict is
    // only looked at once the sender is known to be party to an ISP.
    const validated = validBody<Bundle>(req, 'Bundle', ctx.validation);
    validated.catch(() => undefined);
    // The reads ahead start beside the partnership's, on the sender's identifier system as last read (checked below);
    // they and the partnership's revision leave for Redis in one write.
    const guessedSystem = ctx.isp.lastSnapshot()?.agencies.get(sender)?.patientIdentifierSystem;
    const [guessed, partnershipRead] = ctx.sentTogether(
      () => [guessedSystem === undefined ? undefined : readAhead(ctx, req.body, sender, guessedSystem), ctx.isp.snapshot()] as const,
    );
    // The partnership (agencies and ISPs) serves every check below.
    const partnership = await partnershipRead;
    const senderAgency = partnership.agencies.get(sender);
    if (!senderAgency?.active || !partnership.isps.some(({ isp }) => isp.partners.some((p) => p.agency === sender))) {
      describeExchange(res, { criteriaOnDenial: ['IM-L4'] });
      throw forbidden(`${sender} is not party to an Information Sharing Protocol of the partnership, so it cannot send alerts`);
    }

    messageKindOf(req.body);
    // A message claiming another sender is refused before its shape is judged, like every other 403.
    const spoofed = claimedSendersOf(req.body).find((claimed) => claimed !== sender);
    if (spoofed !== undefined) throw spoofedSender(res, spoofed, sender);
    const ahead = guessed?.senderSystem === senderAgency.patientIdentifierSystem ? guessed : readAhead(ctx, req.body, sender, senderAgency.patientIdentifierSystem);
    const body = await validated;
    // The read-ahead parsed this very object (validation does not change it): the same message, parsed once.
    const message = ahead && body === req.body ? ahead.message : parseAlertMessage(body);
    // The reads ahead count only when they were made for this very message.
    const read = ahead?.message === message ? ahead : undefined;
    if (message.senderAgency !== sender) throw spoofedSender(res, message.senderAgency, sender);
    const messageId = messageIdOf(sender, message.headerId);
    const flagId = flagIdOf(sender, message.flagLocalId);
    const statusUrl = `${ctx.baseUrl}/$delivery-status/${messageId}`;
    const purpose = purposeOf(message.category);
    describeExchange(res, {
      action: message.event === 'alert-raised' ? 'C' : 'U',
      purpose,
      entities: [{ reference: `Flag/${flagId}`, role: 'domain-resource', description: `${message.event} message ${messageId}` }],
    });

    // The same message again (a client retry): the answer it had, never a second alert.
    const earlier = await (read ? read.answer : ctx.store.answerOf(messageId));
    if (earlier) {
      await respondRepeat(req, res, earlier as Bundle, statusUrl);
      return;
    }

    const keys = subjectKeysOf(message.patient, senderAgency.patientIdentifierSystem);
    if (keys.length === 0) {
      throw unprocessable(
        `The subject Patient must carry your own identifier for the person (system ${senderAgency.patientIdentifierSystem}) or their CHI`,
        SUBJECT_IDENTIFIER,
      );
    }
    const subject = await (read?.subject ?? resolveSubject(ctx.mpi, keys, sender, SUBJECT_IDENTIFIER));
    describeExchange(res, { subject: `Person/${subject.personId}` });

    const existing =
      message.event === 'alert-raised' ? undefined : followedUpFlag(message, await (read?.flag ?? ctx.store.flag(flagId)), subject.personId);
    // A refusal by the ISP is evidence that exchanges are checked against it (IM-L4); one for missing NP/LP details, of PD-L4.
    describeExchange(res, { criteriaOnDenial: ['IM-L4'] });
    const recipients = recipientsOf(ctx, message, purpose, existing, partnership);
    describeExchange(res, { criteriaOnDenial: ['PD-L4'] });
    const npLp = await namedProfessionals(ctx, message, subject.personId, existing);
    describeExchange(res, { criteriaOnDenial: [] });
    const now = new Date();
    const patientId = subject.recordId ?? subject.personId;
    const flag: Flag = {
      ...message.flag,
      id: flagId,
      status: message.event === 'alert-closed' ? 'inactive' : message.flag.status,
      subject: { reference: `Patient/${patientId}` },
      ...(message.event === 'alert-closed' && !message.flag.period?.end ? { period: { ...message.flag.period, end: now.toISOString() } } : {}),
    };
    if (message.event !== 'alert-closed' && flag.status !== 'active') {
      throw unprocessable(`An ${message.event} message carries an active Flag (to end an alert, send alert-closed)`, 'Bundle.entry.resource.ofType(Flag).status');
    }
    const careTeam: CareTeam = { ...npLp.careTeam, id: `${flagId}-np-lp`, subject: { reference: `Patient/${patientId}` } };
    const provenance: Provenance | undefined = message.provenance ? { ...message.provenance, target: [{ reference: `Flag/${flagId}` }] } : undefined;
    const patient: Patient = { ...message.patient, id: patientId };
    const timestamp = now.toISOString();
    const bundle = hubMessage({ messageId, event: message.event, senderAgency: sender, baseUrl: ctx.baseUrl, timestamp, flag, patient, careTeam, ...(provenance ? { provenance } : {}) });
    const recipientIds = recipients.map((r) => r.agencyId);
    const answer = acceptedAnswer({
      messageId,
      requestHeaderId: message.headerId,
      eventCoding: eventCoding(message.event),
      senderAgency: sender,
      flagId,
      baseUrl: ctx.baseUrl,
      statusUrl,
      timestamp,
      recipients: recipientIds,
      npLpFromDirectory: npLp.fromDirectory,
    });
    const cause = causeOf(req, res, `Person/${subject.personId}`);
    const origin = { requestId: cause.requestId, agent: cause.agent };
    // The request's own record, as it reads if the message is accepted, goes in with the acceptance (one write, one
    // fsync, where a second round trip to the audit stream followed it); a refusal or repeat instead is audited as it is answered.
    describeExchange(res, { criteria: acceptanceCriteria(recipients, true) });
    const exchangeRecord = exchangeRecordOf(req, res, 200);
    const flagState: StoredFlag = {
      id: flagId,
      sender,
      localId: message.flagLocalId,
      status: flag.status === 'active' ? 'active' : 'inactive',
      personId: subject.personId,
      alertCategory: message.category,
      purpose,
      recipients: existing?.recipients ?? recipientIds,
      raisedBy: existing?.raisedBy ?? messageId,
      lastMessage: messageId,
      updatedAt: timestamp,
      flag,
      careTeam,
      npLpAgencies: npLpAgenciesOf(careTeam),
    };
    const result = await ctx.store.accept({
      mode: existing ? 'follow-up' : 'raise',
      expectedRecipients: existing?.recipients ?? recipientIds,
      message: {
        id: messageId,
        kind: 'alert',
        event: message.event,
        sender,
        headerId: message.headerId,
        flagId,
        personId: subject.personId,
        alertCategory: message.category,
        category: 'alert',
        purpose,
        recipients: recipientIds,
        acceptedAt: timestamp,
        origin,
        bundle,
        answer,
        npLpFromDirectory: npLp.fromDirectory,
      },
      flag: flagState,
      changeRecord: changeRecord(
        { requestId: cause.requestId, service: 'alerts', agent: cause.agent },
        {
          subtype: message.event,
          action: existing ? 'U' : 'C',
          subject: `Person/${subject.personId}`,
          dataCategory: 'alert',
          purpose,
          entities: [{ reference: `Flag/${flagId}`, role: 'domain-resource', description: `message ${messageId} to ${recipientIds.join(', ')}` }],
          outcomeDescription: `Accepted ${message.event} message ${messageId} with ${recipientIds.length} delivery(ies)`,
        },
        ALERTS_TAG,
      ),
      ...(exchangeRecord ? { exchangeRecord } : {}),
    });
    switch (result.kind) {
      case 'accepted':
        if (exchangeRecord) recordedWithChange(res);
        break;
      case 'repeat':
        await respondRepeat(req, res, result.answer as Bundle, statusUrl);
        return;
      case 'flag-exists':
        throw conflict(`Your alert ${message.flagLocalId} was raised already (message ${result.raisedBy}): send alert-updated or alert-closed for it`, `${HEADER}.eventCoding`);
      case 'no-flag':
        throw unprocessable(`You have raised no alert ${message.flagLocalId}: raise it first (alert-raised)`, `${HEADER}.focus`);
      case 'flag-closed':
        throw conflict(`Your alert ${message.flagLocalId} is closed: raise a new alert`, `${HEADER}.eventCoding`);
      case 'stale':
        throw conflict(`Your alert ${message.flagLocalId} changed while this message was being accepted: send it again`);
    }

    // Crash tests die here: accepted, not yet queued — the sweeper must find the deliveries after a restart.
    failpoint('alerts.after-accept');
    // The deliveries are accepted (the sweeper would queue them); queueing runs beside the audit write.
    const queued = queueing
      .submit(recipientIds.map((agencyId) => ({ origin, messageId, agencyId })))
      .catch((err: unknown) => log.warn({ err, messageId, requestId: requestIdOf(res) }, 'could not queue deliveries now; the sweeper will'));
    await respond(req, res, 200, answer, { headers: { 'Content-Location': statusUrl } });
    // Its records on to the audit stream right after the answer, with those of the accepts answered meanwhile (the timer's pass would move them too).
    ctx.relayPass.request();
    await queued;
  };
}

/** 403 for a message that says it is from another agency than the token's (audited as a security-model refusal). */
function spoofedSender(res: Response, claimed: string, sender: string): Error {
  refusedBySecurityModel(res);
  return forbidden(`The message says it is from ${claimed}, but your access token is ${sender}'s: an agency sends only its own alerts`);
}

async function respondRepeat(req: Request, res: Response, answer: Bundle, statusUrl: string): Promise<void> {
  describeExchange(res, { subtype: '$process-message (repeat)' });
  await respond(req, res, 200, answer, { headers: { 'Content-Location': statusUrl }, criteria: [] });
}

/**
 * The reads an accept needs whatever the message turns out to be, started while the message is still being
 * validated on its thread and the partnership's revision is read: its earlier answer (a repeat), its subject in
 * the index (by `senderSystem`) and, for an update or close, the alert it follows up. They were three more Redis
 * round trips in a row before the accept script, and with `appendfsync always` a round trip under load waits for
 * Redis's next fsync, reads too. Only started: every check still looks at them in its own place and order, so a
 * refusal is the same refusal (a read nobody looks at is dropped: its rejection is handled here). Nothing when
 * the body does not read as an alert message as received: validation then says why, as before.
 */
function readAhead(ctx: AlertsContext, received: unknown, sender: string, senderSystem: string): ReadAhead | undefined {
  // An unvalidated body may be any shape: whatever it throws here, the checks after validation say properly.
  try {
    const message = parseAlertMessage(received as Bundle);
    const keys = subjectKeysOf(message.patient, senderSystem);
    const messageId = messageIdOf(sender, message.headerId);
    const flagId = message.event === 'alert-raised' ? undefined : flagIdOf(sender, message.flagLocalId);
    const answer = ctx.store.answerOf(messageId);
    answer.catch(() => undefined);
    const subject = keys.length > 0 ? resolveSubject(ctx.mpi, keys, sender, SUBJECT_IDENTIFIER) : undefined;
    subject?.catch(() => undefined);
    const flag = flagId === undefined ? undefined : ctx.store.flag(flagId);
    flag?.catch(() => undefined);
    return { message, senderSystem, answer, ...(subject ? { subject } : {}), ...(flag ? { flag } : {}) };
  } catch {
    return undefined;
  }
}

interface ReadAhead {
  /** The body read as an alert message before validation (the object validation then found valid). */
  readonly message: AlertMessage;
  /** The sender's identifier system the subject was resolved by (`subjectKeysOf`). */
  readonly senderSystem: string;
  readonly answer: Promise<unknown>;
  readonly subject?: Promise<ResolvedSubject>;
  readonly flag?: Promise<StoredFlag | undefined>;
}

/** The alert an update or close is about (as read): the sender's, about the same person and category. */
function followedUpFlag(message: AlertMessage, flag: StoredFlag | undefined, personId: string): StoredFlag {
  if (!flag) throw unprocessable(`You have raised no alert ${message.flagLocalId}: raise it first (alert-raised)`, `${HEADER}.focus`);
  if (flag.status !== 'active') throw conflict(`Your alert ${message.flagLocalId} is closed: raise a new alert`, `${HEADER}.eventCoding`);
  if (flag.personId !== personId) throw unprocessable(`Alert ${message.flagLocalId} is about another person than this message's subject`, 'Bundle.entry.resource.ofType(Patient)');
  if (flag.alertCategory !== message.category) {
    throw unprocessable(`Alert ${message.flagLocalId} is a ${flag.alertCategory} alert; its category cannot change (raise a new alert)`, 'Bundle.entry.resource.ofType(Flag).category');
  }
  return flag;
}

/**
 * Who receives the message: for a raise, the ISP's route targets narrowed by the
 * destinations; for a follow-up, the raise's recipients (narrowed by destinations
 * naming only those). The ISP is checked again at each delivery attempt.
 */
function recipientsOf(ctx: AlertsContext, message: AlertMessage, purpose: ReturnType<typeof purposeOf>, existing: StoredFlag | undefined, partnership: IspSnapshot): Recipient[] {
  const { agencies } = partnership;
  const targets = ctx.isp.routeTargetsIn(partnership, message.senderAgency, 'alert', purpose);
  if (!existing) {
    const routing = routeAlert(targets, message.senderAgency, message.destinations);
    if (!routing.ok) {
      throw forbidden(
        `The ISP does not let ${message.senderAgency} send a ${message.category} alert (alert for ${purpose}) to ${routing.notAllowed.join(', ')}: MessageHeader.destination may only narrow the agencies the ISP routes it to`,
      );
    }
    if (routing.recipients.length === 0) throw forbidden(`The ISP lets ${message.senderAgency} send a ${message.category} alert (alert for ${purpose}) to no agency`);
    return [...routing.recipients];
  }
  const raised = new Set(existing.recipients);
  const outside = (message.destinations ?? []).filter((d) => !raised.has(d));
  if (outside.length > 0) throw forbidden(`Updates and the close go to the agencies the alert was raised to; ${outside.join(', ')} ${outside.length > 1 ? 'were' : 'was'} not among them`);
  const wanted = message.destinations ? new Set(message.destinations) : raised;
  const routed = routeAlert(targets, message.senderAgency);
  const known = new Map(routed.ok ? routed.recipients.map((r) => [r.agencyId, r] as const) : []);
  // A recipient the ISP no longer routes to is still sent the follow-up: its delivery attempt re-checks and withdraws it.
  return existing.recipients
    .filter((id) => wanted.has(id))
    .map((id): Recipient => {
      const routedNow = known.get(id);
      if (routedNow) return routedNow;
      const agency = agencies.get(id);
      const partnership = agency?.partnership ?? '';
      return { agencyId: id, agencyType: agency?.type ?? 'partnership', partnership, isp: '', categories: [], crossesBoundary: partnership !== agencies.get(message.senderAgency)?.partnership };
    });
}

/** The NP/LP CareTeam the message carries, else the alert's (follow-ups), else the directory's; 422 (PD-L4) when none. */
async function namedProfessionals(ctx: AlertsContext, message: AlertMessage, personId: string, existing: StoredFlag | undefined): Promise<{ careTeam: CareTeam; fromDirectory: boolean }> {
  if (message.careTeam) return { careTeam: message.careTeam, fromDirectory: false };
  if (existing?.careTeam) return { careTeam: existing.careTeam as CareTeam, fromDirectory: false };
  const fromDirectory = await directoryCareTeamFor(ctx.mpi, ctx.directory, personId);
  if (fromDirectory) return { careTeam: fromDirectory, fromDirectory: true };
  throw unprocessable(
    `Every alert carries the Named Person / Lead Professional's name, organisation and contact details (PD-L4), and the directory holds none for this person: ${message.npLpProblem ?? 'add a CareTeam'}`,
    'Bundle.entry.resource.ofType(CareTeam)',
  );
}
