/**
 * The hub's ids for alerts and their messages, derived from what the sender
 * said, so that saying it again names the same thing: a re-sent message (same
 * sender, same MessageHeader.id) is the same message — never a second alert —
 * and an update names its alert by the sender's own Flag id. Pure.
 *
 * Both are FHIR ids ([A-Za-z0-9\-.]{1,64}) and valid BullMQ job id parts (no
 * `~`, `:` or braces; never integer-like).
 */
import { createHash } from 'node:crypto';

const digest = (...parts: string[]) => createHash('sha256').update(parts.join('\u0000')).digest('base64url').replace(/[_]/g, '-').slice(0, 32);

/** The hub's id of a message an agency sent (its MessageHeader.id). */
export function messageIdOf(senderAgency: string, headerId: string): string {
  return `msg-${digest('message', senderAgency, headerId)}`;
}

/** The hub's id of an alert (Flag) an agency raised under its own Flag id. */
export function flagIdOf(senderAgency: string, flagLocalId: string): string {
  return `flag-${digest('flag', senderAgency, flagLocalId)}`;
}

/** The id of the access notification for one look-up of one alert. */
export function accessMessageIdOf(flagId: string, requestId: string): string {
  return `acc-${digest('access', flagId, requestId)}`;
}

/**
 * The id of the report of one dead letter to its sender: one per dead letter — the delivery of a message to one
 * agency, dead after its `redrives`-th re-drive — so writing it again (the same step run twice) names the same report.
 */
export function deadLetterReportIdOf(messageId: string, agencyId: string, redrives: number): string {
  return `dlr-${digest('dead-letter-report', messageId, agencyId, String(redrives))}`;
}

/**
 * The id this hub gives the report of a dead letter that another partnership's hub relayed to it (a message this
 * hub forwarded died there): one per (that partnership, its report id), so the same report relayed again — the
 * peer retried — names the same message here and is accepted once.
 */
export function relayedReportIdOf(peerPartnership: string, peerReportId: string): string {
  return `dlr-${digest('relayed-dead-letter-report', peerPartnership, peerReportId)}`;
}
