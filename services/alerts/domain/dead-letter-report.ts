/**
 * A dead letter as its sender sees it — in `GET /fhir/$dead-letters` (pulled) and in the report the hub pushes to
 * the sender when the delivery dies (FHIR messaging, event `delivery-dead-letter`): which message, to which
 * agency, why, when, after how many attempts, and where to see its status and re-drive it. Both say it with the
 * same `deadLetter` parameter parts, so a sender reads them one way. Pure.
 *
 * The report is a notification message, not a response message: the sender's message was answered already
 * (accepted, synchronously), a message has many recipients and each dies on its own, and a response's code would
 * say the whole message failed. Its MessageHeader comes from the hub (no `sender` agency), is addressed to the
 * sender agency, and its focus is a Parameters resource holding the dead letter's parts.
 */
import type { Bundle, MessageHeader, Parameters, ParametersParameter } from 'fhir/r4.js';
import { unprocessable } from '../../../shared/fhir/outcome.js';
import { CodeSystems } from '../../../shared/fhir/systems.js';
import { agencyIdOf } from '../../../shared/isp/contract.js';
import { eventCoding, messageBundle } from './alert-bundle.js';
import { DEAD_LETTER_EVENT } from './categories.js';

/** One dead letter: one recipient's delivery of one message that will not be retried until its sender re-drives it. */
export interface DeadLetterFacts {
  /** The hub's message id. */
  readonly messageId: string;
  /** The recipient the delivery was for. */
  readonly agencyId: string;
  /** When it died (ISO). */
  readonly deadAt: string;
  readonly attempts?: number;
  /** The recipient's sequence number of the message. */
  readonly seq?: number;
  /** Why: the agency refused it (fatal-error), or the retry window ran out and the last failure. */
  readonly reason?: string;
}

/** The parts of one `deadLetter` parameter, links under the alerts service's FHIR base `baseUrl`. */
export function deadLetterParts(letter: DeadLetterFacts, baseUrl: string): ParametersParameter[] {
  return [
    { name: 'message', valueString: letter.messageId },
    { name: 'agency', valueReference: { reference: `Organization/${letter.agencyId}` } },
    { name: 'died', valueInstant: letter.deadAt },
    ...(letter.attempts !== undefined ? [{ name: 'attempts', valueInteger: letter.attempts }] : []),
    ...(letter.seq !== undefined ? [{ name: 'sequence', valueInteger: letter.seq }] : []),
    ...(letter.reason ? [{ name: 'reason', valueString: letter.reason }] : []),
    { name: 'status', valueUrl: `${baseUrl}/$delivery-status/${letter.messageId}` },
    { name: 'redrive', valueUrl: `${baseUrl}/$redrive/${letter.messageId}?agency=${letter.agencyId}` },
  ];
}

/**
 * Whether the death of a delivery of a message of this kind is reported to its sender: every kind but a report
 * itself. A report that dies is a dead letter like any (in the sender's `$dead-letters`, re-drivable), but a
 * report about a report would be sent to the same agency whose endpoint just refused or missed one — and its
 * death would call for another, without end.
 */
export function reportsItsDeadLetters(kind: string): boolean {
  return kind !== 'report';
}

export interface DeadLetterReportParts extends DeadLetterFacts {
  /** The report's own message id (ids.ts `deadLetterReportIdOf`). */
  readonly reportId: string;
  /** The agency whose message died: the report's one recipient. */
  readonly senderAgency: string;
  /** The sender's own MessageHeader.id of the message (none for an access notification: the hub wrote it). */
  readonly senderHeaderId?: string;
  /** The dead message's event (alert-raised, …). */
  readonly event: string;
  /** The hub's id of the alert the message was about. */
  readonly flagId: string;
  /** The alerts service's FHIR base: the report's source and its links. */
  readonly baseUrl: string;
  /**
   * The partnership whose hub holds the dead letter, when it is not this hub: a message this hub forwarded died at
   * that partnership's hub, which relayed the report here. The report then names that partnership (`heldBy`); its
   * `redrive` link is still this hub's, which asks that hub to re-drive it (operations/peer-redrive.ts).
   */
  readonly heldBy?: string;
}

/** The report of a dead letter to its sender, as the hub holds it (addressed and numbered when delivered: minimise.ts). */
export function deadLetterReport(parts: DeadLetterReportParts): Bundle {
  const parameters: Parameters = {
    resourceType: 'Parameters',
    id: parts.reportId,
    parameter: [
      {
        name: 'deadLetter',
        part: [
          ...deadLetterParts(parts, parts.baseUrl),
          ...(parts.heldBy ? [{ name: 'heldBy', valueReference: { reference: `Organization/${parts.heldBy}` } }] : []),
          ...(parts.senderHeaderId ? [{ name: 'senderMessage', valueString: parts.senderHeaderId }] : []),
          { name: 'event', valueCode: parts.event },
          { name: 'flag', valueReference: { reference: `Flag/${parts.flagId}` } },
        ],
      },
    ],
  };
  const organization = `Organization/${parts.senderAgency}`;
  const header: MessageHeader = {
    resourceType: 'MessageHeader',
    id: parts.reportId,
    eventCoding: eventCoding(DEAD_LETTER_EVENT),
    source: { name: 'infoshare alerts hub', endpoint: parts.baseUrl },
    destination: [{ endpoint: organization, receiver: { reference: organization } }],
    focus: [{ reference: `Parameters/${parts.reportId}` }],
  };
  return messageBundle(parts.reportId, parts.deadAt, parts.baseUrl, [header, parameters]);
}

/** Whether a message Bundle is a hub's dead-letter report (its MessageHeader's event `delivery-dead-letter`). */
export function isDeadLetterReport(bundle: Bundle): boolean {
  const header = bundle.entry?.[0]?.resource;
  if (header?.resourceType !== 'MessageHeader') return false;
  const event = (header as MessageHeader).eventCoding;
  return event?.system === CodeSystems.alertEvent && event.code === DEAD_LETTER_EVENT;
}

/**
 * The id of the message a dead-letter report (as `deadLetterReport` writes it) is about — the `message` part, the
 * id at the hub that holds the dead letter — or undefined when the Bundle carries none.
 */
export function reportedMessageOf(bundle: Bundle): string | undefined {
  return deadLetterPartsOf(bundle)?.find((p) => p.name === 'message')?.valueString;
}

/**
 * The parts of a dead-letter report's `deadLetter` parameter, found as `deadLetterReport` writes them: the
 * MessageHeader's focus is a Parameters resource in the Bundle, which holds the `deadLetter` parameter. Undefined
 * when the Bundle has no such header, focus, Parameters or parameter.
 */
function deadLetterPartsOf(bundle: Bundle): ParametersParameter[] | undefined {
  const header = bundle.entry?.[0]?.resource as MessageHeader | undefined;
  if (header?.resourceType !== 'MessageHeader') return undefined;
  const focus = header.focus?.[0]?.reference;
  const parameters = bundle.entry?.find((e) => e.resource?.resourceType === 'Parameters' && focus === `Parameters/${e.resource.id ?? ''}`)?.resource as Parameters | undefined;
  return parameters?.parameter?.find((p) => p.name === 'deadLetter')?.part;
}

/** What another partnership's hub says in the dead-letter report it relays to the hub that forwarded the message. */
export interface RelayedDeadLetter {
  /** The report's MessageHeader.id at the hub that relayed it. */
  readonly reportId: string;
  /** The agency it is addressed to: the sender of the message that died. */
  readonly senderAgency: string;
  /** The message as the sender named it to that hub (`senderMessage`): for a forwarded message, the forwarding hub's message id. */
  readonly senderMessage: string;
  /** The recipient whose delivery died, and when, after how many attempts, with which sequence number, why. */
  readonly agencyId: string;
  readonly deadAt: string;
  readonly attempts?: number;
  readonly seq?: number;
  readonly reason?: string;
}

/**
 * Reads a dead-letter report another hub relayed (as `deadLetterReport` writes it, addressed by its delivery), or
 * refuses it (422) naming what is missing. Pure: whether the report is about a message this hub forwarded to that
 * hub is the caller's check.
 */
export function readRelayedReport(bundle: Bundle): RelayedDeadLetter {
  const header = bundle.entry?.[0]?.resource as MessageHeader | undefined;
  if (bundle.type !== 'message' || header?.resourceType !== 'MessageHeader' || !header.id) {
    throw unprocessable('A dead-letter report is a message Bundle whose first entry is a MessageHeader with an id', 'Bundle.entry[0].resource');
  }
  const senderAgency = agencyIdOf(header.destination?.[0]?.receiver?.reference);
  if (!senderAgency) throw unprocessable('A dead-letter report names the agency it reports to in MessageHeader.destination[0].receiver', 'Bundle.entry[0].resource.destination');
  const parts = deadLetterPartsOf(bundle);
  if (!parts) throw unprocessable("A dead-letter report's focus is a Parameters resource in the Bundle with a deadLetter parameter", 'Bundle.entry[0].resource.focus');
  const part = (name: string) => parts.find((p) => p.name === name);
  const agencyId = agencyIdOf(part('agency')?.valueReference?.reference);
  const deadAt = part('died')?.valueInstant;
  const senderMessage = part('senderMessage')?.valueString;
  if (!agencyId || !deadAt || !senderMessage) {
    throw unprocessable('A relayed dead-letter report names the recipient (agency), when it died (died) and the message as its sender named it (senderMessage)', 'Parameters.parameter');
  }
  const attempts = part('attempts')?.valueInteger;
  const seq = part('sequence')?.valueInteger;
  const reason = part('reason')?.valueString;
  return {
    reportId: header.id,
    senderAgency,
    senderMessage,
    agencyId,
    deadAt,
    ...(attempts !== undefined ? { attempts } : {}),
    ...(seq !== undefined ? { seq } : {}),
    ...(reason ? { reason } : {}),
  };
}
