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
